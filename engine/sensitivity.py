"""Sobol sensitivity: which uncertain inputs drive one output of a scenario, and how much.

``sensitivity(scenario, "before 2026-01-01")`` estimates, for every *factor* (below), its
first-order Sobol index S_i = Var(E[Y | X_i]) / Var(Y) (the share of the output's variance the
input explains alone) and its total index S_Ti = E[Var(Y | X_~i)] / Var(Y) (alone and through
its interactions with the others), each with a bootstrap confidence interval.

Outputs (:func:`parse_output`), one number per simulated path:

- ``before YYYY-MM-DD``: 1 when cash runs out (falls below the scenario's floor) before that
  date, else 0; its mean is the chance of running out;
- ``cash YYYY-MM``: the cash balance at the end of that month;
- ``loss YYYY``: the net loss of that calendar year (costs - revenue; the part of the year
  within the horizon).

Factors, in ``Scenario.inputs()`` order, then event order, then line steps:

- every non-constant per-path input (:func:`cashflow.draws.per_path_inputs`), distributed as
  its Spec;
- for every funding round and ``per = "horizon"`` shock that may or may not happen, its
  occurrence uniform ``EVENT:u`` (it happens where ``u < probability``), named
  ``"EVENT (closes)"`` for a round and ``"EVENT (happens)"`` for a shock: its index answers
  "does the raise matter?";
- for a ``per = "horizon"`` shock without ``month``, its month uniform, ``"SHOCK (month)"``;
- for every line step that may or may not happen, its occurrence uniform ``LINE.steps[i]:u``
  (it happens where ``u < probability``), ``"LINE.steps[i] (happens)"``: a hire that may not
  come is a factor like a round that may not close.

Everything else the model draws (per-month and per-year inputs, growth noise, volatility, the
monthly hits of ``per = "month"`` shocks) is the model's intrinsic noise. It is treated as one
more, unreported, factor (the "seed variable" treatment of stochastic simulators): row j of
the design matrices A and B gets its own independent noise, drawn from fixed seeds, and row j
of every AB_i matrix (A with column i taken from B) reuses the noise of row j of A. The model is
then a deterministic function of (factors, noise) and the estimators are the standard ones,
so first-order indices are shares of the *total* variance, noise included, and the total index
of an input counts its interactions with the other inputs but not with the noise. The shares
of the variance left to the noise show in ``1 - sum(first_order)`` (with the interactions).

The indices assume independent factors: the scenario's rank correlations are not imposed (they
are listed in :attr:`SensitivityResult.correlated`).

Design and estimators are those of :func:`scipy.stats.sobol_indices` (Saltelli 2010: a
scrambled Sobol' sequence with 2d columns for A and B, N rows, N a power of two), with the
model evaluated by Runway in batches of at most :data:`BATCH_ROWS` rows: N·(d + 2) evaluations,
the largest such number within ``paths`` (:func:`evaluations_for`). Confidence intervals are
percentile bootstrap intervals over the N rows (:func:`scipy.stats.bootstrap`; the BCa
intervals of ``SobolResult.bootstrap`` need a jackknife of N·d·N operations, minutes at N = 2^15).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import qmc

from cashflow import calendar
from cashflow.draws import Draws, draw_batch, per_path_inputs
from cashflow.model import MAX_AMOUNT, simulate_flows
from cashflow.scenario import Funding, Scenario, Shock
from distributions.errors import ScenarioError, UsageError
from distributions.seeding import fresh_entropy, stream
from distributions.spec import Spec
from engine.files import atomic_write
from engine.outcomes import ruin_months
from engine.results import question_date_problem

__all__ = [
    "BATCH_ROWS",
    "Factor",
    "Output",
    "SensitivityResult",
    "evaluations_for",
    "factors_of",
    "parse_output",
    "sensitivity",
]

#: The most rows of one design matrix simulated at once (bounds memory: a few (rows, H) arrays).
BATCH_ROWS = 65_536

#: The fewest rows per design matrix: below this the indices are noise.
MIN_ROWS = 64

_EXAMPLES = "e.g. 'before 2026-01-01', 'cash 2025-12' or 'loss 2024'"


# --------------------------------------------------------------------------------------------
# Outputs


@dataclass(frozen=True)
class Output:
    """One scalar output per path.

    ``kind``: ``"before"`` (indicator that cash runs out before ``date``: ``ruin month <
    months``), ``"cash"`` (cash at the end of month index ``month``) or ``"loss"`` (net loss of
    calendar year ``year``, months ``months``). ``text`` is the canonical form.
    """

    kind: Literal["before", "cash", "loss"]
    text: str
    date: dt.date | None = None
    month: int | None = None
    year: int | None = None
    months: slice | None = None

    def describe(self, unit: str = "") -> str:
        """A short English label, e.g. "chance cash runs out before 2026-01-01"."""
        unit = f" ({unit})" if unit else ""
        if self.kind == "before":
            return f"chance cash runs out before {self.date.isoformat()}"  # type: ignore[union-attr]
        if self.kind == "cash":
            return f"cash at the end of {self.text.split()[1]}{unit}"
        return f"net loss in {self.year}{unit}"

    def values(
        self, scenario: Scenario, revenue: np.ndarray, costs: np.ndarray, cash: np.ndarray
    ) -> np.ndarray:
        """(n,) float64 output per path from one batch's (n, H) flows."""
        if self.kind == "before":
            return (ruin_months(cash, scenario.floor) < self.month).astype(np.float64)
        if self.kind == "cash":
            return np.array(cash[:, self.month], dtype=np.float64)
        s = self.months
        loss: np.ndarray = costs[:, s].sum(axis=1) - revenue[:, s].sum(axis=1)
        return loss


