"""Everything the report shows, computed once from a finished run's :class:`Results`.

The report never simulates: it reads merged counts and histograms (small whatever the number of
paths) and turns them into the plain tables and numbers that :mod:`reports.charts` draws and
:mod:`reports.pages` lays out.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cashflow import calendar
from cashflow.describe import input_table
from cashflow.overrides import describe_sets
from cashflow.scenario import Action, Correlation, Credit, Funding, Scenario
from distributions import Spec
from distributions.errors import RunwayWarning
from engine.compare import read_comparison
from engine.results import Answer, Results
from reports.text import Money, month_short

__all__ = [
    "TORNADO_INPUTS",
    "FundingWindow",
    "ManagementData",
    "ReportData",
    "collect",
    "loss_density",
    "read_sensitivity",
]

#: Sample cash paths drawn as thin lines in the fan chart.
SAMPLE_LINES = 8
#: Inputs shown in the tornado chart (largest swings).
TORNADO_INPUTS = 10
#: Points of the dotted funnel in the convergence charts, and how far left of the first batch
#: (as a fraction of its paths) it starts.
FUNNEL_POINTS, FUNNEL_START = 200, 0.25
#: Calendar years with a net-loss distribution chart (the first ones of the horizon).
LOSS_CHART_YEARS = 3
#: The run directory's Sobol indices (``simulate.py sensitivity ... --out RUN_DIR``).
SENSITIVITY_FILE = "sensitivity.csv"
SENSITIVITY_COLUMNS = (
    "first_order",
    "first_low",
    "first_high",
    "total",
    "total_low",
    "total_high",
)


@dataclass(frozen=True)
class FundingWindow:
    """When a funding round may arrive: months ``first``..``last`` (inclusive, indices)."""

    name: str
    first: int
    last: int
    amount: str  # e.g. "$6.5B"
    probability: str  # e.g. "85%"


@dataclass(frozen=True)
class ManagementData:
    """What management did on the paths: the scenario's actions, bridge rounds and credit
    lines, how often and when each acted, the credit lines' drawn balances, and (from the run
    directory's compare.csv) what switching each one off changes.

    ``levers``: :meth:`engine.results.Results.management`, one row per lever row (an action
    fired; a bridge round's condition met / its money arrived; a credit line drawn) with the
    share of paths and its 95% Wilson interval and the first month (p10 / p50 / p90 labels).
    ``counts``: (rows, H + 1) paths by that first month, in the same order (index H: never).
    ``balance``: :meth:`engine.results.Results.credit_balance` (mean, p5..p95 per month).
    ``effects``: lever name -> its compare.csv row "without NAME" at ``effect_before`` (ISO
    date; the headline's question date when compare.csv has it); None without compare.csv.
    """

    levers: pd.DataFrame
    counts: np.ndarray
    paths: int
    balance: pd.DataFrame
    actions: tuple[Action, ...]
    bridges: tuple[Funding, ...]
    credit: tuple[Credit, ...]
    effects: dict[str, pd.Series] | None = None
    effect_before: str | None = None

    @property
    def names(self) -> list[str]:
        """Every lever's name: actions, bridge rounds, credit lines (file order)."""
        levers: tuple[Action | Funding | Credit, ...] = (*self.actions, *self.bridges, *self.credit)
        return [x.name for x in levers]

    def rows_of(self, name: str) -> pd.DataFrame:
        """The rows of :attr:`levers` about lever ``name``."""
        return self.levers[self.levers["name"] == name]

    def balance_of(self, name: str) -> pd.DataFrame:
        """Credit line ``name``'s drawn balance percentiles by month."""
        return self.balance[self.balance["credit"] == name].reset_index(drop=True)


@dataclass
class ReportData:
    """The numbers of one report; plain values, tables and arrays only."""

    name: str
    description: str
    unit: str
    money: Money
    floor: float
    horizon_months: int
    month_labels: list[str]  # "YYYY-MM" of months 0..H (H: the month after the horizon)
    year_of_month: np.ndarray  # calendar year of months 0..H-1
    answers: list[Answer]  # one per question (or about the whole horizon)
    questions_given: bool
    survival: pd.DataFrame  # its last row: the paths that never run out, with the 95% band
    ruin: pd.DataFrame
    runway: dict[str, int | str]
    years: pd.DataFrame
    risk: pd.DataFrame
    fan: pd.DataFrame
    sample_cash: np.ndarray | None
    drivers: pd.DataFrame
    top_drivers: pd.DataFrame  # the TORNADO_INPUTS drivers with the largest swing (defined)
    funding_effect: pd.DataFrame
    convergence: list[pd.DataFrame]  # one per answer
    funnels: list[pd.DataFrame]  # expected range per answer, on a fine grid of path counts
    year_labels: dict[int, str]  # 2024 -> "2024", or "2024 (Jul–Dec)" for a partial year
    losses: dict[int, tuple[np.ndarray, np.ndarray]]  # year -> (bin edges, density)
    funding: list[FundingWindow]
    inputs: pd.DataFrame
    correlation: Correlation | None
    paths: int
    seed: int
    sampler: str
    batch_size: int
    batches: int
    hist_bins: int  # histogram bins per figure
    fan_paths: int  # paths in the fan chart's systematic sample
    seconds: float
    started: dt.datetime
    finished: dt.datetime
    run_dir: pathlib.Path
    manifest: dict[str, Any] = field(default_factory=dict)
    sets: tuple[tuple[str, Any], ...] = ()  # the run's ``--set`` overrides, in order
    comparison: pd.DataFrame | None = None  # compare.csv of the run directory, when there is one
    # sensitivity.csv of the run directory (Sobol indices), when there is a readable one
    sensitivity: pd.DataFrame | None = None
    # actions, bridge rounds and credit lines (None for a scenario without any)
    management: ManagementData | None = None

    @property
    def managed(self) -> bool:
        """True when the scenario has actions, bridge rounds or credit lines."""
        return self.management is not None

    @property
    def stress(self) -> str:
        """The run's ``--set`` overrides as one line, ``""`` if none."""
        return describe_sets(self.sets) if self.sets else ""

    @property
    def headline(self) -> Answer:
        """The answer the drivers, convergence and paragraph refer to: the last question."""
        return self.answers[-1]

    @property
    def never_runs_out(self) -> float:
        """Share of paths that stay at or above the floor through the whole horizon."""
        return float(self.survival["survival"].iloc[-1])

    @property
    def never_runs_out_ci(self) -> tuple[float, float]:
        """95% Wilson interval of :attr:`never_runs_out`."""
        last = self.survival.iloc[-1]
        return float(last["low"]), float(last["high"])

    def figure(self, year: int, quantity: str) -> pd.Series:
        """The row of :attr:`years` for ``year`` and ``quantity`` (mean, p1..p99)."""
        y = self.years
        return y[(y.year == year) & (y.quantity == quantity)].iloc[0]

    def risk_at(self, year: int, level: float = 0.95) -> pd.Series:
        """The row of :attr:`risk` for ``year``'s net loss at ``level`` (var, cvar, tail_paths)."""
        r = self.risk
        return r[(r.year == year) & np.isclose(r.level, level)].iloc[0]


def loss_density(
    quantiles: np.ndarray, levels: np.ndarray, bins: int = 48
) -> tuple[np.ndarray, np.ndarray]:
    """A histogram density from a quantile function: edges (bins + 1,) and density (bins,).

    ``quantiles[i]`` is the ``levels[i]``-quantile; the CDF between them is linear, so the
    density over equal-width bins is the CDF increment over the width.
    """
    x = np.maximum.accumulate(np.asarray(quantiles, dtype=float))
    lo, hi = float(x[0]), float(x[-1])
    if not hi > lo:
        hi = lo + max(abs(lo), 1.0) * 1e-3
    edges = np.linspace(lo, hi, bins + 1)
    # np.interp needs increasing x: drop flat stretches (atoms) keeping their last level.
    keep = np.r_[np.diff(x) > 0, True]
    cdf = np.interp(edges, x[keep], np.asarray(levels, dtype=float)[keep])
    return edges, np.diff(cdf) / np.diff(edges)


def _funding_window(event: Funding, horizon: int, money: Money) -> FundingWindow | None:
    """The months a round may arrive in (None when it never arrives within the horizon)."""
    if event.probability.is_constant and float(event.probability.quantile(0.5)) <= 0:
        return None
    spec = event.month
    assert spec is not None  # a scheduled round (no `when`): its month is a Spec
    if "values" in spec.params:  # a discrete table of months
        pairs = zip(spec.params["values"], spec.params["probs"], strict=True)
        months = [float(v) for v, p in pairs if p > 0]
        first, last = min(months), max(months)
    else:
        first, last = (float(spec.quantile(q)) for q in (0.0, 1.0))
        if not np.isfinite(first):
            first = float(spec.quantile(0.01))
        if not np.isfinite(last):
            last = float(spec.quantile(0.99))
    first, last = int(np.floor(first)), int(np.floor(last))
    if last < 0 or first >= horizon:
        return None
    return FundingWindow(
        name=event.name,
        first=max(first, 0),
        last=min(last, horizon - 1),
        amount=_spec_text(event.amount, money),
        probability=_spec_text(event.probability, lambda p: f"{100 * p:.0f}%"),
    )


def _spec_text(spec: Spec, fmt: Callable[[float], str]) -> str:
    """A constant as its value; an uncertain input as "median" and its median."""
    value = fmt(float(spec.quantile(0.5)))
    return value if spec.is_constant else f"median {value}"


def _year_labels(years: list[int], year_of_month: np.ndarray, labels: list[str]) -> dict[int, str]:
    """ "2024" for a whole calendar year, "2024 (Jul–Dec)" for a part of one."""
    out: dict[int, str] = {}
    for year in years:
        inside = np.flatnonzero(year_of_month == year)
        label = str(year)
        if len(inside) < 12:
            first, last = (month_short(labels[t])[:3] for t in (inside[0], inside[-1]))
            label += f" ({first}–{last})" if first != last else f" ({first})"
        out[year] = label
    return out


def _finished(manifest: dict[str, Any], results: Results) -> dt.datetime:
    """When the run finished, as its manifest records it (a run resumed the next day: the
    next day); from before that record, or unreadable: its start plus its computing time."""
    try:
        when = dt.datetime.fromisoformat(manifest["finished"])
    except (KeyError, TypeError, ValueError):
        return results.started + dt.timedelta(seconds=float(results.seconds))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _manifest(run_dir: pathlib.Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest


def read_sensitivity(run_dir: str | pathlib.Path) -> pd.DataFrame | None:
    """``run_dir/sensitivity.csv`` (written by :meth:`engine.sensitivity.SensitivityResult.
    write_csv`): one row per input with its Sobol indices, or None without one.

    A file that cannot be read or lacks the indices gives None and a :class:`RunwayWarning`:
    the report is built without the chart rather than not at all. Files written before the
    ``output`` / ``description`` / ``evaluations`` columns existed are read without them.
    """
    path = pathlib.Path(run_dir) / SENSITIVITY_FILE
    if not path.is_file():
        return None
    text = {"input": str, "output": str, "description": str}
    try:
        df = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
        missing = [c for c in ("input", *SENSITIVITY_COLUMNS) if c not in df.columns]
        if missing:
            raise ValueError(f"no column {', '.join(missing)}")
        if df.empty:
            raise ValueError("no input")
        for c in SENSITIVITY_COLUMNS:
            df[c] = pd.to_numeric(df[c], errors="raise").astype(float)
        if not np.isfinite(df[list(SENSITIVITY_COLUMNS)].to_numpy()).all():
            raise ValueError("an index is missing or not finite")
        if df["input"].isna().any() or (df["input"].str.strip() == "").any():
            raise ValueError("an input without a name")
        if "evaluations" in df.columns:
            df["evaluations"] = pd.to_numeric(df["evaluations"], errors="coerce")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, pd.errors.ParserError) as exc:
        warnings.warn(
            f"{path}: not a readable table of Sobol indices ({exc}); the report leaves the "
            "sensitivity chart out",
            RunwayWarning,
            stacklevel=2,
        )
        return None
    return df.reset_index(drop=True)


def collect(results: Results, run_dir: pathlib.Path) -> ReportData:
    """Read every figure of the report from ``results`` (no simulation)."""
    s = results.scenario
    h = results.horizon_months
    money = Money(s.unit)
    labels = calendar.month_labels(s.start_year, s.start_month, h + 1)
    year_of_month = calendar.year_of_month(s.start_year, s.start_month, h)
    years = calendar.years(s.start_year, s.start_month, h)
    answers = list(results.answers())
    questions_given = bool(answers)
    if not answers:  # no question in the scenario: ask about the whole horizon
        end = calendar.month_start_date(s.start_year, s.start_month, h)
        answers = [results.probability_runs_out_before(end)]
    headline = answers[-1]
    drivers = results.drivers(headline.before)
    convergence = [results.convergence(a.before) for a in answers]
    funnels = [
        results.expected_range(
            a.before,
            np.geomspace(FUNNEL_START * c["paths"].iloc[0], c["paths"].iloc[-1], FUNNEL_POINTS),
        )
        for a, c in zip(answers, convergence, strict=True)
    ]

    names = results.layout.quantity_names()
    levels = np.linspace(0.005, 0.995, 397)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tails beyond the grid are only bounded; fine to draw
        quant = results.hist.quantile(levels)
    losses = {
        y: loss_density(quant[names.index(f"net_loss:{y}")], levels)
        for y in years[:LOSS_CHART_YEARS]
    }
    sample = results.sample_cash
    if sample is not None and len(sample):
        sample = np.asarray(sample, dtype=float)
        # a few typical paths spread over the outcomes: ranks of the final balance evenly
        # spaced from its 10th to its 90th percentile among the saved paths
        order = np.argsort(sample[:, -1], kind="stable")
        ranks = np.linspace(0.1, 0.9, SAMPLE_LINES) * (len(order) - 1)
        pick = np.unique(np.round(ranks).astype(int))
        sample = sample[np.sort(order[pick])]
    # bridge rounds (``when`` instead of ``month``) have no fixed window: see ManagementData
    windows = [_funding_window(e, h, money) for e in s.rounds]
    name, description = s.name, s.description
    variant = s.variant
    if variant:  # a variant run says so on every page
        name = f"{s.name} · variant {variant}"
        told = s.variants.get(variant, {}).get("description")
        description = f"{description} Variant {variant}: {told}." if told else description
    manifest = _manifest(run_dir)
    finished = _finished(manifest, results)
    comparison = read_comparison(run_dir)
    return ReportData(
        name=name,
        description=description.strip(),
        unit=s.unit,
        money=money,
        floor=float(s.floor),
        horizon_months=h,
        month_labels=labels,
        year_of_month=year_of_month,
        answers=answers,
        questions_given=questions_given,
        survival=results.survival(),
        ruin=results.ruin_distribution(),
        runway=results.runway_percentiles(),
        years=results.years(),
        risk=results.risk(),
        fan=results.cash_fan(),
        sample_cash=sample,
        drivers=drivers,
        top_drivers=drivers.dropna(subset=["p_low", "p_high"]).head(TORNADO_INPUTS),
        funding_effect=results.funding_effect(headline.before),
        convergence=convergence,
        funnels=funnels,
        year_labels=_year_labels(years, year_of_month, labels),
        losses=losses,
        funding=[w for w in windows if w is not None],
        inputs=input_table(s),
        correlation=s.correlation,
        paths=int(results.paths),
        seed=int(results.seed),
        sampler=str(results.sampler),
        batch_size=int(results.batch_size),
        batches=len(results.batch_sizes),
        hist_bins=int(results.hist.grid.bins),
        fan_paths=int(results.fan.n),
        seconds=float(results.seconds),
        started=results.started,
        finished=finished,
        run_dir=run_dir.resolve(),
        manifest=manifest,
        sets=s.sets,
        comparison=comparison,
        sensitivity=read_sensitivity(run_dir),
        management=_management(results, s, comparison, headline.before),
    )


def _management(
    results: Results, s: Scenario, comparison: pd.DataFrame | None, before: dt.date
) -> ManagementData | None:
    """The levers' figures (None for a scenario without actions, bridge rounds or credit)."""
    if not s.managed:
        return None
    levers: tuple[Action | Funding | Credit, ...] = (*s.actions, *s.bridges, *s.credit)
    names = [x.name for x in levers]
    effects, effect_before = _lever_effects(comparison, names, before.isoformat())
    return ManagementData(
        levers=results.management(),
        counts=np.asarray(results.lever_counts, dtype=np.int64),
        paths=int(results.paths),
        balance=results.credit_balance(),
        actions=tuple(s.actions),
        bridges=tuple(s.bridges),
        credit=tuple(s.credit),
        effects=effects,
        effect_before=effect_before,
    )


def _lever_effects(
    comparison: pd.DataFrame | None, names: list[str], before: str
) -> tuple[dict[str, pd.Series] | None, str | None]:
    """Each lever's compare.csv row "without NAME" at ``before`` (else at the file's last date),
    and that date; (None, None) without compare.csv. A lever the file does not compare (a
    comparison of named variants only) has no entry."""
    if comparison is None:
        return None, None
    rows = comparison[comparison["variant"].isin([f"without {n}" for n in names])]
    if "kind" in rows:  # the levers' rows (files written before the column: by name alone)
        rows = rows[rows["kind"] == "lever"]
    dates = list(dict.fromkeys(rows["before"]))
    if not dates:
        return {}, None
    at = before if before in dates else dates[-1]
    rows = rows[rows["before"] == at]
    # the last row of a name: the engine appends the lever switches after the file's variants
    return {
        n: rows[rows["variant"] == f"without {n}"].iloc[-1]
        for n in names
        if (rows["variant"] == f"without {n}").any()
    }, at
