"""The vectorized cash model against a slow scalar reference and against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from per_path import assert_matches_reference

from cashflow.calendar import month_index
from cashflow.draws import draw_batch
from cashflow.model import Flows, first_nonfinite, simulate_flows
from cashflow.scenario import Correlation, Funding, Line, Scenario, Shock
from distributions import parse_spec

START_YEAR, START_MONTH = 2024, 7


def spec(value, path="x", *, month: bool = False):
    """A Spec from a scenario value; ``month=True`` for an event's month ("YYYY-MM")."""

    def month_of(text: str) -> int:
        return month_index(START_YEAR, START_MONTH, text)

    return parse_spec(value, path, month_of=month_of if month else None)


def full_scenario(horizon: int = 30) -> Scenario:
    """Every feature of the model: 2024-07 + 30 months touches 2024, 2025 and 2026."""
    lines = (
        Line(
            name="api",
            kind="revenue",
            start={"dist": "lognormal", "median": 1.0, "sigma": 0.2},
            growth={"dist": "normal", "mean": 0.04, "sd": 0.02},
            growth_noise=0.03,
            volatility=0.05,
        ),
        Line(
            name="enterprise",
            kind="revenue",
            schedule=((2024, 6.0), (2025, "10 to 16"), (2026, 20.0)),
            scale={"dist": "uniform", "low": 0.8, "high": 1.2},
        ),
        Line(
            name="compute",
            kind="cost",
            share_of="api",
            ratio={"dist": "lognormal", "median": 1.4, "sigma": 0.1},
        ),
        Line(
            name="inference",
            kind="cost",
            share_of="compute",
            ratio={"dist": "uniform", "low": 0.1, "high": 0.3},
            volatility={"dist": "uniform", "low": 0.0, "high": 0.1, "vary": "month"},
        ),
        Line(
            name="staff",
            kind="cost",
            start=0.5,
            growth=0.10,
            growth_per="year",
            scale=1.1,
        ),
        Line(
            name="other",
            kind="cost",
            start={"dist": "uniform", "low": 0.2, "high": 0.4},
            growth={"dist": "normal", "mean": 0.2, "sd": 0.1, "vary": "year"},
            growth_per="year",
        ),
        Line(
            name="marketing",
            kind="cost",
            start={"dist": "uniform", "low": 0.1, "high": 0.3},
            growth={"dist": "uniform", "low": 0.0, "high": 0.02},
        ),
        Line(name="rent", kind="cost", start={"dist": "uniform", "low": 0.1, "high": 0.2}),
        Line(
            name="consulting",
            kind="revenue",
            start={"dist": "normal", "mean": 0.3, "sd": 0.1, "vary": "month"},
            growth=0.01,
        ),
    )
    events = (
        Funding(
            name="raise",
            probability=0.7,
            amount={"dist": "triangular", "min": 5, "mode": 8, "max": 12},
            month={"dist": "discrete", "values": ["2024-10", "2025-03", "2027-03"]},
        ),
        Shock(
            name="lawsuit",
            probability=0.5,
            amount={"dist": "uniform", "low": 1, "high": 3},
        ),
        Shock(
            name="price_cut",
            per="month",
            probability=0.05,
            line="api",
            factor={"dist": "uniform", "low": 0.9, "high": 0.98},
        ),
        Shock(
            name="outage",
            per="month",
            probability=0.1,
            amount={"dist": "exponential", "mean": 0.5},
        ),
        Shock(name="churn", probability=0.5, line="enterprise", factor=0.8, month="2025-06"),
    )
    return _build(
        lines,
        events,
        horizon=horizon,
        starting_cash={"dist": "normal", "mean": 20, "sd": 3},
        correlation=Correlation(names=("api.start", "api.growth"), matrix=((1, 0.4), (0.4, 1))),
    )


def _build(lines, events, *, horizon, starting_cash, correlation=None, floor=0.0) -> Scenario:
    """A Scenario from line/event dataclasses whose numbers are still raw values."""

    def specs(item):
        fields = {}
        for key, value in vars(item).items():
            if key in ("name", "kind", "growth_per", "share_of", "per", "line", "source"):
                continue
            if key == "schedule" and value is not None:
                value = tuple((y, spec(v, f"{item.name}.schedule.{y}")) for y, v in value)
            elif value is not None:
                value = spec(value, f"{item.name}.{key}", month=key == "month")
            fields[key] = value
        return type(item)(**{**vars(item), **fields})

    return Scenario(
        name="test",
        description="",
        unit="USD",
        start_year=START_YEAR,
        start_month=START_MONTH,
        horizon_months=horizon,
        starting_cash=spec(starting_cash, "starting_cash"),
        floor=floor,
        lines=tuple(specs(x) for x in lines),
        events=tuple(specs(x) for x in events),
        correlation=correlation,
    )


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["mc", "sobol"])
def test_matches_scalar_reference(sampler: str) -> None:
    scenario = full_scenario()
    draws = draw_batch(scenario, 50, np.random.SeedSequence(20240701), sampler)
    flows, _, _ = assert_matches_reference(scenario, draws)  # the memory layout changes nothing
    # Every feature was exercised on these 50 paths.
    assert (flows.funding > 0).any()
    assert draws.noise["price_cut:hits"].any() and draws.noise["outage:hits"].any()
    assert (draws.noise["lawsuit:u"] < 0.5).any() and (draws.noise["churn:u"] < 0.5).any()


