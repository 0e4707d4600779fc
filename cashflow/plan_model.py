"""The cash model's parts for a company's own plan: windows (``from`` / ``until``), monthly plans,
steps, seasonality and late cash (``collection`` / ``payment``); used by :mod:`cashflow.model`.

Each function works on one line's (n, H) month-major amounts in place, from one batch's draws,
with whole-batch NumPy operations: a per-path month (a first month, a delay) is handled by a
loop over months or over its distinct values (at most H of them), never over paths, with
contiguous month columns (never rows picked out of a month-major array, which is slow), and a
running product over months is a loop of H vector operations. Nothing here runs for a line
without these keys.
"""

from __future__ import annotations

import numpy as np

from cashflow.draws import Draws, monthly_growth, occurs, path_values
from cashflow.scenario import Line

__all__ = [
    "add_cash_timing",
    "add_steps",
    "apply_window",
    "plan_into",
    "season_row",
    "start_from_into",
    "window_first",
]

Months = int | np.ndarray  # a month index for every path (an int) or per path, (n,) int64


def _months(a: np.ndarray) -> Months:
    """Month indices (floored) of an (n, 1) or (1, 1) input: (n,) int64, or an int."""
    if a.shape == (1, 1):
        return int(np.floor(a[0, 0]))
    months: np.ndarray = np.floor(a[:, 0]).astype(np.int64)
    return months


def _values(months: np.ndarray) -> list[int]:
    """The distinct values of ``months`` (n,) int, ascending (at most H of them)."""
    if months.size == 0:
        return []
    low = int(months.min())
    return [low + int(k) for k in np.flatnonzero(np.bincount(months - low))]


def window_first(draws: Draws, line: Line) -> Months:
    """The line's first month: ``from`` (0 without one) plus ``floor(plan_delay)``."""
    first: Months = 0
    if line.window is not None and line.window.first is not None:
        first = _months(draws.inputs[f"{line.name}.from"])
    if line.plan_delay is not None:
        first = first + _months(draws.inputs[f"{line.name}.plan_delay"])
    return first


class _Growth:
    """``1 + g_t`` of a line, month by month: ``g_t = growth + growth_noise * z_t`` (growth per
    month, or a yearly rate converted to monthly), as (n,) vectors or floats."""

    def __init__(self, draws: Draws, line: Line) -> None:
        self.growth = monthly_growth(draws, line)
        self.z = draws.noise.get(f"{line.name}:growth_z")
        self.noise = draws.inputs.get(f"{line.name}.growth_noise")

    def at(self, t: int) -> np.ndarray | float:
        g: np.ndarray | float = 0.0
        if self.growth is not None:
            g = _column(self.growth, t)
        if self.z is not None and self.noise is not None:
            g = g + _column(self.noise, t) * self.z[:, t]
        return g + 1.0


def _column(a: np.ndarray, t: int) -> np.ndarray | float:
    """Month t of an input: (n,) or a float for a constant."""
    if a.shape == (1, 1):
        return float(a[0, 0])
    return a[:, t] if a.shape[1] > 1 else a[:, 0]


def start_from_into(draws: Draws, line: Line, out: np.ndarray, first: Months) -> None:
    """A ``start`` line whose growth compounds from its first month: ``start`` there, times
    ``1 + g_s`` for every later month s (before it: anything; :func:`apply_window` zeroes it)."""
    start_in = draws.inputs[f"{line.name}.start"]
    by_month_start = start_in.shape[1] > 1  # vary "month" / "year": start_t * growth factor_t
    start = 1.0 if by_month_start else path_values(start_in)
    growth = _Growth(draws, line)
    by_month = out.T
    horizon = by_month.shape[0]
    if isinstance(first, int):
        by_month[:first] = 0.0
        begin = first
    else:
        begin = 0
    if begin < horizon:
        by_month[begin] = start
    for t in range(begin + 1, horizon):
        np.multiply(by_month[t - 1], growth.at(t), out=by_month[t])
        if not isinstance(first, int):
            np.copyto(by_month[t], start, where=first == t)
    if by_month_start:
        out *= start_in


