"""Parsing scenario values into Specs: shapes of the result, percentile specs, PERT, months."""

from __future__ import annotations

import dataclasses
import pathlib
import pickle

import numpy as np
import pytest
from scipy import stats

import distributions
from distributions import FAMILIES, ScenarioError, Spec, parse_spec

ROOT = pathlib.Path(__file__).resolve().parent.parent

MONTHS = {"2024-09": 8, "2024-10": 9, "2024-11": 10, "2024-12": 11}


def month_of(text: str) -> int:
    if text not in MONTHS:
        raise ScenarioError(f"month '{text}' is outside the horizon")
    return MONTHS[text]


def test_public_surface():
    assert sorted(distributions.__all__) == sorted(
        [
            "FAMILIES",
            "Problem",
            "RunwayError",
            "RunwayWarning",
            "ScenarioError",
            "SimulationError",
            "Spec",
            "did_you_mean",
            "parse_spec",
        ]
    )
    assert set(FAMILIES) == {
        "constant",
        "normal",
        "lognormal",
        "uniform",
        "triangular",
        "pert",
        "beta",
        "gamma",
        "weibull",
        "student_t",
        "exponential",
        "bernoulli",
        "discrete",
        "empirical",
    }


def test_number_is_a_constant():
    spec = parse_spec(0.05, "lines.api.growth", source="dashboard")
    assert spec.family == "constant" and spec.is_constant and not spec.is_discrete
    assert spec.params == {"value": 0.05} and spec.given == "0.05" and spec.dist is None
    assert spec.source == "dashboard" and spec.vary == "path" and not spec.is_month
    u = np.full((2, 3), 0.3)
    assert spec.ppf(u).shape == (2, 3) and spec.ppf(u).dtype == np.float64
    assert spec.quantile(0.9) == 0.05 and spec.describe() == "constant(value=0.05)"
    assert parse_spec(7, "x").given == "7"


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("3.3 to 4.1", "lognormal"),
        ("-1 to 2", "normal"),
        ("0 to 5", "normal"),
        ("1e3 to 2e3", "lognormal"),
        ("  -0.02  to 0.08 ", "normal"),
    ],
)
def test_range_shorthand_is_a_90_percent_interval(text, family):
    spec = parse_spec(text, "x")
    low, high = (float(t) for t in text.split("to"))
    assert spec.family == family
    assert spec.given == " ".join(text.split())
    np.testing.assert_allclose(
        spec.quantile(np.array([0.05, 0.95])), [low, high], rtol=1e-9, atol=1e-12 * (high - low)
    )


CASES = [
    {"dist": "normal", "p10": 2.0, "p90": 9.0},
    {"dist": "normal", "p1": -50.0, "p50": 0.0},
    {"dist": "lognormal", "p5": 3.3, "p95": 4.1},
    {"dist": "lognormal", "p25": 1e-6, "p99": 1e3},
    {"dist": "uniform", "p10": 1.0, "p90": 2.0},
    {"dist": "gamma", "p10": 1.0, "p90": 5.0},
    {"dist": "gamma", "p5": 0.001, "p95": 40.0},
    {"dist": "gamma", "p5": 99.0, "p95": 101.0},
    {"dist": "gamma", "p50": 2.0, "p97.5": 2.2},
    {"dist": "weibull", "p10": 1.0, "p90": 5.0},
    {"dist": "weibull", "p1": 0.3, "p60": 0.31},
    {"dist": "student_t", "df": 3, "p5": 1.0, "p95": 5.0},
    {"dist": "student_t", "df": 0.7, "p20": -3.0, "p70": 10.0},
    {"dist": "exponential", "p90": 3.0},
    {"dist": "exponential", "p2.5": 0.01},
]


