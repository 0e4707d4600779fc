"""Engine correctness against answers computed independently: closed forms, an exact density
recursion, the normal CDF. Fixed seeds; tolerances are 4 Monte Carlo standard errors."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import optimize, stats

from cashflow.scenario import Funding, Line, Scenario
from distributions import parse_spec
from distributions.errors import RunwayWarning, ScenarioError
from engine import memory
from engine.runner import (
    FAN_BINS,
    HIST_BINS,
    batch_size_for,
    batch_sizes,
    chunk_batches,
    local_backend,
    run,
)

K = 4.0  # standard errors


def scenario(**kw) -> Scenario:
    base = dict(
        name="test",
        description="",
        unit="USD million",
        start_year=2024,
        start_month=1,
        horizon_months=24,
        starting_cash=parse_spec(10.0, "starting_cash"),
    )
    base.update(kw)
    return Scenario(**base)


def cost(name: str, start, growth=None, **kw) -> Line:
    return Line(
        name=name,
        kind="cost",
        start=parse_spec(start, f"lines.{name}.start"),
        growth=None if growth is None else parse_spec(growth, f"lines.{name}.growth"),
        **kw,
    )


def assert_close(answer, exact: float) -> None:
    se = max(answer.std_error, math.sqrt(exact * (1 - exact) / answer.paths), 1e-12)
    assert abs(answer.probability - exact) <= K * se, (answer.probability, exact, se)


def test_deterministic_ruin_month_is_exact():
    # 10 in cash, burn 1.5 a month: cash[t] = 10 - 1.5 (t + 1) < 0 first at t = 6.
    s = scenario(lines=(cost("burn", 1.5),), questions=())
    res = run(s, paths=1000, seed=1, jobs=1)
    assert res.ruin_counts[6] == 1000 and res.ruin_counts.sum() == 1000
    assert res.probability_runs_out_before("2024-07-01").probability == 0.0  # t < 6
    assert res.probability_runs_out_before("2024-08-01").probability == 1.0  # t < 7
    assert res.runway_months(0.5) == 7
    fan = res.cash_fan()
    np.testing.assert_allclose(fan.p50, 10 - 1.5 * (np.arange(24) + 1), atol=1e-9)


def test_never_ruined_runway_is_beyond_the_horizon():
    s = scenario(lines=(cost("burn", 0.1),))
    res = run(s, paths=500, seed=1, jobs=1)
    assert res.never_runs_out == 1.0
    assert res.runway_months(0.5) == "beyond the horizon"
    assert res.survival().survival.min() == 1.0


def exact_first_passage(c0: float, mean: float, sd: float, months: int) -> np.ndarray:
    """P(min_{t < T} cash[t] < 0) for T = 1..months with iid Normal(mean, sd) monthly flows,
    by density recursion on a fine grid (independent of the engine)."""
    x = np.linspace(0, c0 + 12 * sd * math.sqrt(months) + abs(mean) * months, 8001)
    dx = x[1] - x[0]
    alive = stats.norm.pdf(x, c0 + mean, sd)  # density of cash[0] over the surviving region
    out = [1 - alive.sum() * dx]
    offsets = np.arange(-len(x) + 1, len(x)) * dx
    kernel = stats.norm.pdf(offsets, mean, sd) * dx
    for _ in range(1, months):
        alive = np.convolve(alive, kernel, mode="full")[len(x) - 1 : 2 * len(x) - 1]
        out.append(1 - alive.sum() * dx)
    return np.array(out)


def test_iid_normal_flows_match_density_recursion():
    mean, sd, c0 = -0.4, 1.0, 5.0
    revenue = Line(
        name="net",
        kind="revenue",
        start=parse_spec({"dist": "normal", "mean": mean, "sd": sd, "vary": "month"}, "x"),
    )
    s = scenario(starting_cash=parse_spec(c0, "c"), lines=(revenue,))
    res = run(s, paths=200_000, seed=11, jobs=1)
    exact = exact_first_passage(c0, mean, sd, 24)
    for months in (6, 12, 24):
        ans = res.probability_runs_out_before(f"{2024 + months // 12}-{months % 12 + 1:02d}-01")
        assert ans.months == months
        assert_close(ans, exact[months - 1])


def test_per_path_growth_rate_matches_normal_cdf():
    # Costs K0 (1+g)^t, g ~ Normal(mu, s) per path: runs out before month T iff
    # K0 * sum_{t<T} (1+g)^t > C, i.e. iff g > g*, so P = 1 - Phi((g* - mu) / s).
    c, k0, mu, s_g, months = 30.0, 1.0, 0.03, 0.02, 24
    line = cost("compute", k0, {"dist": "normal", "mean": mu, "sd": s_g})
    s = scenario(starting_cash=parse_spec(c, "c"), lines=(line,))
    res = run(s, paths=200_000, seed=5, jobs=1)

    def spent(g: float) -> float:
        return k0 * sum((1 + g) ** t for t in range(months)) - c

    g_star = optimize.brentq(spent, -0.5, 0.5, xtol=1e-14)
    exact = stats.norm.sf(g_star, mu, s_g)
    assert_close(res.probability_runs_out_before("2026-01-01"), exact)


def funding_mixture_scenario(sampler: str = "mc") -> tuple[Scenario, float]:
    # C0 ~ Uniform(4, 12), burn 1 a month; a raise of 6 arrives in month 5 with probability 0.6.
    # Without it: ruin before month 12 iff C0 - 12 < 0 ... i.e. iff C0 < 12 (certain, t < 12
    # reached at t = ceil(C0) - 1); with it: cash[t] = C0 + 6 - (t + 1) for t >= 5, ruin before
    # month 12 iff C0 + 6 < 12 iff C0 < 6, unless it ran out before month 5 (C0 < 5).
    s = scenario(
        starting_cash=parse_spec({"dist": "uniform", "low": 4, "high": 12}, "c"),
        lines=(cost("burn", 1.0),),
        events=(
            Funding(
                name="raise",
                probability=parse_spec(0.6, "p"),
                amount=parse_spec(6.0, "a"),
                month=parse_spec(5, "m"),
            ),
        ),
    )
    # P(ruin before month 12): without raise P(C0 < 12) = 1; with raise P(C0 < 6) = 0.25.
    exact = 0.4 * 1.0 + 0.6 * stats.uniform(4, 8).cdf(6)
    return s, exact


def test_funding_event_mixture():
    s, exact = funding_mixture_scenario()
    res = run(s, paths=100_000, seed=3, jobs=1)
    assert_close(res.probability_runs_out_before("2025-01-01"), exact)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_lhs_and_sobol_agree_with_mc(sampler):
    s, exact = funding_mixture_scenario()
    mc = run(s, paths=65_536, seed=8, jobs=1).probability_runs_out_before("2025-01-01")
    qmc = run(s, paths=65_536, seed=8, jobs=1, sampler=sampler).probability_runs_out_before(
        "2025-01-01"
    )
    se = math.hypot(mc.std_error, qmc.std_error)
    assert abs(mc.probability - qmc.probability) <= K * se
    assert_close(qmc, exact)


@pytest.mark.parametrize("backend", ["auto", "threads", "loky"])
def test_results_identical_whatever_the_number_of_jobs(backend):
    s, _ = funding_mixture_scenario()
    s = dataclasses.replace(s, questions=())
    one = run(s, paths=70_000, seed=21, jobs=1, batch_size=8192).summary()
    two = run(s, paths=70_000, seed=21, jobs=2, batch_size=8192, backend=backend).summary()
    assert "seconds" not in one  # timings live in the manifest: summaries compare exactly
    assert one == two


def test_threads_asked_for_over_the_budget_warn_in_one_line():
    s, _ = funding_mixture_scenario()
    s = dataclasses.replace(s, questions=())
    need = memory.threads_bytes(
        s, 8192, workers=2, per_chunk=chunk_batches(8192), hist_bins=HIST_BINS, fan_bins=FAN_BINS
    )
    args = {"paths": 20_000, "seed": 3, "jobs": 2, "batch_size": 8192, "memory_bytes": need - 1}
    with pytest.warns(RunwayWarning, match=r"^threads hold 2 batches in one process: about "):
        threads = run(s, backend="threads", **args).summary()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto takes processes here, and says nothing
        assert run(s, backend="auto", **args).summary() == threads


def test_local_backend_is_threads_only_when_every_batch_fits_the_budget():
    s, _ = funding_mixture_scenario()
    size = batch_size_for(s)
    per_chunk = chunk_batches(size)
    need = memory.threads_bytes(
        s, size, workers=2, per_chunk=per_chunk, hist_bins=HIST_BINS, fan_bins=FAN_BINS
    )
    assert need > 2 * size * memory.path_bytes(s)  # two batches and their histograms
    assert local_backend([s], size, 2, need) == "threads"
    assert local_backend([s], size, 2, need - 1) == "loky"
    longer = dataclasses.replace(s, horizon_months=2 * s.horizon_months)
    assert local_backend([s, longer], size, 2, need) == "loky"  # the largest scenario decides


def test_batch_sizes_bound_memory():
    assert batch_sizes(10, 4) == [4, 4, 2]
    lines = (cost("a", "1 to 2", 0.01), cost("b", 0.5))
    small = batch_size_for(scenario(lines=lines, horizon_months=36))
    big = batch_size_for(scenario(lines=lines, horizon_months=600))
    assert small == 2**16 and big < small  # more months: fewer paths per batch (engine/memory.py)


@pytest.mark.parametrize(("jobs", "backend"), [(1, "auto"), (2, "threads"), (2, "loky")])
def test_overflow_in_a_batch_names_the_line(jobs, backend):
    # Growing 500% a month for 600 months overflows: the run must stop, naming the line and
    # its growth; it is the scenario's fault (ScenarioError: exit code 2), not Runway's. With
    # two workers it is raised from a worker's chunk or this process's, as it is.
    s = scenario(lines=(cost("steady", 0.1), cost("explodes", 1.0, 5.0)), horizon_months=600)
    with pytest.raises(ScenarioError, match=r"^lines\.explodes: amounts go beyond .*growth"):
        run(
            s, paths=20_000, seed=1, jobs=jobs, backend=backend, batch_size=1024, memory_bytes=2**34
        )


def test_tables_carry_their_wilson_intervals_and_expected_range():
    """drivers, funding_effect and convergence give each probability its 95% Wilson interval
    (from the same counts), and convergence the range expected around the final answer."""
    from engine.results import Z95, wilson_interval

    s, _ = funding_mixture_scenario()
    res = run(s, paths=30_000, seed=5, jobs=1, batch_size=8192)
    before = "2025-01-01"

    d = res.drivers(before)
    assert list(d.columns[:6]) == ["input", "p_low", "p_high", "paths_low", "paths_high", "swing"]
    assert len(d)
    for side in ("low", "high"):
        p, n = d[f"p_{side}"].to_numpy(), d[f"paths_{side}"].to_numpy()
        lo, hi = wilson_interval(np.round(p * n), n)
        np.testing.assert_allclose(d[f"p_{side}_lo"], lo)
        np.testing.assert_allclose(d[f"p_{side}_hi"], hi)
        assert (d[f"p_{side}_lo"] <= p + 1e-12).all() and (p <= d[f"p_{side}_hi"] + 1e-12).all()

    f = res.funding_effect(before).iloc[0]
    closes = round(f["share_closes"] * res.paths)
    for case, n in (("closes", closes), ("not", res.paths - closes)):
        lo, hi = wilson_interval(round(f[f"p_if_{case}"] * n), n)
        assert f[f"ci_if_{case}_lo"] == pytest.approx(float(lo))
        assert f[f"ci_if_{case}_hi"] == pytest.approx(float(hi))
        tiny = 1e-12  # the interval of p = 1 ends at 1 - 2e-16
        assert f[f"ci_if_{case}_lo"] - tiny <= f[f"p_if_{case}"] <= f[f"ci_if_{case}_hi"] + tiny
        if 0 < f[f"p_if_{case}"] < 1:  # then close to p ± Z95 se at this many paths
            width = f[f"ci_if_{case}_hi"] - f[f"ci_if_{case}_lo"]
            assert width == pytest.approx(2 * Z95 * f[f"se_if_{case}"], rel=0.02)

    c = res.convergence(before)
    assert list(c["paths"]) == [8192, 16384, 24576, 30000]
    final = res.probability_runs_out_before(before).probability
    n = c["paths"].to_numpy()  # the running estimate shares its paths with the final one:
    half = Z95 * np.sqrt(final * (1 - final) / n * (1 - n / res.paths))  # finite-sample corr.
    np.testing.assert_allclose(c["expected_low"], np.clip(final - half, 0, 1))
    np.testing.assert_allclose(c["expected_high"], np.clip(final + half, 0, 1))
    grid = res.expected_range(before, np.array([1000.0, 30_000.0]))
    assert grid["expected_high"].iloc[0] > grid["expected_high"].iloc[1]
    assert grid["expected_low"].iloc[1] == pytest.approx(c["expected_low"].iloc[-1])


def test_never_runs_out_is_the_last_row_of_survival():
    s, _ = funding_mixture_scenario()
    res = run(s, paths=5000, seed=2, jobs=1)
    last = res.survival().iloc[-1]
    assert last["survival"] == res.never_runs_out
    assert last["low"] <= res.never_runs_out <= last["high"]
