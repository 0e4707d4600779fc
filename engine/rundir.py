"""The run directory: claimed when a run starts, filled when it ends, never shared or mixed.

Layout::

    manifest.json    written first (``"status": "running"``, created exclusively: the claim),
                     replaced at the end (``"finished"``) with seed, paths, sampler, batch size,
                     versions, times and the sha256 of every file below
    scenario.toml    a byte-for-byte copy of the scenario file
    inputs/          a copy of every file the scenario reads (empirical CSVs)
    results.npz      merged counts and histograms: enough to answer any question and rebuild
                     every table and chart without simulating again
    summary.json     headline answers, runway percentiles, per-year figures
    *.csv            result tables (and *.parquet when pyarrow is installed)
    report.pdf, charts/   the report (rebuilt from the files above by ``report RUN_DIR``)

Guarantees: a directory is created exclusively (two runs never share one; without ``--out``
a suffix makes the name unique); an existing non-empty directory is refused, or with
``force`` replaced whole (the new run is written into a sibling and swapped in at the end,
so old and new files are never mixed); every path problem is found before simulating, by
creating the directory and its manifest and checking the free space. Reading back is in
:mod:`engine.readback`.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import functools
import importlib.metadata
import json
import os
import pathlib
import platform
import re
import secrets
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from distributions.errors import RunDirError, RunwayError, UsageError
from engine.files import (
    atomic_write,
    create_exclusive,
    fsync_directory,
    pid_alive,
    sha256_of,
)

if TYPE_CHECKING:
    import pandas as pd

    from cashflow.scenario import Scenario
    from engine.results import Results

__all__ = [
    "FORMAT",
    "RunDir",
    "claim_run_dir",
    "default_run_dir",
    "describe_os_error",
    "estimated_bytes",
    "input_files",
    "load_run",
    "lock_run_dir",
    "reopen_run_dir",
    "save_run",
    "start_run",
]

FORMAT = 1  # version of the run directory layout, recorded in the manifest
MANIFEST = "manifest.json"
LOCK = ".lock"
SCENARIO_COPY = "scenario.toml"
INPUTS = "inputs"
RESULTS = "results.npz"
REPORT_ALLOWANCE = 8 * 2**20  # bytes kept free for the report and charts

DISTRIBUTION = "runway-risk"  # the name on the package index ("runway" is another project)


def _version() -> str:
    """The installed distribution's version; run from a checkout without installing it, the
    version in the checkout's pyproject.toml; else "unknown"."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pass
    import tomllib

    pyproject = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"
    if project.get("name") != DISTRIBUTION:
        return "unknown"
    return str(project.get("version", "unknown"))


VERSION = _version()


@dataclass(frozen=True)
class RunDir:
    """A claimed run directory: ``path`` is where the run ends up; ``work`` where it is being
    written (the same, or with ``force`` a hidden sibling swapped in by :meth:`commit`)."""

    path: pathlib.Path
    work: pathlib.Path
    created: bool  # True if this run created ``path`` itself

    @property
    def replacing(self) -> bool:
        return self.work != self.path

    def commit(self) -> pathlib.Path:
        """Put the finished run in place (swap it in when replacing); returns ``path``."""
        unlock_run_dir(self.work)
        if self.replacing:
            unlock_run_dir(self.path)  # held since the claim: no other run writes there
            _swap(self.work, self.path)
        fsync_directory(self.path.parent)
        return self.path

    def discard(self) -> None:
        """Remove what this run wrote (a failed run); a replaced directory stays untouched."""
        unlock_run_dir(self.work)
        if self.replacing:
            unlock_run_dir(self.path)
        if self.replacing or self.created:
            shutil.rmtree(self.work, ignore_errors=True)
        else:  # an empty directory the user named: empty it again
            for entry in list(self.work.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)


_HELD_LOCKS: dict[str, int] = {}


def lock_run_dir(directory: pathlib.Path) -> None:
    """Hold an exclusive lock on ``directory`` (its ``.lock`` file) until this process ends or
    the run is finished: a second process resuming the same run is refused. The lock goes with
    the process however it ends (kill -9 included)."""
    import fcntl

    key = str(directory.resolve())
    if key in _HELD_LOCKS:
        return
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirError(directory, "the run is still going on in another process") from None
    _HELD_LOCKS[key] = fd


