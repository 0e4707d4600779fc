"""A company's own plan in the vectorized model (windows, monthly plans, steps, seasonality,
late cash) against the per-path reference of tests/per_path.py, and scenarios without these
keys against the model as it was before them.

Every expected number comes from :func:`per_path.reference_flows` (plain Python, one path at a
time, written from docs/scenario-format.md) or from the earlier model's own source; none from
the vectorized model.
"""

from __future__ import annotations

import pathlib
import tomllib
import types

import numpy as np
import pytest
from per_path import assert_close, assert_matches_reference, module_from_git, reference_flows

from cashflow.draws import draw_batch
from cashflow.model import explain_overflow, simulate_flows
from cashflow.parse import parse_scenario
from cashflow.scenario import Scenario

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Start 2024-07 (seasonality does not start in January); 30 months: 2024-07 to 2026-12.
EVERY_KEY = """
name = "every plan key"
unit = "USD thousand"
start = "2024-07"
horizon_months = 30
starting_cash = { dist = "normal", mean = 400, sd = 60 }

[lines.api]
kind = "revenue"
start = { dist = "lognormal", median = 20, sigma = 0.2 }
growth = { dist = "normal", mean = 0.04, sd = 0.02 }
growth_noise = 0.03
volatility = 0.05
from = { dist = "discrete", values = ["2024-07", "2024-09", "2025-01"], probs = [0.3, 0.4, 0.3] }
until = "2026-06"
seasonality = [0.8, 0.9, 1.0, 1.0, 1.0, 0.9, 0.7, 0.8, 1.1, 1.2, 1.3, 1.5]
collection.delay_months = { dist = "discrete", values = [0, 1, 2, 3] }
collection.bad_debt = { dist = "uniform", low = 0, high = 0.1 }

[[lines.api.steps]]
month = { dist = "discrete", values = ["2025-02", "2025-05"] }
add = { dist = "uniform", low = 2, high = 6 }
probability = 0.6

[[lines.api.steps]]
month = "2026-01"
add = -3

[lines.launch]
kind = "revenue"
plan = { "2024-10" = 5, "2024-11" = 8, "2024-12" = 12, "2025-01" = 15 }
from = "2024-10"
after_plan = "growth"
growth = { dist = "normal", mean = 0.05, sd = 0.01 }
growth_noise = 0.02
plan_scale = { dist = "pert", min = 0.5, mode = 0.9, max = 1.2 }
plan_delay = { dist = "discrete", values = [0, 1, 3], probs = [0.5, 0.3, 0.2] }
volatility = { dist = "uniform", low = 0, high = 0.1, vary = "month" }
collection = { delay_months = 2 }

[lines.payroll]
kind = "cost"
plan = { csv = "budget.csv", column = "payroll", month_column = "month" }
payment = { delay_months = { dist = "discrete", values = [0, 1] } }
scale = { dist = "uniform", low = 0.95, high = 1.1, vary = "year" }

[[lines.payroll.steps]]
month = "2024-10"
add = 12

[[lines.payroll.steps]]
month = "2025-03"
add = { dist = "uniform", low = 6, high = 10 }
probability = { dist = "uniform", low = 0.3, high = 0.9 }

[lines.cloud]
kind = "cost"
share_of = "api"
ratio = { dist = "uniform", low = 0.3, high = 0.5 }
from = "2024-08"
until = "2026-09"
seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 2]
payment = { delay_months = 1 }

[lines.rent]
kind = "cost"
schedule = { 2024 = 60, 2025 = "100 to 130", 2026 = 140 }
until = "2026-03"
seasonality = [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]

[lines.staff]
kind = "cost"
start = { dist = "normal", mean = 30, sd = 2, vary = "month" }
growth = { dist = "normal", mean = 0.1, sd = 0.05, vary = "year" }
growth_per = "year"
from = "2025-02"

[lines.office]
kind = "cost"
start = 8
growth = 0.01
from = { dist = "discrete", values = ["2024-08", "2025-06"] }

[events.seed]
kind = "funding"
probability = 0.6
amount = { dist = "uniform", low = 200, high = 400 }
month = { dist = "discrete", values = ["2025-03", "2025-06"] }

[events.price_cut]
kind = "shock"
per = "month"
probability = 0.05
line = "launch"
factor = { dist = "uniform", low = 0.9, high = 0.98 }

[events.churn]
kind = "shock"
probability = 0.5
line = "api"
factor = 0.8

[events.outage]
kind = "shock"
per = "month"
probability = 0.1
amount = { dist = "exponential", mean = 5 }

[correlations]
pairs = [["api.from", "launch.plan_delay", 0.5], ["api.steps[0].add", "launch.plan_scale", -0.3]]
"""

BUDGET = "month,payroll,cloud\n" + "".join(
    f"{2024 + (6 + k) // 12}-{(6 + k) % 12 + 1:02d},{60 + 2 * k},{10 + k}\n" for k in range(30)
)


def load(text: str, tmp_path: pathlib.Path) -> Scenario:
    (tmp_path / "budget.csv").write_text(BUDGET)
    return parse_scenario(tomllib.loads(text), file="t.toml", base_dir=tmp_path)


