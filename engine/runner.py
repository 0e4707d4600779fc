"""Run a scenario: cut it into fixed-size batches grouped in chunks, run the chunks (joblib or
Dask), merge them in chunk order, checkpoint as it goes, stop at a number of paths or a
precision.

The result depends only on (scenario, entropy, paths, sampler, batch size): never on the number
of jobs, the backend, the order in which chunks finish, or whether the run was interrupted and
resumed. Chunk i holds batches ``i * C .. i * C + C - 1`` with C fixed by the batch size alone,
so a run stopped at a precision after k chunks equals a fixed run of the same paths. A small
pilot (the first paths of batch 0's seed) fixes the histogram grids every batch reduces onto.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from cashflow import calendar
from cashflow.scenario import Scenario
from distributions.errors import RunwayWarning, UsageError
from distributions.samplers import check_sampler
from distributions.seeding import fresh_entropy
from engine import memory
from engine.batch import (
    BatchTask,
    driver_inputs,
    funding_rounds,
    layout_of,
    pilot_grids,
)
from engine.heap import release_freed_memory
from engine.histogram import DEFAULT_BINS
from engine.levers import levers_of
from engine.pool import (
    WorkersLost,
    results_in_order,
    start_workers,
    workers_for,
)
from engine.results import (
    MIN_REPLICATES,
    REPLICATE_SAMPLERS,
    Answer,
    Results,
    replicates_apply,
)
from engine.state import RunState

__all__ = [
    "MAX_PATHS",
    "Stop",
    "batch_size_for",
    "batch_sizes",
    "chunk_batches",
    "local_backend",
    "run",
]

MEMORY_BUDGET_BYTES = memory.DEFAULT_BUDGET_BYTES  # peak RSS of one process (engine/memory.py)
MAX_BATCH = 2**16
MAX_CHUNK = 8  # batches per unit of work shipped to a worker
CHUNK_PATHS = 2**17  # paths per chunk (fewer batches per chunk when batches are small)
MAX_PATHS = 10**10  # paths of one run: about two hours on two cores
PILOT_PATHS = 4096  # paths simulated up front to fix the histogram grids
HIST_BINS = DEFAULT_BINS  # per-path quantities: error < 0.1 SE (tests/test_histogram.py)
FAN_BINS = 2**13  # monthly cash of the fan-chart subsample


@dataclass(frozen=True)
class Stop:
    """Why a run ended: ``reason`` ("paths reached", "precision reached", "path limit",
    "time limit"), the 95% CI half-widths reached per question date (probability units)
    and, for a run to a precision, its target."""

    reason: str
    half_widths: dict[str, float]
    target: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "half_widths": self.half_widths, "target": self.target}


def batch_size_for(
    scenario: Scenario,
    budget_bytes: int = MEMORY_BUDGET_BYTES,
    *,
    sampler: str = "mc",
    paths: int | None = None,
) -> int:
    """Paths per batch: the largest power of two (<= 65536) whose process working set fits
    ``budget_bytes`` (the rule: :mod:`engine.memory`). With ``sampler`` "lhs" or "sobol" and
    ``paths`` given, halved until ``paths`` make at least MIN_REPLICATES full batches: their
    error bars come from the batches as independent replicates. Depends on nothing but its
    arguments."""
    fixed = memory.fixed_bytes(
        scenario, hist_bins=HIST_BINS, fan_bins=FAN_BINS, max_chunk=MAX_CHUNK
    )
    size = memory.batch_size(scenario, budget_bytes, max_batch=MAX_BATCH, fixed=fixed)
    if sampler != "mc" and paths is not None:
        while size > 1 and paths // size < MIN_REPLICATES:
            size //= 2
    return size


def batch_sizes(paths: int, batch_size: int) -> list[int]:
    """Sizes of the batches of a run: full batches, then the remainder."""
    full, rest = divmod(paths, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def chunk_batches(batch_size: int) -> int:
    """Batches per chunk: about CHUNK_PATHS paths, at most MAX_CHUNK batches. Depends only on
    the batch size, never on paths or jobs, so runs of different lengths share their chunks."""
    return max(1, min(MAX_CHUNK, CHUNK_PATHS // batch_size))


def local_backend(
    scenarios: list[Scenario], size: int, workers: int, budget_bytes: int = MEMORY_BUDGET_BYTES
) -> str:
    """How a local run of ``workers`` workers on batches of ``size`` paths runs: "threads" (one
    process: nothing to start, import or pickle) when ``workers`` batches of the largest of
    ``scenarios`` fit ``budget_bytes`` together (:func:`threads_need`), else "loky" (one
    process per worker, each within the budget)."""
    return "threads" if threads_need(scenarios, size, workers) <= budget_bytes else "loky"


def threads_need(scenarios: list[Scenario], size: int, workers: int) -> int:
    """Peak RSS estimate, bytes, of one process running ``workers`` batches of ``size`` paths
    of the largest of ``scenarios`` at once (:func:`engine.memory.threads_bytes`)."""
    per_chunk = chunk_batches(size)
    return max(
        memory.threads_bytes(
            s, size, workers=workers, per_chunk=per_chunk, hist_bins=HIST_BINS, fan_bins=FAN_BINS
        )
        for s in scenarios
    )


def run(
    scenario: Scenario,
    *,
    paths: int = 1_000_000,
    seed: int | None = None,
    jobs: int | None = None,
    sampler: str = "mc",
    batch_size: int | None = None,
    progress: Any = None,
    memory_bytes: int | None = None,
    until_ci: float | None = None,
    max_paths: int | None = None,
    time_limit: float | None = None,
    backend: str = "auto",
    scheduler: str | None = None,
    checkpoints: Any = None,
) -> Results:
    """Simulate monthly cash paths of ``scenario`` and return the :class:`Results`.

    ``paths``: how many (with ``until_ci``: the fewest before the precision is checked).
    ``seed``: the run's entropy (an int); None draws fresh entropy (recorded in the results).
    ``jobs``: worker processes, at most the cores (None: all; -1 all, -2 all but one, ...).
    ``sampler``: "mc", "lhs" or "sobol" (quasi-random for the per-path inputs).
    ``progress``: "auto", "bar", "lines", None, a callable ``f(done, total)`` or a Reporter
    (see :mod:`engine.progress`).
    ``memory_bytes``: peak RSS budget per process, sets the batch size unless ``batch_size`` is
    given (None: 512 MiB; see :mod:`engine.memory`).
    ``until_ci``: add chunks until every question's 95% CI half-width is at most this
    (probability units), or ``max_paths`` (default MAX_PATHS) or ``time_limit`` (seconds) is
    reached.
    ``backend``: "auto" (threads when the workers' batches fit ``memory_bytes`` in one process,
    else local processes: :func:`local_backend`), "threads", "loky" (local processes) or "dask"
    (``scheduler``: its address). Locally this process is one of the ``jobs`` workers.
    ``checkpoints``: a :class:`engine.checkpoint.CheckpointStore`: resume from its checkpoint
    and save the merged state as the run goes (and when it is interrupted).

    A wrong argument is a one-line :class:`~distributions.errors.UsageError` naming its
    parameter ("paths must be a positive number (got 0)"), raised before any work.
    """
    from engine.progress import reporter_for

    check_sampler(sampler)
    if paths < 1:
        raise UsageError("paths", "{paths} must be a positive number (got {got})", got=paths)
    total = paths  # the most paths the run may have
    if until_ci is not None:
        if not scenario.questions:
            raise UsageError(
                "until_ci", "{until_ci} needs question dates in the scenario (questions = [...])"
            )
        if not 0 < until_ci < 0.5:
            raise UsageError(
                "until_ci", "{until_ci} must be between 0 and 0.5 (got {got})", got=until_ci
            )
        total = max_paths or MAX_PATHS
        if total < paths:
            raise UsageError(
                "max_paths",
                "{max_paths} {most:,} is below {paths} {paths_given:,}",
                most=total,
                paths_given=paths,
            )
    stratified = replicates_apply(sampler, scenario)
    if sampler in REPLICATE_SAMPLERS and not stratified:
        warnings.warn(
            f"sampler '{sampler}' has nothing to act on in this scenario (no uncertain input "
            "drawn once per path): the run is plain Monte Carlo",
            RunwayWarning,
            stacklevel=2,
        )
    workers = workers_for(jobs)  # refuses jobs leaving no worker before any work
    reporter = reporter_for(progress)
    entropy = fresh_entropy() if seed is None else int(seed)
    budget = memory_bytes or MEMORY_BUDGET_BYTES
    size = batch_size or batch_size_for(scenario, budget, sampler=sampler, paths=paths)
    if backend == "auto":
        backend = local_backend([scenario], size, workers, budget)
    elif backend == "threads" and workers > 1:
        need = threads_need([scenario], size, workers)
        if need > budget:
            warnings.warn(
                f"threads hold {workers} batches in one process: about {need / 2**20:,.0f} MiB, "
                f"over the memory budget of {budget / 2**20:,.0f} MiB (--backend auto would use "
                "processes)",
                RunwayWarning,
                stacklevel=2,
            )
    per_chunk = chunk_batches(size)
    n_batches = math.ceil(total / size)
    last_size = total - (n_batches - 1) * size

    def chunk_at(i: int) -> list[BatchTask] | None:
        first = i * per_chunk
        if first >= n_batches:
            return None
        return [
            BatchTask(scenario, entropy, b, last_size if b == n_batches - 1 else size, sampler)
            for b in range(first, min(first + per_chunk, n_batches))
        ]

    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    # The histogram grids come from a small pilot drawn from batch 0's seed (not batch 0
    # itself: its per-month noise and correlated inputs differ), so that every batch, batch 0
    # included, can go to the workers at once. Its size is the memory rule's, not the batch's:
    # a batch cut small (lhs / sobol replicates, an explicit batch_size) would leave a grid from
    # a handful of paths, and quantiles outside it.
    memory_size = batch_size_for(scenario, budget)
    first_task = BatchTask(scenario, entropy, 0, min(memory_size, PILOT_PATHS), sampler)
    if backend == "loky" and workers > 1 and chunk_at(1) is not None:
        start_workers(workers)  # they start while this process runs the pilot
    grids = pilot_grids(first_task, HIST_BINS, FAN_BINS)

    h = scenario.horizon_months
    drivers, rounds = driver_inputs(scenario), funding_rounds(scenario)
    levers = levers_of(scenario)
    state = None
    if checkpoints is not None:
        state = checkpoints.load(
            grids, h, len(drivers), len(rounds), reporter.note, levers=len(levers)
        )
    if state is None:
        state = RunState(grids, h, len(drivers), len(rounds), len(levers))
    seconds_before = state.seconds  # spent by the earlier parts of a resumed run
    questions = [_question(scenario, d) for d in scenario.questions]
    key = questions[-1] if questions else None

    def stop_now() -> Stop | None:
        widths = _half_widths(state, questions, stratified)
        if until_ci is None:
            return Stop("paths reached", widths) if state.paths >= total else None
        if state.paths >= paths and max(widths.values()) <= until_ci:
            return Stop("precision reached", widths, until_ci)
        if state.paths >= total:
            return Stop("path limit", widths, until_ci)
        if time_limit is not None and state.seconds >= time_limit:
            return Stop("time limit", widths, until_ci)
        return None

    reporter.start(total if until_ci is None else None, state.paths)
    stop = stop_now() if state.chunks else None
    try:
        if stop is None:
            outputs = results_in_order(
                chunk_at,
                grids,
                workers,
                start=state.chunks,
                backend=backend,
                scheduler=scheduler,
                note=reporter.note,
            )
            with contextlib.closing(outputs):
                for result in outputs:  # in chunk order
                    state.add(result)
                    state.seconds = seconds_before + time.perf_counter() - clock
                    reporter.update(state.paths, _answer(state, key, entropy, sampler, stratified))
                    stop = stop_now()
                    if stop is not None:
                        break
                    if checkpoints is not None:
                        checkpoints.maybe_save(state)
    except (KeyboardInterrupt, WorkersLost):
        if checkpoints is not None:
            checkpoints.save(state)
        raise
    finally:
        reporter.close()
        release_freed_memory()  # the batches' memory, kept between them (engine.heap)
    assert stop is not None

    return Results(
        scenario=scenario,
        layout=layout_of(scenario),
        paths=state.paths,
        seed=entropy,
        sampler=sampler,
        batch_size=size,
        batch_ruin_counts=np.array(state.batch_ruin_counts),
        batch_sizes=np.array(state.batch_sizes),
        hist=state.hist,
        fan=state.fan,
        driver_names=tuple(drivers),
        driver_counts=state.driver_counts,
        funding_names=tuple(rounds),
        funding_counts=state.funding_counts,
        levers=tuple(levers),
        lever_counts=state.lever_counts,
        sample_cash=state.sample_cash,
        started=started,
        seconds=state.seconds,
        stop=stop.as_dict(),
    )


def _question(scenario: Scenario, before: dt.date) -> tuple[dt.date, int]:
    return before, calendar.months_before(scenario.start_year, scenario.start_month, before)


def _half_widths(
    state: RunState, questions: list[tuple[dt.date, int]], stratified: bool = False
) -> dict[str, float]:
    """The 95% interval's half-width of each question so far: half the interval the results
    will report after these batches (:meth:`engine.results.BatchMoments.interval`)."""
    if state.paths == 0:
        return {before.isoformat(): 0.5 for before, _ in questions}
    moments = state.moments()
    out = {}
    for before, months in questions:
        found = moments.interval(months, stratified)
        out[before.isoformat()] = float(found.high - found.low) / 2
    return out


def _answer(
    state: RunState,
    key: tuple[dt.date, int] | None,
    seed: int,
    sampler: str = "mc",
    stratified: bool = False,
) -> Answer | None:
    """The running estimate of the headline (last) question."""
    if key is None or state.paths == 0:
        return None
    before, months = key
    return Answer.of_moments(before, months, state.moments(), seed, sampler, stratified)
