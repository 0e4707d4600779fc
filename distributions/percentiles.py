"""Distributions fixed by percentiles: ``p5``-style keys, and solving for the natural parameters.

Closed forms for normal, lognormal, uniform, exponential and weibull, through ``math`` alone
(the normal quantile by :func:`normal_quantile`), so that parsing a scenario imports no scipy;
student_t (df given) through ``scipy.special.stdtrit``, and for gamma a root search on the log
of the shape (:func:`scipy.optimize.brentq`), both imported when such a fit is made. Each
solution reproduces the stated percentiles to about 1e-13 relative; gamma's is checked to 1e-9.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from ._lazy import optimize, special
from ._require import fail, fmt

__all__ = [
    "Point",
    "exponential_from",
    "gamma_from",
    "level_of",
    "lognormal_from",
    "normal_from",
    "normal_quantile",
    "ordered",
    "require_positive",
    "student_t_from",
    "uniform_from",
    "weibull_from",
]

_KEY = re.compile(r"p(\d+(?:\.\d+)?)")
_MAX_LOG_SHAPE = math.log(1e15)
_MIN_LOG_SHAPE = math.log(1e-4)
_SQRT_HALF = math.sqrt(0.5)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Point:
    """One stated percentile: ``key`` as written ("p5"), ``level`` in (0, 1), ``value``."""

    key: str
    level: float
    value: float

    def text(self) -> str:
        return f"{self.key}={fmt(self.value)}"


def level_of(key: str) -> float | None:
    """The probability level of a percentile key (``"p5"`` -> 0.05, ``"p97.5"`` -> 0.975), or None
    if ``key`` is not of the form ``p<number>``. The level is not range-checked here."""
    match = _KEY.fullmatch(key)
    return float(match[1]) / 100.0 if match else None


def ordered(points: list[Point], family: str, path: str) -> list[Point]:
    """``points`` sorted by level; values must increase strictly with the level."""
    points = sorted(points, key=lambda p: p.level)
    for a, b in itertools.pairwise(points):
        if a.level == b.level:
            fail(path, f"{family} gives the same percentile twice ({a.key} and {b.key})")
        if not a.value < b.value:
            fail(path, f"{family} needs {a.key} < {b.key} (got {a.text()}, {b.text()})")
    return points


def require_positive(points: list[Point], family: str, path: str) -> None:
    """Percentiles of a distribution on (0, inf) must be > 0."""
    bad = [p.text() for p in points if not p.value > 0]
    if bad:
        fail(path, f"{family} percentiles must be > 0 (got {', '.join(bad)})")


def normal_quantile(level: float) -> float:
    """The standard normal quantile at ``level`` in (0, 1), without scipy.

    :class:`statistics.NormalDist`'s (Wichura's AS 241) polished by one Newton step on
    ``math.erfc``, in the lower tail (the upper one by symmetry: ``1 - level`` is exact there):
    within a few units in the last place of ``scipy.special.ndtri`` (tests/test_dist_fast.py),
    so parameters fitted to percentiles agree with scipy's to rounding.
    """
    if level > 0.5:
        return -normal_quantile(1.0 - level)
    from statistics import NormalDist  # about 10 ms: only when a percentile is fitted

    x = NormalDist().inv_cdf(level)
    density = math.exp(-0.5 * x * x) / _SQRT_2PI  # 0 only beyond level ~ 1e-300
    if density > 0.0:
        x -= (0.5 * math.erfc(-x * _SQRT_HALF) - level) / density
    return x


def normal_from(a: Point, b: Point) -> dict[str, float]:
    """Normal ``mean``, ``sd`` with the stated two percentiles."""
    za, zb = normal_quantile(a.level), normal_quantile(b.level)
    sd = (b.value - a.value) / (zb - za)
    return {"mean": a.value - sd * za, "sd": sd}


def lognormal_from(a: Point, b: Point) -> dict[str, float]:
    """Lognormal ``median``, ``sigma`` (sd of the log) with the stated two percentiles (> 0)."""
    za, zb = normal_quantile(a.level), normal_quantile(b.level)
    la, lb = math.log(a.value), math.log(b.value)
    sigma = (lb - la) / (zb - za)
    return {"median": math.exp(la - sigma * za), "sigma": sigma}


def uniform_from(a: Point, b: Point) -> dict[str, float]:
    """Uniform ``low``, ``high`` with the stated two percentiles."""
    width = (b.value - a.value) / (b.level - a.level)
    low = a.value - a.level * width
    return {"low": low, "high": low + width}


def student_t_from(df: float, a: Point, b: Point) -> dict[str, float]:
    """Student t ``loc``, ``scale`` for a given ``df`` with the stated two percentiles (the t
    quantiles are scipy.stats.t's own: its ppf is ``stdtrit``)."""
    ta, tb = special.stdtrit(df, a.level), special.stdtrit(df, b.level)
    scale = (b.value - a.value) / (tb - ta)
    return {"df": df, "loc": float(a.value - scale * ta), "scale": float(scale)}


def exponential_from(a: Point) -> dict[str, float]:
    """Exponential ``mean`` with the stated percentile (> 0): ``x = -mean * log(1 - p)``."""
    return {"mean": a.value / -math.log1p(-a.level)}


def weibull_from(a: Point, b: Point) -> dict[str, float]:
    """Weibull ``shape``, ``scale``: from ``log x = log scale + log(-log(1 - p)) / shape``."""
    ha, hb = math.log(-math.log1p(-a.level)), math.log(-math.log1p(-b.level))
    shape = (hb - ha) / (math.log(b.value) - math.log(a.value))
    return {"shape": shape, "scale": a.value / math.exp(ha / shape)}


def gamma_from(a: Point, b: Point, path: str) -> dict[str, float]:
    """Gamma ``shape``, ``scale`` with the stated two percentiles (> 0).

    The ratio of two gamma quantiles depends on the shape only and falls as it grows, so the
    shape is the root of ``log(q_b(k) / q_a(k)) = log(b / a)`` (searched on log k); the scale
    then matches ``a`` exactly.
    """
    target = math.log(b.value) - math.log(a.value)

    def gap(log_shape: float) -> float:
        shape = math.exp(log_shape)
        with np.errstate(all="ignore"):
            qa = special.gammaincinv(shape, a.level)
            qb = special.gammaincinv(shape, b.level)
            return float(np.log(qb) - np.log(qa) - target)

    why = f"gamma cannot match {a.text()}, {b.text()}"
    lo = hi = 0.0
    if gap(0.0) > 0:  # at shape 1 the quantiles are further apart than stated: go larger
        while gap(hi) > 0:
            lo, hi = hi, hi + 2.0
            if hi > _MAX_LOG_SHAPE:
                fail(path, f"{why}: they are too close together for a gamma (try normal)")
    else:
        while not gap(lo) > 0:
            hi, lo = lo, lo - 2.0
            if lo < _MIN_LOG_SHAPE or not math.isfinite(gap(lo)):
                fail(path, f"{why}: they are too far apart for a gamma (try lognormal)")
    log_shape = optimize.brentq(gap, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    shape = math.exp(log_shape)
    scale = a.value / special.gammaincinv(shape, a.level)
    for p in (a, b):
        got = scale * special.gammaincinv(shape, p.level)
        if not abs(got - p.value) <= 1e-9 * abs(p.value):
            fail(path, f"{why} to 1e-9 (the best gamma gives {p.key}={fmt(float(got))})")
    return {"shape": shape, "scale": float(scale)}
