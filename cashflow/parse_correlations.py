"""Parse and check ``[correlations]``: pairs or a full matrix of Spearman rank correlations."""

from __future__ import annotations

import math
import numbers
from typing import Any

from distributions._require import fmt, show
from distributions.correlation import check_matrix, listed_twice, size_rule
from distributions.errors import ScenarioError, did_you_mean

from ._check import Checker, type_name
from .scenario import Correlation

__all__ = ["CORRELATION_KEYS", "parse_correlations"]

CORRELATION_KEYS = ("pairs", "inputs", "matrix", "repair")


def parse_correlations(chk: Checker, value: Any, declared: set[str]) -> Correlation | None:
    """The target correlation among per-path inputs, checked by :func:`check_matrix`.

    ``chk.inputs`` holds every input that parsed; ``declared`` every input name the file
    writes (one that failed to parse is not reported again here).
    """
    table = chk.table(value, "correlations")
    if table is None:
        return None
    mark = chk.mark()
    chk.keys(table, "correlations", CORRELATION_KEYS)
    repair = chk.boolean(table["repair"], "correlations.repair") if "repair" in table else False
    has_pairs = "pairs" in table
    has_matrix = "inputs" in table or "matrix" in table
    if has_pairs and has_matrix:
        chk.add("correlations", "give either pairs, or inputs and matrix, not both")
        return None
    if has_pairs:
        found = _pairs(chk, table["pairs"], declared)
        path = "correlations.pairs"
    elif has_matrix:
        found = _matrix(chk, table, declared)
        path = "correlations.matrix"
    else:
        return None
    if found is None or not chk.clean_since(mark):
        return None
    names, matrix = found
    if not names:
        return None
    try:
        checked = check_matrix(names, matrix, path=path, repair=bool(repair))
    except ScenarioError as error:
        chk.problems.extend(error.problems)
        return None
    return Correlation(
        names=tuple(names), matrix=tuple(tuple(float(x) for x in row) for row in checked)
    )


def _input(chk: Checker, value: Any, path: str, declared: set[str]) -> str | None:
    """The name of a per-path uncertain input, else a problem (None if it failed earlier)."""
    if not isinstance(value, str):
        chk.add(path, f"must be an input name such as 'revenue.start', got {show(value)}")
        return None
    spec = chk.inputs.get(value)
    if spec is None:
        if value not in declared:
            choices = [n for n, s in chk.inputs.items() if s.vary == "path" and not s.is_constant]
            chk.add(path, f"unknown input '{value}'{did_you_mean(value, choices)}")
        return None
    if spec.is_constant:
        chk.add(path, f"input '{value}' is a fixed number; only uncertain inputs can be correlated")
        return None
    if spec.vary != "path":
        chk.add(
            path,
            f"input '{value}' varies per {spec.vary}; only per-path inputs can be correlated",
        )
        return None
    return value


def _pairs(
    chk: Checker, value: Any, declared: set[str]
) -> tuple[list[str], list[list[float]]] | None:
    """``[[a, b, rho], ...]`` -> names in order of appearance and the full matrix."""
    if not isinstance(value, list):
        what = f"must be an array of [name, name, rho], got {type_name(value)}"
        chk.add("correlations.pairs", what)
        return None
    mark = chk.mark()
    names: list[str] = []
    seen: dict[frozenset[str], int] = {}
    entries: list[tuple[str, str, float]] = []
    for i, pair in enumerate(value):
        path = f"correlations.pairs[{i}]"
        if not (isinstance(pair, list) and len(pair) == 3):
            chk.add(path, f"must be [name, name, rho], got {show(pair)}")
            continue
        if isinstance(pair[0], str) and pair[0] == pair[1]:
            chk.add(path, f"correlates input '{pair[0]}' with itself")
            continue
        a = _input(chk, pair[0], path, declared)
        b = _input(chk, pair[1], path, declared)
        rho = _rho(chk, pair[2], path)
        if a is None or b is None or rho is None:
            continue
        key = frozenset((a, b))
        if key in seen:
            chk.add(path, f"pair ('{a}', '{b}') is listed twice (also pairs[{seen[key]}])")
            continue
        seen[key] = i
        entries.append((a, b, rho))
        names.extend(n for n in (a, b) if n not in names)
    if not chk.clean_since(mark):
        return None
    index = {name: i for i, name in enumerate(names)}
    matrix = [[1.0 if i == j else 0.0 for j in range(len(names))] for i in range(len(names))]
    for a, b, rho in entries:
        matrix[index[a]][index[b]] = matrix[index[b]][index[a]] = rho
    return names, matrix


def _rho(chk: Checker, value: Any, path: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        chk.add(path, f"the correlation must be a number, got {show(value)}")
        return None
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not -1.0 <= x <= 1.0:
        chk.add(path, f"correlation {fmt(x)} must be in [-1, 1]")
        return None
    return x


def _matrix(
    chk: Checker, table: dict[str, Any], declared: set[str]
) -> tuple[list[str], list[list[float]]] | None:
    """``inputs = [...]`` with ``matrix = [[...], ...]`` of numbers."""
    for key in ("inputs", "matrix"):
        if key not in table:
            chk.add("correlations", f"missing required key '{key}' (inputs and matrix go together)")
    if "inputs" not in table or "matrix" not in table:
        return None
    mark = chk.mark()
    raw_names, raw_matrix = table["inputs"], table["matrix"]
    names: list[str] = []
    if not isinstance(raw_names, list):
        what = f"must be an array of input names, got {type_name(raw_names)}"
        chk.add("correlations.inputs", what)
    else:
        for i, name in enumerate(raw_names):
            path = f"correlations.inputs[{i}]"
            if name in names:
                chk.add(path, listed_twice(name))
            elif (good := _input(chk, name, path, declared)) is not None:
                names.append(good)
    rows = raw_matrix if isinstance(raw_matrix, list) else None
    if rows is None or not all(
        isinstance(row, list)
        and all(isinstance(x, numbers.Real) and not isinstance(x, bool) for x in row)
        for row in rows
    ):
        chk.add("correlations.matrix", "must be an array of arrays of numbers (one row per input)")
        return None
    if not chk.clean_since(mark):
        return None
    k = len(names)
    if len(rows) != k or any(len(row) != k for row in rows):
        got = f"{len(rows)} rows of lengths {', '.join(str(len(r)) for r in rows) or '-'}"
        chk.add("correlations.matrix", f"{size_rule(k)} (got {got})")
        return None
    try:
        matrix = [[float(x) for x in row] for row in rows]
    except OverflowError:
        chk.add("correlations.matrix", "entries must be numbers in [-1, 1]")
        return None
    return names, matrix
