"""The report's page "How management reacts": the scenario's actions, bridge rounds and credit
lines, how often and when each acted on the simulated paths, what switching each one off
changes (from the run directory's ``compare.csv``), when they first act and how much of each
credit line is drawn. Added to the report only when the scenario has such levers."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from cashflow import calendar
from cashflow.scenario import Action, Condition, Credit, Funding
from distributions import Spec
from engine.compare import pts
from engine.levers import LEVER_WORDS
from reports import charts as draw
from reports import style
from reports.data import ManagementData, ReportData
from reports.figures import Chart, questions_of
from reports.layout import Column, Page, insert_pages, line_height, wrap
from reports.text import (
    date_short,
    date_words,
    levers_words,
    month_short,
    pct,
    pct_with_range,
)

__all__ = [
    "TIMING_CHART",
    "TITLE",
    "add_management_page",
    "credit_chart_name",
    "effect_cell",
    "management_charts",
    "management_pages",
    "share_cell",
    "sources_caption",
    "table_caption",
    "when_cell",
]

TITLE = "How management reacts"
TIMING_CHART = "management_timing"
#: Inches: the table's columns (the effect column takes the rest of the width).
LEVER_W, WHAT_W, SHARE_W, WHEN_W = 1.0, 3.0, 2.2, 1.95
#: Inches: a chart row's smallest and largest plot height, the room above a plot (its title)
#: and below it (tick labels), the y-axis label column, and the gap between two charts.
CHART_MIN_H, CHART_MAX_H, CHART_TOP, CHART_BOTTOM, Y_LABEL_W, CHART_GAP = (
    1.7,
    2.9,
    0.38,
    0.42,
    0.75,
    0.35,
)
#: (lead paragraph, table) font sizes, tried largest first until the first charts fit.
SIZES = ((10.0, 8.0), (9.5, 8.0), (9.0, 7.5))
NOT_COMPARED = "not compared (run with --compare)"


# ----- words ------------------------------------------------------------------------------
def _month(data: ReportData, t: int) -> str:
    """Month index ``t`` as "Oct 2024" (also beyond the horizon)."""
    year, month = (int(x) for x in data.month_labels[0].split("-")[:2])
    return month_short(calendar.month_label(year, month, t))


def _range(spec: Spec, fmt: Callable[[float], str]) -> str:
    """A constant as its value; an uncertain input as its 5th–95th percentiles."""
    if spec.is_constant:
        return fmt(float(spec.quantile(0.5)))
    lo, hi = (fmt(float(spec.quantile(q))) for q in (0.05, 0.95))
    return lo if lo == hi else f"{lo}–{hi}"


def _months(spec: Spec) -> str:
    """A lag or delay in whole months (floored, as the model uses it): "2 months", "2–4"."""
    if spec.is_constant:
        n = math.floor(float(spec.quantile(0.5)))
    else:
        lo, hi = (math.floor(float(spec.quantile(q))) for q in (0.05, 0.95))
        if lo != hi:
            return f"{lo}–{hi} months"
        n = lo
    return f"{n} month" + ("s" if n != 1 else "")


def _condition(data: ReportData, c: Condition) -> str:
    """``runway < 6`` -> "runway below 6 months" (window months added)."""
    if c.measure == "runway":
        text = f"runway below {c.threshold:g} months"
    else:
        text = f"cash below {data.money(c.threshold)}"
    if c.after > 0:
        text += f", from {_month(data, c.after)}"
    if c.until is not None:
        text += f", until {_month(data, c.until)}"
    return text


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def sources_caption(m: ManagementData) -> str:
    """The levers' source notes in one line ("Sources. cut: ...; rcf: ..."), ``""`` if none."""
    notes = [
        f"{item.name}: {item.source.strip()}"
        for _, item in _levers(m)
        if item.source and item.source.strip()
    ]
    return ("Sources. " + "; ".join(notes) + ".") if notes else ""


