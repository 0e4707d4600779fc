"""The calendar a scenario's months are checked against, shared by the parsers of lines,
events, actions and plans: :class:`Calendar`, :class:`MonthReader` (``"YYYY-MM"`` -> month
index, for month-valued specs) and :func:`check_month_in_horizon`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from distributions import Spec

from ._check import Checker
from .calendar import month_index, month_label, month_label_at

__all__ = ["Calendar", "KnownCalendar", "MonthReader", "check_month_in_horizon"]


class KnownCalendar(NamedTuple):
    """A calendar whose three parts parsed: what the month checks read months by."""

    start_year: int
    start_month: int
    horizon_months: int

    def label(self, t: float) -> str:
        """``"YYYY-MM"`` of month index ``t`` (floored)."""
        return month_label_at(self.start_year, self.start_month, t)

    def month_at(self, text: str, path: str) -> int:
        """The month index of ``"YYYY-MM"`` (a ScenarioError naming ``path``)."""
        return month_index(self.start_year, self.start_month, text, path)


@dataclass(frozen=True)
class Calendar:
    """What the line and event checks need of the calendar; ``None`` where it failed to parse."""

    start_year: int | None
    start_month: int | None
    horizon_months: int | None

    @property
    def complete(self) -> bool:
        return self.known() is not None

    def known(self) -> KnownCalendar | None:
        """``(start_year, start_month, horizon_months)`` when all three parsed, else None."""
        if self.start_year is None or self.start_month is None or self.horizon_months is None:
            return None
        return KnownCalendar(self.start_year, self.start_month, self.horizon_months)


@dataclass(frozen=True)
class MonthReader:
    """``"YYYY-MM"`` -> month index from the start month (hashable, for the spec cache)."""

    start_year: int
    start_month: int

    def __call__(self, text: str) -> int:
        return month_index(self.start_year, self.start_month, text)


def check_month_in_horizon(
    chk: Checker, spec: Spec, path: str, start_year: int, start_month: int, horizon: int
) -> None:
    """Every month ``spec`` can take must be a month of the horizon."""
    low, high = chk.bounds(spec)
    if low >= 0 and high < horizon and math.isfinite(high):
        return
    first = month_label(start_year, start_month, 0)
    last = month_label(start_year, start_month, horizon - 1)
    valid = f"valid months are {first} to {last}"

    def label(x: float) -> str:
        return month_label_at(start_year, start_month, x)

    if spec.is_constant:
        chk.add(path, f"{label(low)} is outside the horizon; {valid}")
    else:
        span = f"months from {label(low)} to {label(high)}"
        chk.add(path, f"{span} reach outside the horizon; {valid}")
