"""The drivers page: which uncertain inputs move the chance that cash runs out, as a tornado
chart of the risk at each input's 10th and 90th percentile. See :mod:`reports.pages` for the
order of all pages."""

from __future__ import annotations

import numpy as np

from reports.data import TORNADO_INPUTS, ReportData
from reports.figures import Chart
from reports.layout import Page
from reports.text import date_words, driver_sentences, funding_sentence, pct

__all__ = ["drivers_page"]


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
            f" The value of {name}, the input that moves the risk most, is an assumption of "
            "the scenario, not a reported figure: the "
            f'answer moves with it (source note: "{source}").'
        )
    return ""