def _bad(text: str, why: str) -> UsageError:
    # "output", not the parameter's field: the command line says it so too (not "--output")
    template = "output {text!r}: {why} ({examples})"
    return UsageError("output", template, text=text, why=why, examples=_EXAMPLES)


def parse_output(text: str | Output, scenario: Scenario) -> Output:
    """``'before 2026-01-01'``, ``'cash 2025-12'`` or ``'loss 2024'`` as an :class:`Output`
    of ``scenario``; a one-line :class:`UsageError` (with examples) for anything else or for
    a date, month or year outside the horizon."""
    if isinstance(text, Output):
        return text
    if not isinstance(text, str):
        raise _bad(repr(text), "must be text")
    words = text.split()
    if len(words) != 2:
        raise _bad(text, "expected a kind and a date, month or year")
    kind, arg = words[0].lower(), words[1]
    sy, sm, h = scenario.start_year, scenario.start_month, scenario.horizon_months
    if kind == "before":
        try:
            date = dt.date.fromisoformat(arg)
        except ValueError:
            raise _bad(text, f"'{arg}' is not a date YYYY-MM-DD") from None
        problem = question_date_problem(sy, sm, h, date)
        if problem is not None:
            raise _bad(text, problem)
        months = calendar.months_before(sy, sm, date)
        return Output("before", f"before {date.isoformat()}", date=date, month=months)
    if kind == "cash":
        if not re.fullmatch(r"\d{4}-\d{2}", arg):
            raise _bad(text, f"'{arg}' is not a month YYYY-MM")
        try:
            t = calendar.month_index(sy, sm, arg)
        except ScenarioError:
            raise _bad(text, f"'{arg}' is not a month YYYY-MM") from None
        if not 0 <= t < h:
            first, last = calendar.month_label(sy, sm, 0), calendar.month_label(sy, sm, h - 1)
            raise _bad(text, f"{arg} is outside the simulated horizon ({first} to {last})")
        return Output("cash", f"cash {calendar.month_label(sy, sm, t)}", month=t)
    if kind == "loss":
        slices = calendar.year_slices(sy, sm, h)
        if not re.fullmatch(r"\d{4}", arg):
            raise _bad(text, f"'{arg}' is not a year YYYY")
        year = int(arg)
        if year not in slices:
            raise _bad(
                text,
                f"{year} is outside the simulated horizon (years {min(slices)} to {max(slices)})",
            )
        return Output("loss", f"loss {year}", year=year, months=slices[year])
    raise _bad(text, f"unknown kind '{words[0]}'; expected before, cash or loss")


