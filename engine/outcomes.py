"""Per-path outcomes of one batch: from cash-flow arrays to a few scalars per path.

Input arrays are (n, H) per month; outputs are per path. Nothing here draws random numbers.
The histogrammed quantities are laid out in one (n, k) matrix whose columns are named by
:func:`quantity_names`, so that a whole batch is reduced with one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Layout", "PathOutcomes", "outcomes_of", "ruin_months"]

# Ruin months are stored as small integers; "never within the horizon" is the value H.

#: Share of each batch's paths (its first ones) whose monthly cash feeds the fan chart: the fan
#: chart's percentiles rest on paths / FAN_SHARE paths, every other figure on all paths.
FAN_SHARE = 8


@dataclass(frozen=True)
class Layout:
    """Which calendar year each month belongs to, and the names of the histogrammed quantities.

    ``year_of_month``: (H,) calendar year of each month; ``years``: the distinct years in order;
    ``year_slices``: the months of each of those years.
    Quantities, in column order: year-end cash per year, minimum cash, revenue / costs / net loss
    per year. Cash at each month (fan-chart data) is kept apart, for a systematic subsample of
    paths (see :data:`FAN_SHARE`).
    """

    year_of_month: np.ndarray
    years: tuple[int, ...]
    year_slices: tuple[slice, ...]

    @property
    def horizon_months(self) -> int:
        return len(self.year_of_month)

    def quantity_names(self) -> list[str]:
        ys = self.years
        return [
            *(f"cash_end:{y}" for y in ys),
            "cash_min",
            *(f"revenue:{y}" for y in ys),
            *(f"costs:{y}" for y in ys),
            *(f"net_loss:{y}" for y in ys),
        ]


@dataclass(frozen=True)
class PathOutcomes:
    """Per-path results of one batch.

    ``ruin_month``: (n,) int16, first month with cash < floor, or H when never.
    ``quantities``: (n, k) float64 in :meth:`Layout.quantity_names` order.
    ``fan``: (ceil(n / FAN_SHARE), H * (1 + c)) cash per month of the batch's first paths,
    then the drawn balance per month of each of the scenario's c credit lines.
    ``levers``: (levers, H + 1) paths by the month each lever event first happened
    (:mod:`engine.levers`), filled in by the batch.
    """

    ruin_month: np.ndarray
    quantities: np.ndarray
    fan: np.ndarray
    levers: np.ndarray | None = None


def ruin_months(cash: np.ndarray, floor: float) -> np.ndarray:
    """(n,) first month t with ``cash[:, t] < floor``; H where it never happens. cash: (n, H)."""
    n, h = cash.shape
    # Month by month: ``gone`` marks the paths already below the floor, and ``months`` counts
    # the months at or after their first; the ruin month is H minus that count. Rows of a
    # month-major array are contiguous, so this is H fast whole-batch passes with no masked
    # writes (those cost in proportion to the paths that have run out). NaN is never below.
    gone = np.zeros(n, dtype=bool)
    below = np.empty(n, dtype=bool)
    months = np.zeros(n, dtype=np.int16)
    for t in range(h):
        np.less(cash[:, t], floor, out=below)
        np.logical_or(gone, below, out=gone)
        np.add(months, gone, out=months, casting="unsafe")
    return np.subtract(h, months, dtype=np.int16)


def outcomes_of(
    layout: Layout,
    revenue: np.ndarray,
    costs: np.ndarray,
    cash: np.ndarray,
    floor: float,
    balances: tuple[np.ndarray, ...] = (),
) -> PathOutcomes:
    """Reduce one batch's (n, H) revenue, costs and cash (and the (n, H) drawn balances of its
    credit lines, for the fan chart) to per-path outcomes.

    Works quantity by quantity into a (k, n) buffer, returned as its (n, k) transpose.
    """
    n = cash.shape[0]
    slices = layout.year_slices
    y = len(slices)
    q = np.empty((4 * y + 1, n))  # quantity-major: its transpose is Fortran-ordered (n, k)
    for i, s in enumerate(slices):
        q[i] = cash[:, s.stop - 1]
        np.sum(revenue[:, s], axis=1, out=q[y + 1 + i])
        np.sum(costs[:, s], axis=1, out=q[2 * y + 1 + i])
    np.min(cash, axis=1, out=q[y])
    np.subtract(q[2 * y + 1 : 3 * y + 1], q[y + 1 : 2 * y + 1], out=q[3 * y + 1 : 4 * y + 1])
    m = -(-n // FAN_SHARE)
    fan = np.hstack([cash[:m], *(b[:m] for b in balances)]) if balances else cash[:m]
    return PathOutcomes(ruin_month=ruin_months(cash, floor), quantities=q.T, fan=fan)
