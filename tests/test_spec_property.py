"""Property: parse_spec on any JSON-like input returns a usable Spec or raises ScenarioError."""

from __future__ import annotations

import re
import warnings

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distributions import FAMILIES, ScenarioError, Spec, parse_spec

FAMILY_NAMES = [*sorted(FAMILIES), "lognromal", "", "Normal", "t", "dist"]
KEYS = sorted(
    {k for family in FAMILIES.values() for k in family.keys}
    | {
        "dist",
        "source",
        "vary",
        "truncate",
        "meen",
        "p0",
        "p1",
        "p5",
        "p10",
        "p50",
        "p90",
        "p95",
        "p99",
        "p100",
        "p2.5",
        "p97.5",
        "p-1",
        "",
    }
)

SPECIAL_FLOATS = [0.0, -0.0, 0.5, 1.0, 2.0, 1e-300, 5e-324, 1e308, -1e308, 1e300]
SPECIAL_TEXT = [
    "3.3 to 4.1",
    "-1 to 1",
    "4 to 3",
    "0 to 0",
    "nan to 1",
    "1e309 to 2",
    "1 to",
    "2024-10",
    "2024-13",
    "path",
    "month",
    "year",
    "0.05",
    "inf",
    "normal",
    "a.csv",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.just(10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-10, max_value=10)
    | st.sampled_from(SPECIAL_FLOATS)
    | st.text(max_size=12)
    | st.sampled_from(SPECIAL_TEXT)
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=12,
)
numbers = (
    st.floats(min_value=-100, max_value=100) | st.sampled_from(SPECIAL_FLOATS) | st.floats(0.01, 50)
)


@st.composite
def tables(draw):
    """Tables that look like the real thing: a family name and a few of its keys."""
    table: dict[str, object] = {"dist": draw(st.sampled_from(FAMILY_NAMES))}
    for key in draw(st.lists(st.sampled_from(KEYS) | st.text(max_size=6), max_size=5, unique=True)):
        table[key] = draw(numbers | values)
    return table


PERCENTILE_KEYS = ["p1", "p2.5", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99"]
MONTH_TEXT = st.sampled_from(["2024-01", "2024-06", "2024-12", "2024-13", "2025-01"])


def value_for(key: str) -> st.SearchStrategy:
    if key == "values":
        return st.lists(numbers, min_size=1, max_size=5) | st.lists(
            MONTH_TEXT, min_size=1, max_size=4
        )
    if key == "probs":
        return st.lists(st.floats(0, 1) | st.sampled_from([0.5, 0.25, 1.0]), max_size=5)
    if key == "data":
        return st.lists(numbers, max_size=6)
    if key in ("csv", "column"):
        return st.text(max_size=8)
    if key == "value":
        return numbers | MONTH_TEXT
    return numbers


def _in_order(table: dict[str, object], keys: list[str]) -> None:
    """Put the numbers under ``keys`` in increasing order (most tables should be valid)."""
    present = [k for k in keys if isinstance(table.get(k), float)]
    for key, x in zip(present, sorted(table[k] for k in present), strict=True):
        table[key] = x


@st.composite
def plausible_tables(draw):
    """Mostly valid tables: one of a family's parameter sets with extreme numbers, sometimes
    with truncate / vary / a stray key."""
    family = FAMILIES[draw(st.sampled_from(sorted(FAMILIES)))]
    form = draw(st.sampled_from(family.forms))
    table: dict[str, object] = {"dist": family.name}
    keys = [*form.required, *(k for k in form.optional if draw(st.booleans()))]
    for key in keys:
        table[key] = draw(value_for(key))
    n = form.percentiles
    levels = draw(st.lists(st.sampled_from(PERCENTILE_KEYS), min_size=n, max_size=n, unique=True))
    for key in levels:
        table[key] = draw(numbers)
    if draw(st.integers(0, 3)) == 0:
        ends = numbers | st.sampled_from([float("inf"), -float("inf")])
        table["truncate"] = draw(st.lists(ends, min_size=2, max_size=2))
    if draw(st.integers(0, 4)) > 0:  # usually repair the order rules
        _in_order(table, ["min", "mode", "max"])
        _in_order(table, ["low", "high"])
        _in_order(table, sorted(levels, key=lambda k: float(k[1:])))
        if isinstance(table.get("truncate"), list):
            table["truncate"] = sorted(table["truncate"])
    if draw(st.booleans()):
        table["vary"] = draw(st.sampled_from(["path", "month", "year", "path", "monthly"]))
    if draw(st.integers(0, 9)) == 0:
        table[draw(st.sampled_from(KEYS))] = draw(values)
    return table


def month_of(text: str) -> int:
    match = re.fullmatch(r"2024-(\d\d)", text)
    if not match or not 1 <= int(match[1]) <= 12:
        raise ScenarioError(f"'{text}' is not a month of 2024")
    return int(match[1]) - 1


def check_usable(spec: Spec) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = spec.ppf(np.array([0.01, 0.5, 0.99]))
        assert x.shape == (3,) and x.dtype == np.float64
        assert not np.isnan(x).any() and np.isfinite(x[1])
        u = np.random.default_rng(0).random((2, 2))  # drawn as cashflow/draws.py draws
        assert spec.ppf(u).shape == (2, 2)
        assert isinstance(spec.describe(), str) and isinstance(spec.given, str)
        spec.mean()


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(value=values | tables() | plausible_tables(), months=st.booleans())
def test_parse_spec_returns_a_spec_or_raises_scenario_error(value, months):
    try:
        spec = parse_spec(value, "x.y", month_of=month_of if months else None)
    except ScenarioError as error:
        assert error.problems and all(p.path == "x.y" for p in error.problems)
        assert "\n" not in str(error)
        return
    assert isinstance(spec, Spec)
    check_usable(spec)
