"""Reading a run directory back, verified: nothing is answered from a damaged run.

:func:`load_run` checks, in order: the manifest parses and has the expected keys and types
(schema below); the run finished; every file the manifest lists matches its sha256 (scenario
copy, copies of the scenario's input files, results.npz, tables); the results' arrays have the
shapes, types and totals the manifest and scenario imply. Any failure is one line,
``RUN_DIR: run directory is damaged: what``, raised as :class:`DamagedRun` (a
:class:`~distributions.errors.RunDirError`, as are a missing or unfinished run: exit 2).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import pathlib
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from distributions.errors import RunDirError, ScenarioError, UsageError, escape_controls
from engine.checkpoint import _short
from engine.files import sha256_of

if TYPE_CHECKING:
    from cashflow.scenario import Scenario
    from engine.results import Results

__all__ = [
    "DamagedRun",
    "file_references",
    "load_run",
    "other_version",
    "read_manifest",
    "resume_command",
    "scenario_of",
    "status_of",
    "unfinished_message",
    "verify_checksums",
]

MAX_MANIFEST_BYTES = 16 * 2**20

# key -> (accepted types, check) of a finished run's manifest.
_INT, _STR, _FLOAT = (int,), (str,), (int, float)
_SCHEMA: dict[str, tuple[tuple[type, ...], Any]] = {
    "status": (_STR, None),
    "scenario_copy": (_STR, None),
    "scenario_sha256": (_STR, None),
    "seed": (_INT, lambda v: v >= 0),
    "paths": (_INT, lambda v: v >= 1),
    "sampler": (_STR, lambda v: v in ("mc", "lhs", "sobol")),
    "batch_size": (_INT, lambda v: v >= 1),
    "hist_bins": (_INT, lambda v: 1 <= v <= 2**24),
    "fan_bins": (_INT, lambda v: 1 <= v <= 2**24),
    "fan_paths": (_INT, lambda v: v >= 0),
    "driver_inputs": ((list,), lambda v: all(isinstance(x, str) for x in v)),
    "funding_rounds": ((list,), lambda v: all(isinstance(x, str) for x in v)),
    "started": (_STR, None),
    "seconds": (_FLOAT, lambda v: v >= 0),
}


#: The run parameters (manifest ``run``) a resume needs, with their types and rules; the
#: optional ones may also be null. A run saved from Python records only its variant.
_RUN_NEEDED: dict[str, tuple[tuple[type, ...], Any]] = {
    "seed": (_INT, lambda v: v >= 0),
    "paths": (_INT, lambda v: v >= 1),
    "sampler": (_STR, lambda v: v in ("mc", "lhs", "sobol")),
    "batch_size": (_INT, lambda v: v >= 1),
}
_RUN_OPTIONAL: dict[str, tuple[tuple[type, ...], Any]] = {
    "variant": (_STR, None),
    "until_ci": (_FLOAT, lambda v: 0 < v < 0.5),
    "max_paths": (_INT, lambda v: v >= 1),
    "time_limit": (_FLOAT, lambda v: v > 0),
    "memory_bytes": (_INT, lambda v: v >= 1),
    "compare": ((bool,), None),
    "sets": ((list,), lambda v: all(isinstance(s, list) and len(s) == 2 for s in v)),
}


def check_run_spec(run_dir: pathlib.Path, manifest: dict[str, Any], *, resume: bool) -> None:
    """The manifest's run parameters (``run``) have their types and possible values; with
    ``resume``, every parameter a resume needs is there. A one-line DamagedRun otherwise."""
    spec = manifest.get("run")
    if spec is None and not resume:
        return  # written before run parameters were saved
    if not isinstance(spec, dict):
        raise DamagedRun(run_dir, "manifest.json: 'run' has the wrong type")
    rules = [(k, r, True) for k, r in _RUN_NEEDED.items()]
    rules += [(k, r, False) for k, r in _RUN_OPTIONAL.items()]
    for key, (types, rule), needed in rules:
        value = spec.get(key)
        if value is None:
            if needed and resume:
                raise DamagedRun(run_dir, f"manifest.json has no 'run.{key}'")
            continue
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise DamagedRun(run_dir, f"manifest.json: 'run.{key}' has the wrong type")
        if rule is not None and not rule(value):
            raise DamagedRun(run_dir, f"manifest.json: 'run.{key}' has an impossible value")


class DamagedRun(RunDirError):
    """A run directory that cannot be trusted: one line naming it and what is wrong,
    ``RUN_DIR: run directory is damaged: what``."""

    def line(self) -> str:
        return escape_controls(f"{self.run_dir}: run directory is damaged: {self.what}")


def read_manifest(run_dir: pathlib.Path) -> dict[str, Any]:
    """The manifest of ``run_dir`` as a dict (any status), or a one-line RunDirError."""
    path = run_dir / "manifest.json"
    if not run_dir.is_dir():
        raise RunDirError(run_dir, "no such run directory")
    if not path.exists():
        raise RunDirError(run_dir, "not a finished run directory (no manifest.json)")
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise DamagedRun(run_dir, "manifest.json is too large to be a manifest")
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise DamagedRun(run_dir, f"manifest.json cannot be read ({_short(error)})") from None
    if not isinstance(manifest, dict):
        raise DamagedRun(run_dir, "manifest.json is not a JSON object")
    return manifest


def _check_schema(run_dir: pathlib.Path, manifest: dict[str, Any]) -> None:
    legacy = "format" not in manifest  # written before the run directory format had a number
    if not legacy:
        from engine.rundir import FORMAT

        layout = manifest["format"]
        if isinstance(layout, bool) or not isinstance(layout, int) or layout < 1:
            raise DamagedRun(run_dir, "manifest.json: 'format' is not a format number")
        if layout > FORMAT:
            raise RunDirError(
                run_dir,
                f"written by a newer Runway (run directory format {layout}; this one reads up "
                f"to {FORMAT}): read it with that version",
            )
    for key, (types, rule) in _SCHEMA.items():
        if legacy and key == "status":
            continue
        if key not in manifest:
            raise DamagedRun(run_dir, f"manifest.json has no '{key}'")
        value = manifest[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise DamagedRun(run_dir, f"manifest.json: '{key}' has the wrong type")
        if rule is not None and not rule(value):
            raise DamagedRun(run_dir, f"manifest.json: '{key}' has an impossible value")
    if manifest.get("variant") is not None and not isinstance(manifest["variant"], str):
        raise DamagedRun(run_dir, "manifest.json: 'variant' has the wrong type")
    # tables of names to text; only runs from before checksums lack the first two
    for key, needed in (("sha256", not legacy), ("inputs", not legacy), ("versions", False)):
        if needed and key not in manifest:
            raise DamagedRun(run_dir, f"manifest.json has no '{key}'")
        table = manifest.get(key, {})
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in table.items()
        ):
            raise DamagedRun(run_dir, f"manifest.json: '{key}' has the wrong type")
    check_run_spec(run_dir, manifest, resume=False)
    try:
        dt.datetime.fromisoformat(manifest["started"])
    except ValueError:
        raise DamagedRun(run_dir, "manifest.json: 'started' is not a date and time") from None


def _inside(run_dir: pathlib.Path, name: str) -> pathlib.Path:
    """``run_dir / name``, refusing names that leave the directory."""
    path = (run_dir / name).resolve()
    if not path.is_relative_to(run_dir.resolve()):
        raise DamagedRun(run_dir, f"manifest.json names a file outside the run directory: {name}")
    return path


def _check_files(run_dir: pathlib.Path, manifest: dict[str, Any]) -> None:
    checksums: dict[str, str] = dict(manifest.get("sha256", {}))
    copy = manifest["scenario_copy"]
    checksums.setdefault(copy, manifest["scenario_sha256"])  # runs written before checksums
    if "results.npz" not in checksums and "sha256" in manifest:
        raise DamagedRun(run_dir, "manifest.json lists no checksum for results.npz")
    for name in manifest.get("inputs", {}).values():
        if name not in checksums:
            raise DamagedRun(run_dir, f"manifest.json lists no checksum for {name}")
    verify_checksums(run_dir, checksums)


def verify_checksums(run_dir: pathlib.Path, checksums: dict[str, str]) -> None:
    """Every file named in ``checksums`` (relative to ``run_dir``) exists and matches its sha256;
    else :class:`DamagedRun` naming the first that does not."""
    for name, expected in checksums.items():
        path = _inside(run_dir, name)
        try:
            actual = sha256_of(path)
        except FileNotFoundError:
            raise DamagedRun(run_dir, f"{name} is missing") from None
        except OSError as error:
            raise DamagedRun(run_dir, f"{name} cannot be read ({_short(error)})") from None
        if actual != expected:
            raise DamagedRun(run_dir, f"{name} does not match its checksum in manifest.json")


#: The arrays of results.npz read when a run is loaded; the histograms' are read on first use.
_EAGER = (
    "batch_ruin_counts",
    "batch_sizes",
    "driver_counts",
    "funding_counts",
    "lever_counts",
    "sample_cash",
)


def _npz_bytes(run_dir: pathlib.Path) -> bytes:
    """results.npz, read once: the arrays read later come from these (checked) bytes."""
    try:
        return (run_dir / "results.npz").read_bytes()
    except FileNotFoundError:
        raise DamagedRun(run_dir, "results.npz is missing") from None
    except OSError as error:
        raise DamagedRun(run_dir, f"results.npz cannot be read ({_short(error)})") from None


def _arrays(run_dir: pathlib.Path, data: bytes, keys: Iterable[str]) -> dict[str, np.ndarray]:
    """The arrays named ``keys`` that results.npz (``data``) has."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in keys if k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DamagedRun(run_dir, f"results.npz cannot be read ({_short(error)})") from None


