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

    def bars(index: str, ci: str, height: float, color: str, ecolor: str, label: str) -> None:
        """Bars of column ``index`` with whiskers to ``{ci}_low`` / ``{ci}_high``."""
        e, lo, hi = (df[c].to_numpy(dtype=float) for c in (index, f"{ci}_low", f"{ci}_high"))
        ax.barh(
            y,
            df[index].clip(lower=0),
            height=height,
            color=color,
            label=label,
            xerr=np.vstack([np.clip(e - lo, 0, None), np.clip(hi - e, 0, None)]),
            error_kw={"ecolor": ecolor, "capsize": 2, "lw": 0.8},
        )

    bars("total", "total", 0.7, TOTAL_COLOR, "#555555", "total (with interactions)")
    bars("first_order", "first", 0.35, FIRST_COLOR, "#000000", "first order (alone)")
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
