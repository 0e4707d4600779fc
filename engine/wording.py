"""How numbers are written, once for the command line, the progress bar and the report.

Probabilities carry one decimal (``f"{100 * p:.1f}%"``) everywhere, so that a test can compare
the report's text with ``summary.json``; a 95% interval is always ``95% CI 23.3–23.5%``;
months are ``"October 2024"`` or ``"Oct 2024"``; a runway is ``"18 months (cash runs out in
June 2025)"``. Pure functions of plain numbers and strings.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "ci_text",
    "date_short",
    "date_words",
    "month_short",
    "month_words",
    "pct",
    "pct_ci",
    "pct_in",
    "pct_range",
    "pct_with_range",
    "runway_words",
]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def pct(p: float, digits: int = 1, *, small: bool = False) -> str:
    """0.2345 -> ``"23.4%"``. With ``small``, a value under 0.1% keeps two significant digits
    (``"0.045%"``, for goal-seek targets); zero stays ``"0.0%"``."""
    value = 100 * p
    if small and 0 < value < 0.1:
        return f"{value:.2g}%"
    return f"{value:.{digits}f}%"


def range_digits(lo: float, hi: float, *, small: bool = False) -> int:
    """Decimals (1 to 3) at which the ends of the interval (lo, hi) print apart."""
    for digits in (1, 2):
        if pct(lo, digits, small=small) != pct(hi, digits, small=small) or lo == hi:
            return digits
    return 3


def pct_range(lo: float, hi: float, *, small: bool = False) -> str:
    """(0.233, 0.235) -> ``"23.3–23.5%"`` (the lower end without its % sign). An interval
    narrower than the last digit keeps one or two more (``"4.46–4.54%"``, not ``"4.5–4.5%"``,
    which reads as no uncertainty at all)."""
    digits = range_digits(lo, hi, small=small)
    return f"{pct(lo, digits, small=small)[:-1]}–{pct(hi, digits, small=small)}"


def pct_in(p: float, lo: float, hi: float, *, small: bool = False) -> str:
    """The chance ``p`` printed beside its interval (lo, hi): with as many decimals as the
    interval's ends (``"1.36%"`` beside ``"1.35–1.36%"``; ``"1.4%"`` would lie outside it)."""
    return pct(p, range_digits(lo, hi, small=small), small=small)


def ci_text(lo: float, hi: float, *, small: bool = False) -> str:
    """(0.233, 0.235) -> ``"95% CI 23.3–23.5%"``: every printed 95% interval of a chance."""
    return f"95% CI {pct_range(lo, hi, small=small)}"


def pct_ci(p: float, lo: float, hi: float) -> str:
    """``"4.53% (95% CI 4.46–4.54%)"``: a chance and its 95% interval (:func:`pct_in`)."""
    return f"{pct_in(p, lo, hi)} ({ci_text(lo, hi)})"


def pct_with_range(p: float, lo: float, hi: float) -> str:
    """``"4.53% (4.46–4.54%)"``: a chance and its 95% interval in a table cell."""
    return f"{pct_in(p, lo, hi)} ({pct_range(lo, hi)})"


def _year_month(label: str) -> tuple[int, int]:
    y, m = label.split("-")[:2]
    return int(y), int(m)


def date_words(d: dt.date) -> str:
    """``2026-01-01`` -> ``"1 January 2026"``."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def date_short(d: dt.date) -> str:
    """``2026-01-01`` -> ``"1 Jan 2026"``."""
    return f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}"


def month_words(label: str) -> str:
    """``"2024-10"`` -> ``"October 2024"``."""
    y, m = _year_month(label)
    return f"{_MONTHS[m - 1]} {y}"


def month_short(label: str) -> str:
    """``"2024-10"`` -> ``"Oct 2024"``."""
    y, m = _year_month(label)
    return f"{_MONTHS[m - 1][:3]} {y}"


def runway_words(months: int | str, ruin_label: str | None = None, *, short: bool = False) -> str:
    """``18`` -> ``"18 months"`` (with the month cash runs out when given: ``"18 months (cash
    runs out in June 2025)"``, or with ``short`` ``"18 months (Jun 2025)"`` for a table cell);
    a string (``"beyond the horizon"``) is returned as it is: a percentile never reached is not
    the horizon."""
    if isinstance(months, str):
        return months
    text = f"{months} month" + ("s" if months != 1 else "")
    if ruin_label:
        if short:
            text += f" ({month_short(ruin_label)})"
        else:
            text += f" (cash runs out in {month_words(ruin_label)})"
    return text