def unlock_run_dir(directory: pathlib.Path) -> None:
    """Release and remove the lock of ``directory`` (the run is finished)."""
    fd = _HELD_LOCKS.pop(str(directory.resolve()), None)
    with contextlib.suppress(OSError):
        (directory / LOCK).unlink()
    if fd is not None:
        os.close(fd)


def reopen_run_dir(path: pathlib.Path) -> tuple[RunDir, dict[str, Any]]:
    """An unfinished run directory, locked, to resume; its running manifest. Refuses (one line)
    a finished run, a run still going on, another Runway version, a damaged copy, and a
    scenario file changed since the run started: a RunDirError (DamagedRun: damaged)."""
    from engine.readback import (
        DamagedRun,
        check_run_spec,
        other_version,
        read_manifest,
        status_of,
        verify_checksums,
    )

    manifest = read_manifest(path)
    if status_of(path, manifest) == "finished":
        raise RunDirError(path, "the run is finished; nothing to resume")
    if not isinstance(manifest.get("run"), dict):
        raise RunDirError(path, "not a run that can be resumed (no run parameters saved)")
    check_run_spec(path, manifest, resume=True)
    other = other_version(path, manifest)
    if other:
        raise RunDirError(
            path, f"the run was {other}; resume it with that version, or start it again"
        )
    lock_run_dir(path)
    checksums = manifest.get("sha256")
    if not isinstance(checksums, dict):
        raise DamagedRun(path, "manifest.json has no checksums")
    verify_checksums(path, checksums)
    original = manifest.get("scenario_file")
    changed = (
        isinstance(original, str)
        and pathlib.Path(original).is_file()
        and sha256_of(pathlib.Path(original)) != manifest.get("scenario_sha256")
    )
    if changed:
        raise RunDirError(
            path,
            f"the scenario file {original} has changed since the run started; "
            "resuming would mix two scenarios: start a new run instead",
        )
    replaces = manifest.get("replaces")
    target = pathlib.Path(replaces) if isinstance(replaces, str) else path
    return RunDir(path=target, work=path, created=False), manifest


