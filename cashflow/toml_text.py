"""A scenario document written back as TOML text (for scenarios built in Python).

:func:`dumps` writes what :func:`tomllib.loads` reads back equal: tables as ``[a.b]`` sections,
arrays and the tables inside them inline, strings with JSON's escapes (a subset of TOML's basic
strings), floats with ``repr`` (``inf``, ``nan`` as TOML spells them), dates in ISO form. Keys
are bare when TOML allows it, quoted otherwise. The order of keys is the document's.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"[A-Za-z0-9_-]+\Z")


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` (a parsed TOML document: nested dicts of str keys) as TOML text."""
    out: list[str] = []
    _table(doc, (), out)
    return "\n".join(out).lstrip("\n") + "\n"


def _table(table: dict[str, Any], path: tuple[str, ...], out: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, dict)]
    if path and (scalars or not tables):  # a header for values, or for an empty table
        out.append("")
        out.append(f"[{'.'.join(_key(p) for p in path)}]")
    for key, value in scalars:
        out.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables:
        _table(value, (*path, key), out)


def _key(key: str) -> str:
    return key if _BARE.match(key) else _value(key)


def _value(value: Any) -> str:
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
    if isinstance(value, str):  # JSON escapes every control character but DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write a {type(value).__name__} as TOML")
