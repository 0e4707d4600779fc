"""Sets: stress overrides, ``sets=[(key, value), ...]`` (``--set KEY=VALUE`` on the command
line; docs/scenario-format.md).

A set is written with the keys and values of the scenario file (``lines.staff.growth=0.05``,
``'starting_cash=6 to 9'``, ``'lines.staff.start={dist="normal", mean=0.12, sd=0.01}'``) and
is applied like a variant, after the variant if one is chosen: :func:`parse_set` reads one
``KEY=VALUE`` text, :func:`apply_sets` applies them to the TOML document, :func:`attribute`
words the validator's problems with the set that caused them, and :func:`describe_sets` gives
the canonical text recorded in the manifest and shown on the report.

Errors name the parameter ``sets`` (a :class:`UsageError` for a malformed set, a
:class:`Problem` with ``param="sets"`` for one that does not fit the scenario); the command line
calls it ``--set``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import tomllib
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from distributions.errors import (
    Problem,
    RunwayWarning,
    ScenarioError,
    UsageError,
    did_you_mean,
    escape_controls,
)

from ._check import type_name

__all__ = [
    "EXAMPLE",
    "NAMED",
    "apply_sets",
    "attribute",
    "describe_sets",
    "format_key",
    "format_value",
    "parse_set",
    "whole_table",
]

#: Shown after every malformed set: a template of :class:`UsageError` (``{sets}``: the
#: parameter, ``--set`` on the command line).
EXAMPLE = "e.g. {sets} lines.staff.growth=0.02"

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")  # a bare TOML key: one part of a dotted key path
_NOT_PLAIN = frozenset("\"'{}[]")
_SHOW_MAX = 80  # characters of an echoed argument
#: The sections of named tables: what one table is, and what a new one must hold.
NAMED = {
    "lines": ("line", "its kind"),
    "events": ("event", "its kind"),
    "actions": ("action", "its when and at least one of lines, stop or cost"),
    "credit": ("credit line", "its limit and interest"),
}


def _show(text: str) -> str:
    text = escape_controls(text)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 1] + "…"


def parse_set(text: str) -> tuple[str, object]:
    """``"lines.staff.growth=0.05"`` -> ``("lines.staff.growth", 0.05)``.

    The key is a dotted path of bare TOML keys (letters, digits, ``_`` and ``-``); the value is
    a TOML value (``0.05``, ``true``, ``"x"``, ``{dist = "normal", mean = 1, sd = 0.1}``,
    ``[1, 2]``, ``2025-01-01``) or, when it is not one and holds no quote, brace or bracket, the
    text itself as a string (``6 to 9``, ``2025-03``, ``month``), as the file would write it in
    quotes. Raises a one-line :class:`UsageError` ``sets TEXT: what is wrong; e.g. ...``
    (``--set TEXT: ...`` on the command line).
    """

    def fail(what: str) -> UsageError:
        return UsageError("sets", "{sets} {text}: {what}; " + EXAMPLE, text=_show(text), what=what)

    if not isinstance(text, str):
        raise UsageError(
            "sets", "{sets}: expected KEY=VALUE text, got {type}; " + EXAMPLE, type=type_name(text)
        )
    if "=" not in text:
        raise fail("expected KEY=VALUE (no '=' found)")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise fail("no key before '='")
    segments = [s.strip() for s in key.split(".")]
    for segment in segments:
        if not segment:
            raise fail(f"'{_show(key)}' is not a key path (an empty part between dots)")
        if not _SEGMENT.fullmatch(segment):
            raise fail(
                f"'{_show(segment)}' is not a key: write names with letters, digits, '_' and '-' "
                "joined by dots"
            )
    key = ".".join(segments)
    value = value.strip()
    if not value:
        raise fail(f"no value after '=' (to set {key})")
    return key, _value(value, fail)


def _value(text: str, fail: Any) -> object:
    try:
        doc = tomllib.loads("v = " + text)
    except tomllib.TOMLDecodeError as error:
        if _plain(text):
            return text
        what = re.sub(r"\s*\((at [^)]*|end of document)\)\s*$", "", str(error))
        what = what[:1].lower() + what[1:]
        raise fail(f"the value is not a valid TOML value ({what})") from None
    except RecursionError:
        raise fail("the value nests tables or arrays too deeply") from None
    if set(doc) != {"v"}:  # "1\nx = 2": more than one value
        raise fail("the value must be one TOML value")
    return doc["v"]


def _plain(text: str) -> bool:
    """Text that can only be meant as a string: no quote, brace, bracket or control character."""
    return not any(c in _NOT_PLAIN for c in text) and escape_controls(text) == text


def apply_sets(doc: dict[str, Any], sets: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """A deep copy of ``doc`` with each ``(key, value)`` set at its dotted key path, in order.

    Like a variant: every table on the way must exist in ``doc`` (an unknown line, event or
    table is a problem with a suggestion); a table value is merged key by key into an existing
    table, except a distribution table (one with ``dist``), which replaces the old value whole;
    a new line or event may be added only as a whole table with its ``kind`` (see
    :func:`whole_table` for actions and credit lines). The last key may
    be new: the scenario's validation then tells whether it is a valid key. A key that is not
    a dotted key path, or is in ``variants``, is a :class:`UsageError`; else raises one
    :class:`ScenarioError` listing every set that does not fit the document.
    """
    sets = list(sets)  # read twice below: an iterator must not be spent by the first loop
    for key, _ in sets:
        _check_key(key)
    out = copy.deepcopy(doc)
    problems: list[Problem] = []
    for key, value in sets:
        problem = _apply(out, key, value)
        if problem is not None:
            problems.append(Problem(escape_controls(key), problem, param="sets"))
    if problems:
        raise ScenarioError(problems)
    for key, value in sets:
        if isinstance(value, int | float) and not isinstance(value, bool):
            _uncorrelate(out, key)
    return out


def _input_name(key: str) -> str:
    """The input a key path sets: ``lines.a.growth`` -> ``a.growth``, ``starting_cash``."""
    parts = key.split(".")
    return ".".join(parts[1:]) if parts[0] in NAMED else key


def whole_table(section: str, value: object) -> bool:
    """Whether ``value`` may be added as a new table of ``section`` (a key of :data:`NAMED`) by
    a variant or a set: only a whole table, so that a misspelt name is reported as unknown
    rather than taken for a new line, event, action or credit line."""
    if not isinstance(value, dict):
        return False
    if section == "actions":
        return "when" in value and any(key in value for key in ("lines", "stop", "cost"))
    if section == "credit":
        return "limit" in value and "interest" in value
    return "kind" in value


def _uncorrelate(doc: dict[str, Any], key: str) -> None:
    """A set that fixes an input at a number drops the input's rank correlations (a fixed number
    cannot be correlated), with a warning, so that ``--set lines.x.growth=0.05`` works on a
    scenario that correlates that growth with something else."""
    table = doc.get("correlations")
    name = _input_name(key)
    if not isinstance(table, dict):
        return
    dropped = False
    pairs = table.get("pairs")
    if isinstance(pairs, list):
        kept = [p for p in pairs if not (isinstance(p, list) and name in p[:2])]
        dropped = len(kept) != len(pairs)
        table["pairs"] = kept
    names, matrix = table.get("inputs"), table.get("matrix")
    if isinstance(names, list) and isinstance(matrix, list) and name in names:
        i = names.index(name)
        table["inputs"] = names[:i] + names[i + 1 :]
        table["matrix"] = [
            row[:i] + row[i + 1 :]
            for j, row in enumerate(matrix)
            if j != i and isinstance(row, list)
        ]
        dropped = True
    if dropped:
        warnings.warn(
            f"--set {key}: fixed at a number, so its correlations with other inputs are dropped",
            RunwayWarning,
            stacklevel=3,
        )
    if not table.get("pairs") and not table.get("inputs"):
        del doc["correlations"]


def _check_key(key: object) -> None:
    """A UsageError unless ``key`` is a dotted key path outside ``variants``."""
    shown = _show(str(key))
    parts = key.split(".") if isinstance(key, str) else []
    if not key or not parts or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise UsageError(
            "sets", "{sets} {key}: '{key}' is not a key path (" + EXAMPLE + ")", key=shown
        )
    if parts[0] == "variants":
        raise UsageError(
            "sets",
            "{sets} {key}: a variant cannot be changed with {sets}; choose it with {variant}",
            key=shown,
        )


def _apply(doc: dict[str, Any], key: str, value: object) -> str | None:
    """Set ``value`` at ``key`` in ``doc`` (in place; a key :func:`_check_key` accepts); what
    is wrong, or None."""
    parts = key.split(".")
    table = doc
    for depth, part in enumerate(parts[:-1]):
        here = ".".join(parts[:depth])
        if part not in table:
            return _unknown(table, here, part)
        inner = table[part]
        if not isinstance(inner, dict):
            where = ".".join(parts[: depth + 1])
            return (
                f"'{where}' is {type_name(inner)}, not a table; set it whole "
                f"(e.g. --set '{where}={{dist = \"normal\", mean = 1, sd = 0.1}}')"
            )
        table = inner
    last = parts[-1]
    new = len(parts) == 2 and parts[0] in NAMED and last not in table
    if new and not whole_table(parts[0], value):
        return _unknown(table, parts[0], last)
    old = table.get(last)
    if isinstance(value, dict) and isinstance(old, dict) and "dist" not in value:
        table[last] = merge_tables(old, value)
    else:
        table[last] = copy.deepcopy(value)
    return None


def _unknown(table: dict[str, Any], path: str, name: str) -> str:
    """The problem of a missing table ``name`` inside ``table`` (at ``path``)."""
    names = [str(k) for k in table]
    if path in NAMED:
        what, needs = NAMED[path]
        hint = did_you_mean(name, names) if names else f"; the file defines no {what}s"
        whole = f" (a new {what} needs a whole table with {needs})"
        extra = "" if hint.startswith("; did") else whole
        return f"unknown {what} '{name}'{hint}{extra}"
    if not path:
        tables = [k for k, v in table.items() if isinstance(v, dict) and k != "variants"]
        hint = did_you_mean(name, tables) if tables else ""
        return f"the file has no table '{name}'{hint}"
    return f"unknown key '{name}' in {path}{did_you_mean(name, names) if names else ''}"


def merge_tables(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``over`` merged in, as a variant or a set merges: tables key
    by key, any other value and a distribution table (one with ``dist``) replacing it whole."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and "dist" not in value:
            out[key] = merge_tables(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def attribute(problems: Iterable[Problem], sets: Sequence[tuple[str, object]]) -> list[Problem]:
    """The validator's ``problems`` of a document with ``sets`` applied, each worded with the
    set that caused it: ``sets KEY: what is wrong`` (the problem is at KEY, inside its value,
    or at a table KEY adds to: an unknown key), else ``sets K1, K2: key.path: what is wrong``
    (problems with ``param="sets"``: ``--set KEY: ...`` on the command line)."""
    keys = list(dict.fromkeys(str(k) for k, _ in sets))
    out: list[Problem] = []
    for p in problems:
        key = _cause(p, keys)
        if key is not None:
            out.append(Problem(key, p.message, param="sets"))
        else:
            where = f"{p.path}: " if p.path else ""
            out.append(Problem(", ".join(keys), where + p.message, param="sets"))
    return list(dict.fromkeys(out))


def _cause(p: Problem, keys: list[str]) -> str | None:
    path = p.path
    for key in reversed(keys):  # the problem is at a key set, or inside a value set
        if path == key:
            return key
        if path.startswith(key + ".") or path.startswith(key + "["):
            return path
    below = [k for k in keys if path == "" or k.startswith(path + ".")]
    if not below:
        return None
    for key in reversed(below):  # a problem of the table a key was set in: its key named?
        if f"'{key.rsplit('.', 1)[-1]}'" in p.message:
            return key
    return below[-1] if len(below) == 1 else None


def format_value(value: object) -> str:
    """``value`` written as TOML (``0.05``, ``"6 to 9"``, ``{dist = "normal", mean = 1}``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        items = ", ".join(f"{format_key(k)} = {format_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return _string(str(value))


def format_key(key: object) -> str:
    """One key of a dotted key path written as TOML: bare when it can be, else quoted."""
    text = str(key)
    return text if _SEGMENT.fullmatch(text) else _string(text)


def _string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)  # \" \\ \n \t \uXXXX: valid TOML escapes
    return "".join(c if escape_controls(c) == c else f"\\u{ord(c):04x}" for c in quoted)


def describe_sets(sets: Iterable[Sequence[object]] | None) -> str:
    """``"lines.staff.growth=0.05; events.raise.probability=0"``: the sets as one line of text
    (pairs as :func:`parse_set` returns them, or ``[key, value]`` lists read back from JSON);
    ``""`` when there are none."""
    if not sets:
        return ""
    return "; ".join(f"{escape_controls(str(k))}={format_value(v)}" for k, v in sets)