def _need(
    run_dir: pathlib.Path, a: dict[str, np.ndarray], key: str, shape: tuple, kind: str
) -> np.ndarray:
    """``a[key]`` if it has ``shape`` (None: any length) and dtype kind ``kind`` ("i", "f")."""
    if key not in a:
        raise DamagedRun(run_dir, f"results.npz has no array '{key}'")
    x = a[key]
    ok_shape = x.ndim == len(shape) and all(
        s is None or s == d for s, d in zip(shape, x.shape, strict=False)
    )
    if not ok_shape or x.dtype.kind not in kind:
        raise DamagedRun(
            run_dir, f"results.npz: '{key}' has shape {x.shape} {x.dtype}, expected {shape}"
        )
    return x


def load_run(run_dir: str | pathlib.Path) -> Results:
    """Read a finished, verified run directory back into :class:`engine.results.Results`;
    a one-line RunDirError (:class:`DamagedRun` for damage) if it cannot be."""
    from engine.batch import layout_of
    from engine.histogram import DeferredHistograms, Grid, Histograms
    from engine.levers import levers_of
    from engine.results import Results

    run_dir = pathlib.Path(run_dir)
    manifest = read_manifest(run_dir)
    if status_of(run_dir, manifest) == "running":
        raise RunDirError(run_dir, _unfinished(run_dir, manifest))
    _check_schema(run_dir, manifest)
    _check_files(run_dir, manifest)
    scenario = scenario_of(run_dir, manifest)

    data = _npz_bytes(run_dir)
    expected = (manifest.get("sha256") or {}).get("results.npz")  # none: a run before checksums
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise DamagedRun(run_dir, "results.npz does not match its checksum in manifest.json")
    a = _arrays(run_dir, data, _EAGER)
    h, paths = scenario.horizon_months, manifest["paths"]
    layout = layout_of(scenario)
    k, bins, fan_bins = len(layout.quantity_names()), manifest["hist_bins"], manifest["fan_bins"]
    drivers, rounds = len(manifest["driver_inputs"]), len(manifest["funding_rounds"])
    levers = levers_of(scenario)
    fh = h * (1 + len(scenario.credit))  # fan columns: cash, then each credit line's balance
    if not levers and "lever_counts" not in a:  # written before levers existed
        a = {**a, "lever_counts": np.zeros((0, h + 1), dtype=np.int64)}
    ruin = _need(run_dir, a, "batch_ruin_counts", (None, h + 1), "i")
    sizes = _need(run_dir, a, "batch_sizes", (len(ruin),), "i")
    arrays = {
        "driver_counts": _need(run_dir, a, "driver_counts", (drivers, 2, h + 1), "i"),
        "funding_counts": _need(run_dir, a, "funding_counts", (rounds, 2, h + 1), "i"),
        "lever_counts": _need(run_dir, a, "lever_counts", (len(levers), h + 1), "i"),
        "sample_cash": _need(run_dir, a, "sample_cash", (None, h), "f"),
    }
    for name, x in {"batch_ruin_counts": ruin, **arrays}.items():
        if x.dtype.kind == "i" and (x < 0).any():
            raise DamagedRun(run_dir, f"results.npz: '{name}' has negative counts")
    if (sizes < 1).any() or int(sizes.sum()) != paths:
        raise DamagedRun(run_dir, "results.npz: the batch sizes do not add up to the paths")
    if not (ruin.sum(axis=1) == sizes).all():
        raise DamagedRun(run_dir, "results.npz: the counts do not add up to the paths")
    if not (arrays["lever_counts"].sum(axis=1) == paths).all():
        raise DamagedRun(run_dir, "results.npz: the management counts do not add up to the paths")

    def histograms(prefix: str, grid_prefix: str, rows: int, bins: int, n: int) -> Histograms:
        """The histograms ``{prefix}_counts`` ... on the grid ``{grid_prefix}_lo / _hi``."""
        keys = {
            f"{prefix}_counts": ((rows, bins + 2), "i"),
            f"{prefix}_sums": ((rows, bins + 2), "f"),
            f"{prefix}_min": ((rows,), "f"),
            f"{prefix}_max": ((rows,), "f"),
            f"{grid_prefix}_lo": ((rows,), "f"),
            f"{grid_prefix}_hi": ((rows,), "f"),
        }
        got = _arrays(run_dir, data, keys)
        x = {key: _need(run_dir, got, key, shape, kind) for key, (shape, kind) in keys.items()}
        counts = x[f"{prefix}_counts"]
        if (counts < 0).any():
            raise DamagedRun(run_dir, f"results.npz: '{prefix}_counts' has negative counts")
        if not (counts.sum(axis=1) == n).all():
            raise DamagedRun(run_dir, f"results.npz: the '{prefix}' counts do not add up")
        for key in (f"{grid_prefix}_lo", f"{grid_prefix}_hi", f"{prefix}_sums"):
            if not np.isfinite(x[key]).all():
                raise DamagedRun(run_dir, f"results.npz: '{key}' has NaN or infinite values")
        try:
            grid = Grid(lo=x[f"{grid_prefix}_lo"], hi=x[f"{grid_prefix}_hi"], bins=bins)
        except ValueError as error:
            raise DamagedRun(run_dir, f"results.npz: {_short(error)}") from None
        return Histograms(
            grid=grid,
            counts=counts,
            sums=x[f"{prefix}_sums"],
            n=n,
            minimum=x[f"{prefix}_min"],
            maximum=x[f"{prefix}_max"],
        )

    # read on first use: `ask` needs none of them (their bytes are the checked ones)
    hist = DeferredHistograms(lambda: histograms("hist", "grid", k, bins, paths))
    fan = DeferredHistograms(lambda: histograms("fan", "fan", fh, fan_bins, manifest["fan_paths"]))
    sample = arrays["sample_cash"]
    return Results(
        scenario=scenario,
        layout=layout,
        paths=paths,
        seed=manifest["seed"],
        sampler=manifest["sampler"],
        batch_size=manifest["batch_size"],
        batch_ruin_counts=ruin.astype(np.int64),
        batch_sizes=sizes.astype(np.int64),
        hist=hist,
        fan=fan,
        driver_names=tuple(manifest["driver_inputs"]),
        driver_counts=arrays["driver_counts"].astype(np.int64),
        funding_names=tuple(manifest["funding_rounds"]),
        funding_counts=arrays["funding_counts"].astype(np.int64),
        levers=tuple(levers),
        lever_counts=arrays["lever_counts"].astype(np.int64),
        sample_cash=sample if len(sample) else None,
        started=dt.datetime.fromisoformat(manifest["started"]),
        seconds=float(manifest["seconds"]),
        stop=manifest["stopped"] if isinstance(manifest.get("stopped"), dict) else None,
    )


