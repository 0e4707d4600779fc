"""Results of a run: merged counts and histograms, turned into answers and pandas tables.

Runway is survival data: a path still at or above the floor at the horizon is censored there,
so a runway percentile that is never reached is "beyond the horizon", never the horizon itself.

Every probability comes with its standard error and a 95% confidence interval, computed by one
function, :func:`probability_intervals` (the answers, the convergence table, the survival band
and ``--until-ci`` all use it):

- plain Monte Carlo (``"mc"``), and ``"lhs"`` / ``"sobol"`` on a scenario without uncertain
  per-path inputs (the sampler then has nothing to act on and the run is plain Monte Carlo):
  binomial standard error sqrt(p (1 - p) / N) and the 95% Wilson score interval;
- ``"lhs"`` and ``"sobol"`` otherwise: the paths of a batch are not independent draws, but each
  batch is an independent randomization (its own seed), so the B batch estimates
  p_b = k_b / n_b are independent replicates. The estimate stays p = K / N (K = sum k_b,
  N = sum n_b), the size-weighted mean of the p_b. With Var(p_b) = s2 / n_b (the batch's
  variance falls as 1 / n_b, which makes the smaller last batch count for less),
  s2 = sum n_b (p_b - p)**2 / (B - 1) is an unbiased estimate of s2, and
  SE = sqrt(s2 / N) = sqrt(sum n_b (p_b - p)**2 / ((B - 1) N)); for equal batches this is the
  usual standard error of the mean of the B replicates. The 95% interval is
  p +- t(0.975, B - 1) SE (Student t), clipped to [0, 1]. It needs at least
  :data:`MIN_REPLICATES` batches; with fewer, and when no path or every path runs out (k = 0 or
  k = N: the replicates then all agree and say nothing), the binomial (Wilson) interval is used
  instead (conservative for Latin hypercube) and the answer carries a note saying so.

When no path or every path runs out, there is no standard error to give (``std_error`` is
None): the Wilson interval's far end is the bound on the chance.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cashflow import calendar
from cashflow.draws import per_path_inputs
from cashflow.scenario import Scenario
from distributions.errors import UsageError
from engine.histogram import Histograms
from engine.levers import Lever
from engine.outcomes import Layout
from engine.wording import pct_ci

if TYPE_CHECKING:  # pandas is imported by the methods that build tables: `ask` needs none
    import pandas as pd

__all__ = [
    "BEYOND",
    "MIN_REPLICATES",
    "PERCENTILES",
    "REPLICATE_SAMPLERS",
    "Z95",
    "Answer",
    "BatchMoments",
    "Intervals",
    "Results",
    "check_question_date",
    "probability_intervals",
    "question_date_problem",
    "replicates_apply",
    "runway_months",
    "sampler_inputs",
    "wilson_interval",
]

BEYOND = "beyond the horizon"
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
Z95 = 1.959963984540054
#: Fewest batches (independent replicates) for an interval of an lhs / sobol run from the
#: replicates; below it, the binomial (Wilson) interval, with a note.
MIN_REPLICATES = 30
#: Samplers whose paths are not independent draws: their intervals come from the batches.
REPLICATE_SAMPLERS = ("lhs", "sobol")


def runway_months(ruin_counts: np.ndarray, q: float) -> int | str:
    """q-quantile of the runway in months from (H + 1,) ruin-month counts (index H: never):
    ruin month + 1, or "beyond the horizon" when fewer than q of the paths run out."""
    cum = np.cumsum(ruin_counts[:-1]) / ruin_counts.sum()
    hit = np.flatnonzero(cum >= q - 1e-15)
    return int(hit[0]) + 1 if len(hit) else BEYOND


def check_question_date(
    start_year: int,
    start_month: int,
    horizon: int,
    before: dt.date,
    param: str = "before",
    sep: str = " ",
) -> int:
    """Whole months completed before ``before``; if outside the horizon, a one-line
    :class:`UsageError` about ``param`` (the parameter the date came from), whose name and
    ``sep`` start the line: "before 2030-01-01 is outside the simulated horizon; ..."."""
    problem = question_date_problem(start_year, start_month, horizon, before)
    if problem is not None:
        raise UsageError(param, f"{{{param}}}{{sep}}{{problem}}", sep=sep, problem=problem)
    return calendar.months_before(start_year, start_month, before)


def question_date_problem(
    start_year: int, start_month: int, horizon: int, before: dt.date
) -> str | None:
    """None if the simulated horizon can answer the question about ``before``, else why not
    ("2030-01-01 is outside the simulated horizon; valid dates are ... to ...")."""
    first, last = calendar.question_dates(start_year, start_month, horizon)
    if first <= before <= last:
        return None
    return (
        f"{before.isoformat()} is outside the simulated horizon; valid dates are "
        f"{first.isoformat()} to {last.isoformat()}"
    )


def wilson_interval(successes: np.ndarray | int, n: np.ndarray | int, z: float = Z95) -> tuple:
    """95% Wilson score interval (low, high) for a binomial proportion; vectorized."""
    k = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # The ends are exact at k = 0 and k = n (the formula gives them up to rounding).
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0, 1))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0, 1))
    return low, high


def sampler_inputs(sampler: str, scenario: Scenario) -> list[str]:
    """The inputs ``sampler`` stratifies in ``scenario``: its uncertain per-path inputs
    (:func:`cashflow.draws.per_path_inputs`) for "lhs" and "sobol", none for "mc"."""
    return per_path_inputs(scenario) if sampler in REPLICATE_SAMPLERS else []


def replicates_apply(sampler: str, scenario: Scenario) -> bool:
    """True when the run's intervals come from its batches as replicates: an "lhs" or "sobol"
    run of a scenario with an uncertain per-path input to act on (otherwise the run is plain
    Monte Carlo, bit for bit)."""
    return bool(sampler_inputs(sampler, scenario))


def _ruined_before(batch_ruin_counts: Any) -> np.ndarray:
    """(B, H + 1) paths by ruin month -> (B, H + 1) paths ruined in months < m, m = 0..H."""
    rows = np.asarray(batch_ruin_counts, dtype=np.int64).reshape(len(batch_ruin_counts), -1)
    out = np.zeros_like(rows)
    np.cumsum(rows[:, :-1], axis=1, out=out[:, 1:])
    return out


def square_sums(batch_ruin_counts: Any, batch_sizes: Any) -> dict[int, np.ndarray]:
    """{batch size n: (H + 1,) sum over the batches of that size of k_b[m]**2}, k_b[m] the
    batch's paths ruined in months < m. Exact integers, so the same whatever order the batches
    are added in (the runner adds them chunk by chunk, :class:`Results` all at once)."""
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    k = _ruined_before(batch_ruin_counts)
    return {int(n): (k[sizes == n] ** 2).sum(axis=0) for n in np.unique(sizes)}


def _mean_square(sums: Mapping[int, Any], like: Any = 0.0) -> np.ndarray:
    """sum_b k_b**2 / n_b = sum_b n_b p_b**2 from :func:`square_sums` (in increasing batch
    size: the same float operations whoever calls it)."""
    total = np.zeros_like(np.asarray(like, dtype=float))
    for n in sorted(sums):
        total = total + np.asarray(sums[n]) / n
    return total


@dataclass(frozen=True)
class BatchMoments:
    """All the intervals need of a run's per-batch ruin counts: ``paths`` N, ``batches`` B,
    ``ruined`` (H + 1,) K[m] = paths ruined in months < m, and ``square_sums`` (see
    :func:`square_sums`)."""

    paths: int
    batches: int
    ruined: np.ndarray
    square_sums: dict[int, np.ndarray]

    @classmethod
    def of_batches(cls, batch_ruin_counts: np.ndarray, batch_sizes: np.ndarray) -> BatchMoments:
        counts = np.asarray(batch_ruin_counts, dtype=np.int64)
        total = counts.sum(axis=0, dtype=np.int64)
        ruined = np.concatenate([[0], np.cumsum(total[:-1])]).astype(np.int64)
        return cls(
            paths=int(np.sum(batch_sizes)),
            batches=len(batch_sizes),
            ruined=ruined,
            square_sums=square_sums(counts, batch_sizes),
        )

    def mean_square(self) -> np.ndarray:
        """(H + 1,) sum_b k_b[m]**2 / n_b."""
        return _mean_square(self.square_sums, self.ruined)

    def interval(self, months: int, stratified: bool) -> Intervals:
        """The chance of running out in the first ``months`` months, with its interval
        (:func:`probability_intervals`)."""
        ms = _mean_square({size: s[months] for size, s in self.square_sums.items()})
        return probability_intervals(
            int(self.ruined[months]), self.paths, self.batches, ms, stratified
        )


@dataclass(frozen=True)
class Intervals:
    """Probabilities with their standard errors and 95% intervals (arrays of one shape).

    ``std_error``: NaN where undefined (no path or every path ran out); ``replicates``: True
    where the interval comes from the batches as replicates (Student t), False where it is the
    binomial (Wilson) one; ``variance``: the per-path variance behind the standard error,
    SE**2 = variance / paths (p (1 - p) for the binomial)."""

    probability: np.ndarray
    std_error: np.ndarray
    low: np.ndarray
    high: np.ndarray
    replicates: np.ndarray
    variance: np.ndarray


def probability_intervals(
    k: np.ndarray | int,
    n: np.ndarray | int,
    batches: np.ndarray | int,
    mean_square: np.ndarray | float,
    stratified: bool,
) -> Intervals:
    """The one place a probability's standard error and 95% interval are computed; vectorized.

    ``k`` of ``n`` paths ran out, in ``batches`` batches with ``mean_square`` =
    sum_b k_b**2 / n_b (:meth:`BatchMoments.mean_square`). ``stratified``: the batches are
    independent randomizations of an lhs / sobol design (:func:`replicates_apply`); the
    intervals come from them where there are at least :data:`MIN_REPLICATES` batches and
    0 < k < n, else (and always for plain Monte Carlo) the binomial standard error and the
    Wilson interval. The formulas: see the module docstring."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    b = np.asarray(batches)
    p = k / n
    variance = p * (1 - p)
    se = np.sqrt(variance / n)
    low, high = wilson_interval(k, n)
    use = np.asarray(stratified & (b >= MIN_REPLICATES) & (k > 0) & (k < n))
    if use.any():
        from scipy.special import stdtrit  # the Student t quantile (scipy.stats.t.ppf's own)

        # sum_b n_b (p_b - p)**2 = sum_b k_b**2 / n_b - K p (>= 0 up to rounding)
        spread = np.maximum(np.asarray(mean_square, dtype=float) - k * p, 0.0)
        dof = np.maximum(b - 1, 1)
        rep_variance = spread / dof
        rep_se = np.sqrt(rep_variance / n)
        half = stdtrit(dof, 0.975) * rep_se
        variance = np.where(use, rep_variance, variance)
        se = np.where(use, rep_se, se)
        low = np.where(use, np.clip(p - half, 0, 1), low)
        high = np.where(use, np.clip(p + half, 0, 1), high)
    se = np.where((k == 0) | (k == n), np.nan, se)
    return Intervals(p, se, low, high, use, variance)