@pytest.mark.parametrize("table", CASES, ids=lambda t: t["dist"])
def test_percentile_specs_reproduce_their_percentiles(table):
    spec = parse_spec(table, "x")
    keys = [k for k in table if k.startswith("p")]
    levels = np.array([float(k[1:]) / 100 for k in keys])
    stated = np.array([table[k] for k in keys])
    spread = np.ptp(stated) if len(stated) > 1 else abs(stated[0])
    np.testing.assert_allclose(spec.quantile(levels), stated, rtol=1e-9, atol=1e-12 * spread)
    np.testing.assert_allclose(spec.dist.ppf(levels), stated, rtol=1e-9, atol=1e-12 * spread)


def test_percentiles_resolve_to_natural_parameters():
    spec = parse_spec({"dist": "normal", "p10": -1.0, "p90": 3.0}, "x")
    assert spec.params["mean"] == pytest.approx(1.0)
    assert spec.params["sd"] == pytest.approx(2.0 / stats.norm.ppf(0.9))
    spec = parse_spec({"dist": "lognormal", "p5": 3.3, "p95": 4.1}, "x")
    assert spec.params["median"] == pytest.approx(np.sqrt(3.3 * 4.1))
    assert spec.describe() == "lognormal(median=3.678, sigma=0.06598)"
    assert spec.given == "lognormal(p5=3.3, p95=4.1)"


def test_pert_is_the_scaled_beta():
    spec = parse_spec({"dist": "pert", "min": 0.5, "mode": 1.0, "max": 1.2}, "x")
    a, b = 1 + 4 * 0.5 / 0.7, 1 + 4 * 0.2 / 0.7
    ref = stats.beta(a, b, loc=0.5, scale=0.7)
    assert spec.mean() == pytest.approx((0.5 + 4 * 1.0 + 1.2) / 6, rel=1e-12)
    u = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(spec.ppf(u), ref.ppf(u), rtol=1e-12)
    assert spec.describe() == "pert(min=0.5, mode=1, max=1.2, lambda=4)"
    wide = parse_spec({"dist": "pert", "min": 0, "mode": 3, "max": 10, "lambda": 2}, "x")
    assert wide.dist.args == pytest.approx((1 + 2 * 0.3, 1 + 2 * 0.7))
    assert wide.mean() == pytest.approx((0 + 2 * 3 + 10) / 4, rel=1e-12)


def test_lognormal_from_mean_and_sd_of_the_value():
    spec = parse_spec({"dist": "lognormal", "mean": 10.0, "sd": 4.0}, "x")
    assert spec.mean() == pytest.approx(10.0, rel=1e-12)
    # the lognormal whose value has mean 10 and sd 4: sigma^2 = log(1 + (4/10)^2)
    ref = stats.lognorm(np.sqrt(np.log(1.16)), scale=10.0 / np.sqrt(1.16))
    assert (ref.mean(), ref.std()) == pytest.approx((10.0, 4.0), rel=1e-12)
    u = np.linspace(0.001, 0.999, 101)
    np.testing.assert_allclose(spec.ppf(u), ref.ppf(u), rtol=1e-12)


def test_month_string_is_a_constant_month_index():
    spec = parse_spec("2024-10", "events.raise.month", month_of=month_of)
    assert spec.is_month and spec.is_constant and spec.params == {"value": 9.0}
    assert spec.given == "2024-10"


def test_discrete_months():
    table = {
        "dist": "discrete",
        "values": ["2024-10", "2024-11", "2024-12"],
        "probs": [0.3, 0.4, 0.3],
    }
    spec = parse_spec(table, "events.raise.month", month_of=month_of)
    assert spec.is_month and spec.is_discrete
    assert spec.params["values"] == (9.0, 10.0, 11.0)
    assert spec.given == "discrete(values=[2024-10, 2024-11, 2024-12], probs=[0.3, 0.4, 0.3])"
    assert spec.mean() == pytest.approx(9 * 0.3 + 10 * 0.4 + 11 * 0.3)
    np.testing.assert_array_equal(
        spec.quantile(np.array([0.1, 0.3, 0.31, 0.7, 0.71])), [9, 9, 10, 10, 11]
    )
    equal = parse_spec(
        {"dist": "discrete", "values": ["2024-09", "2024-12"]}, "m", month_of=month_of
    )
    assert equal.params["probs"] == (0.5, 0.5)


