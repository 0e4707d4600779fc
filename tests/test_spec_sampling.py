"""Draws from every family against scipy's own distribution; tolerances from standard errors.

Draws are made as cashflow/draws.py makes them, by inverse transform: ``spec.ppf(u)`` of
uniforms ``u``. Each continuous case is checked on n = 200_000 draws (fixed seed per case) for
the mean (SE sigma/sqrt(n)), the variance (SE sqrt((mu4 - sigma^4)/n)), the 5th/50th/95th
percentiles (SE sqrt(q(1-q)/n)/pdf(x_q)), all at 4 standard errors, and a Kolmogorov-Smirnov
test. Discrete cases check every value's frequency (SE sqrt(p(1-p)/n)). The references are scipy
objects built here from the textbook parameterisation, independently of distributions/.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from scipy import stats

from distributions import Spec, parse_spec

N = 200_000
K = 4.0  # standard errors allowed
QS = np.array([0.05, 0.5, 0.95])
#: Probability levels for comparing a whole quantile function: the body and both far tails.
LEVELS = np.r_[1e-6, 1e-3, np.linspace(0.01, 0.99, 99), 0.999, 1 - 1e-6]


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def draw(spec: Spec, name: str, size: int | tuple[int, ...] = N) -> np.ndarray:
    """``size`` draws of ``spec`` by inverse transform, as cashflow/draws.py makes them."""
    return spec.ppf(rng_for(name).random(size))


def _sigma_lognormal(p5: float, p95: float) -> tuple[float, float]:
    z = stats.norm.ppf(0.95)
    return np.sqrt(p5 * p95), (np.log(p95) - np.log(p5)) / (2 * z)


_MED, _SIG = _sigma_lognormal(3.3, 4.1)

CONTINUOUS = {
    "normal": ({"dist": "normal", "mean": 1.5, "sd": 0.4}, stats.norm(1.5, 0.4)),
    "normal_pct": (
        {"dist": "normal", "p10": -1.0, "p90": 3.0},
        stats.norm(1.0, 2.0 / stats.norm.ppf(0.9)),
    ),
    "lognormal_range": ("3.3 to 4.1", stats.lognorm(_SIG, scale=_MED)),
    "lognormal_moments": (
        {"dist": "lognormal", "mean": 2.0, "sd": 1.0},
        stats.lognorm(np.sqrt(np.log(1.25)), scale=2.0 / np.sqrt(1.25)),
    ),
    "uniform": ({"dist": "uniform", "low": -2.0, "high": 5.0}, stats.uniform(-2.0, 7.0)),
    "triangular": (
        {"dist": "triangular", "min": 40, "mode": 60, "max": 90},
        stats.triang(0.4, loc=40, scale=50),
    ),
    "pert": (
        {"dist": "pert", "min": 0.5, "mode": 1.0, "max": 1.2},
        stats.beta(1 + 4 * 0.5 / 0.7, 1 + 4 * 0.2 / 0.7, loc=0.5, scale=0.7),
    ),
    "beta": (
        {"dist": "beta", "a": 2.5, "b": 1.5, "low": 10, "high": 20},
        stats.beta(2.5, 1.5, loc=10, scale=10),
    ),
    "gamma": ({"dist": "gamma", "shape": 2.5, "scale": 3.0}, stats.gamma(2.5, scale=3.0)),
    "gamma_moments": ({"dist": "gamma", "mean": 6.0, "sd": 3.0}, stats.gamma(4.0, scale=1.5)),
    "weibull": ({"dist": "weibull", "shape": 1.7, "scale": 2.0}, stats.weibull_min(1.7, scale=2.0)),
    "student_t": (
        {"dist": "student_t", "df": 7, "loc": 1.0, "scale": 0.5},
        stats.t(7, loc=1.0, scale=0.5),
    ),
    "exponential": ({"dist": "exponential", "mean": 3.0}, stats.expon(scale=3.0)),
    "exponential_rate": ({"dist": "exponential", "rate": 0.5}, stats.expon(scale=2.0)),
    "truncated_normal": (
        {"dist": "normal", "mean": 1.0, "sd": 2.0, "truncate": [0, 4]},
        stats.truncnorm(-0.5, 1.5, loc=1.0, scale=2.0),
    ),
    "truncated_normal_open": (
        {"dist": "normal", "mean": -1.0, "sd": 1.0, "truncate": [0, float("inf")]},
        stats.truncnorm(1.0, np.inf, loc=-1.0, scale=1.0),
    ),
}


def check_continuous(spec: Spec, ref, name: str) -> None:
    x = draw(spec, name)
    assert x.shape == (N,) and x.dtype == np.float64
    mean, var = ref.mean(), ref.var()
    mu4 = var**2 * (ref.stats(moments="k") + 3.0)
    assert abs(x.mean() - mean) < K * np.sqrt(var / N)
    assert abs(x.var(ddof=1) - var) < K * np.sqrt((mu4 - var**2) / N)
    xq = ref.ppf(QS)
    se = np.sqrt(QS * (1 - QS) / N) / ref.pdf(xq)
    assert np.all(np.abs(np.quantile(x, QS) - xq) < K * se)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-4


@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_continuous_draws_match_scipy(name):
    value, ref = CONTINUOUS[name]
    spec = parse_spec(value, name)
    # the resolved distribution is scipy's (deterministic, to rounding): the same quantile
    # function, body and far tails, and the same mean ...
    assert spec.mean() == pytest.approx(ref.mean(), rel=1e-9)
    np.testing.assert_allclose(spec.quantile(LEVELS), ref.ppf(LEVELS), rtol=1e-9)
    # ... and the draws follow it
    check_continuous(spec, ref, name)


DISCRETE = {
    "bernoulli": ({"dist": "bernoulli", "p": 0.3}, [0.0, 1.0], [0.7, 0.3]),
    "discrete": (
        {"dist": "discrete", "values": [10, -2, 7.5], "probs": [0.2, 0.5, 0.3]},
        [-2.0, 7.5, 10.0],
        [0.5, 0.3, 0.2],
    ),
    "discrete_equal": (
        {"dist": "discrete", "values": [1, 2, 3, 4]},
        [1.0, 2.0, 3.0, 4.0],
        [0.25] * 4,
    ),
    "discrete_repeats": (
        {"dist": "discrete", "values": [1, 2, 1], "probs": [0.1, 0.6, 0.3]},
        [1.0, 2.0],
        [0.4, 0.6],
    ),
}


def check_frequencies(x: np.ndarray, values, probs) -> None:
    values, probs = np.asarray(values), np.asarray(probs)
    assert np.isin(x, values).all()
    freq = (x[:, None] == values[None, :]).mean(axis=0)
    assert np.all(np.abs(freq - probs) < K * np.sqrt(probs * (1 - probs) / len(x)))


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_discrete_draws_match_probabilities(name):
    value, values, probs = DISCRETE[name]
    spec = parse_spec(value, name)
    assert spec.is_discrete
    ref = stats.rv_discrete(values=(np.array(values), np.array(probs)))
    assert spec.mean() == pytest.approx(ref.mean(), rel=1e-12)
    q = np.array([0.01, 0.2, 0.45, 0.5, 0.55, 0.8, 0.99])
    np.testing.assert_array_equal(spec.quantile(q), ref.ppf(q))
    np.testing.assert_array_equal(spec.quantile(LEVELS), ref.ppf(LEVELS))
    x = draw(spec, name)
    check_frequencies(x, values, probs)
    assert abs(x.mean() - ref.mean()) < K * ref.std() / np.sqrt(N)


def test_empirical_resamples_observations_with_equal_weight():
    data = np.round(rng_for("data").lognormal(1.0, 0.5, size=40), 1)  # some repeats
    spec = parse_spec({"dist": "empirical", "data": data.tolist()}, "x")
    assert spec.mean() == pytest.approx(data.mean(), rel=1e-12)
    # the quantile function is the inverse of the observations' empirical CDF
    u = (np.arange(1000) + 0.5) / 1000  # never a multiple of 1/40
    inverse_ecdf = np.sort(data)[np.ceil(u * len(data)).astype(int) - 1]
    np.testing.assert_array_equal(spec.quantile(u), inverse_ecdf)
    values, counts = np.unique(data, return_counts=True)
    x = draw(spec, "empirical")
    check_frequencies(x, values, counts / counts.sum())


def test_student_t_percentile_draws():
    spec = parse_spec({"dist": "student_t", "df": 5, "p5": 1.0, "p95": 5.0}, "x")
    t95 = stats.t.ppf(0.95, 5)
    ref = stats.t(5, loc=3.0, scale=2.0 / t95)
    check_continuous(spec, ref, "t_pct")


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ({"dist": "lognormal", "median": 1.0, "sigma": 1.0, "truncate": [0.5, 4.0]}, 0.5, 4.0),
        (
            {"dist": "gamma", "shape": 0.8, "scale": 2.0, "truncate": [1.0, float("inf")]},
            1.0,
            np.inf,
        ),
        ({"dist": "student_t", "df": 6, "truncate": [float("-inf"), 1.0]}, -np.inf, 1.0),
        ({"dist": "pert", "min": 0, "mode": 1, "max": 5, "truncate": [0.5, 2.0]}, 0.5, 2.0),
    ],
)
def test_truncated_draws_stay_inside_and_match_conditional_moments(value, low, high):
    spec = parse_spec(value, "x")
    base = spec.dist.base
    f_low, f_high = base.cdf(low), base.cdf(high)

    def cdf(x):  # the textbook conditional CDF, independent of distributions.truncation
        return (base.cdf(np.clip(x, low, high)) - f_low) / (f_high - f_low)

    mean = base.expect(lambda x: x, lb=low, ub=high, conditional=True)
    var = base.expect(lambda x: (x - mean) ** 2, lb=low, ub=high, conditional=True)
    mu4 = base.expect(lambda x: (x - mean) ** 4, lb=low, ub=high, conditional=True)
    assert spec.mean() == pytest.approx(mean, rel=1e-7)
    np.testing.assert_allclose(cdf(spec.quantile(LEVELS)), LEVELS, rtol=1e-7, atol=1e-12)
    x = draw(spec, str(value))
    assert x.min() >= low and x.max() <= high
    assert abs(x.mean() - mean) < K * np.sqrt(var / N)
    assert abs(x.var(ddof=1) - var) < K * np.sqrt((mu4 - var**2) / N)
    assert stats.kstest(x, cdf).pvalue > 1e-4


def test_truncated_moments_match_scipy_truncate():
    """Against scipy's own (independent, numerical) truncated distribution object."""
    spec = parse_spec({"dist": "lognormal", "median": 2.0, "sigma": 0.8, "truncate": [1, 9]}, "x")
    lognormal = stats.make_distribution(stats.lognorm)(s=0.8) * 2.0
    ref = stats.truncate(lognormal, 1.0, 9.0)
    assert spec.mean() == pytest.approx(ref.mean(), rel=1e-9)
    q = np.array([0.001, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999])
    np.testing.assert_allclose(spec.quantile(q), ref.icdf(q), rtol=1e-9)


