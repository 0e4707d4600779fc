"""The run directory: what a finished run leaves on disk, and reading it back.

Layout::

    manifest.json    scenario copy and its sha256, seed, paths, sampler, batch size, versions,
                     start and end time
    summary.json     headline answers, runway percentiles, per-year figures
    scenario.toml    a byte-for-byte copy of the scenario file
    results.npz      merged counts and histograms: enough to answer any question and rebuild
                     every table and chart without simulating again
    *.csv            result tables (and *.parquet when pyarrow is installed)

Every file is written atomically (temporary file in the same directory, then rename).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import pathlib
import platform
import tempfile
import tomllib
from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy

from distributions.errors import ScenarioError
from engine.batch import layout_of
from engine.histogram import Grid, Histograms
from engine.results import Results

__all__ = ["atomic_write", "load_run", "save_run"]

try:
    VERSION = importlib.metadata.version("runway")
except importlib.metadata.PackageNotFoundError:  # run from a checkout without installing
    VERSION = "unknown"


def atomic_write(path: pathlib.Path, write: Callable[[pathlib.Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = pathlib.Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def _write_text(path: pathlib.Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_json(path: pathlib.Path, data: dict) -> None:
    _write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


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
    for answer in results.answers():
        out[f"convergence_{answer.before.isoformat()}"] = results.convergence(answer.before)
    return out


def _have_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def save_run(results: Results, run_dir: pathlib.Path, *, variant: str | None = None) -> None:
    """Write the run directory for ``results`` (creating it if needed)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    scenario = results.scenario
    source = pathlib.Path(scenario.file) if scenario.file else None
    data = source.read_bytes() if source and source.exists() else b""
    atomic_write(run_dir / "scenario.toml", lambda tmp: tmp.write_bytes(data))

    hist = results.hist
    arrays = {
        "batch_ruin_counts": results.batch_ruin_counts,
        "batch_sizes": results.batch_sizes,
        "driver_counts": results.driver_counts,
        "funding_counts": results.funding_counts,
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
        "fan_counts": results.fan.counts,
        "fan_sums": results.fan.sums,
        "fan_min": results.fan.minimum,
        "fan_max": results.fan.maximum,
        "fan_lo": results.fan.grid.lo,
        "fan_hi": results.fan.grid.hi,
    }
    atomic_write(run_dir / "results.npz", lambda tmp: _save_npz(tmp, arrays))

    parquet = _have_pyarrow()
    for stem, frame in tables(results).items():
        atomic_write(run_dir / f"{stem}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
        if parquet:
            atomic_write(
                run_dir / f"{stem}.parquet", lambda tmp, f=frame: f.to_parquet(tmp, index=False)
            )
    _write_json(run_dir / "summary.json", results.summary())
    _write_json(
        run_dir / "manifest.json",
        {
            "runway_version": VERSION,
            "scenario": scenario.name,
            "scenario_file": str(source.resolve()) if source else None,
            "scenario_copy": "scenario.toml",
            "scenario_sha256": hashlib.sha256(data).hexdigest(),
            "variant": variant,
            "seed": results.seed,
            "paths": results.paths,
            "sampler": results.sampler,
            "batch_size": results.batch_size,
            "batches": len(results.batch_sizes),
            "hist_bins": hist.grid.bins,
            "fan_bins": results.fan.grid.bins,
            "fan_paths": results.fan.n,
            "driver_inputs": list(results.driver_names),
            "funding_rounds": list(results.funding_names),
            "started": results.started.isoformat(),
            "finished": (results.started + dt.timedelta(seconds=results.seconds)).isoformat(),
            "seconds": results.seconds,
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "pandas": pd.__version__,
                "runway": VERSION,
            },
        },
    )


def _save_npz(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def load_run(run_dir: str | pathlib.Path) -> Results:
    """Read a finished run directory back into :class:`Results` (no simulation)."""
    from cashflow.parse import parse_scenario

    run_dir = pathlib.Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.is_file():
        raise ScenarioError(f"{run_dir}: not a finished run directory (no manifest.json)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        copy = run_dir / manifest["scenario_copy"]
        doc = tomllib.loads(copy.read_text(encoding="utf-8"))
        with np.load(run_dir / "results.npz") as z:
            a = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{run_dir}: run directory is damaged or incomplete ({exc})") from None
    original = manifest.get("scenario_file")
    base_dir = pathlib.Path(original).parent if original else run_dir
    scenario = parse_scenario(doc, file=str(copy), base_dir=base_dir, variant=manifest["variant"])
    grid = Grid(lo=a["grid_lo"], hi=a["grid_hi"], bins=int(manifest["hist_bins"]))
    hist = Histograms(
        grid=grid,
        counts=a["hist_counts"],
        sums=a["hist_sums"],
        n=int(manifest["paths"]),
        minimum=a["hist_min"],
        maximum=a["hist_max"],
    )
    fan = Histograms(
        grid=Grid(lo=a["fan_lo"], hi=a["fan_hi"], bins=int(manifest["fan_bins"])),
        counts=a["fan_counts"],
        sums=a["fan_sums"],
        n=int(manifest["fan_paths"]),
        minimum=a["fan_min"],
        maximum=a["fan_max"],
    )
    sample = a["sample_cash"]
    return Results(
        scenario=scenario,
        layout=layout_of(scenario),
        paths=int(manifest["paths"]),
        seed=int(manifest["seed"]),
        sampler=manifest["sampler"],
        batch_size=int(manifest["batch_size"]),
        batch_ruin_counts=a["batch_ruin_counts"],
        batch_sizes=a["batch_sizes"],
        hist=hist,
        fan=fan,
        driver_names=tuple(manifest["driver_inputs"]),
        driver_counts=a["driver_counts"],
        funding_names=tuple(manifest["funding_rounds"]),
        funding_counts=a["funding_counts"],
        sample_cash=sample if len(sample) else None,
        started=dt.datetime.fromisoformat(manifest["started"]),
        seconds=float(manifest["seconds"]),
    )
