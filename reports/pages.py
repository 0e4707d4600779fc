"""The report's pages, in order: summary, runway, cash, losses, drivers, assumptions, method.

Each ``*_page`` function takes the run's :class:`ReportData` and its charts by name and returns
the finished :class:`Page` objects (the assumptions may need more than one page).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from distributions.errors import RunwayWarning
from reports import style
from reports.assumptions_page import assumptions_pages
from reports.data import ReportData
from reports.drivers_page import drivers_page
from reports.figures import SENSITIVITY_INPUTS, Chart, sensitivity_output
from reports.layout import Column, Page, line_height, text_width, wrap
from reports.method_page import method_page
from reports.style import COLORS
from reports.text import (
    driver_sentences,
    funding_sentence,
    headline,
    month_short,
    month_words,
    pct,
    pct_ci,
    runway_words,
    sampler_words,
    summary_paragraph,
)

__all__ = ["build_pages"]

QUANTITY = {
    "revenue": "Revenue",
    "costs": "Costs",
    "net_loss": "Net loss",
    "cash_end": "Year-end cash",
}


#: Calendar years shown in the summary's key figures, the year-end cash and the loss tables.
SUMMARY_YEARS, TABLE_YEARS = 3, 8
#: Characters of the run's --set overrides the summary's run table may cut them to, longest
#: first, to leave the paragraph above room.
STRESS_CHARS = (240, 160, 120, 80)


def _years(data: ReportData, most: int) -> tuple[list[int], str]:
    """The first ``most`` calendar years, and a note saying so when there are more."""
    years = sorted(data.year_labels)
    if len(years) <= most:
        return years, ""
    return years[:most], (
        f" The first {most} of {len(years)} calendar years are shown; every "
        "year is in years.csv in the run directory."
    )


def _figure_rows(
    data: ReportData, years: list[int], quantities: tuple[str, ...]
) -> list[list[str]]:
    money, rows = data.money, []
    for year in years:
        for i, q in enumerate(quantities):
            r = data.figure(year, q)
            cells = (money(r.p5), money(r.p50), money(r.p95), money(r["mean"]))
            rows.append([data.year_labels[year] if i == 0 else "", QUANTITY[q], *cells])
    return rows


def _ruin_label(data: ReportData, months: int | str) -> str | None:
    return None if isinstance(months, str) else data.month_labels[months - 1]


def summary_page(data: ReportData) -> list[Page]:
    page = Page("Risk summary", data.name)
    if data.description:
        page.paragraph(data.description, color=COLORS["muted"], gap=0.18)
    top = page.y
    page.y += 0.12
    for a in data.answers:
        page.paragraph(
            headline(a.before, a.probability, a.ci95),
            x=page.left + 0.15,
            width=page.content_width - 0.3,
            size=14 if len(data.answers) <= 3 else 10.5,
            weight="bold",
            gap=0.04,
        )
    page.y += 0.08
    page.box(page.left, top, page.content_width, page.y - top, COLORS["band"])
    page.y += 0.12
    median = data.runway["p50"]
    runway = runway_words(median, _ruin_label(data, median))
    end = month_words(data.month_labels[-2])
    page.paragraph(
        f"Median runway: {runway}. Paths that never run out through {end}: "
        f"{pct_ci(data.never_runs_out, *data.never_runs_out_ci)}. Each figure "
        f"rests on {data.paths:,} simulated paths (seed {data.seed}); 95% CI is the 95% "
        "confidence interval of the Monte Carlo estimate.",
        gap=0.25,
    )
    top = page.y
    left_w = 6.0
    page.heading("Key figures per calendar year", size=11)
    years, more = _years(data, SUMMARY_YEARS)
    rows = _figure_rows(data, years, ("revenue", "costs", "net_loss", "cash_end"))
    page.table(
        [
            Column("Year", 1.15, "left"),
            Column("Figure", 1.15, "left"),
            Column("p5", 0.95),
            Column("median", 0.95),
            Column("p95", 0.95),
            Column("mean", 0.95),
        ],
        rows,
        size=9,
        shade=[(i // 4) % 2 == 1 for i in range(len(rows))],
    )
    page.caption(
        f"{data.unit}. p5 / p95: 5th / 95th percentile over simulated paths (90% of paths lie "
        "between them). Net loss = costs − revenue (negative: a profit). Cash at year end can be "
        "below zero: the model keeps spending after cash has run out." + more,
        width=left_w,
    )
    x = page.left + left_w + 0.45
    width = page.right - x
    page.y = top
    page.text(x, page.y, "What the numbers say", size=11, weight="bold")
    page.y += 0.27
    before = data.headline.before
    net = data.years[data.years.quantity == "net_loss"]
    words = summary_paragraph(
        paths=data.paths,
        horizon_end=data.month_labels[-2],
        never_runs_out=data.never_runs_out,
        median_runway=median,
        median_ruin_label=_ruin_label(data, median),
        drivers=driver_sentences(data.drivers, before),
        funding=funding_sentence(data.funding_effect, before),
        net_loss=[(int(r.year), r.p5, r.p50, r.p95) for r in net.itertuples()],
        money=data.money,
    )
    m = data.manifest
    meta_columns = [Column("", 1.15, "left"), Column("", width - 1.15, "left")]
    # The run's --set overrides, as much of them as leaves room for the paragraph (all of them
    # are in manifest.json).
    started = f"{data.started:%Y-%m-%d %H:%M:%S} UTC (runtime {data.seconds:,.1f} s)"
    for limit in (len(data.stress), *STRESS_CHARS):
        stress = [["Stress (--set)", _shorten(data.stress, limit)]] if data.stress else []
        meta = [
            ["Run directory", str(data.run_dir)],
            ["Scenario file", str(m.get("scenario_file") or "—")],
            *stress,
            ["Run started", started],
            ["Paths", f"{data.paths:,} in {data.batches} batch(es) of up to {data.batch_size:,}"],
            ["Seed / sampler", f"{data.seed} / {sampler_words(data.sampler)}"],
            ["Versions", _versions(m)],
        ]
        # More question dates push this column down: the paragraph shrinks to leave room for
        # the run table rather than running into the footer.
        run_block = 0.2 + 0.27 + page.table_height(meta_columns, meta, 7.5)
        size = page.fitting_size(words, width, (10, 9.5, 9, 8.5), reserve=run_block)
        room = page.bottom - page.y - run_block
        if not stress or len(wrap(words, width, size)) * line_height(size) <= room:
            break
    page.paragraph(words, x=x, width=width, size=size, gap=0.2)
    page.text(x, page.y, "Run", size=11, weight="bold")
    page.y += 0.27
    page.table(meta_columns, meta, x=x, size=7.5, bold_first=True)
    return [page]


def _shorten(text: str, limit: int) -> str:
    """``text``, cut at ``limit`` characters (the whole of it is in manifest.json)."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "… (all in manifest.json)"