# --------------------------------------------------------------------------------------------
# Factors


@dataclass(frozen=True)
class Factor:
    """One Sobol factor: ``name`` as shown; ``key`` in ``Draws.inputs`` (``noise=False``) or
    ``Draws.noise`` (``noise=True``); ``ppf`` maps uniforms to its values."""

    name: str
    key: str
    noise: bool
    ppf: Callable[[np.ndarray], np.ndarray]


def _uniform_ppf(u: np.ndarray) -> np.ndarray:
    return np.asarray(u, dtype=np.float64)


def _may_or_may_not(spec: Spec) -> bool:
    """True unless the probability is a constant <= 0 or >= 1 (occurrence then fixed)."""
    return not spec.is_constant or 0.0 < spec.mean() < 1.0


def factors_of(scenario: Scenario) -> list[Factor]:
    """The scenario's Sobol factors, in order (see the module docstring)."""
    specs = scenario.inputs()
    out = [Factor(name, name, False, specs[name].ppf) for name in per_path_inputs(scenario)]
    for event in scenario.events:
        if isinstance(event, Shock) and event.per == "month":
            continue
        if not _may_or_may_not(event.probability):
            continue
        label = "closes" if isinstance(event, Funding) else "happens"
        out.append(Factor(f"{event.name} ({label})", f"{event.name}:u", True, _uniform_ppf))
        if isinstance(event, Shock) and event.month is None:
            key = f"{event.name}:month_u"
            out.append(Factor(f"{event.name} (month)", key, True, _uniform_ppf))
    for line in scenario.lines:  # a step on some paths only: does it matter?
        for i, step in enumerate(line.steps or ()):
            if _may_or_may_not(step.probability):
                name = f"{line.name}.steps[{i}]"
                out.append(Factor(f"{name} (happens)", f"{name}:u", True, _uniform_ppf))
    return out


