"""Run a scenario: cut it into fixed-size batches, run them (joblib), merge in batch order.

The result depends only on (scenario, entropy, paths, sampler, batch size): never on the number
of jobs or the order in which batches finish. A small pilot (the first paths of batch 0's seed)
fixes the histogram grids every batch reduces onto; then all batches go to the workers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import numpy as np

from cashflow.scenario import Scenario
from distributions.errors import ScenarioError, did_you_mean
from distributions.samplers import SAMPLERS
from distributions.seeding import fresh_entropy
from engine import memory
from engine.batch import (
    BatchTask,
    Grids,
    driver_inputs,
    funding_rounds,
    layout_of,
    simulate_batch,
)
from engine.histogram import DEFAULT_BINS, Histograms, make_grid
from engine.pool import results_in_order, workers_for
from engine.results import Results

__all__ = ["batch_size_for", "batch_sizes", "run"]

MEMORY_BUDGET_BYTES = memory.DEFAULT_BUDGET_BYTES  # peak RSS of one process (engine/memory.py)
MAX_BATCH = 2**16
MAX_CHUNK = 8  # batches per unit of work shipped to a worker
PILOT_PATHS = 4096  # paths simulated up front to fix the histogram grids
HIST_BINS = DEFAULT_BINS  # per-path quantities: error < 0.1 SE (tests/test_histogram.py)
FAN_BINS = 2**13  # monthly cash of the fan-chart subsample


def batch_size_for(scenario: Scenario, budget_bytes: int = MEMORY_BUDGET_BYTES) -> int:
    """Paths per batch: the largest power of two (<= 65536) whose process working set fits
    ``budget_bytes`` (the rule: :mod:`engine.memory`). Depends on nothing but its arguments."""
    fixed = memory.fixed_bytes(
        scenario, hist_bins=HIST_BINS, fan_bins=FAN_BINS, max_chunk=MAX_CHUNK
    )
    return memory.batch_size(scenario, budget_bytes, max_batch=MAX_BATCH, fixed=fixed)


def batch_sizes(paths: int, batch_size: int) -> list[int]:
    """Sizes of the batches of a run: full batches, then the remainder."""
    full, rest = divmod(paths, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def chunks(tasks: list[BatchTask]) -> list[list[BatchTask]]:
    """Consecutive batches grouped into the units shipped to workers: about 8 or more chunks,
    of at most MAX_CHUNK batches. Depends only on the number of batches, never on jobs."""
    per = max(1, min(MAX_CHUNK, len(tasks) // 8))
    return [tasks[i : i + per] for i in range(0, len(tasks), per)]


def run(
    scenario: Scenario,
    *,
    paths: int = 1_000_000,
    seed: int | None = None,
    jobs: int | None = None,
    sampler: str = "mc",
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    memory_bytes: int | None = None,
) -> Results:
    """Simulate ``paths`` monthly cash paths of ``scenario`` and return the :class:`Results`.

    ``seed``: the run's entropy (an int); None draws fresh entropy (recorded in the results).
    ``jobs``: worker processes, at most the cores (None: all; -1 all, -2 all but one, ...).
    ``sampler``: "mc", "lhs" or "sobol" (quasi-random for the per-path inputs).
    ``progress``: called as ``progress(paths_done, paths_total)`` after each merged batch.
    ``memory_bytes``: peak RSS budget per process, sets the batch size unless ``batch_size`` is
    given (None: 512 MiB; see :mod:`engine.memory`).
    """
    if sampler not in SAMPLERS:
        raise ScenarioError(f"unknown sampler '{sampler}'{did_you_mean(sampler, SAMPLERS)}")
    if paths < 1:
        raise ScenarioError(f"--paths must be a positive number (got {paths})")
    workers = workers_for(jobs)  # refuses a --jobs leaving no worker before any work
    entropy = fresh_entropy() if seed is None else int(seed)
    size = batch_size or batch_size_for(scenario, memory_bytes or MEMORY_BUDGET_BYTES)
    sizes = batch_sizes(paths, size)
    tasks = [BatchTask(scenario, entropy, i, n, sampler) for i, n in enumerate(sizes)]
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()

    # The histogram grids come from a small pilot (the first paths of batch 0's seed), so that
    # every batch, batch 0 included, can go to the workers at once.
    pilot, _, _ = simulate_batch(dataclasses.replace(tasks[0], size=min(size, PILOT_PATHS)))
    grids = Grids(
        quantities=make_grid(pilot.quantities, HIST_BINS), fan=make_grid(pilot.fan, FAN_BINS)
    )
    del pilot

    h = scenario.horizon_months
    drivers, rounds = driver_inputs(scenario), funding_rounds(scenario)
    batch_ruin_counts: list[np.ndarray] = []
    driver_counts = np.zeros((len(drivers), 2, h + 1), dtype=np.int64)
    funding_counts = np.zeros((len(rounds), 2, h + 1), dtype=np.int64)
    hist, fan = Histograms.empty(grids.quantities), Histograms.empty(grids.fan)
    sample_cash = None
    done = 0
    for result in results_in_order(chunks(tasks), grids, workers):  # in order
        if result.sample_cash is not None:
            sample_cash = result.sample_cash
        batch_ruin_counts.extend(result.batch_ruin_counts)
        driver_counts += result.driver_counts
        funding_counts += result.funding_counts
        hist.add(result.hist)
        fan.add(result.fan)
        done += sum(result.sizes)
        if progress:
            progress(done, paths)

    return Results(
        scenario=scenario,
        layout=layout_of(scenario),
        paths=paths,
        seed=entropy,
        sampler=sampler,
        batch_size=size,
        batch_ruin_counts=np.array(batch_ruin_counts),
        batch_sizes=np.array(sizes),
        hist=hist,
        fan=fan,
        driver_names=tuple(drivers),
        driver_counts=driver_counts,
        funding_names=tuple(rounds),
        funding_counts=funding_counts,
        sample_cash=sample_cash,
        started=started,
        seconds=time.perf_counter() - clock,
    )
