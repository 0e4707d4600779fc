"""Management that reacts (actions, bridge rounds, credit lines): the vectorized model against
hand computations, closed forms, exact mixtures and a slow per-path reference.

The contract is the monthly loop of the management semantics (docs/scenario-format.md):
effects of the actions due this month, revenue and costs, interest on last month's balance,
funding, the cash, the credit lines (draw to the floor, repay from the month's net flow, repay
everything at maturity), then the conditions read on the month's closing figures. Every
expected value here is computed by hand, in closed form, or by :func:`reference_managed` (plain
Python, one path at a time); none comes from the vectorized model.

Scenarios start in 2024-01, so month t of 2024 is ``"2024-{t+1:02d}"`` and t = 12 is 2025-01.
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
import tomllib
import types

import numpy as np
import pytest
from per_path import hit_month as _hit_month
from per_path import module_from_git
from per_path import value as _value

from cashflow.calendar import months_before
from cashflow.draws import Draws, draw_batch
from cashflow.model import Flows, line_amounts, simulate_flows
from cashflow.parse import parse_scenario
from cashflow.scenario import Funding, Scenario, Shock
from engine.outcomes import ruin_months

ROOT = pathlib.Path(__file__).resolve().parent.parent


def header(*, cash: float | str, horizon: int, floor: float = 0.0) -> str:
    return (
        'name = "management test"\nunit = "USD million"\nstart = "2024-01"\n'
        f"horizon_months = {horizon}\nstarting_cash = {cash}\nfloor = {floor}\n"
    )


def load(text: str, tmp_path: pathlib.Path) -> Scenario:
    return parse_scenario(tomllib.loads(text), file="t.toml", base_dir=tmp_path)


def run(scenario: Scenario, n: int = 3, seed: int = 1) -> Flows:
    draws = draw_batch(scenario, n, np.random.SeedSequence(seed))
    return simulate_flows(scenario, draws, keep_funding=True)


def same_rows(actual: np.ndarray, expected, atol: float = 1e-12) -> None:
    """Every path of ``actual`` (n, H) equals the one row ``expected`` (H,)."""
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(actual, np.broadcast_to(expected, actual.shape), rtol=0, atol=atol)


def months(a: np.ndarray, value: int) -> None:
    """An (n,) array of months is ``value`` on every path."""
    np.testing.assert_array_equal(a, np.full(a.shape, value))


# --- 1. actions on a deterministic burn ----------------------------------------------------

# Revenue 1, costs 2 + 0.5: a burn of 1.5 a month from 20.25, so cash_t = 18.75 - 1.5 t.
# Unmanaged it first goes below 0 in month 13 (cash_12 = 0.75, cash_13 = -0.75).
BURN = (
    header(cash=20.25, horizon=24)
    + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.staff]
kind = "cost"
start = 2.0

[lines.other]
kind = "cost"
start = 0.5
"""
)


def test_unmanaged_burn_by_hand(tmp_path) -> None:
    flows = run(load(BURN, tmp_path))
    t = np.arange(24)
    same_rows(flows.cash, 18.75 - 1.5 * t)
    assert flows.management is None
    months(ruin_months(flows.cash, 0.0), 13)


@pytest.mark.parametrize(("lag", "ruin"), [(1, 16), (2, 16), (3, 15)])
def test_cut_costs_fires_and_moves_ruin(tmp_path, lag: int, ruin: int) -> None:
    """``cash < 10`` first holds at the end of month 6 (cash_6 = 9.75; cash_5 = 11.25).

    The cut (staff x 0.75, so the burn falls to 1.0) starts in month 6 + lag:
    cash_t = 18.75 - 1.5 t before, and cash_{5+lag} - (t - 5 - lag) = 16.25 - 0.5 lag - t from
    then on. Below 0 first at t > 16.25 - 0.5 lag: month 16 (lag 1 and 2), 15 (lag 3).
    """
    text = (
        BURN
        + f"""
[actions.cut_costs]
when = "cash < 10"
lines = ["staff"]
factor = 0.75
lag_months = {lag}
"""
    )
    if lag == 1:
        text = text.replace("lag_months = 1\n", "")  # the default lag is 1
    flows = run(load(text, tmp_path))
    t = np.arange(24)
    effect = 6 + lag
    same_rows(flows.cash, np.where(t < effect, 18.75 - 1.5 * t, 16.25 - 0.5 * lag - t))
    same_rows(flows.costs, np.where(t < effect, 2.5, 2.0))
    same_rows(flows.revenue, np.ones(24))
    m = flows.management
    months(m.fired["cut_costs"], 6)
    months(m.fires["cut_costs"], 1)
    assert m.triggered == {} and m.arrived == {} and m.balance == {} and m.interest == {}
    months(ruin_months(flows.cash, 0.0), ruin)


