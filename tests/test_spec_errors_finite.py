"""Spec errors of discrete and empirical tables, months, CSV files and table options."""

from __future__ import annotations

import re

import pytest
from spec_error_checks import check_one_problem, normal

from distributions import parse_spec

INF = float("inf")
NAN = float("nan")
PATH = "events.raise.month"


def month_of(text: str) -> int:
    """Months of 2024 only; raises ValueError otherwise (as a calendar helper might)."""
    match = re.fullmatch(r"2024-(\d\d)", text)
    if not match or not 1 <= int(match[1]) <= 12:
        raise ValueError(f"'{text}' is not a month of 2024")
    return int(match[1]) - 1


def lookup_month(text: str) -> int:
    return {"2024-10": 9}[text]


def check(value, match, **kwargs):
    check_one_problem(value, match, PATH, **kwargs)


RULES = [
    # discrete
    pytest.param(
        {"dist": "discrete", "values": 3},
        r"discrete values must be a non-empty list \(got 3\)",
        id="values not a list",
    ),
    pytest.param(
        {"dist": "discrete", "values": []},
        r"discrete values must be a non-empty list \(got an empty list\)",
        id="values empty",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, "a"]},
        r"discrete values\[1\] must be a number \(got 'a'\)",
        id="values not numbers",
    ),
    pytest.param(
        {"dist": "discrete", "values": ["2024-10"]},
        r"discrete values\[0\] must be a number \(got '2024-10'\)",
        id="month values without months",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1], "probs": 1},
        r"discrete probs must be a non-empty list \(got 1\)",
        id="probs not a list",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, 2, 3], "probs": [0.5, 0.5]},
        r"discrete probs must have one entry per value \(got 3 values, 2 probs\)",
        id="probs length",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, 2], "probs": [1.1, -0.1]},
        r"discrete probs must be between 0 and 1 \(got 1.1\)",
        id="probs range",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, 2], "probs": [0.5, None]},
        r"discrete probs\[1\] must be a number \(got None\)",
        id="probs not numbers",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, 2, 3], "probs": [0.3, 0.3, 0.3]},
        r"discrete probs must sum to 1 \(got sum 0.9\)",
        id="probs sum",
    ),
    pytest.param(
        {"dist": "discrete", "values": [1, 2], "probs": [0.5, 0.5 + 2e-9]},
        r"discrete probs must sum to 1 \(got sum 1.000000002\)",
        id="probs sum just over",
    ),
    # empirical
    pytest.param(
        {"dist": "empirical", "data": [1.0]},
        r"empirical needs at least 2 observations \(got 1\)",
        id="too few observations",
    ),
    pytest.param(
        {"dist": "empirical", "data": [1.0, INF]},
        r"empirical data\[1\] must be a finite number \(got inf\)",
        id="data not numbers",
    ),
    pytest.param(
        {"dist": "empirical", "data": "1, 2"},
        r"empirical data must be a non-empty list \(got '1, 2'\)",
        id="data not a list",
    ),
    pytest.param(
        {"dist": "empirical", "csv": 3, "column": "a"},
        r"empirical csv must be a file name \(got 3\)",
        id="csv not text",
    ),
    pytest.param(
        {"dist": "empirical", "csv": "a.csv", "column": 1},
        r"empirical column must be a column name \(got 1\)",
        id="column not text",
    ),
    # options
    pytest.param(
        {"dist": "discrete", "values": [1, 2], "truncate": [0, 1]},
        r"truncate applies to continuous distributions only \(got discrete\)",
        id="truncate discrete",
    ),
    pytest.param(
        {"dist": "constant", "value": 1, "truncate": [0, 1]},
        r"truncate applies to continuous distributions only \(got constant\)",
        id="truncate constant",
    ),
    pytest.param(
        normal(mean=0, sd=1, truncate=[0]),
        r"truncate must be \[low, high\], two numbers or inf / -inf \(got a list of 1 item\)",
        id="truncate shape",
    ),
    pytest.param(
        normal(mean=0, sd=1, truncate=[NAN, 1]),
        r"truncate must be \[low, high\]",
        id="truncate nan",
    ),
    pytest.param(
        normal(mean=0, sd=1, truncate=["0", 1]),
        r"truncate must be \[low, high\]",
        id="truncate text",
    ),
    pytest.param(
        normal(mean=0, sd=1, truncate=[5, 1]),
        r"truncate needs low < high \(got \[5, 1\]\)",
        id="truncate order",
    ),
    pytest.param(
        normal(mean=0, sd=1, truncate=[50, INF]),
        r"truncate \[50, inf\] leaves no probability under normal\(mean=0, sd=1\)",
        id="truncate empty",
    ),
    pytest.param(
        {"dist": "lognormal", "median": 1, "sigma": 1, "truncate": [-5, 0]},
        r"truncate \[-5, 0\] leaves no probability under lognormal",
        id="truncate outside support",
    ),
    pytest.param(
        normal(mean=0, sd=1, vary="monthly"),
        r"vary must be 'path', 'month' or 'year' \(got 'monthly'\); did you mean 'month'\?",
        id="vary",
    ),
    pytest.param(
        normal(mean=0, sd=1, vary=1),
        r"vary must be 'path', 'month' or 'year' \(got 1\)$",
        id="vary not text",
    ),
    pytest.param(normal(mean=0, sd=1, source=3), r"source must be a string \(got 3\)", id="source"),
]


