"""One look for every page and chart: page geometry, fonts, colours and matplotlib settings.

Everything visual that is shared lives here, so a chart saved on its own (PNG, SVG) and the same
chart on a PDF page look alike. Nothing here touches pyplot: figures are plain
:class:`matplotlib.figure.Figure` objects and settings are applied with :func:`style_context`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "CHART_SIZE",
    "COLORS",
    "PAGE_SIZE",
    "RC",
    "chart_figure",
    "page_figure",
    "style_context",
]

#: A4 landscape, inches.
PAGE_SIZE = (11.69, 8.27)
#: A chart saved on its own (PNG / SVG), inches.
CHART_SIZE = (8.0, 4.5)
#: Page margins, inches.
MARGIN_LEFT = 0.6
MARGIN_RIGHT = 0.6
HEADER_BASELINE = 0.5  # title baseline
HEADER_RULE = 0.64
CONTENT_TOP = 0.9
FOOTER_HEIGHT = 0.45

#: Font sizes, points.
TITLE_SIZE = 17
HEADING_SIZE = 12
BODY_SIZE = 10
CAPTION_SIZE = 8.5

COLORS = {
    "ink": "#1f2933",  # text
    "muted": "#616e7c",  # secondary text, captions
    "rule": "#cbd2d9",  # table rules, grid
    "band": "#f0f4f8",  # table zebra rows, header band
    "main": "#1d4e89",  # the main series (median, survival)
    "fan_outer": "#a9c5e8",  # p5-p95
    "fan_inner": "#6c9bd2",  # p25-p75
    "sample": "#52606d",  # sample paths
    "risk": "#c0392b",  # floor, ruin, VaR / CVaR, bad outcomes
    "risk_light": "#f2b8b0",
    "good": "#2e7d32",  # never runs out
    "accent": "#d98e04",  # funding, question dates
    "accent_light": "#fbe3b0",
    "low": "#2f80c1",  # driver at its 10th percentile
    "high": "#d9534f",  # driver at its 90th percentile
}

#: matplotlib settings of every report figure.
RC: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": BODY_SIZE,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 11,
    "axes.labelsize": 9.5,
    "axes.labelcolor": COLORS["ink"],
    "axes.edgecolor": COLORS["muted"],
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": COLORS["rule"],
    "grid.linewidth": 0.6,
    "grid.alpha": 0.7,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "xtick.color": COLORS["ink"],
    "ytick.color": COLORS["ink"],
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "text.color": COLORS["ink"],
    "text.parse_math": False,  # "$3.7B and $5.0B" is money, not mathtext
    "lines.linewidth": 1.6,
    "pdf.fonttype": 42,  # embedded TrueType: selectable, searchable text
    "svg.fonttype": "none",
    "svg.hashsalt": "runway",  # stable ids in SVG files
    "savefig.dpi": 150,
}


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Apply :data:`RC` for the duration of the block (restored afterwards)."""
    with mpl.rc_context(RC):
        yield


def page_figure() -> Figure:
    """An empty A4-landscape page."""
    return Figure(figsize=PAGE_SIZE, facecolor="white")


def chart_figure(size: tuple[float, float] = CHART_SIZE) -> Figure:
    """An empty figure for one chart saved on its own."""
    return Figure(figsize=size, facecolor="white")
