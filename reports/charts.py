"""Chart functions: each takes an ``Axes`` and plain numbers, draws, and returns the ``Axes``.

No chart computes anything about the run (that happened upstream, in :mod:`engine.results` and
:mod:`reports.data`) and none touches pyplot state. Time axes are months: ``x = k`` is the
start of month k (``labels[k]``, "YYYY-MM"), so the balance at the end of month t sits at
``x = t + 1`` and a question date D sits at the number of whole months from the start to D.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.markers import TICKDOWN
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    PercentFormatter,
)

from reports.style import COLORS
from reports.text import Money, month_short, pct

__all__ = [
    "cash_fan",
    "convergence",
    "correlation_heatmap",
    "credit_balance",
    "lever_timing",
    "loss_distribution",
    "month_axis",
    "outcome_bar",
    "ruin_month_bars",
    "survival_curve",
    "tornado",
]

Question = tuple[int, str]  # (x position in months, label such as "1 Jan 2026")


#: A credit limit more than this many times the largest p95 balance is left off the chart's
#: scale (its legend says so): drawn to scale, it would flatten the balance bands to a line.
LIMIT_ROOM = 5.0


def _axes_note(ax: Axes, text: str, y: float, size: float, color: str) -> None:
    """``text`` centred across ``ax`` at height ``y`` (axes fraction), in ``COLORS[color]``."""
    ax.text(
        0.5,
        y,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=size,
        color=COLORS[color],
    )


def month_axis(ax: Axes, labels: Sequence[str]) -> Axes:
    """Dates on the x axis from 0 to ``len(labels) - 1`` (ticks on January / July)."""
    last = len(labels) - 1
    step = 3 if last <= 18 else 6 if last <= 48 else 12
    ticks = [k for k in range(last + 1) if (int(labels[k][5:7]) - 1) % step == 0]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _label_at(labels, x)))
    # a short mark at every month, as minor ticks would look, but one artist: 60 minor ticks
    # are 60 Tick objects of 5 artists each, costing more to draw than the rest of the chart
    ax.plot(
        np.arange(last + 1),
        np.zeros(last + 1),
        transform=ax.get_xaxis_transform(),  # x in months, y in axes fraction: on the spine
        linestyle="none",
        marker=TICKDOWN,
        markersize=2.0,
        markeredgewidth=mpl.rcParams["xtick.minor.width"],
        color=mpl.rcParams["xtick.color"],
        clip_on=False,
    )
    ax.set_xlim(0, last)
    return ax


def _label_at(labels: Sequence[str], x: float) -> str:
    k = round(x)
    return month_short(labels[k]) if 0 <= k < len(labels) else ""


def _percent_axis(ax: Axes, axis: str = "y", decimals: int | None = None) -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def _mark_questions(ax: Axes, questions: Sequence[Question], *, top: bool) -> None:
    """Dashed lines at the question dates, labelled just left of each line: across the top of
    the axes (keep room above the data), or upright along the line from the bottom."""
    for x, label in questions:
        ax.axvline(x, color=COLORS["accent"], lw=1.0, ls="--", zorder=1)
        ax.annotate(
            label,
            (x, 0.97 if top else 0.03),
            xycoords=("data", "axes fraction"),
            xytext=(-3, 0),
            textcoords="offset points",
            rotation=0 if top else 90,
            ha="right",
            va="top" if top else "bottom",
            fontsize=8,
            color=COLORS["accent"],
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
        )


def survival_curve(
    ax: Axes,
    survival: pd.DataFrame,
    labels: Sequence[str],
    questions: Sequence[Question] = (),
) -> Axes:
    """Share of paths with cash at or above the floor, month by month (a post-step curve from
    100% at the start), with its 95% band; question dates marked with the share still solvent.

    ``survival``: columns survival, low, high for months 0..H-1 (end of each month).
    """
    x = np.arange(len(survival) + 1)
    y = np.r_[1.0, survival["survival"].to_numpy()]
    lo = np.r_[1.0, survival["low"].to_numpy()]
    hi = np.r_[1.0, survival["high"].to_numpy()]
    ax.fill_between(x, lo, hi, step="post", color=COLORS["fan_outer"], lw=0, label="95% band")
    ax.step(x, y, where="post", color=COLORS["main"], lw=2, label="cash at or above the floor")
    _mark_questions(ax, questions, top=False)
    for qx, _ in questions:
        value = y[min(qx, len(y) - 1)]
        ax.plot([qx], [value], "o", color=COLORS["accent"], ms=5, zorder=5)
        ax.annotate(
            f"{pct(value)} still have cash",
            (qx, value),
            xytext=(-6, -6),  # below-left of the point: the curve never goes there
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=8.5,
            color=COLORS["ink"],
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    ax.set_ylim(0, 1.04)
    _percent_axis(ax)
    month_axis(ax, labels)
    ax.set_ylabel("share of paths with cash left")
    ax.legend(loc="lower left")
    return ax


def ruin_month_bars(
    ax: Axes,
    ruin: pd.DataFrame,
    labels: Sequence[str],
    questions: Sequence[Question] = (),
) -> Axes:
    """Distribution of the month cash runs out: the share of all paths that run out in each
    month (``ruin``: columns month, probability). Says so when no path runs out."""
    p = ruin["probability"].to_numpy()
    month_axis(ax, labels)
    if not (p > 0).any():
        _axes_note(ax, "No simulated path runs out of cash within the horizon.", 0.5, 10, "good")
        ax.set_yticks([])
        return ax
    ax.bar(ruin["month"].to_numpy() + 0.5, p, width=0.85, color=COLORS["risk"], alpha=0.85)
    _mark_questions(ax, questions, top=True)
    ax.set_ylim(0, float(p.max()) * 1.4)  # room for the date labels above the bars
    _percent_axis(ax, decimals=1)
    ax.set_ylabel("share of all paths")
    return ax


def outcome_bar(ax: Axes, segments: Sequence[tuple[str, float, str]]) -> Axes:
    """One 100% bar: where the paths end up, as (label, share, colour) segments, left to right;
    each label with its share goes in the legend below the bar."""
    left = 0.0
    for label, share, color in segments:
        ax.barh([0], [share], left=left, color=color, height=0.6, label=f"{label}: {pct(share)}")
        if share >= 0.09:
            ax.text(
                left + share / 2,
                0,
                pct(share),
                ha="center",
                va="center",
                fontsize=9,
                color="white",
                fontweight="bold",
            )
        left += share
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, 0.5)
    ax.set_yticks([])
    ax.grid(False)
    _percent_axis(ax, "x")
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(0.0, -0.5),
        ncol=1,
        fontsize=8.5,
        borderaxespad=0,
        handlelength=1.2,
    )
    return ax


def cash_fan(
    ax: Axes,
    fan: pd.DataFrame,
    labels: Sequence[str],
    money: Money,
    *,
    floor: float = 0.0,
    samples: np.ndarray | None = None,
    funding: Sequence[tuple[int, int, str]] = (),
) -> Axes:
    """Fan chart of the balance at the end of each month: p5-p95, p25-p75 and the median,
    a few simulated paths in thin lines, the floor, and funding windows shaded.

    ``fan``: columns p5, p25, p50, p75, p95 for months 0..H-1; ``funding``: (first month,
    last month, label) per round.
    """
    x = fan["month"].to_numpy() + 1
    ax.fill_between(
        x, fan["p5"], fan["p95"], color=COLORS["fan_outer"], lw=0, label="5th–95th percentile"
    )
    ax.fill_between(
        x, fan["p25"], fan["p75"], color=COLORS["fan_inner"], lw=0, label="25th–75th percentile"
    )
    if samples is not None and len(samples):
        for i, path in enumerate(samples):
            ax.plot(
                x,
                path,
                color=COLORS["sample"],
                lw=0.6,
                alpha=0.55,
                label=f"{len(samples)} simulated paths" if i == 0 else None,
            )
    ax.plot(x, fan["p50"], color=COLORS["main"], lw=2.2, label="median")
    ax.axhline(floor, color=COLORS["risk"], lw=1.4, ls="--", label=f"floor ({money(floor)})")
    shown = [fan["p5"].min(), fan["p95"].max(), floor]
    if samples is not None and len(samples):
        shown += [samples.min(), samples.max()]
    lo, hi = float(min(shown)), float(max(shown))
    pad = 0.08 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + 2.5 * pad)
    ax.axhspan(lo - pad, floor, color=COLORS["risk_light"], alpha=0.25, lw=0, zorder=0)
    for k, (first, last, label) in enumerate(funding):
        ax.axvspan(
            first,
            last + 1,
            color=COLORS["accent_light"],
            alpha=0.6,
            lw=0,
            zorder=0,
            label="possible funding months" if k == 0 else None,
        )
        ax.text(
            (first + last + 1) / 2,
            0.985 - 0.07 * k,
            label,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=8,
            color=COLORS["ink"],
            zorder=6,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    month_axis(ax, labels)
    ax.yaxis.set_major_formatter(FuncFormatter(money.tick))
    ax.set_ylabel(f"cash at month end ({money.unit})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


def loss_distribution(
    ax: Axes,
    edges: np.ndarray,
    density: np.ndarray,
    money: Money,
    *,
    median: float,
    var95: float,
    cvar95: float,
) -> Axes:
    """Distribution of one year's net loss with its median, VaR95 and CVaR95 marked."""
    ax.stairs(density, edges, fill=True, color=COLORS["fan_outer"], alpha=0.9)
    ax.stairs(density, edges, color=COLORS["main"], lw=0.8)
    marks = [
        (median, COLORS["main"], "-", f"median {money(median)}"),
        (var95, COLORS["risk"], "--", f"VaR95 {money(var95)}"),
        (cvar95, COLORS["risk"], "-", f"CVaR95 {money(cvar95)}"),
    ]
    top = float(density.max()) if density.max() > 0 else 1.0
    for value, color, style, label in marks:  # lines stop below the legend
        ax.vlines(value, 0, 1.08 * top, color=color, ls=style, lw=1.5, label=label)
    if edges[0] < 0 < edges[-1]:
        ax.vlines(0, 0, 1.08 * top, color=COLORS["muted"], lw=0.8)
    ax.set_yticks([])
    ax.set_ylim(0, 1.6 * top)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(FuncFormatter(money.tick))
    ax.set_xlabel(f"net loss ({money.unit}; below 0 = profit)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def tornado(
    ax: Axes,
    drivers: pd.DataFrame,
    base: float,
    *,
    base_label: str,
) -> Axes:
    """Tornado chart: the chance of running out with each input at its 10th (``p_low``) and
    90th (``p_high``) percentile, largest swing on top; ``base`` is the chance over all paths."""
    d = drivers.iloc[::-1].reset_index(drop=True)
    y = np.arange(len(d))
    for col, color, label in (
        ("p_low", COLORS["low"], "input at its 10th percentile"),
        ("p_high", COLORS["high"], "input at its 90th percentile"),
    ):
        values = d[col].to_numpy(dtype=float)
        ax.barh(
            y + (0.18 if col == "p_low" else -0.18),
            values - base,
            left=base,
            height=0.36,
            color=color,
            label=label,
        )
        for yi, v in zip(y, values, strict=True):
            right = v >= base
            ax.annotate(
                pct(v),
                (v, yi + (0.18 if col == "p_low" else -0.18)),
                xytext=(3 if right else -3, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize=7.5,
            )
    ax.axvline(base, color=COLORS["ink"], lw=1.0)
    ax.set_yticks(y, d["input"].tolist())
    values = np.r_[d["p_low"].to_numpy(dtype=float), d["p_high"].to_numpy(dtype=float), base]
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    pad = 0.12 * (hi - lo or 0.01)
    ax.set_xlim(max(lo - pad, -0.02), min(hi + pad, 1.02))
    ax.set_ylim(-0.7, len(d) - 0.3)
    digits = 0 if hi - lo >= 0.05 else 1 if hi - lo >= 0.005 else 2
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: "" if v < -1e-12 or v > 1 else f"{100 * abs(v):.{digits}f}%")
    )
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(base_label)
    ax.legend(loc="lower right")
    return ax