def plan_into(draws: Draws, line: Line, out: np.ndarray) -> None:
    """A ``plan`` line: month t carries the plan's month t - delay, times ``plan_scale``; with
    ``growth_after``, months after the last planned one grow from it (months before the plan's
    first month: anything; :func:`apply_window` zeroes them)."""
    plan = line.plan
    assert plan is not None
    by_month = out.T
    horizon = by_month.shape[0]
    amounts = np.asarray(plan.amounts, dtype=np.float64)
    last = plan.first + len(amounts) - 1  # the last planned month
    t = np.arange(horizon)
    row = amounts[np.clip(t - plan.first, 0, len(amounts) - 1)]  # month t, no delay
    delay: Months = 0
    if line.plan_delay is not None:
        delay = _months(draws.inputs[f"{line.name}.plan_delay"])
    if isinstance(delay, int):
        by_month[:delay] = 0.0
        by_month[delay:] = row[: max(horizon - delay, 0), None]
    else:  # month t of each path: row[t - delay], 0 before its delay (a gather per month)
        most = int(delay.max())
        padded = np.concatenate([np.zeros(most), row])
        for s in range(horizon):
            np.take(padded, s + most - delay, out=by_month[s])
    scale = draws.inputs.get(f"{line.name}.plan_scale")
    if scale is not None:
        out *= scale if scale.shape != (1, 1) else float(scale[0, 0])
    if not plan.growth_after:
        return
    growth = _Growth(draws, line)
    least = delay if isinstance(delay, int) else int(delay.min())
    for s in range(last + least + 1, horizon):
        if isinstance(delay, int):
            np.multiply(by_month[s - 1], growth.at(s), out=by_month[s])
        else:
            np.multiply(by_month[s - 1], growth.at(s), out=by_month[s], where=s - delay > last)


def add_steps(draws: Draws, line: Line, out: np.ndarray) -> None:
    """Add each step's ``add`` from its month on, on the paths where it happens."""
    for i in range(len(line.steps or ())):
        prefix = f"{line.name}.steps[{i}]"
        add = draws.inputs[f"{prefix}.add"]
        happens = occurs(draws, prefix)
        month = _months(draws.inputs[f"{prefix}.month"])
        value = path_values(add)
        if isinstance(month, int) and happens.all():
            out[:, month:] += value if isinstance(value, float) else add
            continue
        # one pass per month a step begins in: its add on the paths where it does, else 0
        for k in [month] if isinstance(month, int) else _values(month[happens]):
            where = happens if isinstance(month, int) else happens & (month == k)
            out[:, k:] += np.where(where, value, 0.0)[:, None]


def season_row(line: Line, start_month: int, horizon: int) -> np.ndarray:
    """(H,) the seasonality factor of each month's calendar month."""
    assert line.seasonality is not None
    factors = np.asarray(line.seasonality, dtype=np.float64)
    return factors[(start_month - 1 + np.arange(horizon)) % 12]


def apply_window(draws: Draws, line: Line, out: np.ndarray) -> None:
    """Zero the months before the line's first month (``from`` + ``plan_delay``) and after its
    ``until``."""
    first = window_first(draws, line)
    if isinstance(first, int):
        out[:, :first] = 0.0
    else:
        by_month = out.T
        for t in range(min(int(first.max()), by_month.shape[0])):
            np.copyto(by_month[t], 0.0, where=first > t)
    last = line.window.last if line.window is not None else None
    if last is not None:
        out[:, last + 1 :] = 0.0


def add_cash_timing(draws: Draws, line: Line, amount: np.ndarray, timing: np.ndarray) -> None:
    """Add to ``timing`` (n, H) what the line's late cash changes in the month's cash flow:
    ``keep * amount[t - delay] - amount[t]`` for revenue (``keep = 1 - bad_debt``), the
    opposite for a cost (with keep 1). Nothing is owed from before the start; money due after
    the horizon does not arrive within it."""
    delay = line.cash_delay
    assert delay is not None
    key = "collection" if line.collection is not None else "payment"
    horizon = amount.shape[1]
    months = _months(draws.inputs[f"{line.name}.{key}.delay_months"])
    sign = 1.0 if line.kind == "revenue" else -1.0
    coef: np.ndarray | float = sign
    if delay.bad_debt is not None:
        coef = sign * (1.0 - path_values(draws.inputs[f"{line.name}.{key}.bad_debt"]))
    if sign > 0:
        timing -= amount
    else:
        timing += amount
    # each delay k at its coefficient on the paths with that delay (0 on the others)
    if isinstance(months, int):
        weights = [(months, coef)]
    else:
        weights = [(k, np.where(months == k, coef, 0.0)) for k in _values(months)]
    by_month, moved = timing.T, amount.T
    scratch = np.empty(amount.shape[0])
    for t in range(horizon):
        for k, weight in weights:
            if k <= t:
                np.multiply(moved[t - k], weight, out=scratch)
                by_month[t] += scratch