def default_run_dir(name: str, root: pathlib.Path = pathlib.Path("runs")) -> pathlib.Path:
    """``runs/<scenario slug>-<UTC timestamp>`` (made unique when claimed)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:60] or "scenario"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{slug}-{stamp}"


def claim_run_dir(
    out: pathlib.Path | None,
    scenario_name: str,
    *,
    force: bool = False,
    need_bytes: int = 0,
) -> RunDir:
    """Create the run directory (exclusively) and its first manifest, before any simulation.

    ``out`` None: ``runs/<slug>-<timestamp>``, with ``-2``, ``-3``, ... if taken. ``out`` given:
    created if missing; an empty directory is used; a non-empty one is refused unless ``force``
    and it is a run directory. ``need_bytes``: the space the run's files will take, checked
    against the free space. Every problem is one line: a :class:`UsageError` about ``out`` (not
    enough free space included), or a :class:`RunDirError` (another run is writing there, the
    directory cannot be written).
    """
    target = default_run_dir(scenario_name) if out is None else pathlib.Path(out)
    try:
        run = _claim_new(target) if out is None else _claim_out(target, force=force)
    except OSError as error:
        why = f"cannot create the run directory: {describe_os_error(error)}"
        if out is None:
            raise RunDirError(target, why) from None
        raise UsageError("out", "{out} {path}: {why}", path=out, why=why) from None
    try:
        _check_free_space(run, need_bytes)
        create_exclusive(run.work / MANIFEST, _json_bytes(_initial_manifest(scenario_name)))
        lock_run_dir(run.work)
    except FileExistsError:
        raise RunDirError(run.path, "another run is writing this directory") from None
    except OSError as error:
        run.discard()
        why = describe_os_error(error)
        raise RunDirError(run.path, f"cannot write the run directory: {why}") from None
    except (UsageError, RunDirError):
        run.discard()
        raise
    return run


def _claim_new(base: pathlib.Path) -> RunDir:
    base.parent.mkdir(parents=True, exist_ok=True)
    for i in range(1, 10_000):
        path = base if i == 1 else base.with_name(f"{base.name}-{i}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return RunDir(path=path, work=path, created=True)
    raise RunDirError(base, "too many runs with this name in the same second")


def _claim_out(path: pathlib.Path, *, force: bool) -> RunDir:
    if path.exists() and not path.is_dir():
        raise UsageError(
            "out", "{out} {path}: is a file, not a directory; name a new directory", path=path
        )
    try:
        path.mkdir(parents=True)
        return RunDir(path=path, work=path, created=True)
    except FileExistsError:
        pass
    except NotADirectoryError:
        raise UsageError(
            "out", "{out} {path}: a parent of this path is a file, not a directory", path=path
        ) from None
    if not any(path.iterdir()):
        return RunDir(path=path, work=path, created=False)
    if (path / LOCK).exists():  # a run still writing there, or one killed (lock free again)
        _not_busy(path)
    if not force:
        raise UsageError(
            "out",
            "{out} {path}: already exists and is not empty; choose a new directory, or add "
            "{force} to replace a previous run there",
            path=path,
        )
    if not _is_run_dir(path):
        raise UsageError(
            "out",
            "{out} {path}: is not a Runway run directory (no readable {manifest}); {force} "
            "only replaces run directories",
            path=path,
            manifest=MANIFEST,
        )
    # The run it replaces stays locked until the swap: a run or a resume started there
    # meanwhile is refused, and this run is refused if one is going on there now.
    _not_busy(path, keep=True)
    _remove_stale_siblings(path)
    work = path.with_name(f".{path.name}.runway-new.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        work.mkdir()
    except OSError:
        unlock_run_dir(path)
        raise
    return RunDir(path=path, work=work, created=False)


def _not_busy(path: pathlib.Path, *, keep: bool = False) -> None:
    """Refuse (RunDirError) a directory another process is writing (it holds the lock);
    with ``keep`` hold its lock from now on."""
    try:
        lock_run_dir(path)
    except RunDirError:
        raise RunDirError(path, "another run is writing this directory") from None
    if not keep:
        unlock_run_dir(path)


def _is_run_dir(path: pathlib.Path) -> bool:
    manifest = _read_json(path / MANIFEST)
    return "runway_version" in manifest or "format" in manifest


def _remove_stale_siblings(path: pathlib.Path) -> None:
    """Hidden siblings of a ``force`` run that was killed before its swap (writer gone)."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.runway-(?:new|old)\.(\d+)\.[0-9a-f]{{8}}$")
    for entry in path.parent.iterdir():
        match = pattern.match(entry.name)
        resumable = (entry / "checkpoint.json").exists()
        if match and not pid_alive(int(match[1])) and not resumable:
            shutil.rmtree(entry, ignore_errors=True)


def _swap(new: pathlib.Path, old: pathlib.Path) -> None:
    """Exchange two directories atomically (Linux renameat2), else by two renames."""
    if _exchange(new, old):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old contents
        return
    trash = old.with_name(f".{old.name}.runway-old.{os.getpid()}.{secrets.token_hex(4)}")
    os.rename(old, trash)
    os.rename(new, old)
    shutil.rmtree(trash, ignore_errors=True)


