"""The report's page "What changes the answer": the scenario's variants simulated on the same
paths as the base (common random numbers, :mod:`engine.compare`), read from the run
directory's ``compare.csv``. Added to the report only when that file exists."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from engine.compare import pts
from reports.data import ReportData
from reports.figures import Chart
from reports.layout import Column, Page, insert_pages
from reports.style import COLORS
from reports.text import (
    date_short,
    date_words,
    pct,
    pct_with_range,
    runway_words,
    sampler_words,
)

__all__ = ["TITLE", "add_compare_page", "compare_chart", "compare_page", "variants_chart"]

TITLE = "What changes the answer"
CHART_NAME = "compare"
#: Colours of the variants (the base is drawn in ink, as the reference).
PALETTE = ("#1d4e89", "#c0392b", "#d98e04", "#2e7d32", "#6c5b7b", "#2f80c1", "#8d6e63")
#: At most this many question dates in the page's table (the latest ones; all are in the CSV).
TABLE_DATES = 3
#: With more variants than this, every second variant's label is raised by STAGGER_POINTS.
STAGGER_FROM, STAGGER_POINTS = 3, 21


def _dates(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["before"]))


def _variants(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(df["variant"]))


def variants_chart(ax: Axes, df: pd.DataFrame) -> Axes:
    """Per question date (a group on the x axis): each variant's chance that cash runs out with
    its 95% CI (a point and bar), the base as a reference line across the group with its CI as
    a band. ``df``: the columns of ``compare.csv``."""
    dates, names = _dates(df), _variants(df)
    base, others = names[0], names[1:]
    span = 0.8
    step = span / max(len(others), 1)
    # many variants: neighbouring labels would overlap, so every second one sits higher
    crowded = len(others) > STAGGER_FROM
    for g, before in enumerate(dates):
        rows = df[df.before == before].set_index("variant")
        b = rows.loc[base]
        ax.fill_between(
            [g - span / 2 - 0.05, g + span / 2 + 0.05],
            b.ci_low,
            b.ci_high,
            color=COLORS["band"],
            lw=0,
            zorder=1,
        )
        ax.hlines(
            b.probability,
            g - span / 2 - 0.05,
            g + span / 2 + 0.05,
            color=COLORS["ink"],
            lw=1.4,
            ls="--",
            zorder=2,
            label=f"{base} (reference)" if g == 0 else "",  # "": the default, no legend entry
        )
        for i, name in enumerate(others):
            r = rows.loc[name]
            x = g - span / 2 + step * (i + 0.5)
            color = PALETTE[i % len(PALETTE)]
            ax.errorbar(
                [x],
                [r.probability],
                yerr=[[r.probability - r.ci_low], [r.ci_high - r.probability]],
                fmt="o",
                ms=6,
                color=color,
                capsize=3,
                zorder=3,
                label=name if g == 0 else None,
            )
            ax.annotate(
                f"{pct(r.probability)}\n({pts(r.difference)} pts)",
                (x, r.probability),
                xytext=(0, 7 + (STAGGER_POINTS if crowded and i % 2 else 0)),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7 if crowded else 7.5,
                color=color,
            )
    top = float(df["ci_high"].max())
    room = 0.12 + (0.06 if crowded else 0.0)
    ax.set_ylim(0, min(1.0, top + room) if top < 0.88 else 1.08 + room - 0.12)
    ax.set_xlim(-0.6, len(dates) - 0.4)
    # The base's chance goes under its group, not beside its line, where a variant with about
    # the same chance put its own label on top of it.
    at = df[df.variant == base].set_index("before")["probability"]
    ax.set_xticks(
        range(len(dates)),
        [
            f"runs out before {date_short(dt.date.fromisoformat(d))}\n({base}: {pct(float(at[d]))})"
            for d in dates
        ],
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("chance that cash runs out")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def compare_chart(data: ReportData) -> Chart:
    """The chart of :func:`variants_chart` on the run's ``compare.csv``."""
    df = data.comparison
    assert df is not None
    return Chart(
        CHART_NAME,
        "Chance that cash runs out, per variant (same paths as the base)",
        lambda ax: variants_chart(ax, df),
        size=(8.0, 4.5),
    )


def _runway(data: ReportData, value: str) -> str:
    if not value.isdigit():
        return value
    months = int(value)
    label = data.month_labels[months - 1] if 0 < months <= len(data.month_labels) else None
    return runway_words(months, label, short=True)