def correlation_heatmap(ax: Axes, names: Sequence[str], matrix: np.ndarray) -> Axes:
    """Target rank correlations between inputs, values written in the cells."""
    m = np.asarray(matrix, dtype=float)
    image = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1)
    n = len(names)
    for i in range(n):
        for j in range(n):
            color = "white" if abs(m[i, j]) > 0.6 else COLORS["ink"] if m[i, j] else COLORS["muted"]
            ax.text(
                j,
                i,
                f"{m[i, j]:.2f}" if m[i, j] else "0",
                ha="center",
                va="center",
                fontsize=8,
                color=color,
            )
    ax.set_xticks(range(n), names, rotation=35, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.03)
    bar.set_label("Spearman rank correlation", fontsize=8)
    bar.ax.tick_params(labelsize=7.5)
    return ax


def convergence(
    ax: Axes,
    df: pd.DataFrame,
    funnel: pd.DataFrame | None = None,
    *,
    color: str = COLORS["main"],
) -> Axes:
    """A probability after each batch (``df``: ``Results.convergence``: cumulative paths,
    probability, low, high; log x) with its 95% band, and dotted the range expected around the
    final estimate (``funnel``: paths, expected_low, expected_high, from
    ``Results.expected_range``; default: ``df``'s own expected_low / expected_high)."""
    n = df["paths"].to_numpy(dtype=float)
    p = df["probability"].to_numpy(dtype=float)
    funnel = df if funnel is None else funnel
    grid = funnel["paths"].to_numpy(dtype=float)
    ax.plot(grid, funnel["expected_high"], color=color, lw=0.9, ls=":", label="expected ±95% range")
    ax.plot(grid, funnel["expected_low"], color=color, lw=0.9, ls=":")
    ax.fill_between(n, df["low"], df["high"], color=color, alpha=0.25, lw=0, label="95% band")
    ms = 3.5 if len(n) <= 40 else 2.0
    ax.plot(n, p, "o-", color=color, ms=ms, lw=1.2, label="estimate after each batch")
    ax.set_xscale("log")
    decades = np.log10(max(grid[-1], n[-1]) / min(grid[0], n[0]))
    ax.xaxis.set_major_locator(
        LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 1.5 else (1.0,))
    )
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _count(v)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    _percent_axis(ax, decimals=1)
    ax.set_xlabel("paths simulated (log scale)")
    ax.set_ylabel("chance cash runs out")
    ax.legend(loc="upper right")
    return ax