def test_month_constant_table_and_month_of_errors_keep_the_path():
    spec = parse_spec({"dist": "constant", "value": "2024-11"}, "m", month_of=month_of)
    assert spec.params == {"value": 10.0} and spec.is_month
    with pytest.raises(ScenarioError, match="outside the horizon") as info:
        parse_spec("2030-01", "events.raise.month", month_of=month_of)
    assert info.value.problems[0].path == "events.raise.month"


def test_table_options():
    table = {
        "dist": "normal",
        "mean": 0.05,
        "sd": 0.02,
        "vary": "month",
        "source": "memo",
        "truncate": [0, float("inf")],
    }
    spec = parse_spec(table, "x", source="line default")
    assert spec.vary == "month" and spec.source == "memo" and spec.truncate == (0.0, np.inf)
    assert spec.describe() == "normal(mean=0.05, sd=0.02) truncated to [0, inf]"
    assert spec.given == "normal(mean=0.05, sd=0.02, vary=month, truncate=[0, inf])"
    assert parse_spec({"dist": "normal", "mean": 0, "sd": 1}, "x", source="d").source == "d"


def test_empirical_from_csv(tmp_path):
    (tmp_path / "rev.csv").write_text("month,revenue\n1,3.5\n2,\n3,4.25\n4,3.75\n")
    spec = parse_spec(
        {"dist": "empirical", "csv": "rev.csv", "column": "revenue"}, "x", base_dir=tmp_path
    )
    assert spec.params["data"] == (3.5, 3.75, 4.25)
    assert spec.mean() == pytest.approx(11.5 / 3)
    assert spec.describe() == "empirical(n=3, min=3.5, max=4.25)"


def test_specs_are_frozen_picklable_hashable_values():
    spec = parse_spec({"dist": "gamma", "p10": 1.0, "p90": 5.0, "truncate": [0.5, 8]}, "x")
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and hash(again) == hash(spec)
    u = np.linspace(0.01, 0.99, 7)
    np.testing.assert_array_equal(again.ppf(u), spec.ppf(u))
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.vary = "month"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.params["shape"] = 1.0  # type: ignore[index]
    assert dataclasses.replace(spec, vary="year").vary == "year"
    assert parse_spec("3.3 to 4.1", "a") == parse_spec("3.3 to 4.1", "b")


def test_spec_can_be_built_directly():
    spec = Spec(
        family="uniform",
        params={"low": 0.0, "high": 24.0},
        given="horizon",
        dist=stats.uniform(0, 24),
        is_month=True,
    )
    assert spec.quantile(0.5) == 12.0 and spec.mean() == 12.0


KERNEL_CASES = [
    {"dist": "normal", "mean": -3.0, "sd": 0.7},
    {"dist": "lognormal", "median": 5.0, "sigma": 1.3},
    {"dist": "uniform", "low": -1.0, "high": 7.0},
    {"dist": "weibull", "shape": 0.6, "scale": 3.0},
    {"dist": "exponential", "mean": 2.5},
    {"dist": "triangular", "min": 0.45, "mode": 0.55, "max": 0.7},
    {"dist": "triangular", "min": 1.0, "mode": 1.0, "max": 3.0},
    {"dist": "pert", "min": 0.4, "mode": 0.55, "max": 0.75},
    {"dist": "pert", "min": -2.0, "mode": -2.0, "max": 30.0, "lambda": 2.5},
    {"dist": "beta", "a": 2.5, "b": 0.7, "low": 10, "high": 20},
    {"dist": "beta", "a": 0.4, "b": 6.0},
    {"dist": "gamma", "shape": 0.8, "scale": 2.0},
    {"dist": "gamma", "mean": 6.0, "sd": 1.5},
    {"dist": "student_t", "df": 3, "loc": 1.0, "scale": 0.5},
    {"dist": "student_t", "df": 30, "p10": -4.0, "p90": 9.0},
    {"dist": "bernoulli", "p": 0.35},
    {"dist": "discrete", "values": [3, 1, 2, 10], "probs": [0.1, 0.2, 0.3, 0.4]},
    {"dist": "empirical", "data": [5.0, 1.0, 1.0, 2.5, 9.0, -1.0]},
]


