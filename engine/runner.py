"""Run a scenario: cut it into fixed-size batches, run them (joblib), merge in batch order.

The result depends only on (scenario, entropy, paths, sampler, batch size): never on the number
of jobs or the order in which batches finish. Batch 0 runs first, in this process, and fixes the
histogram grid every later batch reduces onto.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from cashflow.scenario import Scenario
from distributions.errors import ScenarioError
from distributions.samplers import SAMPLERS
from distributions.seeding import fresh_entropy
from engine.batch import (
    BatchResult,
    BatchTask,
    Grids,
    driver_inputs,
    funding_rounds,
    layout_of,
    reduce_batch,
    run_batch,
    simulate_batch,
)
from engine.histogram import Histograms, make_grid
from engine.results import Results

__all__ = ["batch_size_for", "batch_sizes", "run"]

MEMORY_BUDGET_BYTES = 256 * 2**20  # working set of one batch
BYTES_PER_CELL = 8 * 14  # float64 (paths x months) arrays alive at once in a batch, with margin
MAX_BATCH = 2**16
HIST_BINS = 2**14  # per-path quantities (see tests/test_histogram.py for the error study)
FAN_BINS = 2**12  # monthly cash for the fan chart


def batch_size_for(horizon_months: int, budget_bytes: int = MEMORY_BUDGET_BYTES) -> int:
    """Paths per batch: the largest power of two (<= 65536) whose working set fits the budget."""
    fit = budget_bytes // (BYTES_PER_CELL * max(horizon_months, 1))
    return int(min(MAX_BATCH, 2 ** max(int(np.log2(max(fit, 1))), 0)))


def batch_sizes(paths: int, batch_size: int) -> list[int]:
    """Sizes of the batches of a run: full batches, then the remainder."""
    full, rest = divmod(paths, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def _effective_jobs(jobs: int | None) -> int:
    cores = os.cpu_count() or 1
    if jobs is None or jobs == 0:
        return cores
    return cores + 1 + jobs if jobs < 0 else jobs


def _results_in_order(tasks: list[BatchTask], grids: Grids, jobs: int) -> Iterator[BatchResult]:
    if jobs == 1 or len(tasks) <= 1:
        for task in tasks:
            yield run_batch(task, grids)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, return_as="generator", max_nbytes=None)
    yield from parallel(delayed(run_batch)(task, grids) for task in tasks)


@dataclass
class _Merged:
    ruin_counts: np.ndarray
    batch_ruin_counts: list[np.ndarray]
    driver_counts: np.ndarray
    funding_counts: np.ndarray
    hist: Histograms
    fan: Histograms
    sample_cash: np.ndarray | None


def run(
    scenario: Scenario,
    *,
    paths: int = 1_000_000,
    seed: int | None = None,
    jobs: int | None = None,
    sampler: str = "mc",
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """Simulate ``paths`` monthly cash paths of ``scenario`` and return the :class:`Results`.

    ``seed``: the run's entropy (an int); None draws fresh entropy (recorded in the results).
    ``jobs``: worker processes (None or 0: all cores; -1: all cores too, joblib-style).
    ``sampler``: "mc", "lhs" or "sobol" (quasi-random for the per-path inputs).
    ``progress``: called as ``progress(paths_done, paths_total)`` after each merged batch.
    """
    if sampler not in SAMPLERS:
        raise ScenarioError(f"unknown sampler '{sampler}'; valid: {', '.join(SAMPLERS)}")
    if paths < 1:
        raise ScenarioError(f"--paths must be a positive number (got {paths})")
    entropy = fresh_entropy() if seed is None else int(seed)
    size = batch_size or batch_size_for(scenario.horizon_months)
    sizes = batch_sizes(paths, size)
    tasks = [BatchTask(scenario, entropy, i, n, sampler) for i, n in enumerate(sizes)]
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()

    out0, draws0, cash0 = simulate_batch(tasks[0])
    grids = Grids(
        quantities=make_grid(out0.quantities, HIST_BINS), fan=make_grid(out0.fan, FAN_BINS)
    )
    first = reduce_batch(tasks[0], out0, draws0, cash0, grids)
    del out0, draws0, cash0

    merged = _Merged(
        ruin_counts=first.ruin_counts.copy(),
        batch_ruin_counts=[first.ruin_counts],
        driver_counts=first.driver_counts.copy(),
        funding_counts=first.funding_counts.copy(),
        hist=first.hist,
        fan=first.fan,
        sample_cash=first.sample_cash,
    )
    done = first.size
    if progress:
        progress(done, paths)
    for result in _results_in_order(tasks[1:], grids, _effective_jobs(jobs)):
        merged.ruin_counts += result.ruin_counts
        merged.batch_ruin_counts.append(result.ruin_counts)
        merged.driver_counts += result.driver_counts
        merged.funding_counts += result.funding_counts
        merged.hist = merged.hist.merge(result.hist)
        merged.fan = merged.fan.merge(result.fan)
        done += result.size
        if progress:
            progress(done, paths)

    return Results(
        scenario=scenario,
        layout=layout_of(scenario),
        paths=paths,
        seed=entropy,
        sampler=sampler,
        batch_size=size,
        ruin_counts=merged.ruin_counts,
        batch_ruin_counts=np.array(merged.batch_ruin_counts),
        batch_sizes=np.array(sizes),
        hist=merged.hist,
        fan=merged.fan,
        driver_names=tuple(driver_inputs(scenario)),
        driver_counts=merged.driver_counts,
        funding_names=tuple(funding_rounds(scenario)),
        funding_counts=merged.funding_counts,
        sample_cash=merged.sample_cash,
        started=started,
        seconds=time.perf_counter() - clock,
    )