def evaluations_for(paths: int, d: int) -> int:
    """Model evaluations of a Sobol analysis of ``d`` factors within ``paths``: N·(d + 2) with N
    the largest power of two such that this is <= ``paths`` (0 when even N = 1 does not fit)."""
    if d < 1 or paths < d + 2:
        return 0
    n = 1 << ((paths // (d + 2)).bit_length() - 1)
    return n * (d + 2)


# --------------------------------------------------------------------------------------------
# Result


@dataclass(frozen=True)
class SensitivityResult:
    """First-order and total Sobol indices of one output, per factor (arrays in ``inputs``
    order), with their bootstrap confidence intervals.

    ``output``: the output's canonical text; ``description``: its label; ``mean`` / ``std``:
    the output's mean and standard deviation over the A and B rows (for ``before`` the mean is
    the chance of running out); ``rows``: N; ``evaluations``: N·(d + 2) model evaluations;
    ``seed``: the entropy everything was drawn from; ``correlated``: the scenario's correlated
    inputs, whose correlations the analysis ignores.
    """

    scenario: str
    output: str
    description: str
    inputs: tuple[str, ...]
    first_order: np.ndarray
    first_low: np.ndarray
    first_high: np.ndarray
    total: np.ndarray
    total_low: np.ndarray
    total_high: np.ndarray
    confidence_level: float
    n_resamples: int
    mean: float
    std: float
    rows: int
    evaluations: int
    seed: int
    correlated: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """One row per factor, sorted by total index (descending, then name)."""
        df = pd.DataFrame(
            {
                "input": list(self.inputs),
                "first_order": self.first_order,
                "first_low": self.first_low,
                "first_high": self.first_high,
                "total": self.total,
                "total_low": self.total_low,
                "total_high": self.total_high,
            }
        )
        order = sorted(range(len(df)), key=lambda i: (-df["total"].iloc[i], df["input"].iloc[i]))
        return df.iloc[order].reset_index(drop=True)

    def text(self) -> str:
        """The table for the terminal, with a header line and notes."""
        pct = f"{self.confidence_level:.0%}"
        head = (
            f"Sobol indices of the {self.description} — {self.scenario}: "
            f"{self.evaluations:,} model evaluations (N = {self.rows:,}), seed {self.seed}"
        )
        if self.output.startswith("before"):
            stat = f"Chance over the design: {self.mean:.1%}"
        else:
            stat = f"Output over the design: mean {self.mean:.4g}, sd {self.std:.4g}"
        df = self.table()
        width = max([len("input"), *(len(s) for s in df["input"])])
        ci = f"{pct} CI"
        lines = [
            head,
            stat,
            f"  {'input':<{width}}  {'first order':>11}  {ci:<16}  {'total':>6}  {ci}",
        ]
        for r in df.itertuples(index=False):
            lines.append(
                f"  {r.input:<{width}}  {r.first_order:>11.3f}  "
                f"[{r.first_low:>6.3f}, {r.first_high:>6.3f}]  {r.total:>6.3f}  "
                f"[{r.total_low:>6.3f}, {r.total_high:>6.3f}]"
            )
        rest = 1.0 - float(np.sum(self.first_order))
        rest = 0.0 if abs(rest) < 5e-4 else rest  # no "-0.000"
        lines.append(
            f"Sum of first-order indices {1 - rest:.3f}: the rest ({rest:.3f}) is interactions "
            "and month-to-month noise."
        )
        if self.correlated:
            lines.append(
                "Inputs taken as independent (their correlations are ignored here): "
                + ", ".join(self.correlated)
            )
        return "\n".join(lines)

    def write_csv(self, run_dir: str | pathlib.Path) -> pathlib.Path:
        """Write :meth:`table` to ``run_dir/sensitivity.csv`` atomically; returns its path.

        Besides the table's columns, each row repeats what the indices are about (for the
        report, which reads the file back): ``output`` (canonical text), ``description``,
        ``evaluations`` (model evaluations) and ``confidence_level`` (of the CIs)."""
        path = pathlib.Path(run_dir) / "sensitivity.csv"
        table = self.table().assign(
            output=self.output,
            description=self.description,
            evaluations=int(self.evaluations),
            confidence_level=float(self.confidence_level),
        )
        atomic_write(path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
        return path


# --------------------------------------------------------------------------------------------
# The analysis


def _design(n: int, factors: list[Factor], rng: np.random.Generator) -> tuple:
    """A, B: (d, n) factor values, from one scrambled Sobol' sequence of 2d columns (as
    scipy.stats.sobol_indices does)."""
    d = len(factors)
    u = qmc.Sobol(d=2 * d, scramble=True, bits=64, rng=rng).random(n).T.reshape(2, d, n)
    values = np.empty_like(u)
    for i, factor in enumerate(factors):
        values[:, i] = np.asarray(factor.ppf(u[:, i]), dtype=np.float64)
    return values[0], values[1]


def _per_month_hits(scenario: Scenario) -> list[Shock]:
    return [e for e in scenario.events if isinstance(e, Shock) and e.per == "month"]


class _Model:
    """The output as a function of factor values, on the noise of one batch of rows."""

    def __init__(self, scenario: Scenario, factors: list[Factor], output: Output) -> None:
        # The base draws supply only the noise and the non-factor inputs: no need for the
        # correlations (their reordering would be overwritten anyway).
        self.scenario = scenario
        self.base_scenario = dataclasses.replace(scenario, correlation=None)
        self.factors = factors
        self.output = output
        # Monthly hits whose probability is a factor: (its input, its noise key).
        factor_inputs = {f.key for f in factors if not f.noise}
        self.hits = [
            (f"{shock.name}.probability", f"{shock.name}:hits")
            for shock in _per_month_hits(scenario)
            if f"{shock.name}.probability" in factor_inputs
        ]

    def base(self, n: int, seed: np.random.SeedSequence) -> Draws:
        return draw_batch(self.base_scenario, n, seed, "mc")

    def __call__(self, x: np.ndarray, base: Draws, seed: np.random.SeedSequence) -> np.ndarray:
        """(n,) outputs for factor values ``x`` (d, n) on the noise of ``base``."""
        n = x.shape[1]
        inputs = dict(base.inputs)
        noise = dict(base.noise)
        for i, factor in enumerate(self.factors):
            target = noise if factor.noise else inputs
            target[factor.key] = x[i].reshape(n, 1)
        # Monthly hits were compared with the base probability: recompare when it is a factor.
        for name, key in self.hits:
            u = stream(seed, key).random((self.scenario.horizon_months, n)).T
            noise[key] = u < inputs[name]
        draws = Draws(n=n, inputs=inputs, noise=noise)
        with np.errstate(all="ignore"):
            flows = simulate_flows(self.scenario, draws)
            y = self.output.values(self.scenario, flows.revenue, flows.costs, flows.cash)
        if not (np.all(np.isfinite(y)) and np.all(np.abs(y) <= MAX_AMOUNT)):
            raise ScenarioError(
                f"{self.scenario.name}: amounts go beyond 1e100 or to infinity for some "
                "combinations of the inputs' values; check the scenario with 'run' first"
            )
        return y


def _batch(
    model: _Model, a: np.ndarray, b: np.ndarray, entropy: int, k: int, workers: int
) -> np.ndarray:
    """Batch ``k`` of the design, rows ``a`` and ``b`` (d, m): the outputs (d + 2, m) on A, on
    B, then on A with each factor's column taken from B (on A's noise), evaluated on
    ``workers`` threads; the same numbers whatever ``workers``."""
    from engine.pool import threads_map

    seeds = [np.random.SeedSequence(entropy, spawn_key=(j, k)) for j in (1, 2)]
    bases = threads_map(lambda seed: model.base(a.shape[1], seed), seeds, workers)

    def evaluate(row: int) -> np.ndarray:
        if row == 1:
            return model(b, bases[1], seeds[1])
        x = a
        if row >= 2:
            x = a.copy()
            x[row - 2] = b[row - 2]
        return model(x, bases[0], seeds[0])

    return np.stack(threads_map(evaluate, range(a.shape[0] + 2), workers))


def _indices(f_a: np.ndarray, f_b: np.ndarray, f_ab: np.ndarray) -> np.ndarray:
    """Saltelli 2010 estimators as in scipy (centred by the mean of A and B): (2, d) array of
    first-order and total indices; f_a, f_b (..., n), f_ab (d, ..., n)."""
    mean = np.mean([f_a, f_b], axis=(0, -1), keepdims=False)[..., None]
    f_a, f_b, f_ab = f_a - mean, f_b - mean, f_ab - mean
    var = np.var([f_a, f_b], axis=(0, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.mean(f_b * (f_ab - f_a), axis=-1) / var
        st = 0.5 * np.mean((f_a - f_ab) ** 2, axis=-1) / var
    out = np.stack([s, st])
    out[~np.isfinite(out)] = 0.0  # a constant output: every index 0
    return out


def sensitivity(
    scenario: Scenario,
    output: Output | str,
    *,
    paths: int = 200_000,
    seed: int | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 200,
    jobs: int | None = None,
) -> SensitivityResult:
    """First-order and total Sobol indices of ``output`` for every factor of ``scenario``
    (see the module docstring), from at most ``paths`` model evaluations.

    ``seed``: entropy of everything drawn (fresh and recorded in the result when None); the
    result depends only on (scenario, output, paths, seed, confidence_level, n_resamples), not
    on ``jobs``: the threads evaluating the model (default: one per core; as ``--jobs``).
    """
    out = parse_output(output, scenario)
    factors = factors_of(scenario)
    d = len(factors)
    if d == 0:
        raise ScenarioError(
            f"{scenario.name}: no uncertain per-path input or uncertain event: nothing to analyse"
        )
    evaluations = evaluations_for(paths, d)
    n = evaluations // (d + 2)
    if n < MIN_ROWS:
        raise UsageError(
            "paths",
            "{paths} {given:,} is too few for a Sobol analysis of {d} inputs: at least "
            "{least:,} are needed ({rows} rows x (d + 2))",
            given=paths,
            d=d,
            least=MIN_ROWS * (d + 2),
            rows=MIN_ROWS,
        )
    if not 0 < confidence_level < 1:
        raise UsageError(
            "confidence_level",
            "{confidence_level} must be between 0 and 1 (got {got})",
            got=confidence_level,
        )
    entropy = fresh_entropy() if seed is None else int(seed)
    root = np.random.SeedSequence(entropy)

    from engine.pool import threads_map, workers_for

    workers = workers_for(jobs)
    a, b = _design(n, factors, stream(root, "sensitivity:design"))
    model = _Model(scenario, factors, out)
    f = np.empty((d + 2, n))  # rows: f_A, f_B, then f_AB for each factor
    for k, lo in enumerate(range(0, n, BATCH_ROWS)):
        hi = min(n, lo + BATCH_ROWS)
        f[:, lo:hi] = _batch(model, a[:, lo:hi], b[:, lo:hi], entropy, k, workers)
    f_a, f_b, f_ab = f[0], f[1], f[2:]

    # Point estimates through scipy (the same estimator as _indices, used for the bootstrap).
    res = stats.sobol_indices(
        func={"f_A": f_a[None], "f_B": f_b[None], "f_AB": f_ab[:, None, :]}, n=n
    )
    first, total = np.asarray(res.first_order).ravel(), np.asarray(res.total_order).ravel()

    def one(idx: np.ndarray) -> np.ndarray:
        """(2d,) indices on the rows ``idx`` (n,) of one resample."""
        return _indices(f_a[idx], f_b[idx], f_ab[:, idx]).ravel()

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        """scipy's vectorized form: rows (n,) give (2d,); resamples (B, n) give (2d, B), each
        resample on one of the threads."""
        if idx.ndim == 1:
            return one(idx)
        return np.stack(threads_map(one, list(idx), workers), axis=-1)

    boot = stats.bootstrap(
        (np.arange(n),),
        statistic,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        method="percentile",
        rng=stream(root, "sensitivity:bootstrap"),
    )
    low = np.asarray(boot.confidence_interval.low).reshape(2, d)
    high = np.asarray(boot.confidence_interval.high).reshape(2, d)
    # A degenerate bootstrap distribution (a factor with no effect) gives NaN ends: use the
    # estimate itself.
    est = np.stack([first, total])
    low = np.where(np.isfinite(low), low, est)
    high = np.where(np.isfinite(high), high, est)

    both = np.concatenate([f_a, f_b])
    correlated = tuple(scenario.correlation.names) if scenario.correlation is not None else ()
    return SensitivityResult(
        scenario=scenario.name,
        output=out.text,
        description=out.describe(scenario.unit),
        inputs=tuple(f.name for f in factors),
        first_order=first,
        first_low=low[0],
        first_high=high[0],
        total=total,
        total_low=low[1],
        total_high=high[1],
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        mean=float(both.mean()),
        std=float(both.std()),
        rows=n,
        evaluations=evaluations,
        seed=entropy,
        correlated=correlated,
    )