@pytest.mark.parametrize(("cooldown", "fire_months"), [(3, [6, 10, 14, 18, 22]), (5, [6, 12, 18])])
def test_repeated_action_compounds(tmp_path, cooldown: int, fire_months: list[int]) -> None:
    """``once = false``: fires at 6 (effect 7), then again as soon as t >= last effect month +
    cooldown while cash < 10 (it stays below 10): cooldown 3 -> 6, 10, 14, 18, 22; cooldown 5
    -> 6, 12, 18. Each effect multiplies staff by 0.75 again, so in month t the costs are
    2 * 0.75^k + 0.5, k = number of effect months <= t. With cooldown 3 by hand: costs 2.5
    (t <= 6), 2.0 (7-10), 1.625 (11-14), 1.34375 (15-18), 1.1328125 (19-22), 0.974609375 (23);
    cash_10 = 5.75, cash_14 = 3.25, cash_18 = 1.875, cash_22 = 1.34375, cash_23 = 1.369140625:
    it never runs out (unmanaged: month 13).
    """
    text = (
        BURN
        + f"""
[actions.cut_costs]
when = "cash < 10"
lines = ["staff"]
factor = 0.75
once = false
cooldown_months = {cooldown}
"""
    )
    flows = run(load(text, tmp_path))
    effects = np.array(fire_months) + 1
    k = np.array([(effects <= t).sum() for t in range(24)])
    costs = 2.0 * 0.75**k + 0.5
    same_rows(flows.costs, costs)
    same_rows(flows.cash, 20.25 + np.cumsum(1.0 - costs))
    m = flows.management
    months(m.fired["cut_costs"], 6)
    months(m.fires["cut_costs"], len(fire_months))
    if cooldown == 3:
        same_rows(
            flows.costs[:, [6, 7, 10, 11, 15, 19, 23]],
            [2.5, 2.0, 2.0, 1.625, 1.34375, 1.1328125, 0.974609375],
        )
        same_rows(flows.cash[:, [10, 14, 18, 22, 23]], [5.75, 3.25, 1.875, 1.34375, 1.369140625])
        months(ruin_months(flows.cash, 0.0), 24)


def test_repeated_action_counts_an_effect_past_the_horizon(tmp_path) -> None:
    """With 23 months, the firing at 22 (cooldown 3) has its effect in month 23 = H: it never
    takes effect but counts as a firing (5 in all)."""
    text = (
        BURN.replace("horizon_months = 24", "horizon_months = 23")
        + """
[actions.cut_costs]
when = "cash < 10"
lines = ["staff"]
factor = 0.75
once = false
cooldown_months = 3
"""
    )
    flows = run(load(text, tmp_path))
    months(flows.management.fires["cut_costs"], 5)
    same_rows(flows.cash[:, 22], [1.34375])


@pytest.mark.parametrize(
    ("window", "fired"),
    [
        ('after = "2024-09"', 8),  # holds from 6, may fire from 8
        ('until = "2024-06"', 24),  # may fire up to 5: never holds there
        ('until = "2024-07"', 6),  # `until` is inclusive
        ('after = "2024-03"\nuntil = "2024-12"', 6),
    ],
)
def test_action_window(tmp_path, window: str, fired: int) -> None:
    text = (
        BURN
        + f"""
[actions.cut_costs]
when = "cash < 10"
{window}
lines = ["staff"]
factor = 0.75
"""
    )
    flows = run(load(text, tmp_path))
    months(flows.management.fired["cut_costs"], fired)
    months(flows.management.fires["cut_costs"], int(fired < 24))
    t = np.arange(24)
    if fired == 24:
        same_rows(flows.cash, 18.75 - 1.5 * t)
    else:
        e = fired + 1
        same_rows(flows.cash, np.where(t < e, 18.75 - 1.5 * t, 18.75 - 1.5 * (e - 1) - (t - e + 1)))