@pytest.mark.parametrize("sampler", ["mc", "sobol"])
def test_every_new_key_matches_the_per_path_reference(tmp_path, sampler) -> None:
    scenario = load(EVERY_KEY, tmp_path)
    assert scenario.correlation is not None and not scenario.managed
    draws = draw_batch(scenario, 400, np.random.SeedSequence(20240701), sampler)
    # the memory layout changes nothing
    _, expected, expected_lines = assert_matches_reference(scenario, draws)
    assert explain_overflow(scenario, draws) is None
    # Every feature was exercised on these paths: each value of every per-path month, step
    # happening and not, cash arriving later than it accrues.
    inp = draws.inputs
    for name, count in [
        ("api.from", 3),
        ("api.collection.delay_months", 4),
        ("launch.plan_delay", 3),
        ("payroll.payment.delay_months", 2),
        ("api.steps[0].month", 2),
        ("office.from", 2),
    ]:
        assert len(np.unique(inp[name])) == count, name
    u = draws.noise["api.steps[0]:u"]
    assert (u < 0.6).any() and (u >= 0.6).any()
    u = draws.noise["payroll.steps[1]:u"]
    p = inp["payroll.steps[1].probability"]
    assert (u < p).any() and (u >= p).any()
    assert not np.allclose(
        expected["cash"],
        draws.inputs["starting_cash"]
        + np.cumsum(expected["revenue"] - expected["costs"] + expected["funding"], axis=1),
    )
    launch = expected_lines["launch"]  # the plan slips: zero before 2024-10 + delay
    delay = np.floor(inp["launch.plan_delay"][:, 0]).astype(int)
    for d in (0, 1, 3):
        rows = delay == d
        assert (launch[rows, : 3 + d] == 0).all() and (launch[rows, 3 + d] > 0).all()


def test_a_managed_scenario_takes_the_cash_months(tmp_path) -> None:
    """With a credit line that can never be drawn (limit 0), management changes nothing: the
    managed loop must see the same cash flow as the plain model (collections included)."""
    text = EVERY_KEY.split("[events.seed]")[0] + "\n[credit.none]\nlimit = 0\ninterest = 0\n"
    scenario = load(text, tmp_path)
    assert scenario.managed
    draws = draw_batch(scenario, 300, np.random.SeedSequence(5))
    flows = simulate_flows(scenario, draws, keep_funding=True)
    expected, _ = reference_flows(scenario, draws)
    for key in ("revenue", "costs", "cash"):
        assert_close(getattr(flows, key), expected[key])
    assert (flows.cash < 0).any()  # cash does run out on some paths: the floor is reached


# --- scenarios without the new keys: as before --------------------------------------------

#: cashflow/model.py before plans, windows, steps, seasonality and late cash (commit 94ac501).
BEFORE_PLANS = "c3fe83722b938626249a1733a8a65413f51fde7e"


def _model_before_plans() -> types.ModuleType | None:
    try:
        return module_from_git(BEFORE_PLANS, "model_before_plans")
    except ImportError:  # a module it imports has changed since: nothing left to compare
        return None


@pytest.mark.parametrize(
    "scenario_file",
    ["scenarios/openai_2024.toml", "scenarios/bench_runway.toml", "tests/good/every_feature.toml"],
)
def test_scenarios_without_plans_are_bit_identical_to_before(scenario_file) -> None:
    from cashflow.parse import load_scenario

    with pytest.warns() if "every_feature" in scenario_file else _nothing():
        scenario = load_scenario(ROOT / scenario_file)
    before = _model_before_plans()
    if before is None:
        pytest.skip("git or the model.py blob from before plans is not available")
    draws = draw_batch(scenario, 500, np.random.SeedSequence(2024))
    now = simulate_flows(scenario, draws, keep_funding=True)
    then = before.simulate_flows(scenario, draws, keep_funding=True)
    for key in ("revenue", "costs", "funding", "cash"):
        np.testing.assert_array_equal(getattr(now, key), getattr(then, key), err_msg=key)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


# --- amounts out of range: the plan keys are named ------------------------------------------


@pytest.mark.parametrize(
    ("line", "path", "message"),
    [
        (
            'plan = { "2024-07" = 1e99 }\nafter_plan = "growth"\ngrowth = 100\n',
            "lines.x",
            "amounts go beyond ±1e100 (the largest amount supported) in 2024-08 on some paths; "
            "caused by its plan (the plan, then growth = 100); check its distribution",
        ),
        (
            'start = 1\nsteps = [{ month = "2024-09", add = { dist = "uniform", low = 1e99, '
            "high = 1e101 } }]\n",
            "lines.x.steps[0].add",
            "uniform(low=1e+99, high=1e+101) draws values that go beyond ±1e100 (the largest "
            "amount supported) on some paths; check its distribution",
        ),
        (
            "start = 1e99\nseasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 100]\n",
            "lines.x",
            "amounts go beyond ±1e100 (the largest amount supported) in 2024-12 on some paths; "
            "caused by its seasonality; check its distribution",
        ),
    ],
)
def test_overflow_names_the_plan_keys(tmp_path, line, path, message) -> None:
    text = (
        'name = "o"\nunit = "USD"\nstart = "2024-07"\nhorizon_months = 12\nstarting_cash = 1\n'
        f'[lines.x]\nkind = "cost"\n{line}'
    )
    scenario = load(text, tmp_path)
    draws = draw_batch(scenario, 50, np.random.SeedSequence(3))
    found = explain_overflow(scenario, draws)
    assert found is not None and (found.path, found.message) == (path, message)