# Boost's inverse incomplete beta warns (in scipy's ppf and the kernel alike) at u = 1e-300.
@pytest.mark.filterwarnings("ignore:Error in function boost:RuntimeWarning")
@pytest.mark.parametrize("table", KERNEL_CASES, ids=lambda t: t["dist"])
def test_fast_ppf_equals_scipy_ppf(table):
    """The vectorized kernels are exact equivalents of the frozen scipy object's ppf."""
    spec = parse_spec(table, "x")
    assert FAMILIES[spec.family].kernel is not None
    u = np.concatenate([np.linspace(1e-12, 1 - 1e-12, 10_001), [1e-300, 0.5, 1 - 2**-53]])
    u = u[np.abs(u - 0.65) > 1e-9]  # bernoulli's jump (1 - p) is a tie either way
    np.testing.assert_allclose(spec.ppf(u), spec.dist.ppf(u), rtol=1e-13, atol=0)
    assert spec.ppf(u.reshape(-1, 1)).shape == (len(u), 1)


@pytest.mark.parametrize(
    "value", [{"dist": "discrete", "values": [1, 2, 3]}, {"dist": "empirical", "data": [1, 2, 3]}]
)
def test_scalar_quantile_of_finite_families(value):
    spec = parse_spec(value, "x")
    assert float(spec.quantile(0.5)) == 2.0
    assert np.ndim(spec.quantile(0.5)) == 0


def test_unpickled_specs_sample_identically_and_rebuild_scipy_lazily():
    specs = [
        parse_spec({"dist": "triangular", "min": 0.45, "mode": 0.55, "max": 0.7}, "a"),
        parse_spec({"dist": "pert", "min": 0.4, "mode": 0.55, "max": 0.75}, "b"),
        parse_spec({"dist": "normal", "mean": 0, "sd": 1, "truncate": [0, 5]}, "c"),
        parse_spec({"dist": "discrete", "values": [3, 1, 2], "probs": [0.2, 0.3, 0.5]}, "d"),
    ]
    u = np.random.default_rng(3).random(1000)
    for spec in specs:
        copy = pickle.loads(pickle.dumps(spec))
        assert copy == spec
        np.testing.assert_array_equal(copy.ppf(u), spec.ppf(u))
        assert copy.mean() == pytest.approx(spec.mean(), rel=1e-12)


def _worker_has_scipy_stats(name: str) -> str:
    """Whether ("True" or "False") a fresh process that unpickles scenarios/``name`` and
    simulates one batch of it, as a worker does, ends up importing scipy.stats."""
    import subprocess
    import sys

    code = (
        "import pickle, sys; import engine.batch as b; "
        "s = pickle.loads(sys.stdin.buffer.read()); "
        "b.simulate_batch(b.BatchTask(s, 1, 0, 100, 'mc')); "
        "print('scipy.stats' in sys.modules)"
    )
    from cashflow.parse import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / name)
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(scenario),
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    return out.stdout.decode().strip()


def test_workers_sample_the_bench_model_without_scipy_stats():
    # Importing scipy.stats costs ~0.6 s per worker process; the fast kernels avoid it.
    assert _worker_has_scipy_stats("bench_runway.toml") == "False"


def test_workers_sample_the_worked_example_without_scipy_stats():
    # The worked example has a pert input (an exact scipy.special kernel, like beta, gamma, t).
    assert _worker_has_scipy_stats("openai_2024.toml") == "False"
