"""Helpers shared by the spec parser: showing user values in messages, and requiring numbers.

Every check raises :class:`ScenarioError` with one :class:`Problem` at the value's key path, at
the first problem (unlike :class:`cashflow._check.Checker`, which collects every problem of a
scenario); messages name the rule and the value received.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

from .errors import Problem, ScenarioError

__all__ = ["fail", "finite", "fmt", "given_text", "number", "positive", "show"]


def fail(path: str, message: str) -> NoReturn:
    """Raise a ScenarioError with one problem at ``path``."""
    raise ScenarioError(Problem(path, message))


def fmt(x: float) -> str:
    """A number as a user writes it: ``3`` (not 3.0), ``0.05``, ``1e+308``, ``nan``, ``inf``."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _short_text(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, control characters escaped (messages are one line)."""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text if text.isprintable() else repr(text)[1:-1]


def show(value: Any) -> str:
    """A user value for an error message: numbers plain, strings quoted, containers by kind."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return _short_text(str(int(value)), 24)
    if isinstance(value, numbers.Real):
        return fmt(float(value))
    if isinstance(value, str):
        return "'" + _short_text(value) + "'"
    if isinstance(value, list | tuple):
        n = len(value)
        return f"a list of {n} item{'s' if n > 1 else ''}" if n else "an empty list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def given_text(value: Any) -> str:
    """A compact rendering of a parameter as the user wrote it (months stay ``2024-10``)."""
    if isinstance(value, str):
        return _short_text(value)
    if isinstance(value, list | tuple):
        if len(value) > 6:
            return f"[{len(value)} values]"
        return "[" + ", ".join(given_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, numbers.Real) and not isinstance(value, bool | numbers.Integral):
        return fmt(float(value))
    return show(value)


def finite(value: float | numbers.Real) -> float | None:
    """``value`` as a float if that is a finite number, else None (nan, +-inf, or an integer
    too large for a float).

    The one finite-number rule: :func:`number` and ``Checker.number`` (cashflow) each word
    their own message around it.
    """
    try:
        x = float(value)
    except OverflowError:
        return None
    return x if math.isfinite(x) else None


def number(value: Any, path: str, what: str = "") -> float:
    """``value`` as a finite float; ``what`` names it in the message (e.g. ``"normal sd"``)."""
    prefix = f"{what} " if what else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(path, f"{prefix}must be a number (got {show(value)})")
    x = finite(value)
    if x is None:
        try:
            got = fmt(float(value))
        except OverflowError:  # an integer too large for a float: as written
            got = show(value)
        fail(path, f"{prefix}must be a finite number (got {got})")
    return x


def positive(x: float, path: str, what: str) -> float:
    """``x`` unchanged if > 0, else a ScenarioError ``"<what> must be > 0 (got x)"``."""
    if not x > 0:
        fail(path, f"{what} must be > 0 (got {fmt(x)})")
    return x