@dataclass(frozen=True)
class Answer:
    """The answer to "what is the chance cash runs out before ``before``?".

    ``std_error``: None when no path or every path runs out (the 95% interval's far end is then
    the bound on the chance). ``method``: how the interval was computed, "binomial" (standard
    error sqrt(p (1 - p) / n), Wilson interval) or "replicates (B batches, Student t)" (lhs /
    sobol: see the module docstring). ``note``: why an lhs / sobol run fell back to the
    binomial interval ("" otherwise). ``replicates``: how many batches the interval comes from
    (0 for the binomial interval)."""

    before: dt.date
    months: int
    probability: float
    std_error: float | None
    ci95: tuple[float, float]
    paths: int
    seed: int
    method: str = "binomial"
    note: str = ""
    replicates: int = 0

    @classmethod
    def of_counts(cls, before: dt.date, months: int, ruin_counts: np.ndarray, seed: int) -> Answer:
        """The plain Monte Carlo answer from (H + 1,) ruin-month counts: the share of paths
        ruined in the first ``months`` months, its binomial standard error and 95% Wilson
        interval."""
        k, n = int(ruin_counts[:months].sum()), int(ruin_counts.sum())
        return cls._of(before, months, probability_intervals(k, n, 1, 0.0, False), n, seed)

    @classmethod
    def of_moments(
        cls,
        before: dt.date,
        months: int,
        moments: BatchMoments,
        seed: int,
        sampler: str = "mc",
        stratified: bool = False,
    ) -> Answer:
        """The answer from a run's :class:`BatchMoments`; ``stratified``: the run's batches are
        replicates of an lhs / sobol design (:func:`replicates_apply`)."""
        k, n, b = int(moments.ruined[months]), moments.paths, moments.batches
        found = moments.interval(months, stratified)
        if bool(found.replicates):
            method = f"replicates ({b} batches, Student t)"
            return cls._of(before, months, found, n, seed, method, replicates=b)
        note = ""
        if sampler in REPLICATE_SAMPLERS:
            if not stratified:
                note = (
                    f"sampler '{sampler}' had nothing to act on (no uncertain input drawn once "
                    "per path): plain Monte Carlo interval"
                )
            elif k in (0, n):
                note = f"{'no' if k == 0 else 'every'} path runs out: Wilson interval"
            elif b < MIN_REPLICATES:
                note = (
                    f"fewer than {MIN_REPLICATES} batches ({b}): plain Monte Carlo interval, "
                    + (
                        "conservative for lhs"
                        if sampler == "lhs"
                        else "usually conservative for sobol"
                    )
                )
        return cls._of(before, months, found, n, seed, "binomial", note)

    @classmethod
    def _of(
        cls,
        before: dt.date,
        months: int,
        found: Intervals,
        n: int,
        seed: int,
        method: str = "binomial",
        note: str = "",
        replicates: int = 0,
    ) -> Answer:
        se = float(found.std_error)
        return cls(
            before,
            months,
            float(found.probability),
            None if math.isnan(se) else se,
            (float(found.low), float(found.high)),
            n,
            seed,
            method,
            note,
            replicates,
        )

    def as_dict(self, scenario_name: str = "") -> dict:
        return {
            "question": f"chance cash runs out before {self.before.isoformat()}",
            "scenario": scenario_name,
            "before": self.before.isoformat(),
            "months": self.months,
            "probability": self.probability,
            "ci95": list(self.ci95),
            "std_error": self.std_error,
            "method": self.method,
            **({"note": self.note} if self.note else {}),
            "paths": self.paths,
            "seed": self.seed,
        }

    def sentence(self) -> str:
        lo, hi = self.ci95
        paths = f"{self.paths:,} path" + ("s" if self.paths != 1 else "")
        how = f"; 95% CI from {self.replicates} batches as replicates" if self.replicates else ""
        note = f"; {self.note}" if self.note else ""
        return (
            f"Chance cash runs out before {self.before.isoformat()}: "
            f"{pct_ci(self.probability, lo, hi)} — {paths}, seed {self.seed}{how}{note}"
        )


