"""The Sobol sensitivity chart: first-order and total indices per input, with their CIs.

``draw_sensitivity(ax, table)`` draws on a given matplotlib Axes (no pyplot state), from
:meth:`engine.sensitivity.SensitivityResult.table` (columns input, first_order, first_low,
first_high, total, total_low, total_high; any row order: the chart sorts by total index).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

__all__ = ["draw_sensitivity"]

FIRST_COLOR = "#1f4e79"
TOTAL_COLOR = "#9dc3e6"


def draw_sensitivity(
    ax: Axes, table: pd.DataFrame, *, title: str | None = None, max_inputs: int = 15
) -> Axes:
    """Horizontal bars of each input's total index (light, wide) and first-order index (dark,
    narrow) with confidence-interval whiskers; the largest total on top. At most
    ``max_inputs`` inputs (the rest are named in a note). Returns ``ax``."""
    df = table.sort_values(["total", "input"], ascending=[False, True]).reset_index(drop=True)
    hidden = df.iloc[max_inputs:]
    df = df.iloc[:max_inputs]
    y = np.arange(len(df))[::-1].astype(float)

    def whiskers(est: str, low: str, high: str) -> np.ndarray:
        e, lo, hi = (df[c].to_numpy(dtype=float) for c in (est, low, high))
        return np.vstack([np.clip(e - lo, 0, None), np.clip(hi - e, 0, None)])

    ax.barh(
        y,
        df["total"].clip(lower=0),
        height=0.7,
        color=TOTAL_COLOR,
        label="total (with interactions)",
        xerr=whiskers("total", "total_low", "total_high"),
        error_kw={"ecolor": "#555555", "capsize": 2, "lw": 0.8},
    )
    ax.barh(
        y,
        df["first_order"].clip(lower=0),
        height=0.35,
        color=FIRST_COLOR,
        label="first order (alone)",
        xerr=whiskers("first_order", "first_low", "first_high"),
        error_kw={"ecolor": "#000000", "capsize": 2, "lw": 0.8},
    )
    ax.set_yticks(y)
    ax.set_yticklabels(df["input"])
    high = float(np.nanmax([df["total_high"].max(), df["first_high"].max(), 0.05]))
    ax.set_xlim(0, min(1.05, high * 1.1))
    xlabel = "Sobol index (share of the output's variance)"
    if len(hidden):  # a second line of the label: never overlaps the tick labels
        xlabel += f"\n+{len(hidden)} more with total index ≤ {hidden['total'].max():.3f}"
    ax.set_xlabel(xlabel)
    ax.axvline(0, color="#888888", lw=0.6)
    ax.grid(axis="x", color="#dddddd", lw=0.5)
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", fontsize="small", frameon=False)
    if title:
        ax.set_title(title, loc="left")
    return ax