def action_words(data: ReportData, a: Action) -> str:
    """What an action does, in words, e.g. "When runway below 6 months: staff to 71–89% of
    plan, from 1 month later. At most once per path."."""
    effects = []
    if a.lines and a.factor is not None:
        effects.append(f"{_join(list(a.lines))} to {_factor(a.factor)} of plan")
    if a.stop:
        effects.append(f"{_join(list(a.stop))} stopped")
    if a.cost is not None:
        effects.append(f"one-off cost {_range(a.cost, data.money)}")
    if a.once:
        repeat = "At most once per path."
    else:
        repeat = (
            f"Again {a.cooldown_months} month{'s' if a.cooldown_months != 1 else ''} after "
            "its last effect while the condition holds (factors compound)."
        )
    return (
        f"When {_condition(data, a.when)}: {'; '.join(effects)}, from "
        f"{_months(a.lag_months)} later. {repeat}"
    )


def bridge_words(data: ReportData, b: Funding) -> str:
    """What a bridge round is, in words."""
    assert b.when is not None and b.delay_months is not None
    return (
        f"When {_condition(data, b.when)}: a round of {_range(b.amount, data.money)} is raised "
        f"(once), closes with {_range(b.probability, lambda x: f'{100 * x:.0f}')}% chance, money "
        f"{_months(b.delay_months)} later."
    )


def credit_words(data: ReportData, c: Credit) -> str:
    """What a credit line is, in words."""
    window = f" from {_month(data, c.available_from)}" if c.available_from > 0 else ""
    if c.until is not None:
        window += f", due {_month(data, c.until)}"
    if c.repay == "cash_flow":
        repay = "repaid from positive cash flow" + (" and at maturity" if c.until else "")
    else:
        repay = "repaid at maturity" if c.until is not None else "not repaid within the horizon"
    return (
        f"Limit {_range(c.limit, data.money)} at {_rate(c.interest)} a year"
        f"{window}; drawn automatically to keep cash at the floor "
        f"({data.money(data.floor)}); {repay}."
    )


def _factor(spec: Spec) -> str:
    """A factor as a share of the plan: "80%", "71–89%"."""
    return _range(spec, lambda x: f"{100 * x:.0f}") + "%"


def _rate(spec: Spec) -> str:
    """An annual rate: "7%", "5.58–6.93%"."""
    return _range(spec, lambda x: f"{100 * x:.3g}") + "%"


def _when(row: pd.Series) -> str:
    """The median first month with its p10–p90 range, e.g. "Jul 2024 (Jun–Sep 2024)"."""
    if not row["month_p50"]:
        return "never"
    p10, p50, p90 = (month_short(str(row[c])) for c in ("month_p10", "month_p50", "month_p90"))
    if p10 == p90:
        return p50
    a, b = p10.split(" "), p90.split(" ")
    span = f"{a[0]}–{p90}" if a[1] == b[1] else f"{p10}–{p90}"
    return f"{p50} ({span})"


def share_cell(rows: pd.DataFrame) -> str:
    """The share of paths where each of a lever's rows happened, with its 95% interval, one
    line each: "fired: 85.0% (84.5–85.5%)"."""
    return "\n".join(
        f"{LEVER_WORDS[r.event]}: {pct_with_range(r.share, r.share_lo, r.share_hi)}"
        for r in rows.itertuples()
    )


def when_cell(rows: pd.DataFrame) -> str:
    """The first month each of a lever's rows happened (median, p10–p90), one line each (in
    the order of :func:`share_cell`, whose lines say what happened)."""
    return "\n".join(_when(r) for _, r in rows.iterrows())


def effect_cell(m: ManagementData, kind: str, name: str) -> str:
    """The chance that cash runs out with lever ``name`` switched off (compare.csv's "without
    NAME" row): "without it: 69.9% (+34.8 points, 95% CI +34.1 to +35.5)"."""
    if m.effects is None:
        return NOT_COMPARED
    r = m.effects.get(name)
    if r is None:
        return "not in compare.csv"
    lead = "if it never closes" if kind == "bridge" else "without it"
    if r["diff_low"] == 0 and r["diff_high"] == 0 and r["difference"] == 0:
        return f"{lead}: {pct(r['probability'])} (no path changes its outcome)"
    return (
        f"{lead}: {pct(r['probability'])} ({pts(r['difference'])} points, 95% CI "
        f"{pts(r['diff_low'])} to {pts(r['diff_high'])})"
    )


def _effect_date(data: ReportData) -> dt.date:
    m = data.management
    if m is not None and m.effect_before:
        return dt.date.fromisoformat(m.effect_before)
    return data.headline.before