@dataclass(repr=False)
class Results:
    """Everything a run leaves in memory; small whatever the number of paths.

    ``batch_ruin_counts``: (batches, H + 1) paths by ruin month (index H: never within the
    horizon), per batch in batch order; ``ruin_counts`` is their total.
    ``hist``: merged histograms of the per-path quantities named by ``layout``.
    ``fan``: merged histograms of cash at each month (fan-chart subsample of the paths).
    ``driver_counts``: (d, 2, H + 1) ruin counts when input i is <= its p10 / >= its p90.
    ``funding_counts``: (f, 2, H + 1) ruin counts when funding round j does not close / closes.
    ``levers``, ``lever_counts``: (levers, H + 1) paths by the month each lever event first
    happened (an action fired, a bridge round triggered or paid, a credit line drawn; index H:
    never), see :mod:`engine.levers`. ``fan`` then holds each credit line's drawn balance per
    month after the cash (H columns each).
    ``sample_cash``: (m, H) a few simulated cash paths.
    """

    scenario: Scenario
    layout: Layout
    paths: int
    seed: int
    sampler: str
    batch_size: int
    batch_ruin_counts: np.ndarray
    batch_sizes: np.ndarray
    hist: Histograms
    fan: Histograms
    driver_names: tuple[str, ...]
    driver_counts: np.ndarray
    funding_names: tuple[str, ...]
    funding_counts: np.ndarray
    levers: tuple[Lever, ...]
    lever_counts: np.ndarray
    sample_cash: np.ndarray | None
    started: dt.datetime
    seconds: float
    stop: dict | None = None  # why the run ended (engine.runner.Stop.as_dict), when known

    def __repr__(self) -> str:
        head = (
            f"Results(scenario={self.scenario.name!r}, paths={self.paths:,}, seed={self.seed}, "
            f"sampler={self.sampler!r}, {self.month_label(0)} + {self.horizon_months} months)"
        )
        return "\n".join([head, *(f"  {a.sentence()}" for a in self.answers())])

    @property
    def variant(self) -> str | None:
        """The scenario's variant that was run (None: the base); its ``--set`` overrides are
        ``scenario.sets`` and its TOML text ``scenario.document()``."""
        return self.scenario.variant

    # ----- calendar -------------------------------------------------------------------------
    @property
    def horizon_months(self) -> int:
        return self.layout.horizon_months

    @functools.cached_property
    def ruin_counts(self) -> np.ndarray:
        """(H + 1,) paths by ruin month over the whole run (index H: never)."""
        counts: np.ndarray = self.batch_ruin_counts.sum(axis=0)
        return counts

    @functools.cached_property
    def moments(self) -> BatchMoments:
        """The per-batch ruin counts' :class:`BatchMoments` (what the intervals need)."""
        return BatchMoments.of_batches(self.batch_ruin_counts, self.batch_sizes)

    @property
    def sampler_inputs(self) -> list[str]:
        """The inputs the sampler stratified (none for "mc", and none when the scenario has no
        uncertain per-path input: the run is then plain Monte Carlo)."""
        return sampler_inputs(self.sampler, self.scenario)

    @functools.cached_property
    def stratified(self) -> bool:
        """True when the intervals come from the batches as replicates (lhs / sobol with an
        input to act on; see the module docstring)."""
        return replicates_apply(self.sampler, self.scenario)

    def month_label(self, t: int) -> str:
        """``"YYYY-MM"`` of month index t."""
        return calendar.month_label(self.scenario.start_year, self.scenario.start_month, t)

    def month_index_before(self, before: dt.date) -> int:
        """Whole months from the start to ``before``, checked against the horizon."""
        s = self.scenario
        return check_question_date(s.start_year, s.start_month, self.horizon_months, before)

    # ----- the runway question --------------------------------------------------------------
    def probability_runs_out_before(self, before: dt.date | str) -> Answer:
        """P(ruin month < whole months from start to ``before``), with its standard error and
        95% CI (binomial / Wilson, or from the batches for lhs / sobol: the module docstring)."""
        if isinstance(before, str):
            before = _parse_date(before)
        months = self.month_index_before(before)
        return Answer.of_moments(
            before, months, self.moments, self.seed, self.sampler, self.stratified
        )

    def answers(self) -> list[Answer]:
        return [self.probability_runs_out_before(d) for d in self.scenario.questions]

    # ----- tables ---------------------------------------------------------------------------
    def survival(self) -> pd.DataFrame:
        """P(cash stays at or above the floor through month t), t = 0..H-1, with 95% band
        (Wilson, or from the batches for lhs / sobol as :meth:`probability_runs_out_before`)."""
        import pandas as pd

        h, n = self.horizon_months, self.paths
        ruined = np.cumsum(self.ruin_counts[:h])
        alive = n - ruined
        if self.stratified:
            m = self.moments
            found = probability_intervals(
                m.ruined[1:], n, m.batches, m.mean_square()[1:], stratified=True
            )
            lo, hi = 1 - found.high, 1 - found.low
        else:
            lo, hi = wilson_interval(alive, n)
        return pd.DataFrame(
            {
                "month": np.arange(h),
                "date": [self.month_label(t) for t in range(h)],
                "survival": alive / n,
                "low": lo,
                "high": hi,
            }
        )

    def ruin_distribution(self) -> pd.DataFrame:
        """Distribution of the month cash runs out: probability and cumulative, per month."""
        import pandas as pd

        h, n = self.horizon_months, self.paths
        p = self.ruin_counts[:h] / n
        return pd.DataFrame(
            {
                "month": np.arange(h),
                "date": [self.month_label(t) for t in range(h)],
                "probability": p,
                "cumulative": np.cumsum(p),
            }
        )

    @property
    def never_runs_out(self) -> float:
        """Share of paths that stay at or above the floor through the whole horizon (the last
        row of :meth:`survival`)."""
        return float(self.ruin_counts[self.horizon_months] / self.paths)

    @property
    def never_runs_out_ci(self) -> tuple[float, float]:
        """95% interval of :attr:`never_runs_out`: the band of :meth:`survival`'s last row."""
        last = self.survival().iloc[-1]
        return float(last["low"]), float(last["high"])

    def runway_months(self, q: float) -> int | str:
        """q-quantile of the runway in months (months until the end of the month cash runs
        out, i.e. ruin month + 1), or "beyond the horizon" when fewer than q of paths run out."""
        return runway_months(self.ruin_counts, q)

    def runway_percentiles(self) -> dict[str, int | str]:
        return {f"p{p}": self.runway_months(p / 100) for p in (5, 10, 25, 50, 75, 90, 95)}

    def _quantity(self, name: str) -> int:
        return self.layout.quantity_names().index(name)

    def _stats_rows(self, names: list[str]) -> np.ndarray:
        idx = [self._quantity(x) for x in names]
        qs = self.hist.quantile(np.array(PERCENTILES) / 100)[idx]
        return np.column_stack([self.hist.mean()[idx], qs])

    def _year_rows(self) -> tuple[list[tuple[int, str]], np.ndarray]:
        """(year, quantity) per row, and (rows, 1 + len(PERCENTILES)) mean and percentiles."""
        rows = [
            (y, what)
            for y in self.layout.years
            for what in ("revenue", "costs", "net_loss", "cash_end")
        ]
        return rows, np.asarray(self._stats_rows([f"{what}:{y}" for y, what in rows]))

    def years(self) -> pd.DataFrame:
        """Per calendar year: revenue, costs, net loss and year-end cash; mean and p1..p99."""
        import pandas as pd

        rows, values = self._year_rows()
        df = pd.DataFrame(values, columns=["mean", *(f"p{p}" for p in PERCENTILES)])
        df.insert(0, "quantity", [r[1] for r in rows])
        df.insert(0, "year", [r[0] for r in rows])
        return df

    def _risk_rows(self) -> list[tuple[int, float, float, float, int]]:
        """(year, level, var, cvar, tail paths) of the net loss, levels 0.90 / 0.95 / 0.99."""
        levels = (0.90, 0.95, 0.99)
        var = self.hist.quantile(np.array(levels))  # (k, levels), every quantity at once
        cvar = np.column_stack([self.hist.tail_mean(level) for level in levels])
        rows = []
        for y in self.layout.years:
            i = self._quantity(f"net_loss:{y}")
            for j, level in enumerate(levels):
                tail = round(self.paths * (1 - level))
                rows.append((y, level, float(var[i, j]), float(cvar[i, j]), tail))
        return rows

    def risk(self) -> pd.DataFrame:
        """Net-loss value at risk and conditional value at risk (mean of the worst tail)."""
        import pandas as pd

        return pd.DataFrame(
            self._risk_rows(), columns=["year", "level", "var", "cvar", "tail_paths"]
        )

    def cash_fan(self) -> pd.DataFrame:
        """Cash balance percentiles per month (fan-chart data), from the systematic subsample
        of ``fan.n`` paths (the first 1/FAN_SHARE of every batch)."""
        return self._fan_table(0)

    def _fan_table(self, block: int) -> pd.DataFrame:
        """Percentiles per month of fan block ``block`` (0: cash; 1 + j: credit line j)."""
        import pandas as pd

        h = self.horizon_months
        cols = slice(block * h, (block + 1) * h)
        qs = self.fan.quantile(np.array([5, 25, 50, 75, 95]) / 100)[cols]
        df = pd.DataFrame(qs, columns=["p5", "p25", "p50", "p75", "p95"])
        df.insert(0, "mean", self.fan.mean()[cols])
        df.insert(0, "date", [self.month_label(t) for t in range(h)])
        df.insert(0, "month", np.arange(h))
        return df

    def credit_balance(self) -> pd.DataFrame:
        """Each credit line's drawn balance per month: ``credit``, month, date, mean and
        percentiles p5..p95, from the fan-chart subsample (as :meth:`cash_fan`); empty without
        credit lines."""
        import pandas as pd

        parts = []
        for j, credit in enumerate(self.scenario.credit):
            df = self._fan_table(1 + j)
            df.insert(0, "credit", credit.name)
            parts.append(df)
        if not parts:
            columns = ["credit", "month", "date", "mean", "p5", "p25", "p50", "p75", "p95"]
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)

    def management(self) -> pd.DataFrame:
        """Each lever row (:mod:`engine.levers`): ``kind``, ``name``, ``event`` (what happened:
        "fired", "triggered", "arrived", "drew"), the ``paths`` where it happened within the
        horizon, their ``share`` with its 95% Wilson interval (``share_lo``, ``share_hi``), and
        the first month it happened on those paths: ``month_p10``, ``month_p50``, ``month_p90``
        (labels "YYYY-MM"; "" when it never happened)."""
        import pandas as pd

        h = self.horizon_months
        rows = []
        for lever, counts in zip(self.levers, self.lever_counts, strict=True):
            happened = int(counts[:h].sum())
            lo, hi = wilson_interval(happened, self.paths)
            months = []
            for q in (0.10, 0.50, 0.90):
                if happened == 0:
                    months.append("")
                    continue
                t = int(np.searchsorted(np.cumsum(counts[:h]), q * happened))
                months.append(self.month_label(min(t, h - 1)))
            share = happened / self.paths
            rows.append(
                (lever.kind, lever.name, lever.what, happened, share, float(lo), float(hi), *months)
            )
        columns = ["kind", "name", "event", "paths", "share", "share_lo", "share_hi"]
        return pd.DataFrame(rows, columns=[*columns, "month_p10", "month_p50", "month_p90"])

    def _key_months(self, before: dt.date | str | None) -> int:
        """Whole months to ``before``; default: the last question date, else the horizon."""
        if before is None and self.scenario.questions:
            before = self.scenario.questions[-1]
        if before is None:
            return self.horizon_months
        return self.probability_runs_out_before(before).months

    def drivers(self, before: dt.date | str | None = None) -> pd.DataFrame:
        """Chance of running out before ``before`` (default: the last question, else the
        horizon) when each per-path input is at or below its 10th / at or above its 90th
        percentile (``p_low`` / ``p_high``, on ``paths_low`` / ``paths_high`` paths, with 95%
        Wilson intervals ``p_low_lo``..``p_low_hi`` / ``p_high_lo``..``p_high_hi``); sorted by
        the swing between the two."""
        import pandas as pd

        months = self._key_months(before)
        c = self.driver_counts
        totals = c.sum(axis=2)
        ruined = c[:, :, :months].sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = ruined / totals
            lo, hi = wilson_interval(ruined, totals)

        def column(a: np.ndarray, side: int) -> np.ndarray | list:
            return a[:, side] if len(c) else []

        df = pd.DataFrame(
            {
                "input": list(self.driver_names),
                "p_low": column(p, 0),
                "p_high": column(p, 1),
                "paths_low": column(totals, 0),
                "paths_high": column(totals, 1),
            }
        )
        df["swing"] = (df["p_high"] - df["p_low"]).abs()
        df["p_low_lo"], df["p_low_hi"] = column(lo, 0), column(hi, 0)
        df["p_high_lo"], df["p_high_hi"] = column(lo, 1), column(hi, 1)
        return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)

    def funding_effect(self, before: dt.date | str | None = None) -> pd.DataFrame:
        """For each funding round: the share of paths where it closes, and the chance of running
        out before ``before`` (default: the last question, else the horizon) if it closes and if
        it does not, each with its standard error and 95% Wilson interval (``ci_if_closes_lo``
        .. ``ci_if_closes_hi``, ``ci_if_not_lo`` .. ``ci_if_not_hi``; NaN without such paths)."""
        import pandas as pd

        months = self._key_months(before)
        rows = []
        for name, c in zip(self.funding_names, self.funding_counts, strict=True):
            totals = c.sum(axis=1)
            ruined = c[:, :months].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = ruined / totals
                se = np.sqrt(p * (1 - p) / totals)
                lo, hi = wilson_interval(ruined, totals)
            rows.append(
                (name, totals[1] / self.paths, p[1], se[1], p[0], se[0], lo[1], hi[1], lo[0], hi[0])
            )
        return pd.DataFrame(
            rows,
            columns=[
                "event",
                "share_closes",
                "p_if_closes",
                "se_if_closes",
                "p_if_not",
                "se_if_not",
                "ci_if_closes_lo",
                "ci_if_closes_hi",
                "ci_if_not_lo",
                "ci_if_not_hi",
            ],
        )

    def convergence(self, before: dt.date | str) -> pd.DataFrame:
        """The answer after each batch (cumulative paths), with its 95% band (``low``, ``high``:
        the interval :meth:`probability_runs_out_before` would give after that many batches)
        and the range expected around the final estimate at that many paths
        (``expected_low``, ``expected_high``; see :meth:`expected_range`)."""
        import pandas as pd

        months = self.probability_runs_out_before(before).months
        k_b = _ruined_before(self.batch_ruin_counts)[:, months]
        sizes = np.asarray(self.batch_sizes, dtype=np.int64)
        k = np.cumsum(k_b)
        n = np.cumsum(self.batch_sizes)
        if self.stratified:
            running = {int(s): np.cumsum(np.where(sizes == s, k_b**2, 0)) for s in np.unique(sizes)}
            found = probability_intervals(
                k, n, np.arange(1, len(k) + 1), _mean_square(running, k), stratified=True
            )
            lo, hi = found.low, found.high
        else:
            lo, hi = wilson_interval(k, n)
        p = k / n
        df = pd.DataFrame({"paths": n, "probability": p, "low": lo, "high": hi})
        expected = self.expected_range(before, n)
        df["expected_low"] = expected["expected_low"].to_numpy()
        df["expected_high"] = expected["expected_high"].to_numpy()
        return df

    def expected_range(self, before: dt.date | str, paths: np.ndarray) -> pd.DataFrame:
        """The 95% range expected around the final answer p about ``before`` (from the run's N
        paths) for the running estimate after ``paths`` of those paths, the funnel the
        per-batch estimates of :meth:`convergence` should settle into:
        p ± Z95 sqrt(v / n (1 - n / N)), clipped to 0..1. The running estimate shares its n
        paths with the final one, so their difference has variance v (1 / n - 1 / N) (finite
        sample correction) and the funnel closes on p at N paths. v is the per-path variance of
        the answer's standard error (SE**2 = v / N): p (1 - p) for the binomial interval, the
        batches' replicate variance for lhs / sobol."""
        import pandas as pd

        if isinstance(before, str):
            before = _parse_date(before)
        found = self.moments.interval(self.month_index_before(before), self.stratified)
        p, v = float(found.probability), float(found.variance)
        n = np.asarray(paths, dtype=float)
        half = Z95 * np.sqrt(v / n * np.clip(1 - n / self.paths, 0, 1))
        return pd.DataFrame(
            {
                "paths": n,
                "expected_low": np.clip(p - half, 0, 1),
                "expected_high": np.clip(p + half, 0, 1),
            }
        )

    def summary(self) -> dict:
        """The run's figures as plain JSON-able data (summary.json)."""
        # from the arrays behind years() and risk(): no pandas (a run without a table to write
        # would import it for this alone)
        years: dict[str, dict[str, dict[str, float]]] = {}
        rows, values = self._year_rows()
        for (y, what), v in zip(rows, values, strict=True):
            figures = {"mean": float(v[0])}
            figures.update({f"p{p}": float(x) for p, x in zip(PERCENTILES, v[1:], strict=True)})
            years.setdefault(str(y), {})[what] = figures
        for y, level, var, cvar, _tail in self._risk_rows():
            pct = round(level * 100)
            years[str(y)]["net_loss"][f"var{pct}"] = var
            years[str(y)]["net_loss"][f"cvar{pct}"] = cvar
        return {
            "scenario": self.scenario.name,
            "unit": self.scenario.unit,
            "start": self.month_label(0),
            "horizon_months": self.horizon_months,
            "floor": self.scenario.floor,
            "paths": self.paths,
            "seed": self.seed,
            "sampler": self.sampler,
            "batch_size": self.batch_size,
            **({"stopped": self.stop} if self.stop is not None else {}),
            "questions": [a.as_dict(self.scenario.name) for a in self.answers()],
            "runway_months": self.runway_percentiles(),
            "never_runs_out_within_horizon": self.never_runs_out,
            "years": years,
            **({"management": self._management_summary()} if self.levers else {}),
        }

    def _management_summary(self) -> list[dict]:
        """The management table as JSON-able rows, with each credit line's median and p95 drawn
        balance at the end of the horizon."""
        rows: list[dict] = self.management().to_dict(orient="records")
        balance = self.credit_balance()
        for row in rows:
            row["paths"] = int(row["paths"])
            if row["kind"] == "credit":
                last = balance[balance.credit == row["name"]].iloc[-1]
                row["balance_end_p50"] = float(last.p50)
                row["balance_end_p95"] = float(last.p95)
        return rows


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            "before", "{before}: '{text}' is not a date; expected YYYY-MM-DD", text=text
        ) from None
