"""cashflow/parse_events.py: the ``[events.NAME]`` tables (funding rounds and shocks). Each
broken event gives its one-line message; a per-month shock probability may vary; the events of
tests/good/every_feature.toml parse."""

from __future__ import annotations

import pytest
from scenario_text import MINIMAL, error_lines, every_feature, load

from cashflow.scenario import Funding, Shock


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "shock"\namount = 1', "events.e: missing required key 'probability'"),
        ('kind = "shock"\nprobability = 0.1', "events.e: needs amount, or line and factor"),
        (
            'kind = "shock"\nprobability = 0.1\nline = "revenue"',
            "events.e: missing required key 'factor'",
        ),
        ('kind = "shock"\nprobability = 0.1\nfactor = 2', "events.e: missing required key 'line'"),
        ('kind = "shock"\nprobability = 0.1\namount = -2', "events.e.amount: must be >= 0"),
        ("probability = 0.1\namount = 2", "events.e: missing required key 'kind'"),
        (
            'kind = "funding"\namount = 1\nmonth = "2024-05"\nline = "revenue"',
            "events.e: unknown key 'line'",
        ),
        (
            'kind = "funding"\namount = 1\nmonth = { dist = "uniform", low = 1, high = 3 }',
            "events.e.month: a month must be a 'YYYY-MM' string or a discrete table of months",
        ),
        (
            'kind = "funding"\namount = { dist = "uniform", low = 1, high = 3, vary = "year" }\n'
            'month = "2024-05"',
            "events.e.amount: must vary per path (got vary = 'year')",
        ),
        (
            'kind = "shock"\nprobability = { dist = "beta", a = 1, b = 9, vary = "month" }\n'
            "amount = 1",
            "events.e.probability: must vary per path (got vary = 'month')",
        ),
        (
            'kind = "funding"\namount = 1\nmonth = "2023-12"',
            "events.e.month: 2023-12 is outside the horizon; valid months are 2024-01 to 2025-12",
        ),
    ],
)
def test_event_rules(tmp_path, table, message):
    lines = error_lines(MINIMAL + "\n[events.e]\n" + table + "\n", tmp_path)
    assert len(lines) == 1 and message in lines[0], lines


def test_shock_per_month_probability_may_vary(tmp_path):
    text = MINIMAL + (
        '\n[events.e]\nkind = "shock"\nper = "month"\namount = 1\n'
        'probability = { dist = "beta", a = 1, b = 99, vary = "year" }\n'
    )
    (shock,) = load(text, tmp_path).events
    assert isinstance(shock, Shock) and shock.probability.vary == "year" and shock.month is None


def test_every_feature_events():
    s = every_feature()
    assert [e.name for e in s.events] == ["seed", "bridge", "outage", "price_war", "lawsuit"]
    seed, bridge, outage, price_war, lawsuit = s.events
    assert isinstance(seed, Funding) and isinstance(bridge, Funding)
    assert seed.month.is_month and seed.month.params["values"] == (5.0, 6.0, 7.0)
    assert seed.source == "term sheet" and seed.amount.source == "term sheet"
    assert bridge.probability.is_constant and bridge.probability.mean() == 1.0
    assert bridge.month.is_constant and bridge.month.mean() == 11  # 2025-06
    assert isinstance(outage, Shock) and outage.per == "month" and outage.month is None
    assert outage.amount.family == "exponential" and outage.line is None
    assert price_war.per == "horizon" and price_war.line == "api" and price_war.amount is None
    assert price_war.month.params["values"] == (8.0, 14.0)
    assert lawsuit.per == "horizon" and lawsuit.month is None