@pytest.mark.parametrize(
    ("base", "low", "high"),
    [
        ((0.0, 1.0), 10.0, np.inf),
        ((0.0, 1.0), -np.inf, -10.0),
        ((1e6, 1.0), 0.0, 1e6),
        ((0.0, 1.0), -3.0, -2.0),
        ((5.0, 2.0), -np.inf, 0.0),
    ],
)
def test_truncated_normal_moments_in_awkward_places(base, low, high):
    """Far tails and narrow peaks far from zero, against scipy.stats.truncnorm."""
    mu, sd = base
    spec = parse_spec({"dist": "normal", "mean": mu, "sd": sd, "truncate": [low, high]}, "x")
    ref = stats.truncnorm((low - mu) / sd, (high - mu) / sd, loc=mu, scale=sd)
    assert spec.mean() == pytest.approx(ref.mean(), rel=1e-9)
    np.testing.assert_allclose(spec.quantile(LEVELS), ref.ppf(LEVELS), rtol=1e-9)


def test_constant_draws():
    spec = parse_spec(0.05, "x")
    x = draw(spec, "c", (3, 4))
    assert x.shape == (3, 4) and np.all(x == 0.05)
    assert spec.mean() == 0.05
    np.testing.assert_array_equal(spec.quantile(LEVELS), 0.05)  # no spread at all