def _base_probability(data: ReportData) -> float:
    """The chance as written at the effects' date (the headline, or compare.csv's base)."""
    before = _effect_date(data)
    if before == data.headline.before or data.comparison is None:
        return data.headline.probability
    df = data.comparison
    rows = df[(df["before"] == before.isoformat()) & (df["variant"] == "base")]
    return float(rows["probability"].iloc[0]) if len(rows) else data.headline.probability


def _levers(m: ManagementData) -> list[tuple[str, Action | Funding | Credit]]:
    return [
        *(("action", a) for a in m.actions),
        *(("bridge", b) for b in m.bridges),
        *(("credit", c) for c in m.credit),
    ]


def _lead(data: ReportData) -> str:
    """The page's opening paragraph, in plain words."""
    m = data.management
    assert m is not None
    names = (
        [a.name for a in m.actions],
        [b.name for b in m.bridges],
        [c.name for c in m.credit],
    )
    text = (
        "On each simulated path, management reacts to that path's own cash and runway, "
        f"checked at the end of every month, through {levers_words(*names)} (below). "
    )
    if m.credit:
        text += (
            "A credit line is drawn automatically whenever cash would end a month below the "
            f"floor ({data.money(data.floor)}): with one, cash runs out only once the line is "
            "fully drawn or not available. "
        )
    before = _effect_date(data)
    if m.effects is None:
        return text + (
            "What each lever changes is not shown: run with --compare to simulate the scenario "
            "with each lever switched off on the same paths."
        )
    base = _base_probability(data)
    compared = list(m.effects.items())
    text += f"As written, the chance that cash runs out before {date_words(before)} is {pct(base)}"
    if not compared:
        return text + "; compare.csv does not compare the levers."
    name, top = max(compared, key=lambda nr: float(nr[1]["difference"]))
    if float(top["difference"]) > 0 and float(top["diff_low"]) > 0:
        bridge = name in {b.name for b in m.bridges}
        return text + (
            f"; the lever that holds it down most is {name}: "
            f"{'if it never closed' if bridge else 'without it'}, "
            f"{pct(top['probability'])} ({pts(top['difference'])} points)."
        )
    return text + "; no single lever switched off raises it significantly."


# ----- charts -----------------------------------------------------------------------------
def credit_chart_name(name: str) -> str:
    """The chart file stem of credit line ``name``."""
    return "credit_" + re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _timing_series(m: ManagementData) -> list[tuple[str, np.ndarray, str, str]]:
    """One curve per lever row: label, (H,) share of paths by first month, colour, style."""
    colors = {name: draw.LEVER_COLORS[i % len(draw.LEVER_COLORS)] for i, name in enumerate(m.names)}
    h = m.counts.shape[1] - 1
    out = []
    for row, counts in zip(m.levers.itertuples(), m.counts, strict=True):
        style_ = "--" if row.event == "triggered" else "-"
        label = f"{row.name}: {LEVER_WORDS[row.event]}"
        out.append((label, counts[:h] / m.paths, colors[row.name], style_))
    return out


def _limit_label(data: ReportData, c: Credit) -> tuple[float, str]:
    if c.limit.is_constant:
        value = float(c.limit.quantile(0.5))
        return value, f"limit {data.money(value)}"
    value = c.limit.mean()
    return value, f"limit (mean {data.money(value)})"


def _unavailable(c: Credit, horizon: int) -> list[tuple[int, int]]:
    spans = []
    if c.available_from > 0:
        spans.append((0, min(c.available_from, horizon)))
    if c.until is not None and c.until < horizon:
        spans.append((c.until, horizon))
    return spans


def management_charts(data: ReportData) -> list[Chart]:
    """The page's charts: when the levers first act, and each credit line's drawn balance."""
    m = data.management
    if m is None:
        return []
    labels = data.month_labels
    questions = questions_of(data)
    series = _timing_series(m)
    out = [
        Chart(
            TIMING_CHART,
            "When management first acts",
            lambda ax: draw.lever_timing(ax, series, labels, questions),
        )
    ]
    for c in m.credit:
        limit, limit_label = _limit_label(data, c)
        balance = m.balance_of(c.name)
        out.append(
            Chart(
                credit_chart_name(c.name),
                f"Credit line {c.name}: amount drawn",
                functools.partial(
                    draw.credit_balance,
                    balance=balance,
                    labels=labels,
                    money=data.money,
                    limit=limit,
                    limit_label=limit_label,
                    unavailable=_unavailable(c, data.horizon_months),
                ),
            )
        )
    return out


