"""Checkpoints of a run in progress: its merged state, saved atomically with a checksum.

Files in the run directory::

    checkpoint-NNNNNN.npz   the merged state after NNNNNN chunks (engine.state.RunState.arrays)
    checkpoint.json         which checkpoint is current: its file, chunks, paths, sha256

A checkpoint is saved at most every :data:`MIN_INTERVAL_SECONDS` (and at least one chunk
apart), and at once when the run is interrupted. The new ``.npz`` is written (temporary file,
fsync, rename), then ``checkpoint.json`` is replaced to point at it, then the directory is
fsynced and the previous ``.npz`` removed: whenever the process dies, ``checkpoint.json`` names
a complete file. A checkpoint whose file is missing or does not match its sha256 is reported
and its work recomputed (the run starts again from chunk 0).
"""

from __future__ import annotations

import json
import os
import pathlib
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from distributions.errors import RunwayError
from engine.batch import Grids
from engine.files import atomic_write, fsync_directory, sha256_of
from engine.pool import interrupt_of
from engine.state import RunState

__all__ = ["CHECKPOINT_INDEX", "CheckpointStore", "read_index"]

CHECKPOINT_INDEX = "checkpoint.json"
MIN_INTERVAL_SECONDS = 5.0  # RUNWAY_CHECKPOINT_SECONDS overrides it (0: after every chunk)


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("RUNWAY_CHECKPOINT_SECONDS", MIN_INTERVAL_SECONDS)))
    except ValueError:
        return MIN_INTERVAL_SECONDS


def read_index(directory: pathlib.Path) -> dict | None:
    """The current checkpoint's description, or None if there is none (or it is unreadable)."""
    try:
        index = json.loads((directory / CHECKPOINT_INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) else None


@dataclass
class CheckpointStore:
    """Saves and loads a run's checkpoints in ``directory``.

    ``resume_hint``: the command that resumes the run, for messages. ``on_note``: where to say
    that a damaged checkpoint is being recomputed.
    """

    directory: pathlib.Path
    resume_hint: str = ""
    interval_seconds: float = field(default_factory=_interval)
    _last_save: float = field(default=0.0, init=False)
    _saved_chunks: int = field(default=-1, init=False)

    def load(
        self,
        grids: Grids,
        horizon_months: int,
        drivers: int,
        rounds: int,
        note: Callable[[str], None],
        levers: int = 0,
    ) -> RunState | None:
        """The last checkpoint's state, or None (none yet, or damaged: then ``note`` says so)."""
        path = self.directory / CHECKPOINT_INDEX
        if not path.exists():
            return None
        index = read_index(self.directory)
        try:
            if index is None:
                raise ValueError(f"{CHECKPOINT_INDEX} cannot be read")
            name = str(index["file"])
            file = self.directory / pathlib.Path(name).name
            if sha256_of(file) != index["sha256"]:
                raise ValueError(f"{file.name} does not match its checksum")
            with np.load(file, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            state = RunState.from_arrays(arrays, grids, horizon_months, drivers, rounds, levers)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
            note(
                f"{self.directory}: the checkpoint is damaged ({_short(error)}); its work is "
                "recomputed from the start"
            )
            return None
        self._saved_chunks = state.chunks
        return state

    def maybe_save(self, state: RunState) -> None:
        """Save if the last save is at least the interval ago."""
        if time.monotonic() - self._last_save >= self.interval_seconds:
            self.save(state)

    def save(self, state: RunState) -> None:
        """Save now (unless this state is saved already). A failed write leaves the previous
        checkpoint intact and raises a one-line RunwayError."""
        if state.chunks == self._saved_chunks or state.chunks == 0:
            return
        name = f"checkpoint-{state.chunks:06d}.npz"
        previous = read_index(self.directory)
        try:
            arrays = state.arrays()
            atomic_write(self.directory / name, lambda tmp: _save(tmp, arrays))
            index = {
                "file": name,
                "chunks": state.chunks,
                "paths": state.paths,
                "seconds": state.seconds,
                "sha256": sha256_of(self.directory / name),
            }
            text = json.dumps(index, indent=2) + "\n"
            atomic_write(
                self.directory / CHECKPOINT_INDEX,
                lambda tmp: tmp.write_text(text, encoding="utf-8"),
            )
            fsync_directory(self.directory)
        except Exception as error:
            interrupt = interrupt_of(error)
            if interrupt is not None:  # Ctrl-C while zipfile wrote: an interrupt, not a failure
                raise interrupt from None
            if not isinstance(error, OSError):
                raise
            if not (previous and previous.get("file") == name):
                (self.directory / name).unlink(missing_ok=True)
            kept = (
                f"the previous checkpoint ({previous.get('paths', 0):,} paths) is intact"
                if previous
                else "no checkpoint was saved yet"
            )
            raise RunwayError(
                f"{self.directory / name}: cannot write the checkpoint "
                f"({error.strerror or error}); {kept}; free some space and resume with: "
                f"{self.resume_hint}"
            ) from None
        if previous and previous.get("file") not in (None, name):
            (self.directory / pathlib.Path(str(previous["file"])).name).unlink(missing_ok=True)
        self._saved_chunks = state.chunks
        self._last_save = time.monotonic()

    def remove(self) -> None:
        """Delete the checkpoint files (the run finished and its results are written)."""
        index = read_index(self.directory)
        (self.directory / CHECKPOINT_INDEX).unlink(missing_ok=True)
        if index and index.get("file"):
            (self.directory / pathlib.Path(str(index["file"])).name).unlink(missing_ok=True)
        for stale in self.directory.glob("checkpoint-*.npz"):
            stale.unlink(missing_ok=True)


def _save(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz (np.load reads it) compressed at zlib level 1: the same size as numpy's default
    level here (mostly empty histogram bins), in half the time a run waits for it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, value in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)


def _short(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__
