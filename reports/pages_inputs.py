"""The pages about what goes in and how: drivers, assumptions (every input, correlations),
method and convergence. See :mod:`reports.pages` for the order of all pages."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports import style
from reports.data import TORNADO_INPUTS, ReportData
from reports.figures import Chart
from reports.layout import Column, Page, line_height, text_width, wrap
from reports.text import (
    convergence_caption,
    date_short,
    date_words,
    driver_sentences,
    funding_sentence,
    interval_words,
    limitations,
    management_method_words,
    method_words,
    pct,
    pct_range,
    precision_words,
)

__all__ = ["assumptions_pages", "drivers_page", "method_page"]


def drivers_page(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    page = Page("Drivers: what moves the risk", data.name)
    head = data.headline
    chart = charts.get("drivers")
    if chart is None:
        if data.drivers.empty:
            text = (
                "No input of this scenario varies from path to path, so there is no driver to "
                "rank: every path has the same inputs."
            )
        else:
            text = (
                f"No uncertain input moves the chance that cash runs out before "
                f"{date_words(head.before)}: with each input at its 10th or at its 90th "
                f"percentile it stays at {pct(head.probability)}."
            )
        page.paragraph(text)
        return [page]
    shown = data.top_drivers
    h = min(0.36 * len(shown) + 0.6, 3.9)
    label_w = max(2.0, min(3.4, 0.075 * max(len(s) for s in shown["input"])))
    ax = page.axes(page.left + label_w, page.y + 0.35, page.content_width - label_w - 0.2, h)
    chart.draw(ax).set_title(
        chart.title, loc="left", x=-label_w / (page.content_width - label_w - 0.2)
    )
    page.y += h + 1.0
    n_low = int(min(shown["paths_low"].min(), shown["paths_high"].min()))
    # the widest reach of a bar's 95% interval from its estimate, either side
    reach = float(
        np.nanmax(
            np.r_[
                shown.p_low_hi - shown.p_low,
                shown.p_low - shown.p_low_lo,
                shown.p_high_hi - shown.p_high,
                shown.p_high - shown.p_high_lo,
            ]
        )
    )
    ranked = int(data.drivers[["p_low", "p_high"]].notna().all(axis=1).sum())
    page.caption(
        f"For each uncertain input, the chance that cash runs out before {date_words(head.before)} "
        "among the paths where that input is at or below its 10th percentile (blue) and at or "
        "above its 90th percentile (red); the vertical line is the chance over all paths "
        f"({pct(head.probability)}). Each bar rests on about 10% of the paths, more for inputs "
        f"with few distinct values (at least {n_low:,}): its 95% confidence interval is at most "
        f"±{100 * reach:.{1 if reach >= 0.001 else 2}f} percentage points. "
        "Inputs are named as in the scenario file"
        + (
            f"; the {TORNADO_INPUTS} with the largest swing are shown."
            if ranked > len(shown)
            else ", largest swing on top."
        )
    )
    text = driver_sentences(data.drivers, head.before) + _top_driver_source(data)
    text = " ".join([text, funding_sentence(data.funding_effect, head.before)]).strip()
    page.paragraph(text, size=9.5)
    return [page]


def _top_driver_source(data: ReportData) -> str:
    """A warning when the input that moves the risk most is an assumption, not a fact."""
    if data.drivers.empty:
        return ""
    name = data.drivers.iloc[0]["input"]
    source = data.inputs.set_index("name")["source"].get(name, "")
    if str(source).lower().startswith("assumption"):
        return (
            f" Its value is an assumption of the scenario, not a reported figure: the "
            f'answer moves with it (source note: "{source}").'
        )
    return ""


def assumptions_pages(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    title = "Assumptions: every input"
    rows = _input_rows(data.inputs)
    cols = [
        Column("input", 2.05, "left"),
        Column("distribution", 2.45, "left"),
        Column("varies", 0.55, "left"),
        Column("p5", 0.62),
        Column("p50", 0.62),
        Column("p95", 0.62),
    ]
    used = sum(c.width for c in cols)
    cols.append(
        Column("source", style.PAGE_SIZE[0] - style.MARGIN_LEFT - style.MARGIN_RIGHT - used, "left")
    )
    pages: list[Page] = []
    while True:
        page = Page(title if not pages else title + " (continued)", data.name)
        if not pages:
            page.caption(
                f"Each input as the scenario gives it; p5 / p50 / p95 are its 5th, 50th and "
                f"95th percentiles, in {data.unit} for money (rates and ratios as "
                "fractions, months as dates)."
            )
        drawn = page.table(cols, rows, size=7.5, paginate=True)
        pages.append(page)
        rows = rows[drawn:]
        if not rows or drawn == 0:
            break
    chart = charts.get("correlation")
    if chart is not None:
        page = pages[-1]
        if page.bottom - page.y < 4.0:
            page = Page("Assumptions: correlations between inputs", data.name)
            pages.append(page)
        _correlation_block(page, chart, data.correlation)
    else:
        pages[-1].caption(
            "No correlations between inputs are imposed: every input is drawn "
            "independently of the others."
        )
    return pages


def _correlation_block(page: Page, chart: Chart, correlation) -> None:
    """The heatmap on the left (room for its labels measured), the nonzero pairs on the right."""
    page.heading("Rank correlations imposed between inputs", size=11)
    names, m = correlation.names, correlation.matrix
    pairs = [
        [names[i], names[j], f"{m[i][j]:+.2f}"]
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if m[i][j] != 0
    ]
    name_w = max(text_width(n, 7.5) for n in names) + 0.15
    table_w = 2 * name_w + 0.75
    label_w = max(text_width(n, 8) for n in names) + 0.3
    colorbar_w = 1.2
    top = page.y
    room = page.content_width - label_w - colorbar_w - table_w - 0.3
    side = max(min(page.bottom - top - 1.7, 3.6, room), 1.5)
    ax = page.axes(page.left + label_w, top + 0.1, side, side)
    chart.draw(ax)
    x = page.right - table_w
    page.y = top + 0.1
    page.table(
        [
            Column("input", name_w, "left"),
            Column("with", name_w, "left"),
            Column("rank corr.", 0.75),
        ],
        pairs,
        x=x,
        size=7.5,
    )
    page.caption(
        "Spearman rank correlations, imposed with the Iman–Conover method: each input "
        "keeps its own distribution, only the order in which values pair up across "
        "paths changes. Pairs not listed are uncorrelated.",
        x=x,
        width=table_w,
    )


def _input_rows(table: pd.DataFrame) -> list[list[str]]:
    rows = []
    for r in table.itertuples():
        source = str(r.source or "—")
        if r.family == "constant":
            rows.append([str(r.name), f"fixed at {_num(r.p50)}", "—", "", _num(r.p50), "", source])
            continue
        rows.append(
            [
                str(r.name),
                str(r.parameters),
                str(r.vary),
                _num(r.p5),
                _num(r.p50),
                _num(r.p95),
                source,
            ]
        )
    return rows


def _num(v: object) -> str:
    if isinstance(v, str):
        return v
    x = float(v)
    return f"{x:.4g}" if x == x else "—"


#: Method page: the convergence charts' height, and how much they may give up to the text.
CONVERGENCE_H, CONVERGENCE_SHRINK = 2.9, 1.0


def _method_texts(data: ReportData) -> tuple[str, str]:
    """The method and limitations paragraphs, with the scenario's levers (if any)."""
    m = data.management
    names = (
        ([a.name for a in m.actions], [b.name for b in m.bridges], [c.name for c in m.credit])
        if m is not None
        else ((), (), ())
    )
    method = method_words(
        start=data.month_labels[0],
        horizon_months=data.horizon_months,
        unit=data.unit,
        floor=data.money(data.floor),
        paths=data.paths,
        seed=data.seed,
        sampler=data.sampler,
        bins=data.hist_bins,
        fan_paths=data.fan_paths,
        management=management_method_words(*names),
        intervals=interval_words(
            data.sampler,
            data.batches,
            replicates=any(a.replicates for a in data.answers),
            notes=[a.note for a in data.answers],
            bounded=any(a.std_error is None for a in data.answers),
        ),
    )
    return method, limitations(*names)


