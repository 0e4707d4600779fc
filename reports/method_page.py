"""The method page: convergence charts, the answers' confidence intervals, how the model works
and its limitations. See :mod:`reports.pages` for the order of all pages."""

from __future__ import annotations

import numpy as np

from reports.data import ReportData
from reports.figures import Chart
from reports.layout import Page, line_height, wrap
from reports.text import (
    ci_text,
    convergence_caption,
    date_short,
    interval_words,
    limitations,
    management_method_words,
    method_words,
    pct_in,
    precision_words,
)

__all__ = ["method_page"]


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
    if data.inputs["name"].str.contains(r"\.(?:collection|payment)\.delay_months$").any():
        method += (  # late collections or payments: the two views of a month differ
            " Revenue, costs and the yearly figures count each amount in the month it is "
            "earned or incurred (accrual), while the cash balance, and so the month cash runs "
            "out, counts it in the month the money arrives or leaves, after the scenario's "
            "collection and payment delays."
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
        legend = ax.get_legend()
        assert legend is not None  # the convergence chart always draws one
        legend.remove()  # explained in the caption beside the charts
        if i:
            ax.set_ylabel("")
    x = page.left + 7.45
    y0 = page.y
    page.y += 0.05
    page.caption(convergence_caption(any(a.replicates for a in data.answers)), x=x)
    for a in data.answers:
        page.paragraph(
            f"Before {date_short(a.before)}: {pct_in(a.probability, *a.ci95)}, {ci_text(*a.ci95)} "
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
