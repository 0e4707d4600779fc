"""The problem collector shared by the scenario parser (:mod:`cashflow.parse` and friends).

A :class:`Checker` gathers every :class:`Problem` found in a document instead of stopping at the
first; each helper returns the checked value, or ``None`` when the value was wrong (and its
problem recorded), so later checks can skip what already failed instead of re-reporting it.
"""

from __future__ import annotations

import numbers
import pathlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from distributions import Spec, parse_spec
from distributions._require import finite, fmt, show
from distributions.errors import CONTROL_CHARS, Problem, ScenarioError, did_you_mean

__all__ = ["NAME_RE", "Checker", "control_char", "join", "type_name"]

NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")

#: The type of a choice: ``str``, or a ``Literal`` of the allowed strings (from the context).
_Choice = TypeVar("_Choice", bound=str)

_TYPE_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "dict": "a table",
    "list": "an array",
    "date": "a date",
    "datetime": "a date-time",
    "time": "a time",
}


def type_name(value: Any) -> str:
    """The TOML name of a value's type, with an article: ``a table``, ``an array``..."""
    return _TYPE_NAMES.get(type(value).__name__, f"a {type(value).__name__}")


_CONTROL = frozenset(map(chr, CONTROL_CHARS))
_TEXT_BREAKS = frozenset("\t\n")  # allowed in free text (a description, a source note)


def control_char(text: str, *, multiline: bool = False) -> str | None:
    """The first control character of ``text`` (tab and newline allowed when ``multiline``)."""
    for c in text:
        if c in _CONTROL and not (multiline and c in _TEXT_BREAKS):
            return c
    return None


def join(path: str, key: object) -> str:
    """``"lines.api" + "start" -> "lines.api.start"``."""
    return f"{path}.{key}" if path else str(key)