def _sentences(df: pd.DataFrame, paths: int) -> str:
    dates, names = _dates(df), _variants(df)
    last = dates[-1]
    rows = df[df.before == last].set_index("variant")
    when = date_words(dt.date.fromisoformat(last))
    base = rows.loc[names[0]]
    parts = [
        f"Every variant was simulated on the same {paths:,} paths as the base: each path draws "
        "the same values for every input a variant leaves alone, so a difference comes only "
        "from what the variant changes.",
        f"As written, the chance that cash runs out before {when} is {pct(base.probability)}.",
    ]
    for name in names[1:]:
        r = rows.loc[name]
        if r.diff_low == 0 and r.diff_high == 0:
            parts.append(f"{name}: no path changes its outcome (difference exactly 0).")
            continue
        parts.append(
            f"{name}: {pct(r.probability)}, {pts(r.difference)} percentage points "
            f"(95% CI {pts(r.diff_low)} to {pts(r.diff_high)})."
        )
    return " ".join(parts)


def compare_page(data: ReportData, charts: dict[str, Chart]) -> Page:
    """The page: the chart, a few sentences beside it, and the table of every variant."""
    df = data.comparison
    assert df is not None
    page = Page(TITLE, data.name)
    top = page.y + 0.3
    chart_w, chart_h = 6.3, 3.1
    chart = charts[CHART_NAME]
    ax = page.axes(page.left + 0.7, top, chart_w, chart_h)
    chart.draw(ax).set_title(chart.title)
    x = page.left + 0.7 + chart_w + 0.4
    width = page.right - x
    page.y = top - 0.25
    page.text(x, page.y, "What the variants change", size=11, weight="bold")
    page.y += 0.3
    paths = int(df["paths"].iloc[0])
    words = _sentences(df, paths)
    size = page.fitting_size(words, width, (9.5, 9, 8.5, 8), reserve=8.27 - (top + chart_h + 0.6))
    page.paragraph(words, x=x, width=width, size=size)
    page.y = max(page.y, top + chart_h + 0.55)

    dates = _dates(df)
    shown = dates[-TABLE_DATES:]
    names = _variants(df)
    n = len(shown)
    fixed = 1.35 + 1.45  # variant, median runway
    per_date = (page.content_width - fixed - 2.2) / n
    prob_w = round(per_date * 0.45, 2)
    diff_w = round(per_date - prob_w, 2)
    desc_w = page.content_width - fixed - n * (prob_w + diff_w)
    columns = [Column("Variant", 1.35, "left"), Column("What it changes", desc_w, "left")]
    for d in shown:
        when = date_short(dt.date.fromisoformat(d))
        columns += [Column(f"before {when}", prob_w), Column("difference (pts)", diff_w)]
    columns.append(Column("median runway", 1.45))
    rows = []
    for name in names:
        sub = df[df.variant == name].set_index("before")
        cells = [name, str(sub["description"].iloc[0])]
        for d in shown:
            r = sub.loc[d]
            cells.append(pct_with_range(r.probability, r.ci_low, r.ci_high))
            if name == names[0]:
                cells.append("reference")
            else:
                cells.append(f"{pts(r.difference)} ({pts(r.diff_low)} to {pts(r.diff_high)})")
        cells.append(_runway(data, str(sub["median_runway_months"].iloc[0])))
        rows.append(cells)
    page.table(columns, rows, size=8, bold_first=True)
    more = (
        f" The table shows the last {n} of {len(dates)} question dates; compare.csv has all."
        if n < len(dates)
        else ""
    )
    replicates = int(df["replicates"].max()) if "replicates" in df else 0
    how = (
        f"Chance that cash runs out before each date and the variant's chance minus the "
        f"base's (percentage points), each with a 95% CI from the {replicates} batches as "
        f"independent replicates of the {sampler_words(data.sampler)} design (Student t), "
        "all variants on the same paths and batches."
        if replicates
        else "Chance that cash runs out before each date with its 95% Wilson interval. "
        "Difference: the variant's chance minus the base's, in percentage points, with a "
        "paired 95% CI from the paths whose outcome differs between the two (variance (p10 + "
        "p01 − (p10 − p01)²) / n, p10 and p01 the shares of discordant paths)."
    )
    page.caption(
        how + " Far narrower than the difference of two independent runs. Median runway: "
        "months until cash runs out for half the paths." + more
    )
    return page


def add_compare_page(pages: list[Page], data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    """``pages`` (footers drawn) with the compare page inserted after the drivers page (else
    before the last page), every page number redrawn for the new total."""
    page = compare_page(data, charts)
    at = next(
        (i + 1 for i in range(len(pages) - 1, -1, -1) if pages[i].title.startswith("Drivers")),
        max(len(pages) - 1, 0),
    )
    return insert_pages(pages, [page], at)
