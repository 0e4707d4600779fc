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

from cashflow.describe import input_table
from cashflow.scenario import Correlation, Funding
from distributions import Spec
from engine.results import Answer, Results
from reports.text import Money, month_short

__all__ = ["FundingWindow", "ReportData", "collect", "loss_density"]

#: Sample cash paths drawn as thin lines in the fan chart.
SAMPLE_LINES = 8
#: Calendar years with a net-loss distribution chart (the first ones of the horizon).
LOSS_CHART_YEARS = 3


@dataclass(frozen=True)
class FundingWindow:
    """When a funding round may arrive: months ``first``..``last`` (inclusive, indices)."""

    name: str
    first: int
    last: int
    amount: str  # e.g. "$6.5B"
    probability: str  # e.g. "85%"


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
    answers: list[Answer]  # one per question (or about the whole horizon)
    questions_given: bool
    survival: pd.DataFrame
    ruin: pd.DataFrame
    never_runs_out: float
    runway: dict[str, int | str]
    years: pd.DataFrame
    risk: pd.DataFrame
    fan: pd.DataFrame
    sample_cash: np.ndarray | None
    drivers: pd.DataFrame
    funding_effect: pd.DataFrame
    convergence: list[pd.DataFrame]
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
    seconds: float
    started: dt.datetime
    finished: dt.datetime
    run_dir: pathlib.Path
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> Answer:
        """The answer the drivers, convergence and paragraph refer to: the last question."""
        return self.answers[-1]


def loss_density(quantiles: np.ndarray, levels: np.ndarray, bins: int = 48):
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


def _year_labels(months: list[str]) -> dict[int, str]:
    """ "2024" for a whole calendar year, "2024 (Jul–Dec)" for a part of one."""
    out: dict[int, str] = {}
    for year in sorted({int(m[:4]) for m in months}):
        inside = [m for m in months if int(m[:4]) == year]
        label = str(year)
        if len(inside) < 12:
            first, last = month_short(inside[0])[:3], month_short(inside[-1])[:3]
            label += f" ({first}–{last})" if first != last else f" ({first})"
        out[year] = label
    return out


def _manifest(run_dir: pathlib.Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def collect(results: Results, run_dir: pathlib.Path) -> ReportData:
    """Read every figure of the report from ``results`` (no simulation)."""
    s = results.scenario
    h = results.horizon_months
    money = Money(s.unit)
    answers = list(results.answers())
    questions_given = bool(answers)
    if not answers:  # no question in the scenario: ask about the whole horizon
        y, m = (int(v) for v in results.month_label(h).split("-"))
        answers = [results.probability_runs_out_before(dt.date(y, m, 1))]
    headline = answers[-1]

    names = results.layout.quantity_names()
    years = list(results.layout.years)
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
    windows = [_funding_window(e, h, money) for e in s.events if isinstance(e, Funding)]
    manifest = _manifest(run_dir)
    name, description = s.name, s.description
    variant = manifest.get("variant")
    if variant:  # a variant run says so on every page
        name = f"{s.name} · variant {variant}"
        told = s.variants.get(variant, {}).get("description")
        description = f"{description} Variant {variant}: {told}." if told else description
    finished = results.started + dt.timedelta(seconds=float(results.seconds))
    return ReportData(
        name=name,
        description=description.strip(),
        unit=s.unit,
        money=money,
        floor=float(s.floor),
        horizon_months=h,
        month_labels=[results.month_label(t) for t in range(h + 1)],
        answers=answers,
        questions_given=questions_given,
        survival=results.survival(),
        ruin=results.ruin_distribution(),
        never_runs_out=float(results.never_runs_out),
        runway=results.runway_percentiles(),
        years=results.years(),
        risk=results.risk(),
        fan=results.cash_fan(),
        sample_cash=sample,
        drivers=results.drivers(headline.before),
        funding_effect=results.funding_effect(headline.before),
        convergence=[results.convergence(a.before) for a in answers],
        year_labels=_year_labels([results.month_label(t) for t in range(h)]),
        losses=losses,
        funding=[w for w in windows if w is not None],
        inputs=input_table(s),
        correlation=s.correlation,
        paths=int(results.paths),
        seed=int(results.seed),
        sampler=str(results.sampler),
        batch_size=int(results.batch_size),
        batches=len(results.batch_sizes),
        seconds=float(results.seconds),
        started=results.started,
        finished=finished,
        run_dir=run_dir.resolve(),
        manifest=manifest,
    )
