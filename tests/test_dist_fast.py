"""The fast paths of distributions/ against scipy.stats itself: the closed-form normal quantile
used by percentile fits, each continuous family's isf, cdf and mean, truncated inputs (scipy's
own truncated distributions), and empirical inputs (numpy's inverse-ECDF quantiles), with the
table built once and pickled with its Spec."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
from scipy import special, stats

from distributions import FAMILIES, parse_spec
from distributions import finite as finite_module
from distributions.families import BETA_PROBE_RANGE
from distributions.finite import GUIDED_TABLE, Table
from distributions.percentiles import Point, lognormal_from, normal_from, normal_quantile

#: Probability levels for comparing a whole quantile function: the body and both far tails.
LEVELS = np.r_[1e-6, 1e-3, np.linspace(0.01, 0.99, 99), 0.999, 1 - 1e-6]
make = stats.make_distribution

# (scenario table, the same distribution in scipy's new infrastructure, built independently)
CONTINUOUS = {
    "normal": ({"dist": "normal", "mean": 1.0, "sd": 2.0}, make(stats.norm)() * 2.0 + 1.0),
    "lognormal": (
        {"dist": "lognormal", "median": 2.0, "sigma": 0.8},
        make(stats.lognorm)(s=0.8) * 2.0,
    ),
    "uniform": ({"dist": "uniform", "low": -1.0, "high": 3.0}, make(stats.uniform)() * 4 - 1),
    "triangular": (
        {"dist": "triangular", "min": 0.0, "mode": 1.0, "max": 5.0},
        make(stats.triang)(c=0.2) * 5.0,
    ),
    "pert": (
        {"dist": "pert", "min": 0.0, "mode": 1.0, "max": 5.0},
        make(stats.beta)(a=1.8, b=4.2) * 5.0,
    ),
    "beta": (
        {"dist": "beta", "a": 2.5, "b": 0.7, "low": 10.0, "high": 20.0},
        make(stats.beta)(a=2.5, b=0.7) * 10.0 + 10.0,
    ),
    "gamma": ({"dist": "gamma", "shape": 0.8, "scale": 2.0}, make(stats.gamma)(a=0.8) * 2.0),
    "weibull": (
        {"dist": "weibull", "shape": 1.7, "scale": 2.0},
        make(stats.weibull_min)(c=1.7) * 2.0,
    ),
    "student_t": (
        {"dist": "student_t", "df": 3.0, "loc": 1.0, "scale": 0.5},
        make(stats.t)(df=3.0) * 0.5 + 1.0,
    ),
    "exponential": ({"dist": "exponential", "mean": 3.0}, make(stats.expon)() * 3.0),
}

# Truncation intervals as base probabilities: inside, lower tail open, upper tail (sf / isf)
# open and closed.
INTERVALS = [(0.2, 0.7), (0.0, 0.3), (0.8, 1.0), (0.95, 0.999)]


# -- percentile fits without scipy ----------------------------------------------------------------


def test_closed_form_normal_quantile_is_scipys_to_rounding():
    levels = np.r_[
        np.linspace(0.001, 0.999, 999), [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 1 - 1e-10, 0.5]
    ]
    z = np.array([normal_quantile(float(p)) for p in levels])
    # within a few units in the last place of z, or (near the median, where z is small) of
    # what one unit in the last place of the level itself moves z: 1.1e-16 / 0.4
    np.testing.assert_allclose(z, special.ndtri(levels), rtol=1e-15, atol=3e-16)
    # the levels of "A to B" ranges (p5, p95) and of the usual p10 / p90 come out identical
    for p in (0.05, 0.95, 0.1, 0.5):
        assert normal_quantile(p) == special.ndtri(p)


@pytest.mark.parametrize(("lo", "hi"), [(0.05, 0.95), (0.1, 0.9), (0.01, 0.5), (0.25, 0.975)])
def test_percentile_fits_equal_scipys_to_rounding(lo, hi):
    a, b = Point("a", lo, 3.3), Point("b", hi, 4.1)
    za, zb = special.ndtri(lo), special.ndtri(hi)
    normal = normal_from(a, b)
    assert normal["sd"] == pytest.approx((4.1 - 3.3) / (zb - za), rel=4e-16)
    assert normal["mean"] == pytest.approx(3.3 - normal["sd"] * za, rel=4e-16)
    sigma = (math.log(4.1) - math.log(3.3)) / (zb - za)
    lognormal = lognormal_from(a, b)
    assert lognormal["sigma"] == pytest.approx(sigma, rel=4e-16)
    assert lognormal["median"] == pytest.approx(math.exp(math.log(3.3) - sigma * za), rel=4e-16)


# -- each continuous family's fast forms ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_isf_cdf_and_mean_equal_scipys(name):
    table, _ = CONTINUOUS[name]
    spec = parse_spec(table, name)
    family, frozen = FAMILIES[spec.family], spec.dist  # spec.dist: scipy.stats' own object
    assert family.isf is not None and family.cdf is not None and family.mean is not None
    q = np.r_[1e-300, 1e-12, 1e-6, np.linspace(0.01, 0.99, 99)]
    expected = frozen.isf(q)
    if name in ("uniform", "triangular"):  # scipy's isf is ppf(1 - q): exact only for q >> eps
        keep = q > 1e-6
        q, expected = q[keep], expected[keep]
    np.testing.assert_allclose(family.isf(spec.params, q), expected, rtol=1e-12)
    xs = np.r_[-np.inf, frozen.ppf(np.r_[1e-12, 1e-6, np.linspace(0.01, 0.99, 25)]), np.inf]
    # scipy's sf of uniform and triangular is 1 - cdf: exact to about 1e-16 absolute only
    tiny = 1e-15 if name in ("uniform", "triangular") else 1e-300
    for x in (*xs, frozen.ppf(0.0) - 1.0, frozen.isf(1e-9)):
        f, s = family.cdf(spec.params, float(x))
        assert f == pytest.approx(float(frozen.cdf(x)), rel=1e-12, abs=1e-300)
        assert s == pytest.approx(float(frozen.sf(x)), rel=1e-12, abs=tiny)
    assert spec.mean() == pytest.approx(float(frozen.mean()), rel=1e-13)


def test_means_of_every_family_without_scipy_stats():
    cases = [
        ({"dist": "student_t", "df": 0.7}, stats.t(0.7)),  # no finite mean: inf, as scipy's
        ({"dist": "lognormal", "median": 1.0, "sigma": 30.0}, stats.lognorm(30.0)),  # inf
        ({"dist": "weibull", "shape": 0.004, "scale": 1.0}, stats.weibull_min(0.004)),  # inf
        ({"dist": "bernoulli", "p": 0.3}, stats.bernoulli(0.3)),
        ({"dist": "discrete", "values": [3, 1, 2], "probs": [0.2, 0.3, 0.5]}, None),
    ]
    for table, ref in cases:
        spec = parse_spec(table, "x")
        with np.errstate(all="ignore"):
            expected = float(spec.dist.mean() if ref is None else ref.mean())
        assert spec.mean() == pytest.approx(expected, rel=1e-13)


def test_beta_kernel_is_usable_wherever_the_parse_probe_is_skipped():
    """The range in which parse_spec trusts the beta and PERT kernels without evaluating them
    (so without importing scipy.special): finite, within [0, 1], no warning, at p1, p50, p99."""
    low, high = BETA_PROBE_RANGE
    shapes = np.r_[np.logspace(math.log10(low), math.log10(high), 300), 1.0]
    a, b = np.meshgrid(shapes, shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for u in (0.01, 0.5, 0.99):
            x = FAMILIES["beta"].kernel({"a": a, "b": b, "low": 0.0, "high": 1.0}, u)
            assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all()


# -- truncated inputs -----------------------------------------------------------------------------


def truncated(name: str, lo_q: float, hi_q: float):
    """(spec, scipy's truncated distribution) for family ``name`` cut at base quantiles."""
    table, base = CONTINUOUS[name]
    low = float(base.icdf(lo_q)) if lo_q > 0 else -math.inf
    high = float(base.icdf(hi_q)) if hi_q < 1 else math.inf
    spec = parse_spec({**table, "truncate": [low, high]}, name)
    with np.errstate(all="ignore"):  # scipy's log(0) at a lognormal's bound 0
        return spec, stats.truncate(base, low, high)


@pytest.mark.parametrize("interval", INTERVALS, ids=str)
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_truncated_quantiles_equal_scipys_truncated_distribution(name, interval):
    spec, ref = truncated(name, *interval)
    low, high = spec.truncate
    base = spec.dist.base  # the frozen scipy.stats distribution (old infrastructure)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's log(0) at a bound
        x = spec.quantile(LEVELS)
        np.testing.assert_allclose(x, ref.icdf(LEVELS), rtol=1e-10)
        # the conditional cdf through scipy's analytic base cdf (or sf, in the upper tail)
        if base.cdf(low) > 0.5:
            cdf = (base.sf(low) - base.sf(x)) / (base.sf(low) - base.sf(high))
        else:
            cdf = (base.cdf(x) - base.cdf(low)) / (base.cdf(high) - base.cdf(low))
        np.testing.assert_allclose(cdf, LEVELS, rtol=1e-10, atol=1e-12)
    assert x.min() >= low and x.max() <= high
    # the mean against scipy's conditional expectation (numerical integration, independent)
    mean = base.expect(lambda v: v, lb=low, ub=high, conditional=True)
    assert spec.mean() == pytest.approx(mean, rel=1e-8)


def test_truncated_draws_use_the_fast_kernels():
    """Sampling a truncated input is the base kernel at an affine map of the uniforms, never
    scipy's generic (numerical) truncated ppf."""
    spec = parse_spec({"dist": "normal", "mean": 6, "sd": 1, "truncate": [3, 9]}, "x")
    u = np.random.default_rng(5).random(10_000)
    f_low, f_high = special.ndtr(-3.0), special.ndtr(3.0)
    expected = 6.0 + special.ndtri(f_low + u * (f_high - f_low))
    np.testing.assert_allclose(spec.ppf(u), expected, rtol=1e-14)
    copy = pickle.loads(pickle.dumps(spec))
    np.testing.assert_array_equal(copy.ppf(u), spec.ppf(u))


# -- empirical inputs -----------------------------------------------------------------------------


def observations(n: int, seed: int = 3) -> np.ndarray:
    """Lognormal data rounded to 4 digits: many repeated values, as real data has."""
    return np.round(np.random.default_rng(seed).lognormal(-1.4, 0.2, n), 4)


@pytest.mark.parametrize("n", [40, GUIDED_TABLE - 1, 50_000])
def test_empirical_quantiles_are_numpys_inverted_cdf(n):
    data = observations(n)
    spec = parse_spec({"dist": "empirical", "data": data.tolist()}, "x")
    u = np.random.default_rng(n).random((20_000, 1))
    u = u[np.abs(u * n - np.round(u * n)) > 1e-6]  # away from the steps k / n (rounding ties)
    expected = np.quantile(data, u, method="inverted_cdf")
    np.testing.assert_array_equal(spec.ppf(u), expected)
    assert spec.mean() == pytest.approx(data.mean(), rel=1e-12)


@pytest.mark.parametrize(
    "probs",
    [
        np.full(20_000, 1 / 20_000),
        np.r_[0.5, np.full(9_999, 0.5 / 9_999)],  # buckets crowded: the binary search finishes
        np.random.default_rng(8).dirichlet(np.full(6_000, 0.05)),  # very uneven steps
    ],
    ids=["equal", "one heavy value", "uneven"],
)
def test_guided_search_equals_binary_search_exactly(probs):
    values = np.arange(len(probs), dtype=np.float64)
    table = Table(values, probs)
    cumulative = np.cumsum(probs)
    u = np.r_[
        np.random.default_rng(9).random(50_000),
        cumulative[::7],  # exactly on a step
        np.nextafter(cumulative[::7], 0),
        np.nextafter(cumulative[::7], 1),
        0.0,
        1.0,
        np.arange(1024) / 1024,  # the guide's own bucket edges
    ]
    u = np.clip(u, 0.0, 1.0)
    expected = values[np.minimum(np.searchsorted(cumulative, u, side="left"), len(values) - 1)]
    np.testing.assert_array_equal(table.ppf(u), expected)
    np.testing.assert_array_equal(table.ppf(u.reshape(-1, 1)).ravel(), expected)


def test_empirical_table_is_built_once_and_pickled_with_the_spec(monkeypatch):
    data = observations(200_000)
    spec = parse_spec({"dist": "empirical", "data": data.tolist()}, "x")
    u = np.random.default_rng(1).random((1000, 1))
    first = spec.ppf(u)
    blob = pickle.dumps(spec)
    # a table of arrays and the observations as one array: about 5 float64 arrays of the data
    assert len(blob) < 6 * data.nbytes

    def rebuilt(p):
        raise AssertionError("the table was rebuilt")

    monkeypatch.setattr(finite_module.Table, "of", classmethod(lambda cls, p: rebuilt(p)))
    np.testing.assert_array_equal(spec.ppf(u), first)  # no rebuild on later calls
    copy = pickle.loads(blob)
    np.testing.assert_array_equal(copy.ppf(u), first)  # nor in the process that unpickles it
    assert copy == spec and hash(copy) == hash(spec)  # the observations, read back on demand
    assert copy.params["data"] == spec.params["data"]
    assert copy.describe() == spec.describe() and copy.mean() == spec.mean()


def test_unpickled_params_read_back_only_when_used():
    spec = parse_spec({"dist": "empirical", "data": observations(1000).tolist()}, "x")
    copy = pickle.loads(pickle.dumps(spec))
    again = pickle.loads(pickle.dumps(copy))  # pickled again before being read
    assert again.params == spec.params
    assert isinstance(again.params["data"], tuple)
    assert all(type(x) is float for x in again.params["data"])
