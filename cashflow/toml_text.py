"""A scenario document written back as TOML text (for scenarios built in Python).

:func:`dumps` writes what :func:`tomllib.loads` reads back equal: tables as ``[a.b]`` sections,
everything else as :func:`cashflow.overrides.format_value` writes a ``--set`` value (arrays and
the tables inside them inline). The order of keys is the document's.
"""

from __future__ import annotations

from typing import Any

from cashflow.overrides import format_key, format_value

__all__ = ["dumps"]


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
        out.append(f"[{'.'.join(format_key(p) for p in path)}]")
    for key, value in scalars:
        out.append(f"{format_key(key)} = {format_value(value)}")
    for key, value in tables:
        _table(value, (*path, key), out)