def _versions(manifest: dict) -> str:
    v = manifest.get("versions") or {}
    return ", ".join(f"{k} {val}" for k, val in v.items()) or "—"


def runway_page(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    page = Page("Runway: how long the cash lasts", data.name)
    top = page.y + 0.3
    chart_w = 6.6
    ax = page.axes(page.left + 0.75, top, chart_w, 2.55)
    charts["survival"].draw(ax).set_title(charts["survival"].title)
    x = page.left + 0.75 + chart_w + 0.45
    width = page.right - x
    page.y = top - 0.25
    page.text(x, page.y, "Runway percentiles", size=11, weight="bold")
    page.y += 0.3
    rows = [
        [_percentile_name(k), runway_words(v, _ruin_label(data, v), short=True)]
        for k, v in data.runway.items()
    ]
    page.table(
        [Column("percentile", 0.85, "left"), Column("runway", width - 0.85, "left")],
        rows,
        x=x,
        size=8.5,
    )
    page.caption(
        "Months from the start to the end of the month cash runs out. p5: 5% of paths "
        'have a shorter runway. "Beyond the horizon": fewer paths than that run out '
        "within the simulation.",
        x=x,
        width=width,
    )
    page.y = top + 2.95
    band = float((data.survival["high"] - data.survival["low"]).max())
    page.caption(
        "Share of simulated paths whose cash has stayed at or above the floor "
        f"({data.money(data.floor)}) up to each month end. The shaded 95% band is at most "
        f"{100 * band:.2f} percentage points wide"
        + (" (too narrow to see at this number of paths)." if band < 0.01 else ".")
        + " Dashed lines: the question dates.",
        width=chart_w + 0.75,
    )
    top = page.y + 0.35
    ax = page.axes(page.left + 0.75, top, 5.4, 1.75)
    charts["ruin_month"].draw(ax).set_title(charts["ruin_month"].title)
    page.y = top + 2.1
    page.caption(
        "Share of all paths that run out in each month; the bars add up to the share "
        "that runs out within the horizon.",
        width=6.2,
    )
    x = page.left + 6.9
    ax = page.axes(x, top + 0.05, page.right - x, 0.32)
    charts["outcomes"].draw(ax).set_title(charts["outcomes"].title)
    return [page]


def _percentile_name(key: str) -> str:
    return "median" if key == "p50" else key


#: Cash page: the fan chart's height, and how much it may give up to the text below it.
FAN_H, FAN_SHRINK = 3.75, 0.8


def cash_page(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    page = Page("Cash: the balance month by month", data.name)
    caption, columns, rows, more = _cash_texts(data)
    below = (
        _caption_height(caption, page.content_width)
        + line_height(11)
        + 0.08
        + page.table_height(columns, rows, 8.5)
        + 0.15
        + (_caption_height(more.strip(), page.content_width) if more else 0.0)
    )
    # the chart gives up height (at most FAN_SHRINK) when the text below would reach the footer
    shrink = float(np.clip(page.y + FAN_H + 0.9 + below - page.bottom, 0.0, FAN_SHRINK))
    ax = page.axes(page.left + 0.75, page.y + 0.35, page.content_width - 3.3, FAN_H - shrink)
    charts["cash_fan"].draw(ax).set_title(charts["cash_fan"].title)
    page.y += FAN_H + 0.9 - shrink
    page.caption(caption)
    page.heading("Cash at the end of each year", size=11)
    page.table(columns, rows, size=8.5)
    if more:
        page.caption(more.strip())
    return [page]


def _cash_texts(data: ReportData) -> tuple[str, list[Column], list[list[str]], str]:
    """The cash page's caption, year-end table (columns, rows) and its note on more years."""
    windows = "; ".join(
        f"{w.name} may arrive {month_words(data.month_labels[w.first])}"
        + (f" to {month_words(data.month_labels[w.last])}" if w.last > w.first else "")
        + f" ({w.amount}, {w.probability} chance)"
        for w in data.funding
    )
    n_lines = 0 if data.sample_cash is None else len(data.sample_cash)
    sample = f" (a systematic sample of {data.fan_paths:,})" if data.fan_paths < data.paths else ""
    caption = (
        f"Cash at the end of each month across simulated paths{sample}: the dark band holds the "
        "middle half of the paths, the light band 90% of them; the line is the median. The "
        "year-end table below uses every path."
        + (
            f" Thin lines are {n_lines} of the simulated paths, picked to span the middle 80% of "
            "final balances, showing how single futures move."
            if n_lines
            else ""
        )
        + " Below the floor (shaded red) cash has run out; the model keeps spending there, so "
        "the depth shows how much money would have been missing."
        + (f" Shaded months: funding windows ({windows})." if windows else "")
        + _managed_cash_words(data)
    )
    years, more = _years(data, TABLE_YEARS - 2)
    columns = [
        Column("Year", 1.1, "left"),
        Column("p5", 1.0),
        Column("p25", 1.0),
        Column("median", 1.0),
        Column("p75", 1.0),
        Column("p95", 1.0),
        Column("run out by the year's end", 2.2),
    ]
    return caption, columns, _year_end_rows(data, years), more


def _managed_cash_words(data: ReportData) -> str:
    """What the scenario's levers do to the cash drawn here (``""`` without levers)."""
    m = data.management
    if m is None:
        return ""
    if m.credit:
        return (
            " Credit drawn holds cash at the floor while a line has room (see How management "
            "reacts)."
        )
    return " The balances include management's reactions (see How management reacts)."


def _year_end_rows(data: ReportData, years: list[int]) -> list[list[str]]:
    money, rows = data.money, []
    for year in years:
        r = data.figure(year, "cash_end")
        last = int(np.flatnonzero(data.year_of_month == year)[-1])
        below = float(data.ruin["cumulative"].iloc[last])
        rows.append(
            [
                data.year_labels[year],
                *(money(r[c]) for c in ("p5", "p25", "p50", "p75", "p95")),
                f"{pct(below)} of paths (by {month_short(data.month_labels[last])})",
            ]
        )
    return rows


def losses_page(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    page = Page("Losses: net loss per year", data.name)
    years = sorted(data.losses)
    n = len(years)
    gap = 0.45
    w = (page.content_width - gap * (n - 1) - 0.2) / max(n, 1)
    for i, year in enumerate(years):
        c = charts[f"net_loss_{year}"]
        ax = page.axes(page.left + 0.1 + i * (w + gap), page.y + 0.3, w, 3.2)
        c.draw(ax).set_title(c.title)
    page.y += 4.15
    page.caption(
        "Distribution of each calendar year's net loss (costs − revenue) over simulated paths, "
        "central 99% shown. VaR95: the loss exceeded in only 5% of paths (the 95th percentile). "
        "CVaR95: the average loss in those worst 5% of paths."
    )
    cols = [Column("Year", 1.1, "left")] + [
        Column(h, 0.78)
        for h in ("p1", "p5", "p25", "median", "p75", "p95", "p99", "mean", "VaR95", "CVaR95")
    ]
    cols.append(Column("paths in tail", 1.4))
    years, more = _years(data, TABLE_YEARS)
    page.table(cols, _loss_rows(data, years), size=8.5)
    if more:
        page.caption(more.strip())
    page.paragraph(" ".join(_tail_sentence(data, y) for y in years[:SUMMARY_YEARS]), size=9.5)
    return [page]


def _tail_sentence(data: ReportData, year: int) -> str:
    money = data.money
    k = data.risk_at(year)
    return (
        f"In {data.year_labels[year]}, one path in twenty loses more than "
        f"{money(k['var'])}; in those paths the loss averages {money(k['cvar'])}."
    )


def _loss_rows(data: ReportData, years: list[int]) -> list[list[str]]:
    money, rows = data.money, []
    for year in years:
        r = data.figure(year, "net_loss")
        k = data.risk_at(year)
        cells = [money(r[c]) for c in ("p1", "p5", "p25", "p50", "p75", "p95", "p99", "mean")]
        rows.append(
            [
                data.year_labels[year],
                *cells,
                money(k["var"]),
                money(k["cvar"]),
                f"{int(k.tail_paths):,}",
            ]
        )
    return rows


#: Drivers page with Sobol indices: inches between the tornado and the Sobol chart, the
#: smallest height the charts may shrink to (to leave room for the captions), and the range of
#: the Sobol chart's tick-label column.
SOBOL_GAP, SOBOL_MIN_HEIGHT, SOBOL_LABEL = 0.35, 2.4, (1.4, 2.6)
#: Inches a percentage written beside a tornado bar takes (7.5 pt, with its offset).
TORNADO_LABEL = 0.36


def _drivers_pages(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    """The drivers page; with the run directory's sensitivity.csv, the tornado shares its row
    with the Sobol chart (side by side) and a caption on the indices follows the tornado's."""
    pages = drivers_page(data, charts)
    sobol = charts.get("sensitivity")
    if sobol is not None and data.sensitivity is not None:
        tornado = charts.get("drivers")
        if tornado is not None and len(pages[0].fig.axes) == 1:
            _sobol_beside_tornado(pages[0], data, tornado, sobol)
        else:
            _sobol_below(pages[0], data, sobol)
    return pages


def _inches_y(page: Page, fy: float) -> float:
    """A figure-fraction y as inches from the page top."""
    return (1.0 - fy) * page.height


def _sobol_label_width(data: ReportData) -> float:
    table = data.sensitivity
    assert table is not None  # only called when the run directory has sensitivity.csv
    names = table["input"].astype(str).head(SENSITIVITY_INPUTS)
    widest = max(text_width(n, style.RC.get("ytick.labelsize", 8.5)) for n in names) + 0.2
    return float(np.clip(widest, *SOBOL_LABEL))


def _left_title(ax: Axes, title: str, label_w: float, width: float) -> None:
    """A left-aligned title starting above the tick labels, wrapped to the chart's width."""
    size = float(ax.set_title(title, loc="left", x=-label_w / width).get_fontsize())
    if text_width(title, size, "bold") > label_w + width:
        lines = wrap(title, label_w + width, size, "bold")
        ax.set_title("\n".join(lines), loc="left", x=-label_w / width)


def _sobol_below(page: Page, data: ReportData, sobol: Chart) -> None:
    """No tornado on the page: the Sobol chart and its caption under the page's text."""
    label_w = _sobol_label_width(data)
    table = data.sensitivity
    assert table is not None  # only called when the run directory has sensitivity.csv
    caption = _sobol_caption(data, "")
    width = min(7.0, page.content_width - label_w - 0.2)
    top = page.y + 0.4
    room = page.bottom - top - 0.75 - _caption_height(caption, page.content_width)
    height = max(min(0.26 * min(len(table), SENSITIVITY_INPUTS) + 0.6, room), 1.2)
    ax = page.axes(page.left + label_w, top, width, height)
    sobol.draw(ax)
    _left_title(ax, sobol.title, label_w, width)
    page.y = top + height + 0.75
    page.caption(caption)


def _sobol_beside_tornado(page: Page, data: ReportData, tornado: Chart, sobol: Chart) -> None:
    """The tornado (as :func:`drivers_page` laid it out) narrowed to the left part of the page,
    the Sobol chart on its right at the same height; the Sobol caption after the tornado's,
    the rest of the text moved down (the charts shrink when it would reach the footer)."""
    ax = page.fig.axes[0]
    box = ax.get_position()
    top, h = _inches_y(page, box.y1), box.height * page.height
    label_w = box.x0 * page.width - page.left
    sobol_label = _sobol_label_width(data)
    bars = page.content_width - label_w - SOBOL_GAP - sobol_label - 0.2
    tornado_w = 0.6 * bars  # the tornado's bars carry percentages: a bit more room
    sobol_w = bars - tornado_w
    caption = _sobol_caption(data, "Right: ")
    cap_h = _caption_height(caption, page.content_width)
    shrink = float(np.clip(page.y + cap_h - page.bottom, 0.0, max(h - SOBOL_MIN_HEIGHT, 0.0)))
    h -= shrink
    ax.set_position(
        (box.x0, 1.0 - (top + h) / page.height, tornado_w / page.width, h / page.height)
    )
    _left_title(ax, tornado.title, label_w, tornado_w)
    _fit_tornado(ax, data, tornado_w)
    sax = page.axes(page.left + label_w + tornado_w + SOBOL_GAP + sobol_label, top, sobol_w, h)
    sobol.draw(sax)
    _left_title(sax, sobol.title, sobol_label, sobol_w)
    # The text under the charts, top to bottom: the tornado's caption, then the rest.
    below = sorted(
        (t for t in page.fig.texts if _inches_y(page, t.get_position()[1]) > top + h + shrink),
        key=lambda t: -t.get_position()[1],
    )
    at = _inches_y(page, below[1].get_position()[1]) if len(below) > 1 else page.y
    for k, t in enumerate(below):
        x, fy = t.get_position()
        move = -shrink + (cap_h if k > 0 else 0.0)
        t.set_position((x, fy - move / page.height))
    end = page.y - shrink + cap_h
    page.y = at - shrink
    page.caption(caption)
    page.y = end
    if page.y > page.bottom + 0.01:
        warnings.warn(
            f"report layout: text runs into the footer of the page '{page.title}'",
            RunwayWarning,
            stacklevel=3,
        )


def _fit_tornado(ax: Axes, data: ReportData, width: float) -> None:
    """The narrowed tornado: x limits wide enough for the percentages written beside its bars
    (about ``TORNADO_LABEL`` inches each), and a smaller legend where it hides least."""
    values = data.top_drivers[["p_low", "p_high"]].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values)]
    base = data.headline.probability
    lo, hi = ax.get_xlim()
    room = TORNADO_LABEL / width  # a label's width as a share of the axis
    left = values[values < base]
    right = values[values >= base]
    for _ in range(3):  # widening one side shrinks the other's room: settle in a few rounds
        if len(left):
            lo = min(lo, (float(left.min()) - room * hi) / (1.0 - room))
        if len(right):
            hi = max(hi, (float(right.max()) - room * lo) / (1.0 - room))
    ax.set_xlim(lo, hi)
    ax.legend(loc="best", fontsize=7.5)


def _caption_height(text: str, width: float) -> float:
    """Height :meth:`Page.caption` takes for ``text`` across ``width``, its gap included."""
    return len(wrap(text, width, style.CAPTION_SIZE)) * line_height(style.CAPTION_SIZE) + 0.12


def _sobol_caption(data: ReportData, where: str) -> str:
    """One sentence on the Sobol chart: which output, what the two indices mean, the CIs and
    how many model evaluations."""
    table = data.sensitivity
    assert table is not None  # only called when the run directory has sensitivity.csv
    level = 0.95
    if "confidence_level" in table.columns:
        values = pd.to_numeric(table["confidence_level"], errors="coerce").dropna()
        if len(values) and 0 < float(values.iloc[0]) < 1:
            level = float(values.iloc[0])
    evaluations = ""
    if "evaluations" in table.columns:
        values = pd.to_numeric(table["evaluations"], errors="coerce").dropna()
        if len(values) and float(values.iloc[0]) > 0:
            evaluations = f", from {int(values.iloc[0]):,} model evaluations"
    shown = f" (the {SENSITIVITY_INPUTS} largest)" if len(table) > SENSITIVITY_INPUTS else ""
    return (
        f"{where}Sobol indices of the {sensitivity_output(data)} per input{shown}: the "
        "first-order index (dark) is the share of the output's variance due to the input "
        "alone, the total index (light) the share including its interactions with the other "
        f"inputs; whiskers are {100 * level:.0f}% bootstrap confidence intervals{evaluations} "
        "(sensitivity.csv in the run directory)."
    )


def build_pages(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    """All pages in order, with footers (page k of n) drawn."""
    pages = [
        *summary_page(data),
        *runway_page(data, charts),
        *cash_page(data, charts),
        *losses_page(data, charts),
        *_drivers_pages(data, charts),
        *assumptions_pages(data, charts),
        *method_page(data, charts),
    ]
    note = (
        f"Runway risk report · {data.name} · {data.paths:,} paths, seed {data.seed} · "
        f"run of {data.finished:%Y-%m-%d %H:%M} UTC"
    )
    for i, page in enumerate(pages, start=1):
        page.footer(i, len(pages), note)
    return pages