def _timing_caption(data: ReportData) -> str:
    m = data.management
    assert m is not None
    bridge = " Bridge round: dashed, condition met; solid, money arrived." if m.bridges else ""
    return (
        "Cumulative share of all paths on which each lever has acted by the end of each month "
        f"(ending at the shares in the table).{bridge} Dashed vertical lines: question dates."
    )


def _credit_caption(data: ReportData, c: Credit) -> str:
    sample = (
        f" (a systematic sample of {data.fan_paths:,} paths)" if data.fan_paths < data.paths else ""
    )
    limit = (
        f"its limit ({data.money(float(c.limit.quantile(0.5)))})"
        if c.limit.is_constant
        else f"the mean of its limit, which varies by path ({c.limit.describe()})"
    )
    gaps = " Grey: months it cannot be drawn." if _unavailable(c, data.horizon_months) else ""
    return (
        f"Amount drawn on {c.name} at the end of each month{sample}: the bands hold the middle "
        f"50% and 90% of paths, the line is the median, dotted the mean; dashed: {limit}.{gaps}"
    )


# ----- the page ---------------------------------------------------------------------------
def _table(data: ReportData) -> tuple[list[Column], list[list[str]]]:
    m = data.management
    assert m is not None
    page_w = style.PAGE_SIZE[0] - style.MARGIN_LEFT - style.MARGIN_RIGHT
    before = _effect_date(data)
    effect_w = page_w - LEVER_W - WHAT_W - SHARE_W - WHEN_W
    effect_head = (
        f"Switched off: runs out before {date_short(before)} "
        f"(as written {pct(_base_probability(data))})"
        if m.effects is not None
        else f"Switched off: runs out before {date_short(before)}"
    )
    columns = [
        Column("Lever", LEVER_W, "left"),
        Column("What it does", WHAT_W, "left"),
        Column("Share of paths (95% CI)", SHARE_W, "left"),
        Column("First month: median (p10–p90)", WHEN_W, "left"),
        Column(effect_head, effect_w, "left"),
    ]
    kinds = {"action": "action", "bridge": "bridge round", "credit": "credit line"}
    rows = []
    for kind, item in _levers(m):
        if isinstance(item, Action):
            what = action_words(data, item)
        elif isinstance(item, Funding):
            what = bridge_words(data, item)
        else:
            what = credit_words(data, item)
        lever_rows = m.rows_of(item.name)
        rows.append(
            [
                f"{item.name}\n{kinds[kind]}",
                what,
                share_cell(lever_rows),
                when_cell(lever_rows),
                effect_cell(m, kind, item.name),
            ]
        )
    return columns, rows


def table_caption(m: ManagementData) -> str:
    """What the table's columns mean."""
    never = " (a bridge round never closing)" if m.bridges else ""
    return (
        "Share: of all paths, with its 95% Wilson interval. First month: median and 10th–90th "
        "percentile among the paths where it happened. Ranges of uncertain inputs: their "
        f"5th–95th percentiles (Assumptions page). Switched off: the lever left out{never} on "
        "the same paths; the difference in percentage points, with its paired 95% CI."
    )


def _caption_h(text: str, width: float) -> float:
    return len(wrap(text, width, style.CAPTION_SIZE)) * line_height(style.CAPTION_SIZE) + 0.12


def _content_width() -> float:
    return style.PAGE_SIZE[0] - style.MARGIN_LEFT - style.MARGIN_RIGHT


def _chart_row(row: list[tuple[Chart, str]]) -> float:
    """Height a row of charts needs besides the plots themselves (titles, ticks, captions)."""
    if len(row) == 1:
        return CHART_TOP + CHART_BOTTOM
    width = (_content_width() - CHART_GAP * (len(row) - 1)) / len(row)
    return CHART_TOP + CHART_BOTTOM + max(_caption_h(cap, width) for _, cap in row)