@dataclass
class Checker:
    """Collects problems; ``inputs`` collects every spec that parsed, by its input name;
    ``cache`` memoises parsed specs (see :meth:`spec`) and the rows of plan files, for every
    parse of a file's variants."""

    base_dir: pathlib.Path | None = None
    problems: list[Problem] = field(default_factory=list)
    inputs: dict[str, Spec] = field(default_factory=dict)
    cache: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mark(self) -> int:
        """A bookmark: ``self.clean_since(mark)`` tells whether problems were added after it."""
        return len(self.problems)

    def clean_since(self, mark: int) -> bool:
        return len(self.problems) == mark

    # -- structure ------------------------------------------------------------------------------

    def table(self, value: Any, path: str, what: str = "a table") -> dict[str, Any] | None:
        """``value`` if it is a table, else a problem."""
        if isinstance(value, dict):
            return value
        self.add(path, f"must be {what}, got {type_name(value)} ({show(value)})")
        return None

    def keys(
        self,
        table: dict[str, Any],
        path: str,
        allowed: Iterable[str],
        required: Iterable[str] = (),
    ) -> None:
        """Report keys of ``table`` not in ``allowed`` (with a suggestion) and missing ones."""
        allowed = list(allowed)
        for key in table:
            if key not in allowed:
                self.add(path, f"unknown key '{key}'{did_you_mean(str(key), allowed)}")
        for key in required:
            if key not in table:
                self.add(path, f"missing required key '{key}'")

    def tables(
        self,
        value: Any,
        path: str,
        what: str,
        *,
        limit: int | None = None,
        taken: Mapping[str, str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """A table of named tables (``[lines.NAME]``): the well-formed entries, by name.

        More than ``limit`` entries: one problem and none returned. A name in ``taken`` (name ->
        what already uses it, ``"a line"``) is a problem and left out.
        """
        if limit is not None and isinstance(value, dict) and len(value) > limit:
            self.add(path, f"{len(value)} {what}s; at most {limit} are supported")
            return {}
        outer = self.table(value, path, f"a table of {what}s ([{path}.NAME])")
        if outer is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for name, inner in outer.items():
            sub = join(path, name)
            if taken and name in taken:
                self.add(sub, f"name '{name}' is already used by {taken[name]}")
                continue
            if not NAME_RE.fullmatch(str(name)):
                self.add(
                    sub,
                    f"{what} name '{name}' must use only letters, digits, '_' and '-'",
                )
                continue
            table = self.table(inner, sub, f"a table ([{sub}])")
            if table is not None:
                out[name] = table
        return out

    # -- plain values ---------------------------------------------------------------------------

    def string(
        self, value: Any, path: str, *, empty: bool = True, multiline: bool = False
    ) -> str | None:
        """A string without control characters (but tabs and line breaks when ``multiline``):
        it is echoed to terminals, where an escape sequence would act instead of showing."""
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {type_name(value)} ({show(value)})")
            return None
        if not empty and not value.strip():
            self.add(path, "must not be empty")
            return None
        if not self.plain(value, path, multiline=multiline):
            return None
        return value

    def plain(self, text: str, path: str, *, multiline: bool = False) -> bool:
        """Whether ``text`` is free of control characters; a problem if not."""
        c = control_char(text, multiline=multiline)
        if c is None:
            return True
        self.add(path, f"contains control character {c!r}; use plain text")
        return False

    def boolean(self, value: Any, path: str) -> bool | None:
        if not isinstance(value, bool):
            self.add(path, f"must be true or false, got {type_name(value)} ({show(value)})")
            return None
        return value

    def number(self, value: Any, path: str) -> float | None:
        """A fixed finite number (not a distribution)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            extra = " (a distribution is not allowed here)" if isinstance(value, dict | str) else ""
            self.add(path, f"must be a fixed number{extra}, got {type_name(value)} ({show(value)})")
            return None
        x = finite(value)
        if x is None:
            self.add(path, f"must be a finite number, got {show(value)}")
        return x

    def choice(self, value: Any, path: str, choices: tuple[_Choice, ...]) -> _Choice | None:
        """One of ``choices`` (strings), with a suggestion when close to one."""
        valid = " or ".join(f"'{c}'" for c in choices)
        if not isinstance(value, str):
            self.add(path, f"must be {valid}, got {type_name(value)} ({show(value)})")
            return None
        for option in choices:
            if value == option:
                return option
        hint = did_you_mean(value, choices)
        if hint.startswith("; valid"):
            hint = f"; must be {valid}"
        self.add(path, f"unknown value '{value}'{hint}")
        return None

    # -- uncertain numbers ----------------------------------------------------------------------

    def spec(
        self,
        value: Any,
        path: str,
        name: str,
        *,
        source: str | None = None,
        month_of: Callable[[str], int] | None = None,
    ) -> Spec | None:
        """Parse an input with :func:`distributions.parse_spec`; record it as input ``name``.

        Results (and failures) are memoised in ``cache``, shared by the parses of a file's
        variants, which repeat most inputs unchanged (``month_of`` must then be hashable).
        """
        note = value.get("source") if isinstance(value, dict) else None
        if isinstance(note, str) and not self.plain(note, join(path, "source"), multiline=True):
            return None
        key = (path, repr(value), source, month_of)
        found = self.cache.get(key)
        if found is None:
            try:
                found = parse_spec(
                    value, path, month_of=month_of, base_dir=self.base_dir, source=source
                )
            except ScenarioError as error:
                found = error
            self.cache[key] = found
        if isinstance(found, ScenarioError):
            self.problems.extend(found.problems)
            return None
        self.inputs[name] = found
        return found

    def bounds(self, spec: Spec) -> tuple[float, float]:
        """The smallest and largest values ``spec`` can take."""
        if spec.is_constant:
            x = float(spec.mean())
            return x, x
        tiny = 1e-12 if spec.is_discrete else 0.0  # scipy's discrete ppf(0) is one below support
        with np.errstate(all="ignore"):
            low, high = np.asarray(spec.quantile(np.array([tiny, 1.0])), dtype=np.float64)
        return float(low), float(high)

    def at_least(self, spec: Spec | None, path: str, low: float, *, strict: bool = False) -> None:
        """A fixed ``spec`` must be >= ``low`` (> with ``strict``); uncertain ones pass."""
        if spec is None or not spec.is_constant:
            return
        x = float(spec.mean())
        if x < low or (strict and x == low):
            op = ">" if strict else ">="
            self.add(path, f"must be {op} {fmt(low)} (got {fmt(x)})")

    def probability(self, spec: Spec | None, path: str, what: str = "probability") -> None:
        """Every value ``spec`` can take must lie within [0, 1] (``what``: the word for it in
        the message, "probability" or "share")."""
        if spec is None:
            return
        low, high = self.bounds(spec)
        if low >= 0.0 and high <= 1.0:
            return
        if spec.is_constant:
            self.add(path, f"a {what} must lie within [0, 1] (got {fmt(low)})")
        else:
            self.add(
                path,
                f"a {what} must lie within [0, 1], but {spec.describe()} ranges from "
                f"{fmt(low)} to {fmt(high)} (use beta, pert, uniform or truncate = [0, 1])",
            )

    def per_path(self, spec: Spec | None, path: str) -> None:
        """``spec`` must be drawn once per path."""
        if spec is not None and spec.vary != "path":
            self.add(path, f"must vary per path (got vary = '{spec.vary}')")
