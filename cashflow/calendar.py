"""Month arithmetic for scenarios: ``"YYYY-MM"`` labels, month indices and dates.

Month t = 0 is the scenario's start month. A date D is compared with months through
:func:`months_before`: the number of whole months from the first day of the start month to D
(the months fully completed before D), so "runs out before D" means ``ruin month <
months_before(D)``.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import math
import re

import numpy as np

from distributions._require import show
from distributions.errors import Problem, ScenarioError

__all__ = [
    "add_months",
    "month_end_date",
    "month_index",
    "month_label",
    "month_label_at",
    "month_labels",
    "month_start_date",
    "months_before",
    "parse_month",
    "year_of_month",
    "year_slices",
    "years",
]

_MONTH_RE = re.compile(r"(\d{4})-(\d{2})")
MIN_YEAR = 1000
MAX_YEAR = 9999


def parse_month(text: object, path: str = "") -> tuple[int, int]:
    """``"2024-01"`` -> ``(2024, 1)``; ScenarioError for anything else ("2024-13", "Jan 2024")."""
    if not isinstance(text, str):
        raise ScenarioError(Problem(path, f'must be a month "YYYY-MM" (got {show(text)})'))
    match = _MONTH_RE.fullmatch(text.strip())
    if match is None:
        raise ScenarioError(Problem(path, f'{text!r} is not a month "YYYY-MM" (e.g. "2024-01")'))
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ScenarioError(Problem(path, f"{text!r} is not a month: month {month} not in 1..12"))
    if year < MIN_YEAR:
        raise ScenarioError(Problem(path, f"{text!r}: year must be {MIN_YEAR} or later"))
    return year, month


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    """The month ``n`` months after ``(year, month)`` (n may be negative)."""
    k = year * 12 + (month - 1) + n
    return k // 12, k % 12 + 1


def month_index(start_year: int, start_month: int, text: str, path: str = "") -> int:
    """Index t of month ``"YYYY-MM"`` counted from the start month (negative if before it)."""
    year, month = parse_month(text, path)
    return (year - start_year) * 12 + (month - start_month)


def months_before(start_year: int, start_month: int, date: dt.date) -> int:
    """Whole months from the first day of the start month to ``date`` (months completed before it).

    With start 2024-01: 2026-01-01 -> 24, 2025-06-15 -> 17 (June 2025 is not complete).
    """
    return (date.year - start_year) * 12 + (date.month - start_month)


def question_dates(start_year: int, start_month: int, horizon: int) -> tuple[dt.date, dt.date]:
    """The first and last date D for which "runs out before D" is answered by the horizon.

    Cash is measured at the end of each month, so D counts the months completed before it: from
    the 1st of the second month (one month) to the last day of the month after the horizon (all
    H months; no later month has ended before D). With start 2024-01 and 36 months:
    2024-02-01 to 2027-01-31.
    """
    return month_start_date(start_year, start_month, 1), month_end_date(
        start_year, start_month, horizon
    )


def month_label(start_year: int, start_month: int, t: int) -> str:
    """``"YYYY-MM"`` of month t."""
    year, month = add_months(start_year, start_month, t)
    return f"{year:04d}-{month:02d}"


def month_label_at(start_year: int, start_month: int, x: float) -> str:
    """``"YYYY-MM"`` of a month index given as a float (floored), e.g. a spec's quantile;
    ``"inf"`` / ``"nan"`` as such."""
    if not math.isfinite(x):
        return str(x)
    return month_label(start_year, start_month, math.floor(x))


def month_labels(start_year: int, start_month: int, horizon: int) -> list[str]:
    """``"YYYY-MM"`` of months 0..horizon-1."""
    return [month_label(start_year, start_month, t) for t in range(horizon)]


def year_of_month(start_year: int, start_month: int, horizon: int) -> np.ndarray:
    """Calendar year of each month 0..horizon-1, int64 array of shape (horizon,)."""
    t = np.arange(horizon, dtype=np.int64)
    return start_year + (start_month - 1 + t) // 12


def years(start_year: int, start_month: int, horizon: int) -> list[int]:
    """The calendar years months 0..horizon-1 touch, ascending."""
    if horizon <= 0:
        return []
    last_year, _ = add_months(start_year, start_month, horizon - 1)
    return list(range(start_year, last_year + 1))


def year_slices(start_year: int, start_month: int, horizon: int) -> dict[int, slice]:
    """The months (a slice of 0..horizon-1) of each calendar year the horizon touches."""
    out = {}
    for y in years(start_year, start_month, horizon):
        begin = (y - start_year) * 12 - (start_month - 1)  # month index of January of y
        out[y] = slice(max(0, begin), min(horizon, begin + 12))
    return out


def month_start_date(start_year: int, start_month: int, t: int) -> dt.date:
    """First day of month t (t = horizon gives the day after the horizon ends)."""
    year, month = add_months(start_year, start_month, t)
    return dt.date(year, month, 1)


def month_end_date(start_year: int, start_month: int, t: int) -> dt.date:
    """Last day of month t (when ``cash[t]`` is measured)."""
    year, month = add_months(start_year, start_month, t)
    return dt.date(year, month, _calendar.monthrange(year, month)[1])