def test_deterministic_closed_form() -> None:
    """cash_t = 10 + (t+1) - 20 (1.1^(t+1) - 1) + 5 [t >= 3] - 0.5 [t >= 1].

    Revenue 1 a month, costs 2 * 1.1^t (their sum is 20 (1.1^(t+1) - 1)), a certain raise of 5
    in month 3, a certain one-off cost of 0.5 in month 1. By hand: cash_6 = 17 - 18.974342
    + 4.5 = 2.525658 and cash_7 = 18 - 22.871776 + 4.5 = -0.371776: ruin month 7.
    """
    scenario = _build(
        (
            Line(name="sales", kind="revenue", start=1.0),
            Line(name="opex", kind="cost", start=2.0, growth=0.1),
        ),
        (
            Funding(name="seed", probability=1.0, amount=5.0, month="2024-10"),
            Shock(name="fine", probability=1.0, amount=0.5, month="2024-08"),
        ),
        horizon=12,
        starting_cash=10.0,
    )
    flows = simulate_flows(
        scenario, draw_batch(scenario, 3, np.random.SeedSequence(1)), keep_funding=True
    )
    t = np.arange(12)
    cash = 10 + (t + 1) - 20 * (1.1 ** (t + 1) - 1) + 5 * (t >= 3) - 0.5 * (t >= 1)
    np.testing.assert_allclose(flows.cash, np.broadcast_to(cash, (3, 12)), rtol=1e-12)
    np.testing.assert_allclose(flows.costs[0], 2 * 1.1**t + 0.5 * (t == 1), rtol=1e-12)
    np.testing.assert_array_equal(flows.funding[0], 5.0 * (t == 3))
    below = flows.cash < 0
    assert (below.argmax(axis=1) == 7).all() and below.any(axis=1).all()


def test_factor_shock_applies_before_share_of() -> None:
    """compute = 0.5 * api; halving api from month 2 halves compute from month 2 too."""
    scenario = _build(
        (
            Line(name="api", kind="revenue", start=1.0),
            Line(name="compute", kind="cost", share_of="api", ratio=0.5),
        ),
        (Shock(name="cut", probability=1.0, line="api", factor=0.5, month="2024-09"),),
        horizon=6,
        starting_cash=0.0,
    )
    flows = simulate_flows(scenario, draw_batch(scenario, 2, np.random.SeedSequence(3)))
    np.testing.assert_array_equal(flows.revenue[0], [1, 1, 0.5, 0.5, 0.5, 0.5])
    np.testing.assert_array_equal(flows.costs[0], [0.5, 0.5, 0.25, 0.25, 0.25, 0.25])


def test_funding_outside_horizon_never_arrives() -> None:
    scenario = _build(
        (Line(name="opex", kind="cost", start=1.0),),
        (Funding(name="late", probability=1.0, amount=100.0, month="2030-01"),),
        horizon=6,
        starting_cash=3.0,
    )
    draws = draw_batch(scenario, 4, np.random.SeedSequence(5))
    assert simulate_flows(scenario, draws).funding is None  # not kept unless asked
    flows = simulate_flows(scenario, draws, keep_funding=True)
    assert not flows.funding.any()
    np.testing.assert_array_equal(flows.cash[0], 3.0 - np.arange(1, 7))
    np.testing.assert_array_equal(flows.revenue, 0.0)


def test_model_is_pure() -> None:
    """Draws are read-only and two calls give bit-identical flows."""
    scenario = full_scenario(horizon=18)
    draws = draw_batch(scenario, 200, np.random.SeedSequence(7))
    a = simulate_flows(scenario, draws, keep_funding=True)
    b = simulate_flows(scenario, draws, keep_funding=True)
    for key in ("revenue", "costs", "funding", "cash"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert isinstance(a, Flows) and a.cash.shape == (200, 18)
    assert first_nonfinite(scenario, draws) is None


def test_first_nonfinite_names_the_culprit() -> None:
    """A line that grows a hundredfold a month from ~1e300 overflows to infinity."""
    scenario = _build(
        (
            Line(name="sales", kind="revenue", start=1.0),
            Line(
                name="bad",
                kind="cost",
                start={"dist": "uniform", "low": 1e300, "high": 2e300},
                growth=100.0,
            ),
        ),
        (),
        horizon=6,
        starting_cash=1.0,
    )
    draws = draw_batch(scenario, 10, np.random.SeedSequence(11))
    with np.errstate(all="ignore"):
        flows = simulate_flows(scenario, draws)
    assert not np.isfinite(flows.cash).all()
    assert first_nonfinite(scenario, draws) == "bad"
