"""The assumptions pages: every input as the scenario gives it, then the correlations imposed
between inputs. See :mod:`reports.pages` for the order of all pages."""

from __future__ import annotations

import pandas as pd

from cashflow.scenario import Correlation
from reports import style
from reports.data import ReportData
from reports.figures import Chart
from reports.layout import Column, Page, text_width

__all__ = ["assumptions_pages"]


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
        assert data.correlation is not None  # the chart is drawn only for a correlation
        _correlation_block(page, chart, data.correlation)
    else:
        pages[-1].caption(
            "No correlations between inputs are imposed: every input is drawn "
            "independently of the others."
        )
    return pages


def _correlation_block(page: Page, chart: Chart, correlation: Correlation) -> None:
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


def _num(v: str | float) -> str:
    if isinstance(v, str):
        return v
    x = float(v)
    return f"{x:.4g}" if x == x else "—"
