"""One batch: a self-contained unit of work, (scenario, entropy, index, size, sampler) and the
run's histogram :class:`Grids` in, a small picklable :class:`BatchResult` out. Saving, resuming
or shipping a batch elsewhere needs nothing else; batch ``index`` always draws from
``SeedSequence(entropy, spawn_key=(index,))``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cashflow import calendar
from cashflow.draws import Draws, Shared, draw_batch, occurs, per_path_inputs
from cashflow.model import MAX_AMOUNT, Flows, explain_overflow, simulate_flows
from cashflow.scenario import Scenario
from distributions.errors import Problem, ScenarioError
from distributions.seeding import batch_seed
from engine.heap import keep_freed_memory
from engine.histogram import Grid, Histograms, Packed, make_grid
from engine.levers import lever_counts
from engine.outcomes import Layout, PathOutcomes, outcomes_of

__all__ = [
    "BatchResult",
    "BatchTask",
    "ChunkResult",
    "Grids",
    "layout_of",
    "make_grids",
    "reduce_batch",
    "run_batch",
    "run_chunk",
    "simulate_batch",
]

SAMPLE_PATHS = 40  # cash paths kept from batch 0 for charts (its first paths)
EXPLAIN_PATHS = 256  # failing paths replayed to explain an overflow
DRIVER_LOW, DRIVER_HIGH = 0.10, 0.90  # input percentiles compared in the drivers table


@dataclass(frozen=True)
class BatchTask:
    """Everything that determines one batch's numbers."""

    scenario: Scenario
    entropy: int
    index: int
    size: int
    sampler: str


@dataclass
class BatchResult:
    """What one batch leaves behind; sizes independent of the number of paths.

    ``ruin_counts``: (H + 1,) paths whose ruin month is t (index H: never within the horizon).
    ``hist``: histograms of the per-path quantities (see :class:`engine.outcomes.Layout`);
    ``fan``: the same for cash at each month, fan-chart subsample.
    ``driver_counts``: (d, 2, H + 1) ruin-month counts of paths whose input i is at or below its
    10th percentile (``[:, 0]``) or at or above its 90th (``[:, 1]``), for the drivers chart.
    ``funding_counts``: (f, 2, H + 1) ruin-month counts of paths where funding round j does not
    close (``[:, 0]``) or closes (``[:, 1]``), for "what the raise changes".
    ``lever_counts``: (levers, H + 1) paths by the month each lever event (an action firing,
    a bridge round triggered or paid, a credit line drawn) first happened (:mod:`engine.levers`).
    ``sample_cash``: (m, H) a few cash paths (batch 0 only), else None.
    """

    index: int
    size: int
    ruin_counts: np.ndarray
    hist: Histograms
    fan: Histograms
    driver_counts: np.ndarray
    funding_counts: np.ndarray
    lever_counts: np.ndarray
    sample_cash: np.ndarray | None = None


def layout_of(scenario: Scenario) -> Layout:
    """Calendar layout of a scenario's months."""
    args = (scenario.start_year, scenario.start_month, scenario.horizon_months)
    slices = calendar.year_slices(*args)
    return Layout(
        year_of_month=calendar.year_of_month(*args),
        years=tuple(slices),
        year_slices=tuple(slices.values()),
    )


def driver_inputs(scenario: Scenario) -> list[str]:
    """Names of the per-path, non-constant inputs (the candidates for the drivers chart)."""
    return per_path_inputs(scenario)


def simulate_batch(
    task: BatchTask, shared: Shared | None = None
) -> tuple[PathOutcomes, Draws, np.ndarray]:
    """Draw and simulate one batch; return its per-path outcomes, draws and (n, H) cash.
    ``shared``: the draws of other scenarios' same batch, reused where they are the same
    (:class:`cashflow.draws.Shared`; the variants of :mod:`engine.compare`).

    Raises :class:`ScenarioError` (the scenario's fault, naming its cause) when an amount goes
    beyond ``MAX_AMOUNT`` or to NaN / infinity: every figure a run keeps is then finite and
    small enough that no sum, mean or histogram built from it can overflow.
    """
    keep_freed_memory()  # once per process: the next batch reuses this one's memory
    scenario = task.scenario
    seed = batch_seed(task.entropy, task.index)
    with np.errstate(all="ignore"):  # out-of-range amounts are reported below, with their cause
        draws = draw_batch(scenario, task.size, seed, task.sampler, shared)
        flows = simulate_flows(scenario, draws)
        done = flows.management
        balances = tuple(done.balance.values()) if done is not None else ()
        out = outcomes_of(
            layout_of(scenario), flows.revenue, flows.costs, flows.cash, scenario.floor, balances
        )
        out = dataclasses.replace(out, levers=lever_counts(scenario, done, task.size))
    if not (_within(out.quantities) and _within(out.fan)):
        raise _overflow_error(task, draws, flows, out)
    return out, draws, flows.cash


