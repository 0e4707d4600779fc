"""Month arithmetic of cashflow.calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cashflow.calendar import (
    add_months,
    month_end_date,
    month_index,
    month_label,
    month_labels,
    month_start_date,
    months_before,
    parse_month,
    year_of_month,
    years,
)
from distributions.errors import ScenarioError


def test_parse_month_good():
    assert parse_month("2024-01") == (2024, 1)
    assert parse_month("1999-12") == (1999, 12)
    assert parse_month(" 2024-07 ") == (2024, 7)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("2024-13", "month 13 not in 1..12"),
        ("2024-00", "month 0 not in 1..12"),
        ("24-01", "is not a month"),
        ("Jan 2024", "is not a month"),
        ("2024-1", "is not a month"),
        ("2024-01-01", "is not a month"),
        ("", "is not a month"),
        (202401, r"must be a month \"YYYY-MM\" \(got 202401\)"),
        (None, r"\(got None\)"),
        ("0999-01", "year must be 1000 or later"),
    ],
)
def test_parse_month_bad(text, match):
    with pytest.raises(ScenarioError, match=match) as info:
        parse_month(text, "events.raise.month")
    assert str(info.value).startswith("events.raise.month: ")


def test_month_index():
    assert month_index(2024, 1, "2024-01") == 0
    assert month_index(2024, 1, "2024-11") == 10
    assert month_index(2024, 1, "2025-01") == 12
    assert month_index(2024, 6, "2024-05") == -1
    assert month_index(2023, 11, "2024-02") == 3


def test_months_before():
    assert months_before(2024, 1, dt.date(2026, 1, 1)) == 24
    assert months_before(2024, 1, dt.date(2025, 6, 15)) == 17
    assert months_before(2024, 1, dt.date(2025, 6, 30)) == 17
    assert months_before(2024, 1, dt.date(2024, 1, 31)) == 0
    assert months_before(2024, 1, dt.date(2024, 2, 1)) == 1
    assert months_before(2024, 7, dt.date(2025, 1, 1)) == 6
    assert months_before(2024, 1, dt.datetime(2025, 1, 1, 12, 0)) == 12


def test_labels_and_years():
    assert month_labels(2024, 11, 4) == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert month_label(2024, 1, 35) == "2026-12"
    assert month_labels(2024, 1, 0) == []
    np.testing.assert_array_equal(year_of_month(2024, 11, 4), [2024, 2024, 2025, 2025])
    assert year_of_month(2024, 1, 36).tolist() == [2024] * 12 + [2025] * 12 + [2026] * 12
    assert years(2024, 1, 36) == [2024, 2025, 2026]
    assert years(2024, 1, 37) == [2024, 2025, 2026, 2027]
    assert years(2024, 12, 1) == [2024]
    assert years(2024, 12, 2) == [2024, 2025]
    assert years(2024, 1, 0) == []


def test_dates():
    assert month_end_date(2024, 1, 1) == dt.date(2024, 2, 29)
    assert month_end_date(2023, 1, 1) == dt.date(2023, 2, 28)
    assert month_end_date(2024, 1, 11) == dt.date(2024, 12, 31)
    assert month_start_date(2024, 1, 24) == dt.date(2026, 1, 1)
    assert add_months(2024, 12, 1) == (2025, 1)
    assert add_months(2024, 1, -1) == (2023, 12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(1900, 2200), st.integers(1, 12), st.integers(-1200, 1200), st.integers(1, 28))
def test_round_trips(year, month, t, day):
    label = month_label(year, month, t)
    assert month_index(year, month, label) == t
    y, m = parse_month(label)
    assert months_before(year, month, dt.date(y, m, day)) == t
    assert months_before(year, month, month_start_date(year, month, t)) == t
    assert months_before(year, month, month_end_date(year, month, t)) == t
    if t >= 0:
        assert year_of_month(year, month, t + 1)[-1] == y


@pytest.mark.parametrize(
    ("start_year", "start_month", "horizon"), [(2024, 1, 36), (2024, 7, 30), (2025, 12, 1)]
)
def test_year_slices_cover_each_years_months(start_year, start_month, horizon):
    from cashflow.calendar import year_slices

    years = year_of_month(start_year, start_month, horizon)
    slices = year_slices(start_year, start_month, horizon)
    for y, s in slices.items():
        np.testing.assert_array_equal(np.flatnonzero(years == y), np.arange(s.start, s.stop))
    assert sorted(slices) == sorted(set(years.tolist()))