@pytest.mark.parametrize(("value", "match"), RULES)
def test_error_message(value, match):
    check(value, match)


MONTH_ANY = "a month must be a 'YYYY-MM' string or a discrete table of months"
MONTH_RULES = [
    pytest.param(3, MONTH_ANY + r" \(got 3\)", id="number"),
    pytest.param(
        {"dist": "uniform", "low": 0, "high": 3},
        MONTH_ANY + r" \(got dist 'uniform'\)",
        id="family",
    ),
    pytest.param("2024-13", r"bad month '2024-13': '2024-13' is not a month of 2024", id="bad"),
    pytest.param(
        {"dist": "discrete", "values": ["2024-01", 5]},
        r"a month must be a 'YYYY-MM' string \(got 5\)",
        id="value not text",
    ),
    pytest.param(
        {"dist": "discrete", "values": ["2024-01", "2025-01"]},
        r"bad month '2025-01'",
        id="bad month in values",
    ),
]


@pytest.mark.parametrize(("value", "match"), MONTH_RULES)
def test_month_error_message(value, match):
    check(value, match, month_of=month_of)


def test_month_lookup_key_error_is_reported():
    check("2024-11", r"bad month '2024-11'$", month_of=lookup_month)


def test_csv_errors(tmp_path):
    (tmp_path / "rev.csv").write_text("month,revenue\n1,3.5\n2,abc\n")
    (tmp_path / "empty.csv").write_text("")
    table = {"dist": "empirical", "csv": "rev.csv", "column": "revenue"}
    check(
        {**table, "csv": "nope.csv"},
        r"cannot read csv file 'nope.csv' \(looked for .*nope.csv\)",
        base_dir=tmp_path,
    )
    check(
        {**table, "column": "revenu"},
        r"csv file 'rev.csv' has no column 'revenu'; did you mean 'revenue'\?",
        base_dir=tmp_path,
    )
    check(
        table,
        r"csv file 'rev.csv' column 'revenue' line 3 is not a finite number \(got 'abc'\)",
        base_dir=tmp_path,
    )
    check({**table, "csv": "empty.csv"}, r"csv file 'empty.csv' is empty", base_dir=tmp_path)
    (tmp_path / "one.csv").write_text("revenue\n4\n\n")
    check(
        {**table, "csv": "one.csv"},
        r"empirical needs at least 2 observations \(got 1\)",
        base_dir=tmp_path,
    )


def test_probs_within_tolerance_are_accepted():
    spec = parse_spec({"dist": "discrete", "values": [1, 2], "probs": [0.5, 0.5 + 5e-10]}, PATH)
    assert sum(spec.params["probs"]) == pytest.approx(1.0, abs=1e-15)


def test_finite_is_the_one_finite_number_rule():
    from distributions._require import finite

    assert finite(3) == 3.0
    assert finite(-2.5) == -2.5
    assert finite(float("nan")) is None
    assert finite(float("inf")) is None
    assert finite(10**400) is None  # too large for a float: not finite, no OverflowError