def _within(a: np.ndarray) -> bool:
    """Every value finite and within +-MAX_AMOUNT (a NaN fails both comparisons)."""
    return a.size == 0 or bool(a.max() <= MAX_AMOUNT and a.min() >= -MAX_AMOUNT)


def _out_of_range(a: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        outside: np.ndarray = ~(np.abs(a) <= MAX_AMOUNT)
    return outside


def _overflow_error(
    task: BatchTask, draws: Draws, flows: Flows, out: PathOutcomes
) -> ScenarioError:
    """The one-line ScenarioError of a batch whose amounts went out of range: the replay of a
    few of the paths that went wrong first (see :func:`cashflow.model.explain_overflow`)."""
    h = task.scenario.horizon_months
    first = np.full(task.size, h)  # first month out of range, per path (h: none)
    for t in range(h - 1, -1, -1):
        bad = _out_of_range(flows.cash[:, t])
        bad |= _out_of_range(flows.revenue[:, t])
        bad |= _out_of_range(flows.costs[:, t])
        first[bad] = t
    rows = np.flatnonzero(first < h)
    if rows.size:
        rows = rows[np.argsort(first[rows], kind="stable")]
    else:  # only a yearly total went out of range
        rows = np.flatnonzero(_out_of_range(out.quantities).any(axis=1))
    found = explain_overflow(task.scenario, draws, rows=np.sort(rows[:EXPLAIN_PATHS]))
    if found is None:
        problem = Problem(
            "",
            "amounts go beyond 1e100 (the largest supported) or to infinity on some paths; "
            "check the distributions of the largest inputs",
        )
    else:
        problem = Problem(found.path, found.message)
    return ScenarioError(problem, file=task.scenario.file)


def _driver_counts(
    scenario: Scenario, draws: Draws, ruin_month: np.ndarray, names: list[str]
) -> np.ndarray:
    h = scenario.horizon_months
    counts = np.zeros((len(names), 2, h + 1), dtype=np.int64)
    specs = scenario.inputs()
    for i, name in enumerate(names):
        x = draws.inputs[name].reshape(-1)
        spec = specs[name]
        lo, hi = np.asarray(spec.quantile(np.array([DRIVER_LOW, DRIVER_HIGH])), dtype=float)
        counts[i, 0] = np.bincount(ruin_month[x <= lo], minlength=h + 1)
        counts[i, 1] = np.bincount(ruin_month[x >= hi], minlength=h + 1)
    return counts


@dataclass(frozen=True)
class Grids:
    """The run's histogram grids, fixed from a pilot before any batch runs: per-path quantities
    and monthly cash (see :func:`make_grids`)."""

    quantities: Grid
    fan: Grid


def funding_rounds(scenario: Scenario) -> list[str]:
    """Names of the funding events in fixed months, in file order (bridge rounds, which depend
    on the cash, are among the levers instead)."""
    return [e.name for e in scenario.rounds]


def make_grids(
    scenario: Scenario, pilot: PathOutcomes, draws: Draws, bins: int, fan_bins: int
) -> Grids:
    """The run's :class:`Grids` from a pilot batch: its own ranges, except that a credit line's
    balance columns span 0 to the largest limit the pilot drew (a pilot that never draws on the
    line would otherwise leave no room for the balances of later batches)."""
    fan = make_grid(pilot.fan, fan_bins)
    h = scenario.horizon_months
    if scenario.credit:
        lo, hi = fan.lo.copy(), fan.hi.copy()
        for j, credit in enumerate(scenario.credit):
            top = float(np.max(draws.inputs[f"{credit.name}.limit"]))
            cols = slice(h * (1 + j), h * (2 + j))
            margin = max(top, 1e-9) * 1e-3
            lo[cols] = np.minimum(lo[cols], -margin)
            hi[cols] = np.maximum(hi[cols], top + margin)
        fan = Grid(lo, hi, fan_bins)
    return Grids(quantities=make_grid(pilot.quantities, bins), fan=fan)


def pilot_grids(task: BatchTask, bins: int, fan_bins: int) -> Grids:
    """The run's :class:`Grids` from the pilot batch ``task`` (see :func:`make_grids`)."""
    pilot, draws, _ = simulate_batch(task)
    return make_grids(task.scenario, pilot, draws, bins, fan_bins)


def _funding_counts(scenario: Scenario, draws: Draws, ruin_month: np.ndarray) -> np.ndarray:
    h = scenario.horizon_months
    names = funding_rounds(scenario)
    counts = np.zeros((len(names), 2, h + 1), dtype=np.int64)
    for j, name in enumerate(names):
        closes = occurs(draws, name)
        counts[j, 1] = np.bincount(ruin_month[closes], minlength=h + 1)
        counts[j, 0] = np.bincount(ruin_month[~closes], minlength=h + 1)
    return counts


def reduce_batch(
    task: BatchTask, out: PathOutcomes, draws: Draws, cash: np.ndarray, grids: Grids
) -> BatchResult:
    """Reduce a simulated batch to its small result on the run's histogram grids."""
    h = task.scenario.horizon_months
    assert out.levers is not None  # simulate_batch always fills them in
    return BatchResult(
        index=task.index,
        size=task.size,
        ruin_counts=np.bincount(out.ruin_month, minlength=h + 1).astype(np.int64),
        hist=Histograms.of(grids.quantities, out.quantities),
        fan=Histograms.of(grids.fan, out.fan),
        driver_counts=_driver_counts(
            task.scenario, draws, out.ruin_month, driver_inputs(task.scenario)
        ),
        funding_counts=_funding_counts(task.scenario, draws, out.ruin_month),
        lever_counts=out.levers,
        sample_cash=cash[:SAMPLE_PATHS].copy() if task.index == 0 else None,
    )


def run_batch(task: BatchTask, grids: Grids) -> BatchResult:
    """Simulate and reduce one batch."""
    out, draws, cash = simulate_batch(task)
    return reduce_batch(task, out, draws, cash, grids)


@dataclass
class ChunkResult:
    """Consecutive batches merged in batch order: the unit shipped back from a worker.

    ``batch_ruin_counts``: (b, H + 1) each batch's ruin counts; ``hist``, ``fan``: the chunk's
    histograms, packed; other fields as in :class:`BatchResult`, summed over the chunk.
    """

    first: int
    sizes: list[int]
    batch_ruin_counts: np.ndarray
    hist: Packed
    fan: Packed
    driver_counts: np.ndarray
    funding_counts: np.ndarray
    lever_counts: np.ndarray
    sample_cash: np.ndarray | None


def run_chunk(tasks: list[BatchTask], grids: Grids) -> ChunkResult:
    """Simulate consecutive batches and merge them in batch order (the function shipped to
    workers). Chunk boundaries depend only on the run's batches, never on the number of jobs,
    so the float sums are added in one fixed order whatever runs them."""
    results = [run_batch(task, grids) for task in tasks]
    hist = Histograms.merge_all(grids.quantities, (r.hist for r in results))
    fan = Histograms.merge_all(grids.fan, (r.fan for r in results))
    return ChunkResult(
        first=tasks[0].index,
        sizes=[t.size for t in tasks],
        batch_ruin_counts=np.array([r.ruin_counts for r in results]),
        hist=hist.pack(),
        fan=fan.pack(),
        driver_counts=np.sum([r.driver_counts for r in results], axis=0),
        funding_counts=np.sum([r.funding_counts for r in results], axis=0),
        lever_counts=np.sum([r.lever_counts for r in results], axis=0),
        sample_cash=results[0].sample_cash,
    )