def method_page(data: ReportData, charts: dict[str, Chart]) -> list[Page]:
    page = Page("Method and convergence", data.name)
    method, limits = _method_texts(data)
    # The two paragraphs at one size: 9.5 pt if they fit below the charts, else smaller, and
    # the charts lower (by at most CONVERGENCE_SHRINK) when even that is too much.
    room = page.bottom - (page.y + CONVERGENCE_H + 0.85)

    def height(size: float) -> float:
        lines = sum(len(wrap(t, page.content_width, size)) for t in (method, limits))
        return lines * line_height(size) + 2 * (line_height(11) + 0.08 + 0.12)

    size = next((s for s in (9.5, 9.0, 8.5) if height(s) <= room), 8.5)
    shrink = float(np.clip(height(size) - room, 0.0, CONVERGENCE_SHRINK))
    chart_h = CONVERGENCE_H - shrink
    shown = [charts[f"convergence_{a.before.isoformat()}"] for a in data.answers][-2:]
    w = (6.3 - 0.85 * (len(shown) - 1)) / len(shown)
    for i, chart in enumerate(shown):
        ax = page.axes(page.left + 0.75 + i * (w + 0.85), page.y + 0.35, w, chart_h)
        chart.draw(ax).set_title(chart.title)
        ax.get_legend().remove()  # explained in the caption beside the charts
        if i:
            ax.set_ylabel("")
    x = page.left + 7.45
    y0 = page.y
    page.y += 0.05
    page.caption(convergence_caption(any(a.replicates for a in data.answers)), x=x)
    for a in data.answers:
        page.paragraph(
            f"Before {date_short(a.before)}: {pct(a.probability)}, 95% CI "
            f"{pct_range(*a.ci95)} "
            f"({precision_words(a.probability, a.std_error, a.paths, a.replicates)}).",
            x=x,
            size=9,
            gap=0.04,
        )
    page.y = max(page.y, y0 + chart_h + 0.85)
    page.heading("How the model works", size=11)
    page.paragraph(method, size=size)
    page.heading("Limitations", size=11)
    page.paragraph(limits, size=size)
    return [page]
