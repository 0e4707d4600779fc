"""The registry of distribution families: their parameterisations, checks and fast exact forms.

Each :class:`Family` lists its accepted parameter sets (:class:`Form`), each with a resolver that
checks the user's numbers and returns the family's *natural* parameters. ``make`` turns natural
parameters into a frozen scipy.stats distribution, built only when asked for (``Spec.dist``):
parsing and sampling go through the family's fast exact forms instead, ``kernel`` (the ppf for
large arrays), ``isf``, ``cdf`` and ``mean`` (:mod:`distributions.kernels`), or a ``table``
built once (:mod:`distributions.finite`), so neither imports ``scipy.stats``.
:func:`make_dist` makes a family's distribution, truncated if asked. The resolvers of the
discrete families (bernoulli, discrete, empirical) are in :mod:`distributions.finite`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import finite
from . import kernels as k
from . import percentiles as pct
from ._lazy import stats
from ._require import fail, fmt, number, positive
from .truncation import TruncatedDist

__all__ = ["FAMILIES", "Context", "Family", "Form", "make_dist"]


@dataclass(frozen=True)
class Context:
    """Where a table is being parsed: its key path, and how to read months and files."""

    path: str
    family: str
    month_of: Callable[[str], int] | None = None
    base_dir: Path | None = None


Resolver = Callable[[dict[str, Any], list[pct.Point], Context], dict[str, Any]]
Kernel = Callable[[Mapping[str, Any], np.ndarray], np.ndarray]
PointCdf = Callable[[Mapping[str, Any], float], tuple[float, float]]


@dataclass(frozen=True)
class Form:
    """One accepted parameter set: ``required`` keys, ``optional`` keys with their defaults, and
    how many percentile keys (``p5``...) it takes."""

    required: tuple[str, ...]
    resolve: Resolver
    optional: Mapping[str, Any] = field(default_factory=dict)
    percentiles: int = 0

    def matches(self, named: set[str], n_percentiles: int) -> bool:
        allowed = set(self.required) | set(self.optional)
        return n_percentiles == self.percentiles and set(self.required) <= named <= allowed


@dataclass(frozen=True)
class Family:
    """A distribution family as the scenario format knows it (see docs/scenario-format.md)."""

    name: str
    needs: str  # for "<name> needs <needs> (got ...)"
    forms: tuple[Form, ...]
    make: Callable[[Mapping[str, Any]], Any]  # natural params -> frozen scipy dist (or None)
    continuous: bool = True
    kernel: Kernel | None = None  # exact, fast equivalent of make(params).ppf
    isf: Kernel | None = None  # likewise of .isf (continuous: truncation in the upper tail)
    cdf: PointCdf | None = None  # (cdf, sf) at one point (continuous: truncation bounds)
    mean: Callable[[Mapping[str, Any]], float] | None = None  # make(params).mean(), closed form
    table: Callable[[Mapping[str, Any]], finite.Table] | None = None  # discrete: built once
    # True when parse_spec's probe (p1, p50, p99 defined) is known to pass for these parameters
    # without evaluating a kernel that would import scipy.special (see _probe_passes below)
    probe_passes: Callable[[Mapping[str, Any]], bool] | None = None
    raw_keys: frozenset[str] = frozenset()  # keys whose values are not plain numbers
    describe: Callable[[Mapping[str, Any]], str] | None = None

    @property
    def keys(self) -> frozenset[str]:
        """Every named (non-percentile) parameter key of the family."""
        return frozenset(k for f in self.forms for k in (*f.required, *f.optional))

    @property
    def takes_percentiles(self) -> bool:
        return any(f.percentiles for f in self.forms)


# -- checks shared by several families ------------------------------------------------------------


def _ordered_pair(v: dict[str, Any], lo: str, hi: str, ctx: Context) -> float:
    """``v[hi] - v[lo]`` after checking ``lo < high`` and a finite width."""
    if not v[lo] < v[hi]:
        fail(ctx.path, f"{ctx.family} needs {lo} < {hi} (got {lo}={fmt(v[lo])}, {hi}={fmt(v[hi])})")
    width: float = v[hi] - v[lo]
    if not math.isfinite(width):
        fail(ctx.path, f"{ctx.family} range {lo}={fmt(v[lo])} to {hi}={fmt(v[hi])} is too wide")
    return width


def _min_mode_max(v: dict[str, Any], ctx: Context) -> float:
    """Check ``min <= mode <= max`` and ``min < max``; return the width."""
    lo, mode, hi = v["min"], v["mode"], v["max"]
    if not lo <= mode <= hi:
        got = f"min={fmt(lo)}, mode={fmt(mode)}, max={fmt(hi)}"
        fail(ctx.path, f"{ctx.family} needs min <= mode <= max (got {got})")
    return _ordered_pair(v, "min", "max", ctx)


def _positive(v: dict[str, Any], ctx: Context, *keys: str) -> None:
    for key in keys:
        positive(v[key], ctx.path, f"{ctx.family} {key}")


def _checked(points: list[pct.Point], ctx: Context, *, log: bool = False) -> list[pct.Point]:
    """The percentile points in order of level, values increasing (and > 0 if ``log``)."""
    points = pct.ordered(points, ctx.family, ctx.path)
    if log:
        pct.require_positive(points, ctx.family, ctx.path)
    return points


# -- continuous families --------------------------------------------------------------------------


def _constant(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    if ctx.month_of is not None:
        return {"value": float(finite.month_index(v["value"], ctx))}
    return {"value": number(v["value"], ctx.path, "constant value")}


def _normal(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "sd")
    return {"mean": v["mean"], "sd": v["sd"]}


def _lognormal(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "median", "sigma")
    return {"median": v["median"], "sigma": v["sigma"]}


def _lognormal_moments(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    """From the value's mean and sd: sigma^2 = log(1 + cv^2), median = mean / sqrt(1 + cv^2)."""
    _positive(v, ctx, "mean", "sd")
    cv2 = (v["sd"] / v["mean"]) ** 2
    return {"median": v["mean"] / math.sqrt(1.0 + cv2), "sigma": math.sqrt(math.log1p(cv2))}