def _count(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


#: Colours of management's levers (one per lever; a bridge round's two rows share one); not the
#: accent colour of the question dates.
LEVER_COLORS = ("#1d4e89", "#2e7d32", "#6c5b7b", "#00897b", "#8d6e63", "#2f80c1", "#c0392b")


def lever_timing(
    ax: Axes,
    series: Sequence[tuple[str, np.ndarray, str, str]],
    labels: Sequence[str],
    questions: Sequence[Question] = (),
) -> Axes:
    """When management's levers first act: for each (label, shares, colour, line style), the
    cumulative share of all paths where it has happened by the end of each month (a post-step
    curve from 0 at the start; ``shares``: (H,) per month). Question dates are marked."""
    x = np.arange(len(labels))
    top = 0.0
    for label, shares, color, style in series:
        y = np.r_[0.0, np.cumsum(np.asarray(shares, dtype=float))][: len(x)]
        top = max(top, float(y[-1]))
        ax.step(x, y, where="post", color=color, ls=style, lw=1.8, label=label)
    _mark_questions(ax, questions, top=False)
    ax.set_ylim(0, 1.04 if top > 0.5 else max(top * 1.5, 0.02))
    _percent_axis(ax, decimals=0 if ax.get_ylim()[1] >= 0.1 else 1)
    month_axis(ax, labels)
    ax.set_ylabel("share of paths")
    ax.legend(loc="best", fontsize=7.5, handlelength=2.2)
    return ax


def credit_balance(
    ax: Axes,
    balance: pd.DataFrame,
    labels: Sequence[str],
    money: Money,
    *,
    limit: float,
    limit_label: str,
    unavailable: Sequence[tuple[int, int]] = (),
) -> Axes:
    """A credit line's drawn balance at the end of each month: p5-p95 and p25-p75 bands, the
    median and the mean (``balance``: columns month, mean, p5, p25, p50, p75, p95), its limit as
    a dashed line,
    and months when it cannot be drawn shaded (``unavailable``: (first, end) month ranges,
    end exclusive)."""
    # the balance is 0 at the start (x = 0), then at the end of month t (x = t + 1)
    x = np.r_[0, balance["month"].to_numpy() + 1]

    def col(name: str) -> np.ndarray:
        values: np.ndarray = np.r_[0.0, balance[name].to_numpy(dtype=float)]
        return values

    ax.fill_between(
        x, col("p5"), col("p95"), color=COLORS["fan_outer"], lw=0, label="5th–95th percentile"
    )
    ax.fill_between(
        x, col("p25"), col("p75"), color=COLORS["fan_inner"], lw=0, label="25th–75th percentile"
    )
    ax.plot(x, col("p50"), color=COLORS["main"], lw=2.0, label="median")
    ax.plot(x, col("mean"), color=COLORS["ink"], lw=1.2, ls=":", label="mean")
    drawn = max(float(balance["p95"].max()), 0.0)
    beyond = drawn > 0 and limit > LIMIT_ROOM * drawn  # the limit would flatten the bands
    if beyond:
        limit_label += " (far above the chart)"
    ax.axhline(limit, color=COLORS["risk"], lw=1.3, ls="--", label=limit_label)
    for k, (first, end) in enumerate(unavailable):
        ax.axvspan(
            first,
            end,
            color=COLORS["rule"],
            alpha=0.45,
            lw=0,
            zorder=0,
            label="not available" if k == 0 else None,
        )
    high = (drawn if beyond else max(drawn, limit)) or 1.0
    # a median of 0 stays visible above the axis; room for the legend above the limit
    ax.set_ylim(-0.03 * high, 1.55 * high)
    if not drawn > 0:
        _axes_note(ax, "not drawn on 95% of the paths or more", 0.3, 8.5, "muted")
    month_axis(ax, labels)
    ax.yaxis.set_major_formatter(FuncFormatter(money.tick))
    ax.set_ylabel(f"drawn ({money.unit})")
    ax.legend(loc="upper left", fontsize=7.5, ncol=2)
    return ax
