"""Sobol sensitivity (engine.sensitivity): analytic indices of an additive model, output
parsing, the evaluation budget, the table / CSV, and the chart."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cashflow.parse import load_scenario
from distributions.errors import UsageError
from engine.sensitivity import (
    BATCH_ROWS,
    evaluations_for,
    factors_of,
    parse_output,
    sensitivity,
)
from reports.sensitivity_chart import draw_sensitivity

S_REV, S_COST = 0.1, 0.2  # sd of the revenue and cost lines' (constant) monthly amounts
S_CASH = 0.5  # sd of the starting cash

# Revenue R and cost C are drawn once per path and stay flat (growth 0, no noise), so
#   loss 2024   = 12 (C - R)                  (starting cash and the 2025 round do not enter)
#   cash 2024-06 = cash0 + 6 (R - C)           (the round arrives in 2025-06: does not enter)
# with independent normal R, C, cash0: S_i = c_i^2 Var(X_i) / Var(Y), first order = total.
ADDITIVE = f"""
name = "Additive"
description = "A linear test model"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = {{ dist = "normal", mean = 10, sd = {S_CASH} }}

[lines.sales]
kind = "revenue"
start = {{ dist = "normal", mean = 1.0, sd = {S_REV} }}
growth = 0

[lines.costs]
kind = "cost"
start = {{ dist = "normal", mean = 2.0, sd = {S_COST} }}
growth = 0

[events.round]
kind = "funding"
probability = 0.5
amount = {{ dist = "normal", mean = 20, sd = 3 }}
month = "2025-06"
"""

FACTORS = ["starting_cash", "sales.start", "costs.start", "round.amount", "round (closes)"]


@pytest.fixture(scope="module")
def additive(tmp_path_factory):
    path = tmp_path_factory.mktemp("sens") / "additive.toml"
    path.write_text(ADDITIVE)
    return load_scenario(path)


def paths_for(d: int, rows: int = 2**14) -> int:
    return rows * (d + 2)


def check_index(name: str, est: float, low: float, high: float, analytic: float) -> None:
    """The analytic value lies within the bootstrap CI widened by half its width on each side
    (a 95% CI is ~±2 standard errors; widened, ~±3: robust to the seed, still tight)."""
    margin = 0.5 * (high - low) + 1e-3
    assert low - margin <= analytic <= high + margin, (name, est, low, high, analytic)
    assert high - low < 0.1, (name, low, high)  # informative intervals


def test_factors_include_event_occurrence(additive):
    assert [f.name for f in factors_of(additive)] == FACTORS


@pytest.mark.parametrize(
    "output, weights",
    [
        # loss 2024 = 12 (C - R): weights of (cash0, R, C)
        ("loss 2024", (0.0, 12.0, 12.0)),
        ("cash 2024-06", (1.0, 6.0, 6.0)),
    ],
)
def test_additive_model_matches_analytic_indices(additive, output, weights):
    sds = np.array([S_CASH, S_REV, S_COST])
    parts = (np.array(weights) * sds) ** 2
    analytic = dict(zip(FACTORS[:3], parts / parts.sum(), strict=True))
    analytic["round.amount"] = analytic["round (closes)"] = 0.0  # do not enter this output

    d = len(FACTORS)
    res = sensitivity(additive, output, paths=paths_for(d), seed=11, n_resamples=200)
    assert res.inputs == tuple(FACTORS)
    assert res.rows == 2**14 and res.evaluations == 2**14 * (d + 2)
    for i, name in enumerate(res.inputs):
        s = analytic[name]
        check_index(name, res.first_order[i], res.first_low[i], res.first_high[i], s)
        check_index(name, res.total[i], res.total_low[i], res.total_high[i], s)
        if s == 0.0:  # an input that does not enter the output: indices near 0
            for est, low, high in (
                (res.first_order[i], res.first_low[i], res.first_high[i]),
                (res.total[i], res.total_low[i], res.total_high[i]),
            ):
                assert abs(est) < 0.5 * (high - low) + 0.02, (name, est)
    # Additive: first order = total, and the first-order indices add up to 1.
    assert math.isclose(float(np.sum(res.first_order)), 1.0, abs_tol=0.05)


def test_month_to_month_noise_is_an_unreported_factor(tmp_path):
    # Volatility v on the revenue line: loss 2024 = 12 C - R S, with S the sum of 12 lognormal
    # factors (mean 1, Var(S) = 12 (e^(v^2) - 1)) drawn as noise, shared by rows j of A and AB_i.
    # First order of R: Var(E[Y | R]) / Var(Y) = 144 Var(R) / Var(Y). Total of R, with the noise
    # held fixed: E[Var(Y | C, noise)] / Var(Y) = Var(R) E[S^2] / Var(Y) (its interaction with
    # the noise included). The first-order indices leave mean(R)^2 Var(S) / Var(Y) to the noise.
    vol = 0.3
    path = tmp_path / "noisy.toml"
    path.write_text(
        ADDITIVE.replace(
            "growth = 0\n\n[lines.costs]", f"growth = 0\nvolatility = {vol}\n\n[lines.costs]"
        )
    )
    scenario = load_scenario(path)
    var_s = 12 * math.expm1(vol**2)
    var_rs = (1 + S_REV**2) * (144 + var_s) - 144
    var_y = 144 * S_COST**2 + var_rs
    expected = {
        "sales.start": (144 * S_REV**2 / var_y, S_REV**2 * (144 + var_s) / var_y),
        "costs.start": (144 * S_COST**2 / var_y,) * 2,
        "starting_cash": (0.0, 0.0),
    }
    res = sensitivity(scenario, "loss 2024", paths=paths_for(5), seed=8)
    for name, (first, total) in expected.items():
        i = res.inputs.index(name)
        check_index(name, res.first_order[i], res.first_low[i], res.first_high[i], first)
        check_index(name, res.total[i], res.total_low[i], res.total_high[i], total)
    noise_share = var_s / var_y
    assert math.isclose(1 - float(np.sum(res.first_order)), noise_share, abs_tol=0.03)


def test_per_month_shock_probability_is_a_factor(tmp_path):
    # Monthly hits are compared with the probability *factor* (not the base draw's): a cost of
    # 1 in each month hit with probability p ~ U(0, 0.8) dominates the 2024 loss.
    text = (
        ADDITIVE
        + """
