"""Compare a scenario's variants on common random numbers: ``compare(file, variants) ->
Comparison``.

Every variant (the base first) is simulated inside the same batch, on the same draws: batch i
of each draws from the same ``SeedSequence(entropy, spawn_key=(i,))`` and the same named
streams (:mod:`cashflow.draws`), so an input a variant does not change takes bit-identical
values on every path. The difference of two chances is then read from the *same* paths, and its
standard error comes only from the paths whose outcome differs between the two (the discordant
paths): for a question date D, with ``n10`` paths where the base runs out before D and the
variant does not, ``n01`` the other way round, ``p10 = n10 / n``, ``p01 = n01 / n``::

    difference = p01 - p10 = p_variant - p_base
    variance   = (p10 + p01 - (p10 - p01) ** 2) / n

(the variance of the mean of the per-path differences, each -1, 0 or +1). A variant that
changes nothing has no discordant path: difference exactly 0, 95% CI exactly [0, 0]. Two
independent runs would instead add both binomial variances, however similar the variants.

With ``lhs`` or ``sobol`` the paths of a batch are not independent, but the batches are
independent randomizations: as for a single run (:mod:`engine.results`), each variant's chance
and each paired difference then take their standard error from the B batch estimates
(d_b = (n01_b - n10_b) / n_b, SE = sqrt(sum_b n_b (d_b - d)**2 / ((B - 1) N)), Student t with
B - 1 degrees of freedom), from at least :data:`engine.results.MIN_REPLICATES` batches; the
batch size is halved until there are that many.

Each batch is reduced to small counts (ruin months per variant, discordant paths per variant
and question date, histograms of the yearly net loss on grids fixed from a pilot), merged in
batch order: the result is bit-identical whatever the number of jobs.
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cashflow import calendar
from cashflow.draws import Shared
from cashflow.parse import load_scenario
from cashflow.scenario import Scenario
from distributions.errors import Problem, ScenarioError, UsageError, did_you_mean
from distributions.samplers import check_sampler
from distributions.seeding import fresh_entropy
from engine.batch import BatchTask, layout_of, simulate_batch
from engine.files import atomic_write
from engine.histogram import Grid, Histograms, Packed, make_grid
from engine.pool import results_in_order, workers_for
from engine.results import (
    MIN_REPLICATES,
    Z95,
    probability_intervals,
    replicates_apply,
    runway_months,
)
from engine.wording import pct_with_range

__all__ = [
    "BASE",
    "COMPARE_FILE",
    "Comparison",
    "VariantOutcome",
    "compare",
    "compare_chunk",
    "paired_difference",
    "pts",
    "read_comparison",
    "write_comparison",
]

BASE = "base"  # the name of the scenario as written, first in every comparison
BASE_DESCRIPTION = "the scenario as written"
COMPARE_FILE = "compare.csv"
COMPARE_BINS = 2**14  # histogram bins per yearly net loss: p50 / p95 well within 0.1 SE
PILOT_PATHS = 4096  # paths of each variant's pilot (batch 0's seed) fixing its grid
NET_LOSS_LEVELS = (0.50, 0.95)


# ----- the arithmetic ---------------------------------------------------------------------
def paired_difference(n10: int, n01: int, n: int) -> tuple[float, tuple[float, float]]:
    """Difference p_variant - p_base of two chances read from the same ``n`` paths, and its
    95% CI, from the discordant paths: ``n10`` (base yes, variant no) and ``n01`` (variant yes,
    base no). No discordant path: exactly (0.0, (0.0, 0.0))."""
    if n10 == 0 and n01 == 0:
        return 0.0, (0.0, 0.0)
    p10, p01 = n10 / n, n01 / n
    d = (n01 - n10) / n
    half = Z95 * math.sqrt(max(p10 + p01 - (p10 - p01) ** 2, 0.0) / n)
    return d, (max(d - half, -1.0), min(d + half, 1.0))


def replicate_difference(
    dsum: int, square_sum: float, n: int, batches: int
) -> tuple[float, tuple[float, float]]:
    """Difference p_variant - p_base = ``dsum`` / ``n`` (``dsum`` = n01 - n10 over all
    batches) and its 95% CI from the ``batches`` batches as replicates: ``square_sum`` =
    sum_b (n01_b - n10_b)**2 / n_b; Student t with B - 1 degrees of freedom. Needs B >= 2."""
    from scipy.special import stdtrit

    d = dsum / n
    spread = max(square_sum - dsum * d, 0.0)  # sum_b n_b (d_b - d)**2
    half = float(stdtrit(batches - 1, 0.975)) * math.sqrt(spread / (batches - 1) / n)
    return d, (max(d - half, -1.0), min(d + half, 1.0))


# ----- the work of one chunk (in a worker) ------------------------------------------------
@dataclass(frozen=True)
class CompareTask:
    """One batch of every variant: ``scenarios[0]`` is the base; ``months``: whole months
    before each question date."""

    scenarios: tuple[Scenario, ...]
    entropy: int
    index: int
    size: int
    sampler: str
    months: tuple[int, ...]


@dataclass
class CompareChunk:
    """Consecutive batches merged in batch order. ``ruin_counts``: (V, H + 1); ``n10``,
    ``n01``: (V, Q) discordant paths against the base; ``hist``: per variant, packed.
    ``k_squares``, ``d_squares``: (V, Q) sums over the batches of k_b**2 / n_b (k_b: paths
    ruined before the question date) and (n01_b - n10_b)**2 / n_b, for the replicate
    intervals."""

    first: int
    paths: int
    ruin_counts: np.ndarray
    n10: np.ndarray
    n01: np.ndarray
    hist: list[Packed]
    k_squares: np.ndarray
    d_squares: np.ndarray


def _net_loss_columns(scenario: Scenario) -> slice:
    """The yearly net-loss columns of :attr:`PathOutcomes.quantities` (the last ``years``)."""
    y = len(layout_of(scenario).years)
    return slice(3 * y + 1, 4 * y + 1)


def _compare_batch(
    task: CompareTask, grids: Sequence[Grid]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Histograms]]:
    h = task.scenarios[0].horizon_months
    v, q = len(task.scenarios), len(task.months)
    ruin_counts = np.zeros((v, h + 1), np.int64)
    n10 = np.zeros((v, q), np.int64)
    n01 = np.zeros((v, q), np.int64)
    hists = []
    base_ruin = None
    months = np.asarray(task.months)
    shared = Shared()  # what a variant draws as the base does is drawn once (the same values)
    for i, scenario in enumerate(task.scenarios):
        batch = BatchTask(scenario, task.entropy, task.index, task.size, task.sampler)
        out, _, _ = simulate_batch(batch, shared)
        ruin = out.ruin_month
        ruin_counts[i] = np.bincount(ruin, minlength=h + 1)
        hists.append(Histograms.of(grids[i], out.quantities[:, _net_loss_columns(scenario)]))
        if base_ruin is None:
            base_ruin = ruin
        else:
            for j, m in enumerate(months):
                base_out, var_out = base_ruin < m, ruin < m
                n10[i, j] = np.count_nonzero(base_out & ~var_out)
                n01[i, j] = np.count_nonzero(var_out & ~base_out)
        del out
    return ruin_counts, n10, n01, hists


def compare_chunk(tasks: list[CompareTask], grids: tuple[Grid, ...]) -> CompareChunk:
    """Simulate consecutive batches of every variant and merge them in batch order (the
    function shipped to the workers through :func:`engine.pool.results_in_order`)."""
    parts = [_compare_batch(task, grids) for task in tasks]
    hist = [
        Histograms.merge_all(grid, (p[3][i] for p in parts)).pack() for i, grid in enumerate(grids)
    ]
    months = np.asarray(tasks[0].months)
    k_squares = np.zeros(parts[0][1].shape)
    d_squares = np.zeros(parts[0][1].shape)
    for task, (counts, n10, n01, _) in zip(tasks, parts, strict=True):  # in batch order
        ruined = np.cumsum(counts, axis=1)[:, months - 1] if len(months) else counts[:, :0]
        ruined = np.where(months > 0, ruined, 0)
        k_squares += ruined.astype(float) ** 2 / task.size
        d_squares += (n01 - n10).astype(float) ** 2 / task.size
    return CompareChunk(
        first=tasks[0].index,
        paths=sum(t.size for t in tasks),
        ruin_counts=np.sum([p[0] for p in parts], axis=0),
        n10=np.sum([p[1] for p in parts], axis=0),
        n01=np.sum([p[2] for p in parts], axis=0),
        hist=hist,
        k_squares=k_squares,
        d_squares=d_squares,
    )


# ----- the result -------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantOutcome:
    """One variant's merged counts. ``ruin_counts``: (H + 1,) paths by ruin month (index H:
    never within the horizon); ``n10``, ``n01``: (Q,) discordant paths against the base per
    question date; ``net_loss``: calendar year -> (p50, p95) of the year's net loss.
    ``k_squares``, ``d_squares``: (Q,) the batch sums of :class:`CompareChunk`; ``stratified``:
    the intervals come from the batches as replicates (lhs / sobol acting on an input of the
    variant or of the base)."""

    name: str
    description: str
    ruin_counts: np.ndarray
    n10: np.ndarray
    n01: np.ndarray
    net_loss: dict[int, tuple[float, float]]
    k_squares: np.ndarray | None = None
    d_squares: np.ndarray | None = None
    stratified: bool = False
    kind: str = "variant"  # "base", "variant" (the file's [variants.NAME]) or "lever"

    def median_runway(self) -> int | str:
        """Median runway in months (ruin month + 1), or "beyond the horizon" when fewer than
        half the paths run out (as :meth:`engine.results.Results.runway_months`)."""
        return runway_months(self.ruin_counts, 0.5)


@dataclass(frozen=True)
class Comparison:
    """The base and its variants simulated on the same paths; see :func:`compare`."""

    scenario: str
    file: str
    unit: str
    paths: int
    seed: int
    sampler: str
    batch_size: int
    start_year: int
    start_month: int
    horizon_months: int
    dates: tuple[dt.date, ...]  # the base's question dates
    months: tuple[int, ...]
    variants: tuple[VariantOutcome, ...]  # the base first
    batches: int = 1

    # ----- per question -----------------------------------------------------------------
    def answer(self, variant: int, question: int) -> dict[str, Any]:
        """probability, ci95, difference, difference_ci95 of one variant and question, and
        ``replicates``: the number of batches the intervals come from (0: binomial / paired
        binomial, the module docstring)."""
        v = self.variants[variant]
        n = self.paths
        k = int(v.ruin_counts[: self.months[question]].sum())
        squares = float(v.k_squares[question]) if v.k_squares is not None else 0.0
        found = probability_intervals(k, n, self.batches, squares, v.stratified)
        n10, n01 = int(v.n10[question]), int(v.n01[question])
        replicates = v.stratified and self.batches >= MIN_REPLICATES
        if replicates and v.d_squares is not None and (n10 or n01):
            d, d_ci = replicate_difference(n01 - n10, float(v.d_squares[question]), n, self.batches)
        else:
            d, d_ci = paired_difference(n10, n01, n)
        return {
            "probability": k / n,
            "ci95": (float(found.low), float(found.high)),
            "difference": d,
            "difference_ci95": d_ci,
            "replicates": self.batches if replicates else 0,
        }

    def questions(self) -> pd.DataFrame:
        """One row per question date and variant (the base first): variant, description,
        before, probability and its 95% interval (ci_low, ci_high), the paired difference
        from the base and its 95% CI (diff_low, diff_high), paths, replicates: the batches
        the intervals come from (0: Wilson and paired binomial intervals), and kind: "base",
        "variant" (the file's) or "lever" (a management lever switched off)."""
        rows = []
        for qi, before in enumerate(self.dates):
            for vi, v in enumerate(self.variants):
                a = self.answer(vi, qi)
                rows.append(
                    (
                        v.name,
                        v.description,
                        before.isoformat(),
                        a["probability"],
                        *a["ci95"],
                        a["difference"],
                        *a["difference_ci95"],
                        self.paths,
                        a["replicates"],
                        v.kind,
                    )
                )
        return pd.DataFrame(
            rows,
            columns=[
                "variant",
                "description",
                "before",
                "probability",
                "ci_low",
                "ci_high",
                "difference",
                "diff_low",
                "diff_high",
                "paths",
                "replicates",
                "kind",
            ],
        )

    def summary(self) -> pd.DataFrame:
        """One row per variant: median runway (months, or "beyond the horizon"), the share of
        paths that never run out within the horizon, and the p50 / p95 net loss of every
        calendar year (columns ``net_loss_p50_YEAR``, ``net_loss_p95_YEAR``)."""
        rows = []
        for v in self.variants:
            row: dict[str, Any] = {
                "variant": v.name,
                "description": v.description,
                "median_runway_months": v.median_runway(),
                "never_runs_out": float(v.ruin_counts[-1] / self.paths),
            }
            for year, (p50, p95) in v.net_loss.items():
                row[f"net_loss_p50_{year}"] = p50
                row[f"net_loss_p95_{year}"] = p95
            rows.append(row)
        return pd.DataFrame(rows)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (``compare --json``)."""
        out = []
        for vi, v in enumerate(self.variants):
            questions = []
            for qi, before in enumerate(self.dates):
                a = self.answer(vi, qi)
                questions.append(
                    {
                        "before": before.isoformat(),
                        "probability": a["probability"],
                        "ci95": list(a["ci95"]),
                        "difference": a["difference"],
                        "difference_ci95": list(a["difference_ci95"]),
                        "replicates": a["replicates"],
                    }
                )
            out.append(
                {
                    "name": v.name,
                    "kind": v.kind,
                    "description": v.description,
                    "median_runway_months": v.median_runway(),
                    "net_loss": {
                        str(y): {"p50": p50, "p95": p95} for y, (p50, p95) in v.net_loss.items()
                    },
                    "questions": questions,
                }
            )
        return {"scenario": self.scenario, "paths": self.paths, "seed": self.seed, "variants": out}

    def text(self) -> str:
        """A terminal table: per question date, each variant's chance with its 95% CI and the
        paired difference from the base (percentage points) with its 95% CI; then the median
        runway and yearly net loss of each variant."""
        width = max(len(v.name) for v in self.variants)
        lines = [
            f"Variants of {self.scenario} on common random numbers: {self.paths:,} paths, "
            f"seed {self.seed} (every variant on the same paths)"
        ]
        if any(v.stratified for v in self.variants) and self.batches >= MIN_REPLICATES:
            lines.append(
                f"Sampler {self.sampler}: 95% CIs from the {self.batches} batches as replicates "
                "(Student t)"
            )
        for qi, before in enumerate(self.dates):
            lines.append(f"Chance cash runs out before {before.isoformat()}:")
            for vi, v in enumerate(self.variants):
                a = self.answer(vi, qi)
                lo, hi = a["ci95"]
                cell = pct_with_range(a["probability"], lo, hi)
                if vi == 0:
                    diff = "(reference)"
                else:
                    dlo, dhi = a["difference_ci95"]
                    diff = f"{pts(a['difference'])} pts ({pts(dlo)} to {pts(dhi)})"
                lines.append(f"  {v.name:<{width}}  {cell:<20}  {diff}")
        years = sorted({y for v in self.variants for y in v.net_loss})
        lines.append(f"Median runway; net loss per year, p50 / p95 ({self.unit}):")
        runway = [self._runway_words(v.median_runway()) for v in self.variants]
        rw = max(len("median runway"), *(len(r) for r in runway))
        head = f"  {'variant':<{width}}  {'median runway':<{rw}}" + "".join(
            f"  {y:>15}" for y in years
        )
        lines.append(head)
        for v, r in zip(self.variants, runway, strict=True):
            cells = "".join(
                f"  {f'{v.net_loss[y][0]:.2f} / {v.net_loss[y][1]:.2f}':>15}"
                if y in v.net_loss
                else f"  {'':>15}"
                for y in years
            )
            lines.append(f"  {v.name:<{width}}  {r:<{rw}}" + cells)
        return "\n".join(lines)

    def _runway_words(self, months: int | str) -> str:
        if isinstance(months, str):
            return months
        label = calendar.month_label(self.start_year, self.start_month, months - 1)
        return f"{months} months ({label})"


def pts(d: float) -> str:
    """A difference of chances in percentage points, signed: 0.0123 -> ``"+1.2"``."""
    return f"{100 * d + 0.0:+.1f}"


# ----- running it -------------------------------------------------------------------------
def _load(
    file: str | pathlib.Path, variant: str | None, sets: Sequence[tuple[str, object]]
) -> Scenario:
    return load_scenario(file, variant=variant, sets=tuple(sets))


def lever_switches(scenario: Scenario) -> list[tuple[str, str, tuple[str, object]]]:
    """For each action, bridge round and credit line of ``scenario``: the name of the
    comparison without it ("without NAME"), its description, and the ``--set`` that switches
    it off (``enabled = false``; a bridge round's ``probability = 0``)."""
    out: list[tuple[str, str, tuple[str, object]]] = []
    for action in scenario.actions:
        what = f"action '{action.name}' switched off"
        out.append((f"without {action.name}", what, (f"actions.{action.name}.enabled", False)))
    for bridge in scenario.bridges:
        what = f"bridge round '{bridge.name}' never closes"
        out.append((f"without {bridge.name}", what, (f"events.{bridge.name}.probability", 0)))
    for credit in scenario.credit:
        what = f"credit line '{credit.name}' switched off"
        out.append((f"without {credit.name}", what, (f"credit.{credit.name}.enabled", False)))
    return out


def _variant_names(
    base: Scenario, variants: Sequence[str] | None, file: str, *, levers: bool = False
) -> list[str]:
    known = list(base.variants)
    if variants is None:
        names = known
        if not names and levers:
            return names
    else:
        names = []
        for name in variants:
            name = str(name).strip()
            if name not in known:
                hint = did_you_mean(name, known) if known else "; the file defines no variants"
                raise ScenarioError(
                    Problem("variants", f"unknown variant '{name}'{hint}"), file=file
                )
            if name not in names:
                names.append(name)
    if not names:
        raise ScenarioError(
            Problem(
                "variants", "the file defines no variants ([variants.NAME]): nothing to compare"
            ),
            file=file,
        )
    if BASE in names:
        raise ScenarioError(
            Problem(
                f"variants.{BASE}", f"'{BASE}' names the scenario as written; rename the variant"
            ),
            file=file,
        )
    return names


def compare(
    scenario_file: str | pathlib.Path,
    variants: Sequence[str] | None = None,
    *,
    paths: int = 1_000_000,
    seed: int | None = None,
    jobs: int | None = None,
    sampler: str = "mc",
    batch_size: int | None = None,
    sets: Sequence[tuple[str, object]] = (),
) -> Comparison:
    """Simulate the scenario in ``scenario_file`` as written (named "base") and each of
    ``variants`` (None: every ``[variants.NAME]`` of the file, in file order) on the same
    ``paths`` paths (common random numbers), and compare their answers to the base's
    question dates.

    ``seed``: the entropy (None: fresh, recorded in the result); ``jobs``: worker processes
    (as for :func:`engine.runner.run`); ``sampler``: "mc", "lhs" or "sobol"; ``batch_size``:
    paths per batch (default: the smallest that the memory rule gives any variant); ``sets``:
    overrides, ``(key, value)`` pairs, applied to the base and every variant. With ``variants``
    None, each action, bridge round and credit line of the scenario is compared too, switched
    off ("without NAME", :func:`lever_switches`): what each management lever changes. The
    result is bit-identical whatever ``jobs``.
    """
    from engine.runner import (
        MEMORY_BUDGET_BYTES,
        batch_size_for,
        batch_sizes,
        chunk_batches,
        local_backend,
    )

    check_sampler(sampler)
    if paths < 1:
        raise UsageError("paths", "{paths} must be a positive number (got {got})", got=paths)
    file = str(scenario_file)
    base = _load(file, None, sets)
    switches = lever_switches(base) if variants is None else []
    names = _variant_names(base, variants, file, levers=bool(switches))
    scenarios = [base] + [_load(file, name, sets) for name in names]
    descriptions = {
        name: str(base.variants[name].get("description", "") or "").strip() for name in names
    }
    for name, what, switch in switches:
        scenarios.append(_load(file, None, [*sets, switch]))
        names.append(name)
        descriptions[name] = what
    for name, s in zip(names, scenarios[1:], strict=True):
        if (s.start_year, s.start_month, s.horizon_months) != (
            base.start_year,
            base.start_month,
            base.horizon_months,
        ):
            raise ScenarioError(
                Problem(
                    f"variants.{name}",
                    "a variant compared with the base must keep its start and horizon_months",
                ),
                file=file,
            )
    workers = workers_for(jobs)
    entropy = fresh_entropy() if seed is None else int(seed)
    size = batch_size or min(
        batch_size_for(s, MEMORY_BUDGET_BYTES, sampler=sampler, paths=paths) for s in scenarios
    )
    h = base.horizon_months
    dates = tuple(base.questions) or (
        calendar.month_start_date(base.start_year, base.start_month, h),
    )
    months = tuple(calendar.months_before(base.start_year, base.start_month, d) for d in dates)

    grids = []
    for s in scenarios:  # each variant's grid from its own pilot (batch 0's seed)
        pilot, _, _ = simulate_batch(BatchTask(s, entropy, 0, min(size, PILOT_PATHS), sampler))
        grids.append(make_grid(pilot.quantities[:, _net_loss_columns(s)], COMPARE_BINS))
        del pilot
    grids_t = tuple(grids)

    per_chunk = chunk_batches(size)
    sizes = batch_sizes(paths, size)
    frozen = tuple(scenarios)

    def chunk_at(i: int) -> list[CompareTask] | None:
        first = i * per_chunk
        if first >= len(sizes):
            return None
        return [
            CompareTask(frozen, entropy, b, sizes[b], sampler, months)
            for b in range(first, min(first + per_chunk, len(sizes)))
        ]

    v, q = len(scenarios), len(months)
    ruin_counts = np.zeros((v, h + 1), np.int64)
    n10 = np.zeros((v, q), np.int64)
    n01 = np.zeros((v, q), np.int64)
    hists = [Histograms.empty(g) for g in grids_t]
    k_squares = np.zeros((v, q))
    d_squares = np.zeros((v, q))
    done = 0
    backend = local_backend(list(scenarios), size, workers)
    outputs = results_in_order(chunk_at, grids_t, workers, backend=backend, work=compare_chunk)
    try:
        for chunk in outputs:  # in chunk order
            ruin_counts += chunk.ruin_counts
            n10 += chunk.n10
            n01 += chunk.n01
            for hist, packed in zip(hists, chunk.hist, strict=True):
                hist.add(packed)
            k_squares += chunk.k_squares
            d_squares += chunk.d_squares
            done += chunk.paths
    finally:
        outputs.close()
    assert done == paths

    years = layout_of(base).years
    first_lever = 1 + len(names) - len(switches)  # the lever switches come after the variants
    outcomes = []
    for i in range(len(scenarios)):
        qs = hists[i].quantile(np.array(NET_LOSS_LEVELS))  # (years, 2)
        name = BASE if i == 0 else names[i - 1]
        description = BASE_DESCRIPTION if i == 0 else descriptions[name]
        outcomes.append(
            VariantOutcome(
                name=name,
                description=description,
                ruin_counts=ruin_counts[i].copy(),
                n10=n10[i].copy(),
                n01=n01[i].copy(),
                net_loss={int(y): (float(qs[j, 0]), float(qs[j, 1])) for j, y in enumerate(years)},
                k_squares=k_squares[i].copy(),
                d_squares=d_squares[i].copy(),
                stratified=replicates_apply(sampler, scenarios[i])
                or replicates_apply(sampler, base),
                kind="base" if i == 0 else "lever" if i >= first_lever else "variant",
            )
        )
    return Comparison(
        scenario=base.name,
        file=file,
        unit=base.unit,
        paths=paths,
        seed=entropy,
        sampler=sampler,
        batch_size=size,
        start_year=base.start_year,
        start_month=base.start_month,
        horizon_months=h,
        dates=dates,
        months=months,
        variants=tuple(outcomes),
        batches=len(sizes),
    )


# ----- the run directory ------------------------------------------------------------------
def write_comparison(comparison: Comparison, run_dir: str | pathlib.Path) -> pathlib.Path:
    """Write ``run_dir/compare.csv`` atomically: the questions table
    (:meth:`Comparison.questions`) plus each variant's ``median_runway_months`` (what the
    report's page reads back)."""
    df = comparison.questions()
    runway = {v.name: v.median_runway() for v in comparison.variants}
    df["median_runway_months"] = [str(runway[name]) for name in df["variant"]]
    path = pathlib.Path(run_dir) / COMPARE_FILE
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, lineterminator="\n"))
    return path


def read_comparison(run_dir: str | pathlib.Path) -> pd.DataFrame | None:
    """``run_dir/compare.csv`` as written by :func:`write_comparison`, or None without one."""
    path = pathlib.Path(run_dir) / COMPARE_FILE
    if not path.is_file():
        return None
    text = {
        "variant": str,
        "description": str,
        "before": str,
        "median_runway_months": str,
        "kind": str,
    }
    return pd.read_csv(path, dtype=text, keep_default_na=False)
