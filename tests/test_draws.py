"""One batch's draws: shapes, per-input streams, samplers, correlation, yearly inputs."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy import stats

from cashflow.calendar import month_index, year_of_month
from cashflow.draws import draw_batch, effective_vary
from cashflow.scenario import Correlation, Funding, Line, Scenario, Shock
from distributions import parse_spec

START_YEAR, START_MONTH, H = 2024, 10, 27  # touches 2024 (3 months), 2025, 2026 (12 each)


def spec(value, path="x", *, month: bool = False):
    """A Spec from a scenario value; ``month=True`` for an event's month ("YYYY-MM")."""

    def month_of(text: str) -> int:
        return month_index(START_YEAR, START_MONTH, text)

    return parse_spec(value, path, month_of=month_of if month else None)


def scenario(*, correlation: Correlation | None = None, compute_start=None) -> Scenario:
    return Scenario(
        name="draws",
        description="",
        unit="USD",
        start_year=START_YEAR,
        start_month=START_MONTH,
        horizon_months=H,
        starting_cash=spec({"dist": "normal", "mean": 6.0, "sd": 1.0}),
        lines=(
            Line(
                name="revenue",
                kind="revenue",
                start=spec({"dist": "lognormal", "median": 0.25, "sigma": 0.2}),
                growth=spec({"dist": "normal", "mean": 0.06, "sd": 0.02}),
                growth_noise=spec(0.03),
                volatility=spec({"dist": "uniform", "low": 0.0, "high": 0.1, "vary": "month"}),
            ),
            Line(
                name="compute",
                kind="cost",
                start=spec(
                    compute_start or {"dist": "triangular", "min": 0.45, "mode": 0.55, "max": 0.7}
                ),
                growth=spec({"dist": "normal", "mean": 0.1, "sd": 0.05, "vary": "year"}),
                growth_per="year",
            ),
            Line(name="staff", kind="cost", start=spec(0.15), growth=spec(0.02)),
        ),
        events=(
            Funding(
                name="raise",
                probability=spec(0.8),
                amount=spec({"dist": "uniform", "low": 5, "high": 8}),
                month=spec(
                    {"dist": "discrete", "values": ["2025-01", "2025-02", "2025-03"]}, month=True
                ),
            ),
            Shock(
                name="outage",
                per="month",
                probability=spec(0.1),
                amount=spec({"dist": "exponential", "mean": 0.5}),
            ),
            Shock(name="lawsuit", probability=spec(0.3), amount=spec(2.0)),
        ),
        correlation=correlation,
    )


SEED = np.random.SeedSequence(123, spawn_key=(4,))


def test_shapes_and_noise() -> None:
    n = 1000
    d = draw_batch(scenario(), n, SEED)
    assert d.n == n
    shapes = {name: a.shape for name, a in d.inputs.items()}
    assert shapes["starting_cash"] == (n, 1)
    assert shapes["revenue.growth_noise"] == (1, 1)
    assert shapes["revenue.volatility"] == (n, H)
    assert shapes["compute.growth"] == (n, H)
    assert shapes["outage.amount"] == (n, H)  # a fresh amount for every monthly hit
    assert shapes["raise.month"] == (n, 1)
    assert effective_vary(scenario())["outage.amount"] == "month"
    assert set(d.noise) == {
        "revenue:growth_z",
        "revenue:volatility_z",
        "raise:u",
        "outage:hits",
        "lawsuit:u",
        "lawsuit:month_u",
    }
    assert d.noise["outage:hits"].dtype == bool and d.noise["outage:hits"].shape == (n, H)
    rate, p = d.noise["outage:hits"].mean(), 0.1
    assert abs(rate - p) < 4 * np.sqrt(p * (1 - p) / (n * H))
    assert set(np.unique(d.inputs["raise.month"])) == {3.0, 4.0, 5.0}
    for a in (*d.inputs.values(), *d.noise.values()):
        assert not a.flags.writeable