def test_runway_condition_stop_and_cost(tmp_path) -> None:
    """Runway uses the mean burn of the last min(3, t + 1) months and the floor.

    Revenue 1, staff 1.5, hiring 0.5 a month in 2024 and 2.5 in 2025, floor 1, cash 30.
    Burn 1.0 through month 11 (cash_t = 29 - t, cash_11 = 18), 3.0 from month 12
    (cash_12 = 15, cash_13 = 12). Runway = (cash - 1) / burn:
    month 11: 17 / 1 = 17; month 12: 14 / ((1 + 1 + 3) / 3) = 8.4; month 13: 11 / (7/3) = 4.71.
    So ``runway < 5`` first holds in month 13 (the last month's burn alone would give 14/3 in
    month 12). The effect in month 14: hiring stops, a one-off cost of 2: costs 3.5 in month 14
    (1.5 + 2), 1.5 afterwards; cash_14 = 12 + 1 - 3.5 = 9.5, then -0.5 a month to
    cash_23 = 5.0. Unmanaged it would run out in month 17 (51 - 3t < 1).
    """
    text = (
        header(cash=30, horizon=24, floor=1)
        + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.staff]
kind = "cost"
start = 1.5

[lines.hiring]
kind = "cost"
schedule = { 2024 = 6, 2025 = 30 }

[actions.freeze]
when = "runway < 5"
stop = ["hiring"]
cost = 2.0
"""
    )
    flows = run(load(text, tmp_path))
    t = np.arange(24)
    costs = np.select([t < 12, t < 14, t == 14], [2.0, 4.0, 3.5], 1.5)
    same_rows(flows.costs, costs)
    same_rows(flows.cash[:, [11, 12, 13, 14, 23]], [18.0, 15.0, 12.0, 9.5, 5.0])
    same_rows(flows.cash, 30 + np.cumsum(1.0 - costs))
    months(flows.management.fired["freeze"], 13)
    months(ruin_months(flows.cash, 1.0), 24)
    unmanaged = run(load(text.split("[actions.freeze]")[0], tmp_path))
    months(ruin_months(unmanaged.cash, 1.0), 17)


SHARES = (
    header(cash=10, horizon=12)
    + """
[lines.staff]
kind = "cost"
start = 2.0

[lines.benefits]
kind = "cost"
share_of = "staff"
ratio = 0.25
"""
)


@pytest.mark.parametrize(
    ("effect", "after"),
    [
        ('lines = ["staff"]\nfactor = 0.5', 1.0 + 0.25),  # the share follows staff
        ('lines = ["staff", "benefits"]\nfactor = 0.5', 1.0 + 0.125),  # the share twice
        ('lines = ["benefits"]\nfactor = 0.5', 2.0 + 0.25),  # the share alone
        ('stop = ["staff"]', 0.0),  # the share stops too
    ],
)
def test_effects_follow_share_of(tmp_path, effect: str, after: float) -> None:
    """Costs 2.5 a month from 10: cash_t = 7.5 - 2.5 t; ``cash < 6`` holds first in month 1
    (cash_1 = 5), the effect starts in month 2."""
    text = SHARES + f'\n[actions.act]\nwhen = "cash < 6"\n{effect}\n'
    flows = run(load(text, tmp_path))
    costs = np.array([2.5, 2.5] + [after] * 10)
    same_rows(flows.costs, costs)
    same_rows(flows.cash, 10 - np.cumsum(costs))
    months(flows.management.fired["act"], 1)


# --- 2. credit lines on a deterministic burn -------------------------------------------------

# Revenue 1, costs 3 (a burn of 2) from 5; a line of 6 at 12% a year (1% a month).
EXHAUST = (
    header(cash=5, horizon=12)
    + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.opex]
kind = "cost"
start = 3.0

[credit.revolver]
limit = 6
interest = 0.12
available_from = "{available_from}"
"""
)


