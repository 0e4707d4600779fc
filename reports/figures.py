"""The report's charts, wired to a run's numbers: one :class:`Chart` per chart file.

A :class:`Chart` knows its file name, its title and how to draw itself on any ``Axes``; the same
object draws the chart on a PDF page and into the stand-alone PNG / SVG files, so both always
agree.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from reports import charts, style
from reports.data import ReportData
from reports.sensitivity_chart import draw_sensitivity
from reports.style import COLORS
from reports.text import date_short, date_words, month_short, pct

__all__ = [
    "SENSITIVITY_INPUTS",
    "Chart",
    "chart_list",
    "questions_of",
    "sensitivity_output",
    "standalone",
]

#: Inputs shown in the Sobol chart (largest total index); the rest are counted in a note.
SENSITIVITY_INPUTS = 12


@dataclass(frozen=True)
class Chart:
    """One chart: file stem, title and a function drawing it on an ``Axes``."""

    name: str
    title: str
    draw: Callable[[Axes], Axes]
    size: tuple[float, float] = style.CHART_SIZE


def questions_of(data: ReportData) -> list[tuple[int, str]]:
    """(x position in months, label) of each question date, for time axes."""
    if not data.questions_given:
        return []
    return [(a.months, date_short(a.before)) for a in data.answers]


def outcome_segments(data: ReportData) -> list[tuple[str, float, str]]:
    """Where the paths end up: runs out before each question date, later, or never."""
    segments, previous, last_label = [], 0.0, None
    shades = [COLORS["risk"], "#e07b6f", COLORS["risk_light"], "#f6d5cf"]
    for i, a in enumerate(data.answers if data.questions_given else []):
        label = f"runs out before {date_short(a.before)}"
        if last_label:
            label = f"runs out {last_label} – {date_short(a.before)}"
        segments.append((label, a.probability - previous, shades[min(i, len(shades) - 1)]))
        previous, last_label = a.probability, date_short(a.before)
    end = month_short(data.month_labels[-2])
    later = max((1.0 - data.never_runs_out) - previous, 0.0)  # no rounding below zero
    last_question = data.answers[-1].months if segments else 0
    if last_question < data.horizon_months:  # months left after the last question date
        text = "runs out later in the horizon" if segments else "runs out within the horizon"
        segments.append((text, later, COLORS["accent"]))
    segments.append((f"never runs out (to {end})", data.never_runs_out, COLORS["good"]))
    return segments


def chart_list(data: ReportData) -> list[Chart]:
    """Every chart of the report, in page order."""
    money, labels = data.money, data.month_labels
    questions = questions_of(data)
    segments = outcome_segments(data)
    head = data.headline
    out = [
        Chart(
            "survival",
            "Chance that cash is still above the floor",
            lambda ax: charts.survival_curve(ax, data.survival, labels, questions),
        ),
        Chart(
            "ruin_month",
            "When cash runs out",
            lambda ax: charts.ruin_month_bars(ax, data.ruin, labels, questions),
        ),
        Chart(
            "outcomes",
            "Where the paths end up",
            lambda ax: charts.outcome_bar(ax, segments),
            size=(8.0, 1.2 + 0.25 * len(segments)),  # the legend below holds one row a segment
        ),
        Chart(
            "cash_fan",
            "Cash balance",
            lambda ax: charts.cash_fan(
                ax,
                data.fan,
                labels,
                money,
                floor=data.floor,
                samples=data.sample_cash,
                funding=_funding(data),
            ),
        ),
    ]
    for year, (edges, density) in data.losses.items():
        r = data.risk_at(year)
        median = float(data.figure(year, "net_loss").p50)
        out.append(
            Chart(
                f"net_loss_{year}",
                f"Net loss in {data.year_labels[year]}",
                functools.partial(
                    charts.loss_distribution,
                    edges=edges,
                    density=density,
                    money=money,
                    median=median,
                    var95=float(r["var"]),
                    cvar95=float(r["cvar"]),
                ),
                size=(6.0, 4.0),
            )
        )
    drivers = data.top_drivers
    if len(drivers) and drivers["swing"].max() > 0:
        out.append(
            Chart(
                "drivers",
                f"What moves the chance that cash runs out before {date_words(head.before)}",
                lambda ax: charts.tornado(
                    ax,
                    drivers,
                    head.probability,
                    base_label=f"chance cash runs out before {date_short(head.before)} "
                    f"(all paths: {pct(head.probability)})",
                ),
                size=(8.0, 0.45 * len(drivers) + 1.6),
            )
        )
    if data.sensitivity is not None:  # sensitivity.csv: Sobol indices of one output
        table = data.sensitivity
        shown = min(len(table), SENSITIVITY_INPUTS)
        out.append(
            Chart(
                "sensitivity",
                f"Sobol indices: {sensitivity_output(data)}",
                lambda ax: draw_sensitivity(ax, table, max_inputs=SENSITIVITY_INPUTS),
                size=(8.0, 0.32 * shown + 1.7),
            )
        )
    if data.management is not None:  # actions, bridge rounds, credit lines
        from reports.management_page import management_charts

        out.extend(management_charts(data))
    if data.correlation is not None and len(data.correlation.names) > 1:
        c = data.correlation
        out.append(
            Chart(
                "correlation",
                "Rank correlations between inputs",
                lambda ax: charts.correlation_heatmap(ax, c.names, np.asarray(c.matrix)),
                size=(6.5, 5.5),
            )
        )
    if data.comparison is not None:  # compare.csv: the variants on common random numbers
        from reports.compare_page import compare_chart

        out.append(compare_chart(data))
    for a, df, funnel in zip(data.answers, data.convergence, data.funnels, strict=True):
        out.append(
            Chart(
                f"convergence_{a.before.isoformat()}",
                f"Runs out before {date_short(a.before)}",
                functools.partial(charts.convergence, df=df, funnel=funnel),
                size=(6.0, 4.0),
            )
        )
    return out


def sensitivity_output(data: ReportData) -> str:
    """What the Sobol indices of ``sensitivity.csv`` are about, in words: its ``description``
    column (e.g. "chance cash runs out before 2026-01-01"), else its ``output`` column, else a
    generic phrase (a file written before those columns existed)."""
    table = data.sensitivity
    for column in ("description", "output"):
        if table is not None and column in table.columns:
            value = table[column].dropna()
            if len(value) and str(value.iloc[0]).strip():
                return _ISO_DATE.sub(_date_in_words, str(value.iloc[0]).strip())
    return "the analysed output"


_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def _date_in_words(match: re.Match[str]) -> str:
    """An ISO date as the report writes dates ("1 January 2026"), as is when not a date."""
    try:
        return date_words(dt.date(*(int(g) for g in match.groups())))
    except ValueError:
        return match.group(0)


def _funding(data: ReportData) -> list[tuple[int, int, str]]:
    return [
        (w.first, w.last, f"{w.name}: {w.amount}, {w.probability} chance") for w in data.funding
    ]


def standalone(chart: Chart) -> Figure:
    """The chart alone on its own figure (for the PNG and SVG files)."""
    fig = style.chart_figure(chart.size)
    fig.set_layout_engine("constrained")
    ax = fig.add_subplot()
    chart.draw(ax)
    ax.set_title(chart.title)
    return fig
