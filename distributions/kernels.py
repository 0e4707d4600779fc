"""Fast exact forms of the continuous families: quantiles for large arrays, cdf at a point, mean.

For each family, in its natural parameters (see :mod:`distributions.families`):

- ``*_ppf(p, u)`` and ``*_isf(p, q)``: the quantile function and its upper-tail twin
  (``isf(q) = ppf(1 - q)``, accurate for tiny ``q``), vectorized over an array of
  probabilities. scipy.stats' ppf is ``_ppf(q, *shapes) * scale + loc``; these use the same
  special functions in the same order, so they equal the frozen scipy objects' ppf / isf to
  rounding, without the cost of scipy's generic argument checks.
- ``*_cdf(p, x)``: ``(F(x), S(x))`` at one point, each accurate in its own tail (``S`` is never
  ``1 - F``); what truncation needs at its two bounds.
- ``*_mean(p)``: scipy's own formula for the mean (``mu * scale + loc``).

Everything is numpy and ``math``, plus ``scipy.special`` imported on first use (through
:mod:`distributions._lazy`): the normal and lognormal cdf are closed forms through
``math.erfc``, so parsing a scenario imports no scipy; sampling a batch imports
``scipy.special`` (about 0.25 s), never ``scipy.stats`` (about 0.6 s more).
tests/test_dist_fast.py checks each function against scipy.stats itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._lazy import special

__all__ = [
    "SQRT_HALF",
    "beta_cdf",
    "beta_isf",
    "beta_mean",
    "beta_ppf",
    "exponential_cdf",
    "exponential_isf",
    "exponential_mean",
    "exponential_ppf",
    "gamma_cdf",
    "gamma_isf",
    "gamma_mean",
    "gamma_ppf",
    "lognormal_cdf",
    "lognormal_isf",
    "lognormal_mean",
    "lognormal_ppf",
    "normal_cdf",
    "normal_isf",
    "normal_mean",
    "normal_ppf",
    "pert_beta",
    "pert_cdf",
    "pert_isf",
    "pert_mean",
    "pert_ppf",
    "standard_normal_cdf",
    "student_t_cdf",
    "student_t_isf",
    "student_t_mean",
    "student_t_ppf",
    "triangular_cdf",
    "triangular_isf",
    "triangular_mean",
    "triangular_ppf",
    "uniform_cdf",
    "uniform_isf",
    "uniform_mean",
    "uniform_ppf",
    "weibull_cdf",
    "weibull_isf",
    "weibull_mean",
    "weibull_ppf",
]

Params = Mapping[str, Any]
Kernel = Callable[[Params, np.ndarray], np.ndarray]
PointCdf = Callable[[Params, float], tuple[float, float]]

SQRT_HALF = math.sqrt(0.5)


def _float(x: Any) -> float:
    return float(np.float64(x))


# -- normal and lognormal -------------------------------------------------------------------------


def standard_normal_cdf(z: float) -> tuple[float, float]:
    """``(Phi(z), 1 - Phi(z))`` for the standard normal, each through ``erfc`` in its own tail."""
    return 0.5 * math.erfc(-z * SQRT_HALF), 0.5 * math.erfc(z * SQRT_HALF)


def normal_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["mean"] + p["sd"] * special.ndtri(u)
    return x


def normal_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["mean"] - p["sd"] * special.ndtri(q)
    return x


def normal_cdf(p: Params, x: float) -> tuple[float, float]:
    return standard_normal_cdf((x - p["mean"]) / p["sd"])


def normal_mean(p: Params) -> float:
    return float(p["mean"])


def lognormal_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["median"] * np.exp(p["sigma"] * special.ndtri(u))
    return x


def lognormal_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["median"] * np.exp(-p["sigma"] * special.ndtri(q))
    return x


def lognormal_cdf(p: Params, x: float) -> tuple[float, float]:
    if not x > 0.0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    return standard_normal_cdf((math.log(x) - math.log(p["median"])) / p["sigma"])


def lognormal_mean(p: Params) -> float:
    with np.errstate(all="ignore"):
        return _float(np.sqrt(np.exp(np.float64(p["sigma"]) ** 2)) * p["median"])


# -- uniform and triangular -----------------------------------------------------------------------


def uniform_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["low"] + (p["high"] - p["low"]) * u
    return x


def uniform_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["high"] - (p["high"] - p["low"]) * q
    return x


def uniform_cdf(p: Params, x: float) -> tuple[float, float]:
    width = p["high"] - p["low"]
    f = min(max((x - p["low"]) / width, 0.0), 1.0)
    s = min(max((p["high"] - x) / width, 0.0), 1.0)
    return f, s


def uniform_mean(p: Params) -> float:
    return float(0.5 * (p["high"] - p["low"]) + p["low"])


def _triangle(p: Params) -> tuple[float, float]:
    """``(c, width)``: scipy.stats.triang's shape (the mode's place in [0, 1]) and scale."""
    width = p["max"] - p["min"]
    return (p["mode"] - p["min"]) / width, width


def triangular_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    # scipy.stats.triang's own formula: loc + scale * (sqrt(c q) below c, else 1 - sqrt(...)).
    c, width = _triangle(p)
    x = np.where(u < c, np.sqrt(c * u), 1.0 - np.sqrt((1.0 - c) * (1.0 - u)))
    y: np.ndarray = x * width + p["min"]
    return y


def triangular_isf(p: Params, q: np.ndarray) -> np.ndarray:
    c, width = _triangle(p)
    x = np.where(q > 1.0 - c, np.sqrt(c * (1.0 - q)), 1.0 - np.sqrt((1.0 - c) * q))
    y: np.ndarray = x * width + p["min"]
    return y


def triangular_cdf(p: Params, x: float) -> tuple[float, float]:
    c, width = _triangle(p)
    t = (x - p["min"]) / width
    if not t > 0.0:
        return 0.0, 1.0
    if not t < 1.0:
        return 1.0, 0.0
    if t < c:
        f = t * t / c
        return f, 1.0 - f
    s = (1.0 - t) * (1.0 - t) / (1.0 - c)
    return 1.0 - s, s


def triangular_mean(p: Params) -> float:
    c, width = _triangle(p)
    return float((c + 1.0) / 3.0 * width + p["min"])


# -- beta and PERT --------------------------------------------------------------------------------


@functools.cache
def _beta_ppf_ufunc() -> Any:
    # scipy.stats.beta's ``_ppf`` is scipy.special's private ``_beta_ppf``: boost's inverse of the
    # incomplete beta function, like ``betaincinv``, but with an error policy that keeps the last
    # iterate where ``betaincinv`` gives NaN (far tails, u ~ 1e-300).
    return getattr(special._ufuncs, "_beta_ppf", None)


def _scaled_beta_ppf(a: float, b: float, low: float, width: float, u: np.ndarray) -> np.ndarray:
    ppf = _beta_ppf_ufunc()
    x = special.betaincinv(a, b, u) if ppf is None else ppf(u, a, b)
    y: np.ndarray = x * width + low
    return y


def _scaled_beta_isf(a: float, b: float, low: float, width: float, q: np.ndarray) -> np.ndarray:
    y: np.ndarray = special.betainccinv(a, b, q) * width + low
    return y


def _scaled_beta_cdf(a: float, b: float, low: float, width: float, x: float) -> tuple[float, float]:
    t = (x - low) / width
    if not t > 0.0:
        return 0.0, 1.0
    if not t < 1.0:
        return 1.0, 0.0
    return float(special.betainc(a, b, t)), float(special.betaincc(a, b, t))


def _beta_shape(p: Params) -> tuple[float, float, float, float]:
    return p["a"], p["b"], p["low"], p["high"] - p["low"]


def pert_beta(p: Params) -> tuple[float, float, float, float]:
    """PERT as a scaled beta ``(a, b, low, width)``: a = 1 + lambda (mode - min) / (max - min),
    b likewise from max."""
    width = p["max"] - p["min"]
    a = 1.0 + p["lambda"] * (p["mode"] - p["min"]) / width
    b = 1.0 + p["lambda"] * (p["max"] - p["mode"]) / width
    return a, b, p["min"], width


def _beta_mean(a: float, b: float, low: float, width: float) -> float:
    return float(a / (a + b) * width + low)


def beta_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    return _scaled_beta_ppf(*_beta_shape(p), u)


def beta_isf(p: Params, q: np.ndarray) -> np.ndarray:
    return _scaled_beta_isf(*_beta_shape(p), q)


def beta_cdf(p: Params, x: float) -> tuple[float, float]:
    return _scaled_beta_cdf(*_beta_shape(p), x)


def beta_mean(p: Params) -> float:
    return _beta_mean(*_beta_shape(p))


def pert_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    return _scaled_beta_ppf(*pert_beta(p), u)


def pert_isf(p: Params, q: np.ndarray) -> np.ndarray:
    return _scaled_beta_isf(*pert_beta(p), q)


def pert_cdf(p: Params, x: float) -> tuple[float, float]:
    return _scaled_beta_cdf(*pert_beta(p), x)


def pert_mean(p: Params) -> float:
    return _beta_mean(*pert_beta(p))


# -- gamma, weibull, exponential, student t -------------------------------------------------------


def gamma_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = special.gammaincinv(p["shape"], u) * p["scale"]
    return x


def gamma_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = special.gammainccinv(p["shape"], q) * p["scale"]
    return x


def gamma_cdf(p: Params, x: float) -> tuple[float, float]:
    if not x > 0.0:
        return 0.0, 1.0
    y = x / p["scale"]
    return float(special.gammainc(p["shape"], y)), float(special.gammaincc(p["shape"], y))


def gamma_mean(p: Params) -> float:
    return float(p["shape"] * p["scale"])


def weibull_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["scale"] * np.power(-np.log1p(-u), 1.0 / p["shape"])
    return x


def weibull_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["scale"] * np.power(-np.log(q), 1.0 / p["shape"])
    return x


def weibull_cdf(p: Params, x: float) -> tuple[float, float]:
    if not x > 0.0:
        return 0.0, 1.0
    with np.errstate(all="ignore"):
        y = np.power(np.float64(x) / p["scale"], p["shape"])
        return _float(-np.expm1(-y)), _float(np.exp(-y))


def weibull_mean(p: Params) -> float:
    try:
        return float(math.gamma(1.0 + 1.0 / p["shape"]) * p["scale"])
    except OverflowError:
        return math.inf


def exponential_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["mean"] * -np.log1p(-u)
    return x


def exponential_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = p["mean"] * -np.log(q)
    return x


def exponential_cdf(p: Params, x: float) -> tuple[float, float]:
    if not x > 0.0:
        return 0.0, 1.0
    with np.errstate(all="ignore"):
        y = np.float64(x) / p["mean"]
        return _float(-np.expm1(-y)), _float(np.exp(-y))


def exponential_mean(p: Params) -> float:
    return float(p["mean"])


def student_t_ppf(p: Params, u: np.ndarray) -> np.ndarray:
    x: np.ndarray = special.stdtrit(p["df"], u) * p["scale"] + p["loc"]
    return x


def student_t_isf(p: Params, q: np.ndarray) -> np.ndarray:
    x: np.ndarray = -special.stdtrit(p["df"], q) * p["scale"] + p["loc"]
    return x


def student_t_cdf(p: Params, x: float) -> tuple[float, float]:
    z = (x - p["loc"]) / p["scale"]
    return float(special.stdtr(p["df"], z)), float(special.stdtr(p["df"], -z))


def student_t_mean(p: Params) -> float:
    # scipy.stats.t: mean 0 for df > 1, else infinite (the integral diverges)
    return float((0.0 if p["df"] > 1 else math.inf) * p["scale"] + p["loc"])