@pytest.mark.parametrize(
    ("available_from", "balance", "interest", "cash", "ruin"),
    [
        (
            # Month 2: cash -1, draw 1. Month 3: interest 0.01, cash -2.01, draw 2.01 (3.01).
            # Month 4: interest 0.0301, draw 2.0301 (5.0401). Month 5: interest 0.050401,
            # cash -2.050401, only 0.9599 left: balance 6, cash -1.090501 (runs out); then
            # -2.06 a month.
            "2024-02",
            [0, 0, 1, 3.01, 5.0401, 6, 6, 6, 6, 6, 6, 6],
            [0, 0, 0, 0.01, 0.0301, 0.050401, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06],
            [
                3,
                1,
                0,
                0,
                0,
                -1.090501,
                -3.150501,
                -5.210501,
                -7.270501,
                -9.330501,
                -11.390501,
                -13.450501,
            ],
            5,
        ),
        (
            # Not available before month 3: cash -1 in month 2 (runs out); month 3 draws 3
            # back to the floor, month 4 draws 2.03 (5.03); month 5: interest 0.0503, cash
            # -2.0503, 0.97 left: balance 6, cash -1.0803.
            "2024-04",
            [0, 0, 0, 3, 5.03, 6, 6, 6, 6, 6, 6, 6],
            [0, 0, 0, 0, 0.03, 0.0503, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06],
            [3, 1, -1, 0, 0, -1.0803, -3.1403, -5.2003, -7.2603, -9.3203, -11.3803, -13.4403],
            2,
        ),
    ],
)
def test_credit_line_draws_to_exhaustion(
    tmp_path, available_from, balance, interest, cash, ruin
) -> None:
    flows = run(load(EXHAUST.format(available_from=available_from), tmp_path))
    m = flows.management
    same_rows(m.balance["revolver"], balance, atol=1e-9)
    same_rows(m.interest["revolver"], interest, atol=1e-9)
    same_rows(flows.cash, cash, atol=1e-9)
    same_rows(flows.costs, 3 + np.asarray(interest), atol=1e-9)
    same_rows(flows.funding, np.zeros(12))  # credit is not funding
    months(ruin_months(flows.cash, 0.0), ruin)


# Revenue 1, costs 2 (a burn of 1) from 2.5; a certain round of 4 in month 4 (2024-05); a
# line of 10 at 12%.
REPAY = (
    header(cash=2.5, horizon=12)
    + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.opex]
kind = "cost"
start = 2.0

[events.seed]
kind = "funding"
amount = 4
month = "2024-05"

[credit.revolver]
limit = 10
interest = 0.12
"""
)


def test_credit_line_repaid_from_cash_flow(tmp_path) -> None:
    """Month 2: cash -0.5, draw 0.5. Month 3: interest 0.005, draw 1.005 (1.505). Month 4:
    interest 0.01505, net 1 - 2.01505 + 4 = 2.98495 > 0: repay min(1.505, 2.98495, 2.98495)
    = 1.505, cash 1.47995. Month 5: 0.47995. Month 6: -0.52005, draw it. Then each month
    draws 1 + 1% of the balance: 1.5252505, 2.540503005, 3.56590803505, ..."""
    flows = run(load(REPAY, tmp_path))
    m = flows.management
    balance = [
        0,
        0,
        0.5,
        1.505,
        0,
        0,
        0.52005,
        1.5252505,
        2.540503005,
        3.56590803505,
        4.6015671154005,
        5.647582786554505,
    ]
    interest = [
        0,
        0,
        0,
        0.005,
        0.01505,
        0,
        0,
        0.0052005,
        0.015252505,
        0.02540503005,
        0.0356590803505,
        0.046015671154005,
    ]
    cash = [1.5, 0.5, 0, 0, 1.47995, 0.47995, 0, 0, 0, 0, 0, 0]
    same_rows(m.balance["revolver"], balance, atol=1e-9)
    same_rows(m.interest["revolver"], interest, atol=1e-9)
    same_rows(flows.cash, cash, atol=1e-9)
    same_rows(flows.costs, 2 + np.asarray(interest), atol=1e-9)
    same_rows(flows.funding, 4.0 * (np.arange(12) == 4))
    assert (flows.cash >= 0).all()  # drawn back to the floor exactly, not a hair below
    months(ruin_months(flows.cash, 0.0), 12)


def test_credit_line_repaid_at_maturity(tmp_path) -> None:
    """As above with ``repay = "maturity"``, ``until = "2024-09"`` (month 8): the round in month
    4 repays nothing (cash 2.98495, balance stays 1.505, interest 0.01505 a month); cash 1.9699,
    0.95485, then month 7: -0.0602, draw it (1.5652); month 8: interest 0.015652, cash
    -1.015652, and the whole balance is repaid: cash -2.580852, balance 0. It runs out in the
    month of maturity, and nothing is drawn in or after it."""
    text = REPAY + 'repay = "maturity"\nuntil = "2024-09"\n'
    flows = run(load(text, tmp_path))
    m = flows.management
    balance = [0, 0, 0.5, 1.505, 1.505, 1.505, 1.505, 1.5652, 0, 0, 0, 0]
    interest = [0, 0, 0, 0.005, 0.01505, 0.01505, 0.01505, 0.01505, 0.015652, 0, 0, 0]
    cash = [1.5, 0.5, 0, 0, 2.98495, 1.9699, 0.95485, 0, -2.580852, -3.580852, -4.580852, -5.580852]
    same_rows(m.balance["revolver"], balance, atol=1e-9)
    same_rows(m.interest["revolver"], interest, atol=1e-9)
    same_rows(flows.cash, cash, atol=1e-9)
    months(ruin_months(flows.cash, 0.0), 8)


def test_runway_counts_available_credit(tmp_path) -> None:
    """Burn 1 from 10 (cash_t = 9 - t), an interest-free line of 6 from month 4.

    Runway = (cash + undrawn available credit) / 1: 6 in month 3, 11 in month 4, ..., 6 in
    month 9 (cash 0); month 10 draws 1 (liquidity 5), month 11 draws 1 more (liquidity 4):
    ``runway < 4.5`` first holds in month 11; the cut (opex halved, burn 0) starts in month 12
    and the balance stays 2. Without the line it holds in month 5 (cash 4).
    """
    text = (
        header(cash=10, horizon=14)
        + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.opex]
kind = "cost"
start = 2.0

[actions.cut]
when = "runway < 4.5"
lines = ["opex"]
factor = 0.5

[credit.line]
limit = 6
interest = 0
available_from = "2024-05"
"""
    )
    flows = run(load(text, tmp_path))
    months(flows.management.fired["cut"], 11)
    same_rows(flows.management.balance["line"], [0] * 10 + [1, 2, 2, 2])
    same_rows(flows.cash, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0])
    without = run(load(text.split("[credit.line]")[0], tmp_path))
    months(without.management.fired["cut"], 5)
    same_rows(without.cash, [9, 8, 7, 6, 5, 4] + [4] * 8)


