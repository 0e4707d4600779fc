"""Scenario values -> :class:`Spec`: numbers, ``"A to B"`` ranges, months, distribution tables.

The rules are those of docs/scenario-format.md. Every user mistake raises
:class:`ScenarioError` with one :class:`Problem` at the value's key path; nothing else escapes
for bad input.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import finite
from ._require import fail, fmt, given_text, number, show
from .errors import did_you_mean
from .families import FAMILIES, Context, Family, make_dist
from .percentiles import Point, level_of
from .spec import Spec

__all__ = ["parse_spec"]

META_KEYS = ("dist", "source", "vary", "truncate")
VARY = ("path", "month", "year")
MONTH_FAMILIES = ("constant", "discrete")
MIN_TRUNCATED_MASS = 1e-300  # below this the truncated cdf is mostly rounding
_RANGE = re.compile(r"(\S+)\s+to\s+(\S+)")
_EXPECTED = "expected a number, an 'A to B' range such as '3.3 to 4.1', or a distribution table"
_MONTH = "a month must be a 'YYYY-MM' string or a discrete table of months"


def parse_spec(
    value: object,
    path: str,
    *,
    month_of: Callable[[str], int] | None = None,
    base_dir: Path | None = None,
    source: str | None = None,
) -> Spec:
    """Turn one scenario value into a validated :class:`Spec`.

    ``path`` is the value's dotted key path (the Problem path of every error). With
    ``month_of`` (``"YYYY-MM"`` -> month index) the value is a month: a ``"YYYY-MM"`` string or
    a constant / discrete table of them. ``base_dir`` anchors ``empirical`` CSV paths;
    ``source`` is the default provenance note (a table's own ``source`` wins).
    """
    if isinstance(value, Mapping):
        spec = _from_table(value, path, month_of, base_dir, source)
    elif month_of is not None:
        if not isinstance(value, str):
            fail(path, f"{_MONTH} (got {show(value)})")
        ctx = Context(path, "constant", month_of, base_dir)
        index = finite.month_index(value, ctx)
        return _constant(float(index), value.strip(), source, is_month=True)
    elif isinstance(value, str):
        spec = _from_range(value, path, source)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        fail(path, f"{_EXPECTED} (got {show(value)})")
    else:
        x = number(value, path)
        return _constant(x, fmt(x), source)
    _probe(spec, path)
    return spec


def _constant(x: float, given: str, source: str | None, *, is_month: bool = False) -> Spec:
    return Spec(
        family="constant",
        params={"value": x},
        given=given,
        dist=None,
        source=source,
        is_month=is_month,
    )


def _from_range(text: str, path: str, source: str | None) -> Spec:
    """``"A to B"``: A and B are the 5th and 95th percentiles; lognormal if A > 0 else normal."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        try:
            float(text)
        except ValueError:
            fail(path, f"{_EXPECTED} (got {show(text)})")
        fail(path, f"expected a number, not the string {show(text)}; write it without quotes")
    try:
        low, high = float(match[1]), float(match[2])
    except ValueError:
        fail(path, f"'A to B' needs two numbers, as in '3.3 to 4.1' (got {show(text)})")
    if not (math.isfinite(low) and math.isfinite(high)):
        fail(path, f"'A to B' needs two finite numbers (got {show(text)})")
    if not low < high:
        fail(path, f"'A to B' needs A < B (got {show(text)})")
    name = "lognormal" if low > 0 else "normal"
    points = [Point("p5", 0.05, low), Point("p95", 0.95, high)]
    given = " ".join(text.split())
    return _build(FAMILIES[name], {}, points, Context(path, name), given, source=source)


def _from_table(
    table: Mapping[Any, Any],
    path: str,
    month_of: Callable[[str], int] | None,
    base_dir: Path | None,
    source: str | None,
) -> Spec:
    if "dist" not in table:
        keys = ", ".join(given_text(str(k)) for k in table) or "none"
        fail(path, f"a distribution table needs a 'dist' key naming its family (got keys {keys})")
    name = table["dist"]
    if not isinstance(name, str):
        fail(path, f"dist must be the name of a distribution (got {show(name)})")
    if name not in FAMILIES:
        fail(path, f"unknown distribution {show(name)}{did_you_mean(name, FAMILIES)}")
    if month_of is not None and name not in MONTH_FAMILIES:
        fail(path, f"{_MONTH} (got dist '{name}')")
    family = FAMILIES[name]
    values, points = _parameters(table, family, path)
    given_parts = [f"{k}={given_text(v)}" for k, v in table.items() if k not in ("dist", "source")]
    given = f"{name}({', '.join(given_parts)})"
    source = _source(table.get("source", source), path)
    vary = _vary(table.get("vary", "path"), path)
    truncate = _truncate(table["truncate"], family, path) if "truncate" in table else None
    ctx = Context(path, name, month_of, base_dir)
    return _build(family, values, points, ctx, given, source, vary, truncate)


def _parameters(
    table: Mapping[Any, Any], family: Family, path: str
) -> tuple[dict[str, Any], list[Point]]:
    """The table's named parameters (numbers checked) and its percentile points."""
    values: dict[str, Any] = {}
    points: list[Point] = []
    for key, raw in table.items():
        if not isinstance(key, str):
            fail(path, f"unknown key {show(key)} for {family.name}")
        if key in META_KEYS:
            continue
        if key in family.keys:
            raw_key = key in family.raw_keys
            values[key] = raw if raw_key else number(raw, path, f"{family.name} {key}")
            continue
        level = level_of(key)
        if level is None:
            choices = family.keys | set(META_KEYS)
            fail(path, f"unknown key {show(key)} for {family.name}{did_you_mean(key, choices)}")
        if not family.takes_percentiles:
            needs = family.needs
            fail(path, f"{family.name} takes no percentiles such as '{key}'; it needs {needs}")
        if not 0.0 < level < 1.0:
            fail(path, f"percentile key '{key}' must lie strictly between p0 and p100")
        points.append(Point(key, level, number(raw, path, f"{family.name} {key}")))
    return values, points


def _source(value: Any, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        fail(path, f"source must be a string (got {show(value)})")
    return value


def _vary(value: Any, path: str) -> Any:
    if value not in VARY or not isinstance(value, str):
        hint = did_you_mean(value, VARY) if isinstance(value, str) else ""
        fail(path, f"vary must be 'path', 'month' or 'year' (got {show(value)}){hint}")
    return value


def _bound(value: Any) -> float:
    """A truncation bound as a float (inf allowed); NaN for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan


def _truncate(value: Any, family: Family, path: str) -> tuple[float, float]:
    if not family.continuous:
        fail(path, f"truncate applies to continuous distributions only (got {family.name})")
    pair = value if isinstance(value, list | tuple) and len(value) == 2 else (None, None)
    low, high = _bound(pair[0]), _bound(pair[1])
    if math.isnan(low) or math.isnan(high):
        fail(path, f"truncate must be [low, high], two numbers or inf / -inf (got {show(value)})")
    if not low < high:
        fail(path, f"truncate needs low < high (got [{fmt(low)}, {fmt(high)}])")
    return low, high


def _build(
    family: Family,
    values: dict[str, Any],
    points: list[Point],
    ctx: Context,
    given: str,
    source: str | None,
    vary: Any = "path",
    truncate: tuple[float, float] | None = None,
) -> Spec:
    """Match a form, resolve the natural parameters, make the distribution (its scipy object
    lazily; a truncation's bounds now, to check the probability left)."""
    named = set(values)
    form = next((f for f in family.forms if f.matches(named, len(points))), None)
    if form is None:
        got = ", ".join([*values, *(p.key for p in points)]) or "no parameters"
        fail(ctx.path, f"{family.name} needs {family.needs} (got {got})")
    filled = {**form.optional, **values}
    try:
        with np.errstate(all="ignore"):
            params = form.resolve(filled, points, ctx)
            for key, x in params.items():
                if isinstance(x, float) and not math.isfinite(x):
                    fail(ctx.path, f"{given} gives {key}={fmt(x)}: the numbers are too extreme")
            dist = make_dist(family.name, params, truncate)
    except (ArithmeticError, ValueError) as error:
        fail(ctx.path, f"cannot make a distribution from {given} ({error})")
    if truncate is not None and not dist.mass > MIN_TRUNCATED_MASS:
        untruncated = make_dist(family.name, params, None)
        base = Spec(family=family.name, params=params, given=given, dist=untruncated).describe()
        bounds = f"[{fmt(truncate[0])}, {fmt(truncate[1])}]"
        fail(ctx.path, f"truncate {bounds} leaves no probability under {base} ({dist.mass:.3g})")
    return Spec(
        family=family.name,
        params=params,
        given=given,
        dist=dist,
        vary=vary,
        source=source,
        is_month=ctx.month_of is not None,
        truncate=truncate,
    )


def _probe(spec: Spec, path: str) -> None:
    """Refuse a distribution whose median or central quantiles are undefined (NaN / infinite).

    Skipped where the family knows the answer from its parameters (``Family.probe_passes``):
    the kernels of normal, lognormal, beta and pert need scipy.special, which parsing a
    scenario does not otherwise import."""
    passes = FAMILIES[spec.family].probe_passes
    if spec.truncate is None and passes is not None and passes(spec.params):
        return
    try:
        with np.errstate(all="ignore"):
            x = spec.ppf(np.array([0.01, 0.5, 0.99]))
    except (ArithmeticError, ValueError) as error:
        fail(path, f"{spec.given} is unusable: scipy cannot evaluate it ({error})")
    if np.isnan(x).any() or not np.isfinite(x[1]):
        shown = ", ".join(fmt(v) for v in x)
        fail(path, f"{spec.given} is unusable: its p1, p50, p99 are {shown} (numbers too extreme)")