[events.outage]
kind = "shock"
per = "month"
probability = { dist = "uniform", low = 0, high = 0.8 }
amount = 1
"""
    )
    path = tmp_path / "shock.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    res = sensitivity(scenario, "loss 2024", paths=paths_for(6, 2**12), seed=1)
    # Var(12 p) = 144 * 0.64 / 12 = 7.68; binomial noise E[12 p (1 - p)] = 12 (0.4 - 0.2133)
    # = 2.24; the lines 144 (0.01 + 0.04) = 7.2: S(p) = 7.68 / 17.12 = 0.449.
    i = res.inputs.index("outage.probability")
    check_index("outage.probability", res.first_order[i], *res_ci(res, i, "first"), 0.449)


def res_ci(res, i: int, which: str) -> tuple[float, float]:
    return (getattr(res, f"{which}_low")[i], getattr(res, f"{which}_high")[i])


def test_loss_indices_of_starting_cash_are_exactly_zero(additive):
    # cash0 does not enter the year's net loss at all: f_AB == f_A for its column.
    res = sensitivity(additive, "loss 2024", paths=paths_for(5, 2**8), seed=3, n_resamples=50)
    i = res.inputs.index("starting_cash")
    assert res.total[i] == 0.0 and res.total_low[i] == 0.0 and res.total_high[i] == 0.0


def test_result_is_reproducible_and_seed_dependent(additive):
    kw = {"paths": paths_for(5, 2**9), "n_resamples": 20}
    a = sensitivity(additive, "cash 2024-06", seed=5, **kw)
    b = sensitivity(additive, "cash 2024-06", seed=5, **kw)
    c = sensitivity(additive, "cash 2024-06", seed=6, **kw)
    np.testing.assert_array_equal(a.first_order, b.first_order)
    np.testing.assert_array_equal(a.total_high, b.total_high)
    assert not np.array_equal(a.first_order, c.first_order)
    assert a.seed == 5


@pytest.mark.parametrize("jobs", [2, -1])
def test_threads_do_not_change_the_result(additive, monkeypatch, jobs):
    # Model evaluations on several threads (each batch's bases and evaluations) fill the same
    # rows with the same numbers as one thread, over several batches.
    monkeypatch.setattr("engine.sensitivity.BATCH_ROWS", 200)
    kw = {"paths": paths_for(5, 2**10), "seed": 8, "n_resamples": 20}
    one = sensitivity(additive, "before 2025-01-01", jobs=1, **kw)
    more = sensitivity(additive, "before 2025-01-01", jobs=jobs, **kw)
    for field in ("first_order", "total", "first_low", "total_high"):
        np.testing.assert_array_equal(getattr(one, field), getattr(more, field))
    assert (one.mean, one.std) == (more.mean, more.std)


def test_before_output_is_an_indicator(additive):
    # Cash 10 +- 0.5 falls by 1 +- 0.22 a month: it runs out in month 9 or 10 or so; the round
    # (2025-06) comes too late for 'before 2025-01-01'.
    res = sensitivity(additive, "before 2025-01-01", paths=paths_for(5, 2**10), seed=1)
    assert 0.0 < res.mean < 1.0
    assert math.isclose(res.std, math.sqrt(res.mean * (1 - res.mean)), rel_tol=1e-9)
    for name in ("round.amount", "round (closes)"):
        assert res.total[res.inputs.index(name)] == 0.0


# --------------------------------------------------------------------------------------------
# Outputs


def test_parse_output_forms(additive):
    o = parse_output("before 2026-01-01", additive)
    assert (o.kind, o.month, o.text) == ("before", 24, "before 2026-01-01")
    o = parse_output("  BEFORE   2024-02-01 ", additive)
    assert (o.kind, o.month) == ("before", 1)
    o = parse_output("cash 2025-12", additive)
    assert (o.kind, o.month, o.text) == ("cash", 23, "cash 2025-12")
    o = parse_output("cash 2024-01", additive)
    assert o.month == 0
    o = parse_output("loss 2024", additive)
    assert (o.kind, o.year, o.months) == ("loss", 2024, slice(0, 12))
    assert parse_output("loss 2025", additive).months == slice(12, 24)
    assert parse_output(o, additive) is o


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "expected a kind"),
        ("before", "expected a kind"),
        ("before 2026-01-01 extra", "expected a kind"),
        ("after 2026-01-01", "unknown kind 'after'"),
        ("before 2026-13-01", "not a date"),
        ("before 2024-01-01", "outside the simulated horizon"),
        ("before 2026-02-01", "outside the simulated horizon"),
        ("cash 2025", "not a month"),
        ("cash 2025-13", "not a month"),
        ("cash 2023-12", "outside the simulated horizon (2024-01 to 2025-12)"),
        ("cash 2026-01", "outside the simulated horizon"),
        ("loss 24", "not a year"),
        ("loss 2026", "outside the simulated horizon (years 2024 to 2025)"),
    ],
)
def test_parse_output_errors(additive, text, fragment):
    with pytest.raises(UsageError) as err:
        parse_output(text, additive)
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message
    assert "'before 2026-01-01', 'cash 2025-12' or 'loss 2024'" in message


def test_bad_output_is_refused_before_any_evaluation(additive):
    with pytest.raises(UsageError, match="unknown kind"):
        sensitivity(additive, "runway 2025", paths=10**9, seed=1)


# --------------------------------------------------------------------------------------------
# Budget


def test_evaluations_never_exceed_paths():
    for d in range(1, 40):
        for paths in (*range(1, 300), 1000, 12_345, 200_000, 10**6, 10**9 + 7):
            e = evaluations_for(paths, d)
            assert 0 <= e <= paths
            if e:
                n = e // (d + 2)
                assert e == n * (d + 2) and n & (n - 1) == 0
                assert 2 * n * (d + 2) > paths  # the largest power of two that fits
            else:
                assert paths < d + 2
    assert evaluations_for(200_000, 13) == 8192 * 15


def test_too_few_paths_is_one_line(additive):
    with pytest.raises(UsageError, match=r"^paths 100 is too few"):
        sensitivity(additive, "loss 2024", paths=100, seed=1)


def test_batches_cover_every_row(additive, monkeypatch):
    # Rows evaluated in several batches (each with its own noise): every row is filled and
    # the estimates stay finite and sane.
    monkeypatch.setattr("engine.sensitivity.BATCH_ROWS", 100)
    res = sensitivity(additive, "loss 2024", paths=paths_for(5, 2**9), seed=2, n_resamples=20)
    assert BATCH_ROWS == 65_536
    assert np.all(np.isfinite(res.first_order)) and np.all(np.isfinite(res.total))
    i = res.inputs.index("costs.start")
    assert 0.6 < res.total[i] < 1.0


# --------------------------------------------------------------------------------------------
# Table, text, CSV, chart


def test_table_text_csv_and_chart(additive, tmp_path):
    res = sensitivity(additive, "cash 2024-06", paths=paths_for(5, 2**10), seed=4)
    table = res.table()
    assert list(table.columns) == [
        "input",
        "first_order",
        "first_low",
        "first_high",
        "total",
        "total_low",
        "total_high",
    ]
    assert list(table["total"]) == sorted(table["total"], reverse=True)
    assert table["input"].iloc[0] == "costs.start"

    text = res.text()
    assert f"{res.evaluations:,} model evaluations" in text
    assert text.index("costs.start") < text.index("sales.start") < text.index("round.amount")

    path = res.write_csv(tmp_path / "run")
    assert path.name == "sensitivity.csv"
    back = pd.read_csv(path)
    assert list(back["input"]) == list(table["input"])
    np.testing.assert_allclose(back["total"], table["total"], rtol=1e-5, atol=1e-9)
    assert [p.name for p in path.parent.iterdir()] == ["sensitivity.csv"]

    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    assert draw_sensitivity(ax, table, title=res.description, max_inputs=3) is ax
    # Largest total on top: the first tick (set top to bottom) is the table's first row.
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = list(ax.get_yticks())
    assert labels == list(table["input"][:3]) and ticks == sorted(ticks, reverse=True)
    fig.savefig(tmp_path / "chart.png")
    assert (tmp_path / "chart.png").stat().st_size > 1000


def test_a_step_that_may_not_happen_is_a_factor(tmp_path):
    """A step of 1.0 a month from the first month on the cost line, on half the paths (B ~
    Bernoulli(0.5)): loss 2024 = 12 (C - R) + 12 B, so Var = 144 (S_COST^2 + S_REV^2) + 36 and
    each index is its share (additive: first order = total)."""
    text = ADDITIVE.replace(
        "growth = 0\n\n[events.round]",
        'growth = 0\nsteps = [ { month = "2024-01", add = 1.0, probability = 0.5 } ]\n\n'
        "[events.round]",
    )
    assert text.count("steps") == 1
    path = tmp_path / "steps.toml"
    path.write_text(text)
    scenario = load_scenario(path)
    names = [f.name for f in factors_of(scenario)]
    assert names == [*FACTORS, "costs.steps[0] (happens)"]

    parts = {"sales.start": 144 * S_REV**2, "costs.start": 144 * S_COST**2}
    parts["costs.steps[0] (happens)"] = 144 * 0.25
    total = sum(parts.values())
    res = sensitivity(scenario, "loss 2024", paths=paths_for(len(names)), seed=5, n_resamples=200)
    for i, name in enumerate(res.inputs):
        s = parts.get(name, 0.0) / total
        check_index(name, res.first_order[i], res.first_low[i], res.first_high[i], s)
        check_index(name, res.total[i], res.total_low[i], res.total_high[i], s)
    # a step that always happens is no factor
    fixed = tmp_path / "fixed.toml"
    fixed.write_text(text.replace("probability = 0.5 }", "probability = 1 }"))
    assert [f.name for f in factors_of(load_scenario(fixed))] == FACTORS