# --- 3. a bridge round on a deterministic burn -----------------------------------------------

# Burn 1 from 9.5: cash_t = 8.5 - t, runs out in month 9 (cash_8 = 0.5). ``cash < 4`` first
# holds in month 5 (cash_5 = 3.5); with probability 0.6 the bridge closes and 6 arrives two
# months later, in month 7: cash_t = 14.5 - t from then on, running out in month 15.
BRIDGE = (
    header(cash=9.5, horizon=24)
    + """
[lines.sales]
kind = "revenue"
start = 1.0

[lines.opex]
kind = "cost"
start = 2.0

[events.bridge]
kind = "funding"
when = "cash < 4"
{window}probability = 0.6
amount = 6
delay_months = 2
"""
)


def test_bridge_round_exact_mixture(tmp_path) -> None:
    p, n = 0.6, 4000
    scenario = load(BRIDGE.format(window=""), tmp_path)
    draws = draw_batch(scenario, n, np.random.SeedSequence(20250101))
    flows = simulate_flows(scenario, draws, keep_funding=True)
    m = flows.management
    months(m.triggered["bridge"], 5)
    closed = draws.noise["bridge:u"][:, 0] < p
    np.testing.assert_array_equal(m.arrived["bridge"], np.where(closed, 7, 24))
    t = np.arange(24)
    with_money, without = 14.5 - t, 8.5 - t
    np.testing.assert_allclose(
        flows.cash, np.where(closed[:, None] & (t >= 7), with_money, without), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(flows.funding, np.where(closed[:, None] & (t == 7), 6.0, 0.0))
    se = math.sqrt(p * (1 - p) / n)
    share = float((m.arrived["bridge"] < 24).mean())
    assert abs(share - p) < 4 * se, (share, p, se)
    ruin = ruin_months(flows.cash, 0.0)
    # Runs out in month 15 with the money, month 9 without.
    for date, exact in [("2024-10-01", 0.0), ("2025-01-01", 1 - p), ("2025-07-01", 1.0)]:
        before = months_before(2024, 1, dt.date.fromisoformat(date))
        chance = float((ruin < before).mean())
        expected = p * float(before > 15) + (1 - p) * float(before > 9)
        assert expected == pytest.approx(exact)
        assert abs(chance - expected) <= 4 * se, (date, chance, expected, se)
    assert 0.0 < (ruin < 12).mean() < 1.0


@pytest.mark.parametrize(
    ("window", "triggered", "arrived"),
    [
        ('until = "2024-05"\n', 24, 24),  # the condition only holds from month 5
        ('until = "2024-06"\n', 5, 7),  # inclusive
        ('after = "2024-09"\n', 8, 10),  # holds from 5, may trigger from 8: arrives too late
        ('after = "2025-11"\n', 22, 24),  # arrives in month 24 = H: never within the horizon
    ],
)
def test_bridge_window(tmp_path, window: str, triggered: int, arrived: int) -> None:
    text = BRIDGE.format(window=window).replace("probability = 0.6", "probability = 1")
    flows = run(load(text, tmp_path))
    m = flows.management
    months(m.triggered["bridge"], triggered)
    months(m.arrived["bridge"], arrived)
    t = np.arange(24)
    same_rows(flows.cash, 8.5 - t + 6.0 * (t >= arrived))
    months(ruin_months(flows.cash, 0.0), 15 if arrived <= 8 else 9)


# --- 4. a stochastic scenario against a slow per-path reference ------------------------------

STOCHASTIC = (
    header(cash='{ dist = "uniform", low = 14, high = 30 }', horizon=30, floor=1)
    + """
[lines.sales]
kind = "revenue"
start = { dist = "uniform", low = 1.5, high = 2.5 }
growth = 0.035
growth_noise = 0.03
volatility = 0.1

[lines.staff]
kind = "cost"
start = { dist = "uniform", low = 1.8, high = 2.5 }
growth = 0.01
growth_noise = 0.01

[lines.benefits]
kind = "cost"
share_of = "staff"
ratio = 0.2

[lines.hosting]
kind = "cost"
share_of = "sales"
ratio = { dist = "uniform", low = 0.3, high = 0.5 }
volatility = 0.05

[lines.marketing]
kind = "cost"
start = 0.6
growth = 0.03

[events.seed]
kind = "funding"
probability = 0.5
amount = { dist = "uniform", low = 4, high = 8 }
month = { dist = "discrete", values = ["2024-09", "2025-03", "2026-05"] }

[events.lawsuit]
kind = "shock"
probability = 0.5
amount = { dist = "uniform", low = 1, high = 3 }

[events.outage]
kind = "shock"
per = "month"
probability = 0.05
amount = 0.4

[events.bridge]
kind = "funding"
when = "runway < 4"
after = "2024-04"
probability = 0.6
amount = { dist = "uniform", low = 3, high = 6 }
delay_months = { dist = "discrete", values = [1, 2, 3], probs = [0.3, 0.4, 0.3] }

[actions.cut_costs]
when = "runway < 7"
lines = ["staff"]
factor = { dist = "uniform", low = 0.7, high = 0.9 }
stop = ["marketing"]
cost = { dist = "uniform", low = 0.2, high = 0.6 }
lag_months = { dist = "uniform", low = 1, high = 3.99 }

[actions.trim]
when = "cash < 6"
until = "2026-01"
lines = ["staff", "benefits"]
factor = 0.95
cost = 0.1
once = false
cooldown_months = 3

[credit.revolver]
limit = { dist = "uniform", low = 2, high = 6 }
interest = { dist = "uniform", low = 0.05, high = 0.2 }
available_from = "2024-06"
until = "2026-03"

[correlations]
inputs = ["cut_costs.factor", "revolver.limit"]
matrix = [[1, 0.5], [0.5, 1]]
"""
)


def reference_managed(scenario: Scenario, draws: Draws) -> dict:
    """The monthly management loop, path by path, in plain Python floats."""
    H, n, floor = scenario.horizon_months, draws.n, scenario.floor
    inp, noise = draws.inputs, draws.noise
    planned = {k: v.tolist() for k, v in line_amounts(scenario, draws).items()}
    kind = {line.name: line.kind for line in scenario.lines}
    shares: dict[str, list[str]] = {}
    for line in scenario.lines:
        if line.share_of is not None:
            shares.setdefault(line.share_of, []).append(line.name)

    def family(name: str) -> list[str]:  # a line and every line (transitively) a share of it
        return [name] + [x for child in shares.get(name, ()) for x in family(child)]

    actions, bridges, credit = scenario.actions, scenario.bridges, scenario.credit
    out = {k: np.zeros((n, H)) for k in ("revenue", "costs", "funding", "cash")}
    out["fired"] = {a.name: np.full(n, H) for a in actions}
    out["fires"] = {a.name: np.zeros(n, dtype=int) for a in actions}
    out["triggered"] = {b.name: np.full(n, H) for b in bridges}
    out["arrived"] = {b.name: np.full(n, H) for b in bridges}
    out["balance"] = {c.name: np.zeros((n, H)) for c in credit}
    out["interest"] = {c.name: np.zeros((n, H)) for c in credit}

    def per_path(item, key: str, i: int, default: float = 0.0) -> float:
        """A per-path input of an action or credit line (``default`` when the key is not set)."""
        if getattr(item, key) is None:
            return default
        return _value(inp[f"{item.name}.{key}"], i, 0)

    def available(c, t: int) -> bool:
        return c.available_from <= t and (c.until is None or t < c.until)

    for i in range(n):
        fixed, oneoff = [0.0] * H, [0.0] * H
        for event in scenario.events:
            if isinstance(event, Funding) and event.when is None:
                m = _hit_month(scenario, draws, event, i)
                if m is not None:
                    fixed[m] += _value(inp[f"{event.name}.amount"], i, m)
            elif isinstance(event, Shock) and event.amount is not None:
                for t in range(H):
                    if event.per == "month":
                        hit = bool(noise[f"{event.name}:hits"][i, t])
                    else:
                        hit = t == _hit_month(scenario, draws, event, i)
                    if hit:
                        oneoff[t] += _value(inp[f"{event.name}.amount"], i, t)
        factor = {a.name: per_path(a, "factor", i, 1.0) for a in actions}
        cost = {a.name: per_path(a, "cost", i) for a in actions}
        lag = {a.name: math.floor(per_path(a, "lag_months", i)) for a in actions}
        limit = {c.name: per_path(c, "limit", i) for c in credit}
        rate = {c.name: per_path(c, "interest", i) for c in credit}
        mult = {line.name: 1.0 for line in scenario.lines}
        pending: dict[str, int | None] = {a.name: None for a in actions}
        last: dict[str, int | None] = {a.name: None for a in actions}
        count = {a.name: 0 for a in actions}
        done = {b.name: False for b in bridges}
        bridge_money = [0.0] * H
        balance = {c.name: 0.0 for c in credit}
        burns: list[float] = []
        cash = _value(inp["starting_cash"], i, 0)
        for t in range(H):
            # 1. effects starting this month
            action_costs = 0.0
            for a in actions:
                if pending[a.name] == t:
                    pending[a.name] = None
                    for name in a.lines:
                        for x in family(name):
                            mult[x] *= factor[a.name]
                    for name in a.stop:
                        for x in family(name):
                            mult[x] = 0.0
                    action_costs += cost[a.name]
            # 2. revenue and costs
            revenue = sum(mult[k] * v[i][t] for k, v in planned.items() if kind[k] == "revenue")
            costs = sum(mult[k] * v[i][t] for k, v in planned.items() if kind[k] == "cost")
            costs += oneoff[t] + action_costs
            # 3. interest on last month's balance
            for c in credit:
                charge = balance[c.name] * rate[c.name] / 12.0
                out["interest"][c.name][i, t] = charge
                costs += charge
            # 4-5. funding, net flow, cash
            funding = fixed[t] + bridge_money[t]
            net = revenue - costs + funding
            cash = cash + net
            # 6. credit lines
            room = net
            for c in credit:
                b = balance[c.name]
                if c.until is not None and t == c.until:
                    cash -= b
                    balance[c.name] = 0.0
                elif available(c, t):
                    if cash < floor:
                        need = floor - cash
                        d = max(min(need, limit[c.name] - b), 0.0)
                        balance[c.name] = b + d
                        cash = floor if d == need else cash + d
                    elif c.repay == "cash_flow" and b > 0:
                        r = min(b, max(room, 0.0), cash - floor)
                        balance[c.name] = b - r
                        cash -= r
                        room -= r
                out["balance"][c.name][i, t] = balance[c.name]
            out["revenue"][i, t], out["costs"][i, t] = revenue, costs
            out["funding"][i, t], out["cash"][i, t] = funding, cash
            # 8. conditions on the month's closing figures
            burns.append(costs - revenue)
            k = min(3, t + 1)
            burn = sum(burns[-k:]) / k
            liquidity = cash + sum(
                limit[c.name] - balance[c.name] for c in credit if available(c, t)
            )
            runway = (liquidity - floor) / burn if burn > 0 else math.inf

            def holds(cond, t=t, cash=cash, runway=runway) -> bool:
                value = cash if cond.measure == "cash" else runway
                in_window = cond.after <= t and (cond.until is None or t <= cond.until)
                return value < cond.threshold and in_window

            for a in actions:
                if not holds(a.when) or pending[a.name] is not None:
                    continue
                if count[a.name] == 0 or (not a.once and t >= last[a.name] + a.cooldown_months):
                    count[a.name] += 1
                    if count[a.name] == 1:
                        out["fired"][a.name][i] = t
                    e = t + lag[a.name]
                    last[a.name] = e
                    pending[a.name] = e if e < H else None
            for bridge in bridges:
                if done[bridge.name] or not holds(bridge.when):
                    continue
                done[bridge.name] = True
                out["triggered"][bridge.name][i] = t
                p = _value(inp[f"{bridge.name}.probability"], i, 0)
                if _value(noise[f"{bridge.name}:u"], i, 0) < p:
                    when = t + math.floor(_value(inp[f"{bridge.name}.delay_months"], i, 0))
                    if when < H:
                        bridge_money[when] += _value(inp[f"{bridge.name}.amount"], i, when)
                        out["arrived"][bridge.name][i] = when
        for a in actions:
            out["fires"][a.name][i] = count[a.name]
    return out


def _close(actual: np.ndarray, expected: np.ndarray) -> None:
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


def test_matches_per_path_reference(tmp_path) -> None:
    """Every output of every path equals the plain-Python loop on the same draws."""
    scenario = load(STOCHASTIC, tmp_path)
    assert [a.name for a in scenario.actions] == ["cut_costs", "trim"]
    assert [b.name for b in scenario.bridges] == ["bridge"]
    assert [c.name for c in scenario.credit] == ["revolver"]
    draws = draw_batch(scenario, 1500, np.random.SeedSequence(20240601))
    flows = simulate_flows(scenario, draws, keep_funding=True)
    expected = reference_managed(scenario, draws)
    for key in ("revenue", "costs", "funding", "cash"):
        _close(getattr(flows, key), expected[key])
    m = flows.management
    for key in ("fired", "fires", "triggered", "arrived"):
        got = getattr(m, key)
        assert set(got) == set(expected[key]), key
        for name, value in expected[key].items():
            np.testing.assert_array_equal(got[name], value, err_msg=f"{key}[{name}]")
    for key in ("balance", "interest"):
        for name, value in expected[key].items():
            _close(getattr(m, key)[name], value)
    # Every feature was exercised on these paths.
    H = scenario.horizon_months
    fired, fires = expected["fired"], expected["fires"]
    assert (fired["cut_costs"] == H).any() and len(set(fired["cut_costs"])) > 10
    assert (fires["trim"] >= 2).any() and (fires["trim"] == 1).any()
    assert ((fired["trim"] < H) & (fired["cut_costs"] < H)).any()
    assert 0.1 < (expected["triggered"]["bridge"] < H).mean() < 0.95
    arrived = expected["arrived"]["bridge"]
    assert len(set((arrived - expected["triggered"]["bridge"])[arrived < H])) == 3
    bal = expected["balance"]["revolver"]
    assert (bal[:, 25] > 0).any() and (bal[:, 26:] == 0).all()  # matures in 2026-03 (26)
    assert (np.diff(bal, axis=1)[:, :25] < 0).any()  # repaid from cash flow
    limit = np.broadcast_to(draws.inputs["revolver.limit"], (draws.n, 1))
    assert np.isclose(bal, limit).any()  # exhausted somewhere
    ruin = ruin_months(flows.cash, scenario.floor)
    assert 0.05 < (ruin < H).mean() < 0.95


# --- 5. a disabled action changes nothing ----------------------------------------------------

PLAIN = STOCHASTIC.split("[events.bridge]")[0]


def _old_model() -> types.ModuleType | None:
    """``cashflow/model.py`` as it was before management (blob e1f3036), or None."""
    # a module renamed since (its functions unchanged): imported by its current name
    renames = {"distributions._checks": "distributions._require"}
    return module_from_git("e1f3036eec36260f6d528cb396a623ce35e40d5e", "old_model", renames)


def test_disabled_action_changes_nothing(tmp_path) -> None:
    disabled = (
        PLAIN
        + """
[actions.cut_costs]
when = "cash < 100"
lines = ["staff"]
factor = 0.1
cost = 5
enabled = false

[credit.revolver]
limit = 100
interest = 0.1
enabled = false
"""
    )
    plain, off = load(PLAIN, tmp_path), load(disabled, tmp_path)
    assert not plain.managed and not off.managed
    assert off.actions == () and off.credit == ()
    seed = np.random.SeedSequence(99)
    a = simulate_flows(plain, draw_batch(plain, 300, seed), keep_funding=True)
    b = simulate_flows(off, draw_batch(off, 300, seed), keep_funding=True)
    assert a.management is None and b.management is None
    for key in ("revenue", "costs", "funding", "cash"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key), err_msg=key)
    old = _old_model()
    if old is None:
        pytest.skip("git or the pre-management model.py blob is not available")
    before = old.simulate_flows(plain, draw_batch(plain, 300, seed), keep_funding=True)
    for key in ("revenue", "costs", "funding", "cash"):
        np.testing.assert_array_equal(getattr(a, key), getattr(before, key), err_msg=key)