def _uniform(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _ordered_pair(v, "low", "high", ctx)
    return {"low": v["low"], "high": v["high"]}


def _uniform_pct(v: dict[str, Any], points: list[pct.Point], ctx: Context) -> dict[str, Any]:
    return _uniform(pct.uniform_from(*_checked(points, ctx)), points, ctx)


def _triangular(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _min_mode_max(v, ctx)
    return {"min": v["min"], "mode": v["mode"], "max": v["max"]}


def _pert(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _min_mode_max(v, ctx)
    _positive(v, ctx, "lambda")
    return {"min": v["min"], "mode": v["mode"], "max": v["max"], "lambda": v["lambda"]}


def _make_pert(p: Mapping[str, Any]) -> Any:
    a, b, low, width = k.pert_beta(p)
    return stats.beta(a, b, loc=low, scale=width)


def _beta(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "a", "b")
    _ordered_pair(v, "low", "high", ctx)
    return {"a": v["a"], "b": v["b"], "low": v["low"], "high": v["high"]}


def _shape_scale(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "shape", "scale")
    return {"shape": v["shape"], "scale": v["scale"]}


def _gamma_moments(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "mean", "sd")
    return {"shape": (v["mean"] / v["sd"]) ** 2, "scale": v["sd"] ** 2 / v["mean"]}


def _gamma_pct(v: dict[str, Any], points: list[pct.Point], ctx: Context) -> dict[str, Any]:
    a, b = _checked(points, ctx, log=True)
    return pct.gamma_from(a, b, ctx.path)


def _student_t(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "df", "scale")
    return {"df": v["df"], "loc": v["loc"], "scale": v["scale"]}


def _student_t_pct(v: dict[str, Any], points: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "df")
    return pct.student_t_from(v["df"], *_checked(points, ctx))


def _exponential(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "mean")
    return {"mean": v["mean"]}


def _exponential_rate(v: dict[str, Any], _: list[pct.Point], ctx: Context) -> dict[str, Any]:
    _positive(v, ctx, "rate")
    return {"mean": 1.0 / v["rate"]}


def _exponential_pct(v: dict[str, Any], points: list[pct.Point], ctx: Context) -> dict[str, Any]:
    return pct.exponential_from(*_checked(points, ctx, log=True))


def _from_points(solve: Callable[..., dict[str, float]], *, log: bool) -> Resolver:
    """A resolver for a two-percentile form with a closed-form ``solve(a, b)``."""
    return lambda v, points, ctx: solve(*_checked(points, ctx, log=log))


# -- parse-time probes that are known to pass ----------------------------------------------------

#: The beta kernel (boost's inverse incomplete beta) is finite and in [0, 1] at p1, p50 and p99
#: for every a and b in this range (swept in tests/test_dist_fast.py); far outside it, NaN.
BETA_PROBE_RANGE = (1e-3, 1e6)


def _normal_probe(p: Mapping[str, Any]) -> bool:
    # mean and sd are finite: mean + sd * z is never NaN (at worst +-inf far in a tail), p50 = mean
    return True


def _lognormal_probe(p: Mapping[str, Any]) -> bool:
    # median * exp(sigma * z) is never NaN for a median > 0 (0 or inf at worst), p50 = median
    return bool(p["median"] > 0.0)


def _beta_shapes_probe(a: float, b: float) -> bool:
    low, high = BETA_PROBE_RANGE
    return low <= a <= high and low <= b <= high


def _beta_probe(p: Mapping[str, Any]) -> bool:
    # x in [0, 1] scaled by a finite width from a finite low (both checked by the resolver)
    return _beta_shapes_probe(p["a"], p["b"])


def _pert_probe(p: Mapping[str, Any]) -> bool:
    a, b, _, _ = k.pert_beta(p)
    return _beta_shapes_probe(a, b)


_TWO_PCT = "two percentiles such as p10 and p90"

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "constant",
            "value",
            (Form(("value",), _constant),),
            make=lambda p: None,
            continuous=False,
            raw_keys=frozenset({"value"}),
        ),
        Family(
            "normal",
            f"mean and sd, or {_TWO_PCT}",
            (
                Form(("mean", "sd"), _normal),
                Form((), _from_points(pct.normal_from, log=False), percentiles=2),
            ),
            make=lambda p: stats.norm(loc=p["mean"], scale=p["sd"]),
            kernel=k.normal_ppf,
            isf=k.normal_isf,
            cdf=k.normal_cdf,
            mean=k.normal_mean,
            probe_passes=_normal_probe,
        ),
        Family(
            "lognormal",
            f"median and sigma, or mean and sd, or {_TWO_PCT}",
            (
                Form(("median", "sigma"), _lognormal),
                Form(("mean", "sd"), _lognormal_moments),
                Form((), _from_points(pct.lognormal_from, log=True), percentiles=2),
            ),
            make=lambda p: stats.lognorm(p["sigma"], scale=p["median"]),
            kernel=k.lognormal_ppf,
            isf=k.lognormal_isf,
            cdf=k.lognormal_cdf,
            mean=k.lognormal_mean,
            probe_passes=_lognormal_probe,
        ),
        Family(
            "uniform",
            f"low and high, or {_TWO_PCT}",
            (Form(("low", "high"), _uniform), Form((), _uniform_pct, percentiles=2)),
            make=lambda p: stats.uniform(loc=p["low"], scale=p["high"] - p["low"]),
            kernel=k.uniform_ppf,
            isf=k.uniform_isf,
            cdf=k.uniform_cdf,
            mean=k.uniform_mean,
        ),
        Family(
            "triangular",
            "min, mode and max",
            (Form(("min", "mode", "max"), _triangular),),
            make=lambda p: stats.triang(
                (p["mode"] - p["min"]) / (p["max"] - p["min"]),
                loc=p["min"],
                scale=p["max"] - p["min"],
            ),
            kernel=k.triangular_ppf,
            isf=k.triangular_isf,
            cdf=k.triangular_cdf,
            mean=k.triangular_mean,
        ),
        Family(
            "pert",
            "min, mode and max, with optional lambda",
            (Form(("min", "mode", "max"), _pert, optional={"lambda": 4.0}),),
            make=_make_pert,
            kernel=k.pert_ppf,
            isf=k.pert_isf,
            cdf=k.pert_cdf,
            mean=k.pert_mean,
            probe_passes=_pert_probe,
        ),
        Family(
            "beta",
            "a and b, with optional low and high",
            (Form(("a", "b"), _beta, optional={"low": 0.0, "high": 1.0}),),
            make=lambda p: stats.beta(p["a"], p["b"], loc=p["low"], scale=p["high"] - p["low"]),
            kernel=k.beta_ppf,
            isf=k.beta_isf,
            cdf=k.beta_cdf,
            mean=k.beta_mean,
            probe_passes=_beta_probe,
        ),
        Family(
            "gamma",
            f"shape and scale, or mean and sd, or {_TWO_PCT}",
            (
                Form(("shape", "scale"), _shape_scale),
                Form(("mean", "sd"), _gamma_moments),
                Form((), _gamma_pct, percentiles=2),
            ),
            make=lambda p: stats.gamma(p["shape"], scale=p["scale"]),
            kernel=k.gamma_ppf,
            isf=k.gamma_isf,
            cdf=k.gamma_cdf,
            mean=k.gamma_mean,
        ),
        Family(
            "weibull",
            f"shape and scale, or {_TWO_PCT}",
            (
                Form(("shape", "scale"), _shape_scale),
                Form((), _from_points(pct.weibull_from, log=True), percentiles=2),
            ),
            make=lambda p: stats.weibull_min(p["shape"], scale=p["scale"]),
            kernel=k.weibull_ppf,
            isf=k.weibull_isf,
            cdf=k.weibull_cdf,
            mean=k.weibull_mean,
        ),
        Family(
            "student_t",
            f"df with optional loc and scale, or df and {_TWO_PCT}",
            (
                Form(("df",), _student_t, optional={"loc": 0.0, "scale": 1.0}),
                Form(("df",), _student_t_pct, percentiles=2),
            ),
            make=lambda p: stats.t(p["df"], loc=p["loc"], scale=p["scale"]),
            kernel=k.student_t_ppf,
            isf=k.student_t_isf,
            cdf=k.student_t_cdf,
            mean=k.student_t_mean,
        ),
        Family(
            "exponential",
            "mean, or rate, or one percentile such as p90",
            (
                Form(("mean",), _exponential),
                Form(("rate",), _exponential_rate),
                Form((), _exponential_pct, percentiles=1),
            ),
            make=lambda p: stats.expon(scale=p["mean"]),
            kernel=k.exponential_ppf,
            isf=k.exponential_isf,
            cdf=k.exponential_cdf,
            mean=k.exponential_mean,
        ),
        Family(
            "bernoulli",
            "p",
            (Form(("p",), finite.bernoulli),),
            make=lambda p: stats.bernoulli(p["p"]),
            continuous=False,
            kernel=finite.bernoulli_kernel,
            mean=finite.bernoulli_mean,
        ),
        Family(
            "discrete",
            "values, with optional probs",
            (Form(("values",), finite.discrete, optional={"probs": None}),),
            make=finite.make_table,
            continuous=False,
            kernel=finite.table_kernel,
            table=finite.Table.of,
            raw_keys=frozenset({"values", "probs"}),
        ),
        Family(
            "empirical",
            "data, or csv and column",
            (Form(("data",), finite.empirical_data), Form(("csv", "column"), finite.empirical_csv)),
            make=finite.make_table,
            continuous=False,
            kernel=finite.table_kernel,
            table=finite.Table.of,
            raw_keys=frozenset({"data", "csv", "column"}),
            describe=finite.describe_empirical,
        ),
    )
}


class _Frozen:
    """The frozen scipy.stats distribution of a family, made on first attribute access (so that
    ``Spec.dist`` costs nothing, and scipy.stats is imported only by whoever uses it)."""

    def __init__(self, family: str, params: Mapping[str, Any]) -> None:
        self._args = (family, params)
        self._dist: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._dist is None:
            family, params = self._args
            self._dist = FAMILIES[family].make(params)
        return getattr(self._dist, name)

    def __repr__(self) -> str:
        family, params = self._args
        return f"<scipy.stats distribution of {family}{dict(params)!r}, made on first use>"


def make_dist(family: str, params: Mapping[str, Any], truncate: tuple[float, float] | None) -> Any:
    """The distribution of ``FAMILIES[family]`` with natural ``params``: ``None`` for a constant;
    a fast :class:`~distributions.truncation.TruncatedDist` when ``truncate`` is
    ``(low, high)``; else the frozen scipy.stats distribution, made on first use."""
    if family == "constant":
        return None
    if truncate is not None:
        return TruncatedDist(FAMILIES[family], params, *truncate)
    return _Frozen(family, params)