def _exchange(a: pathlib.Path, b: pathlib.Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result: int = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _check_free_space(run: RunDir, need_bytes: int) -> None:
    try:
        free = shutil.disk_usage(run.work).free
    except OSError:
        return
    if free < need_bytes:
        raise UsageError(
            "out",
            "{path}: not enough free space: {free} free, the run's files need about {need}; "
            "free some space or choose another {out}",
            path=run.path,
            free=_size(free),
            need=_size(need_bytes),
        )


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def describe_os_error(error: OSError) -> str:
    """Why a file or directory could not be written, in a few plain words."""
    reasons: dict[int | None, str] = {
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.ENOTDIR: "a parent of this path is a file, not a directory",
        errno.ENAMETOOLONG: "file name too long",
        errno.ENOENT: "no such file or directory",
    }
    return reasons.get(error.errno, error.strerror or str(error))


def _initial_manifest(scenario_name: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "runway_version": VERSION,
        "status": "running",
        "scenario": scenario_name,
        "pid": os.getpid(),
        "host": platform.node(),
        "started": dt.datetime.now(dt.UTC).isoformat(),
    }


def estimated_bytes(scenario: Scenario, hist_bins: int, fan_bins: int) -> int:
    """An upper bound of the run directory's size (results uncompressed, tables, report)."""
    from engine.batch import layout_of

    quantities = len(layout_of(scenario).quantity_names())
    h = scenario.horizon_months
    return 8 * (hist_bins * (quantities + 2) + fan_bins * (h + 2)) + REPORT_ALLOWANCE


# ----- the files a scenario reads -----------------------------------------------------------
def input_files(scenario: Scenario) -> dict[str, pathlib.Path]:
    """The files the scenario reads, by the name written in it -> where they were read from."""
    from engine.readback import file_references

    base = pathlib.Path(scenario.file).parent if scenario.file else pathlib.Path.cwd()
    out = {}
    for name in file_references(scenario.raw):
        path = pathlib.Path(name)
        out[name] = path if path.is_absolute() else base / path
    return out


def _copy_name(index: int, name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", pathlib.Path(name).name).lstrip(".") or "file"
    return f"{INPUTS}/{index:02d}-{stem[:80]}"


# ----- saving -------------------------------------------------------------------------------
def tables(results: Results) -> dict[str, pd.DataFrame]:
    """The result tables written as CSV, by file stem."""
    out = {
        "survival": results.survival(),
        "ruin_month": results.ruin_distribution(),
        "years": results.years(),
        "net_loss_risk": results.risk(),
        "cash_fan": results.cash_fan(),
        "drivers": results.drivers(),
        "funding_effect": results.funding_effect(),
    }
    if results.levers:
        out["management"] = results.management()
    if results.scenario.credit:
        out["credit_balance"] = results.credit_balance()
    for answer in results.answers():
        out[f"convergence_{answer.before.isoformat()}"] = results.convergence(answer.before)
    return out


def _have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def result_arrays(results: Results) -> dict[str, np.ndarray]:
    """The arrays of ``results.npz``."""
    hist, fan = results.hist, results.fan
    return {
        "batch_ruin_counts": results.batch_ruin_counts,
        "batch_sizes": results.batch_sizes,
        "driver_counts": results.driver_counts,
        "funding_counts": results.funding_counts,
        "lever_counts": results.lever_counts,
        "sample_cash": (
            results.sample_cash
            if results.sample_cash is not None
            else np.zeros((0, results.horizon_months))
        ),
        "hist_counts": hist.counts,
        "hist_sums": hist.sums,
        "hist_min": hist.minimum,
        "hist_max": hist.maximum,
        "grid_lo": hist.grid.lo,
        "grid_hi": hist.grid.hi,
        "fan_counts": fan.counts,
        "fan_sums": fan.sums,
        "fan_min": fan.minimum,
        "fan_max": fan.maximum,
        "fan_lo": fan.grid.lo,
        "fan_hi": fan.grid.hi,
    }


def start_run(
    run: RunDir, scenario: Scenario, spec: dict[str, Any], started: dt.datetime | None = None
) -> dict[str, Any]:
    """Copy the scenario and the files it reads into the run directory and record the run's
    parameters (``spec``: seed, paths, sampler, batch size, variant, stopping rule) in a manifest
    marked ``running``: everything ``resume`` needs, written before the first path. Returns
    that manifest."""
    work = run.work
    source = pathlib.Path(scenario.file) if scenario.file else None
    data = scenario.document().encode("utf-8")  # what was parsed, not the file as it is now
    atomic_write(work / SCENARIO_COPY, lambda tmp: tmp.write_bytes(data))
    checksums = {SCENARIO_COPY: sha256_of(work / SCENARIO_COPY)}
    inputs = {}
    for i, (name, original) in enumerate(input_files(scenario).items(), start=1):
        copy = _copy_name(i, name)
        try:
            content = original.read_bytes()
        except OSError as error:
            raise RunwayError(
                f"{original}: the scenario's input file cannot be copied into the run "
                f"directory: {describe_os_error(error)}"
            ) from None
        atomic_write(work / copy, functools.partial(pathlib.Path.write_bytes, data=content))
        checksums[copy] = sha256_of(work / copy)
        inputs[name] = copy
    manifest = {
        **_initial_manifest(scenario.name),
        **({"started": started.isoformat()} if started is not None else {}),
        "scenario_file": str(source.resolve()) if source else None,
        "scenario_copy": SCENARIO_COPY,
        "scenario_sha256": checksums[SCENARIO_COPY],
        "inputs": inputs,
        "replaces": str(run.path) if run.replacing else None,
        "run": spec,
        "sha256": checksums,
    }
    _write_json(work / MANIFEST, manifest)
    return manifest


def save_run(results: Results, run_dir: RunDir | pathlib.Path | str) -> pathlib.Path:
    """Write the files of ``results`` into a claimed run directory (a path is claimed first:
    created, or an empty directory); the manifest, with every file's sha256, is written last,
    then the checkpoints are removed. The scenario copies made by :func:`start_run` are kept
    (a resumed run never reads the original files again). Returns the directory written
    (``run_dir.work``). Raises OSError when the disk fails."""
    run = run_dir if isinstance(run_dir, RunDir) else claim_run_dir(pathlib.Path(run_dir), "")
    work = run.work
    running = _read_json(work / MANIFEST)
    if running.get("status") != "running" or "run" not in running:
        s = results.scenario
        spec = {"variant": s.variant, "sets": [list(pair) for pair in s.sets]}
        running = start_run(run, s, spec, started=results.started)
    checksums = dict(running["sha256"])

    atomic_write(work / RESULTS, lambda tmp: _save_npz(tmp, result_arrays(results)))
    checksums[RESULTS] = sha256_of(work / RESULTS)

    parquet = _have_pyarrow()
    for stem, frame in tables(results).items():
        atomic_write(work / f"{stem}.csv", functools.partial(frame.to_csv, index=False))
        checksums[f"{stem}.csv"] = sha256_of(work / f"{stem}.csv")
        if parquet:
            atomic_write(work / f"{stem}.parquet", functools.partial(frame.to_parquet, index=False))
    _write_json(work / "summary.json", results.summary())
    checksums["summary.json"] = sha256_of(work / "summary.json")
    _write_json(work / MANIFEST, _manifest(results, running, checksums))
    fsync_directory(work)
    from engine.checkpoint import CheckpointStore

    CheckpointStore(work).remove()
    return work


def _read_json(path: pathlib.Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _manifest(
    results: Results, running: dict[str, Any], checksums: dict[str, str]
) -> dict[str, Any]:
    import pandas as pd
    import scipy

    spec = running.get("run", {})
    return {
        "format": FORMAT,
        "status": "finished",
        "runway_version": VERSION,
        "scenario": results.scenario.name,
        "scenario_file": running.get("scenario_file"),
        "scenario_copy": SCENARIO_COPY,
        "scenario_sha256": running.get("scenario_sha256"),
        "inputs": running.get("inputs", {}),
        "variant": results.scenario.variant,
        "seed": results.seed,
        "paths": results.paths,
        "sampler": results.sampler,
        # the uncertain per-path inputs the sampler stratified (none: plain Monte Carlo)
        "sampler_inputs": results.sampler_inputs,
        "batch_size": results.batch_size,
        "batches": len(results.batch_sizes),
        "run": spec,
        "stopped": results.stop,
        "hist_bins": results.hist.grid.bins,
        "fan_bins": results.fan.grid.bins,
        "fan_paths": results.fan.n,
        "driver_inputs": list(results.driver_names),
        "funding_rounds": list(results.funding_names),
        "levers": [lever.as_list() for lever in results.levers],
        "started": running.get("started", results.started.isoformat()),
        "finished": dt.datetime.now(dt.UTC).isoformat(),  # a resumed run's: its last part's
        "seconds": results.seconds,
        "sha256": checksums,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "runway": VERSION,
        },
    }


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, indent=2, default=_json_default) + "\n").encode()


def _write_json(path: pathlib.Path, data: dict) -> None:
    text = _json_bytes(data)
    atomic_write(path, lambda tmp: tmp.write_bytes(text))


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _save_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    # numpy's stubs type savez_compressed's **kwds as ArrayLike beside its allow_pickle: bool,
    # so a dict of arrays only unpacks into it as dict[str, Any].
    named: dict[str, Any] = arrays
    with open(path, "wb") as f:
        np.savez_compressed(f, **named)


def load_run(run_dir: str | pathlib.Path) -> Results:
    """Read a finished run directory back (verified first); see :mod:`engine.readback`."""
    from engine.readback import load_run as _load

    return _load(run_dir)