def test_reproducible_and_seed_dependent() -> None:
    a = draw_batch(scenario(), 100, SEED)
    b = draw_batch(scenario(), 100, np.random.SeedSequence(123, spawn_key=(4,)))
    c = draw_batch(scenario(), 100, np.random.SeedSequence(123, spawn_key=(5,)))
    for name in a.inputs:
        np.testing.assert_array_equal(a.inputs[name], b.inputs[name])
    for name in a.noise:
        np.testing.assert_array_equal(a.noise[name], b.noise[name])
    assert not np.array_equal(a.inputs["starting_cash"], c.inputs["starting_cash"])


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
def test_changing_one_input_leaves_the_others(sampler: str) -> None:
    base = draw_batch(scenario(), 512, SEED, sampler)
    other = draw_batch(
        scenario(compute_start={"dist": "uniform", "low": 0.3, "high": 0.9}), 512, SEED, sampler
    )
    assert not np.array_equal(base.inputs["compute.start"], other.inputs["compute.start"])
    for name in base.inputs:
        if name != "compute.start":
            np.testing.assert_array_equal(base.inputs[name], other.inputs[name], err_msg=name)
    for name in base.noise:
        np.testing.assert_array_equal(base.noise[name], other.noise[name], err_msg=name)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_qmc_samplers_hit_the_means(sampler: str) -> None:
    """Per-path means within 4 standard errors of the plain-MC error (QMC does better)."""
    n = 4096
    sc = scenario()
    d = draw_batch(sc, n, SEED, sampler)
    checked = 0
    for name, s in sc.inputs().items():
        if effective_vary(sc)[name] == "path" and not s.is_constant:
            x = d.inputs[name]
            assert x.shape == (n, 1)
            sd = s.dist.std()  # the scipy distribution's (none of these inputs is truncated)
            assert abs(x.mean() - s.mean()) < 4 * sd / np.sqrt(n), name
            checked += 1
    assert checked == 6


def test_sobol_uses_one_point_set() -> None:
    """With "sobol" the per-path inputs are the columns of one scrambled Sobol' set, whose
    first two dimensions form a (0, m, 2)-net: with n = 2**m, each of the 4 x 4 cells cut by
    the quartiles of ``starting_cash`` and ``revenue.start`` holds exactly n / 16 points
    (independent streams, as with "lhs", would not)."""
    n = 1024
    sc = scenario()
    d = draw_batch(sc, n, SEED, "sobol")
    cells = []
    for name in ("starting_cash", "revenue.start"):
        s = sc.inputs()[name]
        quartiles = [s.quantile(q) for q in (0.25, 0.5, 0.75)]
        cells.append(np.searchsorted(quartiles, d.inputs[name][:, 0]))
    counts = np.bincount(4 * cells[0] + cells[1], minlength=16)
    np.testing.assert_array_equal(counts, n // 16)


def test_correlation_reaches_target() -> None:
    names = ("starting_cash", "revenue.start", "compute.start")
    target = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    corr = Correlation(names=names, matrix=tuple(map(tuple, target)))
    n = 100_000
    d = draw_batch(scenario(correlation=corr), n, SEED)
    plain = draw_batch(scenario(), n, SEED)
    x = np.concatenate([d.inputs[name] for name in names], axis=1)
    rho = stats.spearmanr(x).statistic
    np.testing.assert_allclose(rho, target, atol=0.02)
    for name in names:  # Iman-Conover only reorders: marginals exactly kept
        np.testing.assert_array_equal(
            np.sort(d.inputs[name], axis=0), np.sort(plain.inputs[name], axis=0)
        )
    np.testing.assert_array_equal(d.inputs["raise.amount"], plain.inputs["raise.amount"])


def test_year_inputs_constant_within_a_year() -> None:
    d = draw_batch(scenario(), 500, SEED)
    g = d.inputs["compute.growth"]
    years = year_of_month(START_YEAR, START_MONTH, H)
    firsts = []
    for year in np.unique(years):
        block = g[:, years == year]
        np.testing.assert_array_equal(block, block[:, :1].repeat(block.shape[1], axis=1))
        firsts.append(block[:, 0])
    for a, b in itertools.pairwise(firsts):
        assert (a != b).all()


def test_constant_and_dataclass_replace() -> None:
    """A variant made with dataclasses.replace: a constant input is (1, 1) whatever its vary."""
    sc = scenario()
    lines = (
        dataclasses.replace(
            sc.lines[0], growth=spec({"dist": "constant", "value": 0.05, "vary": "month"})
        ),
        *sc.lines[1:],
    )
    d = draw_batch(dataclasses.replace(sc, lines=lines), 10, SEED)
    np.testing.assert_array_equal(d.inputs["revenue.growth"], [[0.05]])