def unfinished_message(run_dir: pathlib.Path, manifest: dict[str, Any]) -> str:
    """One line: the run is unfinished, how far it got, and the command that finishes it."""
    return f"{run_dir}: {_unfinished(run_dir, manifest)}"


def _unfinished(run_dir: pathlib.Path, manifest: dict[str, Any]) -> str:
    from engine.checkpoint import read_index

    index = read_index(run_dir) or {}
    run = manifest.get("run")
    spec: dict[str, Any] = run if isinstance(run, dict) else {}
    done = index.get("paths", 0) if isinstance(index.get("paths", 0), int) else 0
    total = spec.get("paths") if spec.get("until_ci") is None else None
    got = f"{done:,} of {total:,} paths" if isinstance(total, int) else f"{done:,} paths"
    unfinished = f"the run is unfinished ({got} done at its last checkpoint"
    other = other_version(run_dir, manifest)
    if other:  # resume would refuse it
        return f"{unfinished}) and was {other}: finish it with that version, or start it again"
    return (
        f"{unfinished}; it was interrupted or is still running); finish it with: "
        f"{resume_command(run_dir)}"
    )


def status_of(run_dir: pathlib.Path, manifest: dict[str, Any]) -> str:
    """The run's status, "finished" or "running" (a manifest from before the status existed:
    finished); any other value is damage, a one-line DamagedRun (not a state a run is ever in:
    no resume hint that resume would refuse)."""
    status = manifest.get("status", "finished")
    if status not in ("finished", "running"):
        raise DamagedRun(run_dir, "manifest.json: 'status' is neither 'finished' nor 'running'")
    return str(status)