def _draw_row(page: Page, row: list[tuple[Chart, str]], height: float) -> None:
    """A row of charts from the cursor: one chart with its caption on its right, or several
    side by side with their captions below."""
    top = page.y + CHART_TOP
    if len(row) == 1:
        chart, caption = row[0]
        width = 6.6
        ax = page.axes(page.left + Y_LABEL_W, top, width, height)
        chart.draw(ax).set_title(chart.title)
        x = page.left + Y_LABEL_W + width + 0.45
        page.y = top
        page.caption(caption, x=x, width=page.right - x)
        page.y = max(page.y, top + height + CHART_BOTTOM)
        return
    slot = (page.content_width - CHART_GAP * (len(row) - 1)) / len(row)
    end = top + height + CHART_BOTTOM
    bottom = end
    for i, (chart, caption) in enumerate(row):
        x = page.left + i * (slot + CHART_GAP)
        ax = page.axes(x + Y_LABEL_W, top, slot - Y_LABEL_W, height)
        chart.draw(ax).set_title(chart.title)
        page.y = end
        page.caption(caption, x=x, width=slot)
        bottom = max(bottom, page.y)
    page.y = bottom


def _sizes(
    lead: str, columns: list[Column], rows: list[list[str]], notes: str, first: float
) -> tuple[float, float]:
    """(lead, table) font sizes: the largest of :data:`SIZES` at which the lead, the table,
    its notes and the first row of charts (``first``: its height besides the plots) fit one
    page with the plots at least CHART_MIN_H high; else the smallest."""
    width = _content_width()
    bottom = style.PAGE_SIZE[1] - style.FOOTER_HEIGHT - 0.15
    for lead_size, table_size in SIZES:
        height = (
            len(wrap(lead, width, lead_size)) * line_height(lead_size)
            + 0.12
            + Page.table_height(columns, rows, table_size)
            + 0.15
            + _caption_h(notes, width)
            + first
            + CHART_MIN_H
        )
        if style.CONTENT_TOP + height <= bottom:
            return lead_size, table_size
    return SIZES[-1]


def management_pages(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    """The page (more when the levers do not fit one): the lead paragraph, the table of
    levers with its notes, then the charts in rows of two (the timing chart first)."""
    m = data.management
    assert m is not None
    lead = _lead(data)
    columns, rows = _table(data)
    notes = " ".join(x for x in (table_caption(m), sources_caption(m)) if x)
    items = [(charts[TIMING_CHART], _timing_caption(data))]
    items += [(charts[credit_chart_name(c.name)], _credit_caption(data, c)) for c in m.credit]
    chart_rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    lead_size, table_size = _sizes(lead, columns, rows, notes, _chart_row(chart_rows[0]))

    page = Page(TITLE, data.name)
    pages = [page]
    page.paragraph(lead, size=lead_size)
    while rows:
        fresh = page.y <= style.CONTENT_TOP
        drawn = page.table(columns, rows, size=table_size, paginate=not fresh)
        rows = rows[drawn:]
        if rows:
            page = Page(f"{TITLE} (continued)", data.name)
            pages.append(page)
    page.caption(notes)
    while chart_rows:
        # as many rows as fit at CHART_MIN_H share the room left (at most CHART_MAX_H each)
        room, k, extras = page.bottom - page.y, 0, 0.0
        while k < len(chart_rows) and (
            extras + _chart_row(chart_rows[k]) + (k + 1) * CHART_MIN_H <= room
        ):
            extras += _chart_row(chart_rows[k])
            k += 1
        if k == 0 and page.y > style.CONTENT_TOP:  # nothing fits below the table
            page = Page(f"{TITLE} (continued)", data.name)
            pages.append(page)
            continue
        k = max(k, 1)
        extras = sum(_chart_row(row) for row in chart_rows[:k])
        height = min(CHART_MAX_H, max((room - extras) / k, CHART_MIN_H))
        for row in chart_rows[:k]:
            _draw_row(page, row, height)
        chart_rows = chart_rows[k:]
        if chart_rows:
            page = Page(f"{TITLE} (continued)", data.name)
            pages.append(page)
    return pages


def add_management_page(
    pages: list[Page], data: ReportData, charts: dict[str, Chart]
) -> list[Page]:
    """``pages`` (footers drawn) with the management page(s) inserted before "What changes the
    answer" when there is one, else after the drivers page (else before the last page)."""
    from reports.compare_page import TITLE as COMPARE_TITLE

    new = management_pages(data, charts)
    at = next((i for i, p in enumerate(pages) if p.title == COMPARE_TITLE), None)
    if at is None:
        at = next(
            (i + 1 for i in range(len(pages) - 1, -1, -1) if pages[i].title.startswith("Drivers")),
            max(len(pages) - 1, 0),
        )
    return insert_pages(pages, new, at)