def other_version(run_dir: pathlib.Path, manifest: dict[str, Any]) -> str | None:
    """``started by Runway X, this is Y`` when another version started the run in
    ``run_dir`` (whose random streams and files may differ: it cannot be resumed here), else
    None; a one-line DamagedRun when the manifest's version is not a version."""
    from engine.rundir import VERSION

    started_by = manifest.get("runway_version")
    if not isinstance(started_by, str) or not started_by.strip():
        raise DamagedRun(run_dir, "manifest.json: 'runway_version' is missing or not a version")
    if started_by == VERSION:
        return None
    return f"started by Runway {started_by}, this is {VERSION}"


def resume_command(run_dir: pathlib.Path) -> str:
    """The command a user types to resume the run in ``run_dir``."""
    import shlex
    import sys

    program = "runway" if pathlib.Path(sys.argv[0]).name == "runway" else "python simulate.py"
    return f"{program} resume {shlex.quote(str(run_dir))}"


def scenario_of(run_dir: pathlib.Path, manifest: dict[str, Any]) -> Scenario:
    """The run's scenario, parsed from its copy (and the copies of the files it reads)."""
    from cashflow.parse import parse_scenario

    copy = _inside(run_dir, manifest["scenario_copy"])
    try:
        text = copy.read_text(encoding="utf-8")
        doc = tomllib.loads(text)
    except (OSError, ValueError, RecursionError) as error:
        raise DamagedRun(run_dir, f"the scenario copy cannot be read ({_short(error)})") from None
    inputs = manifest.get("inputs", {})
    copies = {name: str(_inside(run_dir, c)) for name, c in inputs.items()}
    doc = _map_file_names(doc, lambda name: copies.get(name, name))
    run = manifest.get("run")
    spec: dict[str, Any] = run if isinstance(run, dict) else {}
    variant = manifest.get("variant", spec.get("variant"))
    try:
        sets = [(str(k), v) for k, v in spec.get("sets") or []]
    except (TypeError, ValueError):
        raise DamagedRun(
            run_dir, "manifest.json: 'run.sets' is not a list of [key, value]"
        ) from None
    try:
        scenario = parse_scenario(
            doc, file=str(copy), base_dir=_base_dir(run_dir, manifest), variant=variant, sets=sets
        )
    except (ScenarioError, UsageError) as error:  # UsageError: the sets recorded are malformed
        what = f"its scenario copy no longer validates: {error.lines()[0]}"
        raise DamagedRun(run_dir, what) from None
    return dataclasses.replace(scenario, text=text)


def _base_dir(run_dir: pathlib.Path, manifest: dict[str, Any]) -> pathlib.Path:
    """Where relative file names resolve: the run directory, or for a run written before input
    files were copied, the original scenario's folder."""
    original = manifest.get("scenario_file")
    if "format" not in manifest and isinstance(original, str):
        return pathlib.Path(original).parent
    return run_dir


def file_references(doc: Any) -> list[str]:
    """Every file name the scenario document refers to (``csv = "..."`` in any table), in the
    order they are written."""
    names: list[str] = []

    def collect(name: str) -> str:
        names.append(name)
        return name

    _map_file_names(doc, collect)
    return names


def _map_file_names(doc: Any, rename: Callable[[str], str]) -> Any:
    """``doc`` with every file name (``csv = NAME`` in any table) replaced by ``rename(NAME)``."""
    if isinstance(doc, dict):
        return {
            key: rename(value)
            if key in ("csv", "xlsx") and isinstance(value, str)
            else _map_file_names(value, rename)
            for key, value in doc.items()
        }
    if isinstance(doc, list):
        return [_map_file_names(v, rename) for v in doc]
    return doc
