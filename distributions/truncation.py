"""A continuous family restricted to ``[low, high]`` and renormalised, through its fast kernels.

Exact and vectorized through the family's own cdf and quantile functions
(:mod:`distributions.kernels`): ``ppf(u) = ppf_base(F(low) + u * (F(high) - F(low)))``, or the
same with ``sf``/``isf`` when the interval lies in the upper tail (where ``1 - F`` would lose
precision). ``F`` is evaluated once, at the two bounds; each batch then costs one affine map and
the family's own kernel (about as much as an untruncated input, where scipy's generic
:func:`scipy.stats.truncate` inverts the cdf numerically), and neither building nor sampling
imports scipy.stats. The mean is an integral over the quantile function, split into two tails
each mapped to ``(log 2, inf)``, so heavy tails and narrow peaks far from zero both come out
right (checked against ``scipy.stats.truncnorm`` and ``scipy.stats.truncate``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ._lazy import integrate

if TYPE_CHECKING:
    from .families import Family

__all__ = ["TruncatedDist"]


class TruncatedDist:
    """``family`` with natural ``params``, conditioned on ``low <= X <= high``.

    Either bound may be infinite. Offers the two frozen-distribution methods Runway uses:
    ``ppf`` (draws and quantiles) and ``mean`` (for :meth:`distributions.spec.Spec.mean`);
    ``base`` is the untruncated frozen scipy.stats distribution (made when first asked for).
    ``mass`` is the base probability of the interval (> 0 required). The family needs its
    ``kernel``, ``isf``, ``cdf`` and ``mean`` (every continuous family has them).
    """

    def __init__(self, family: Family, params: Mapping[str, Any], low: float, high: float) -> None:
        if not low < high:
            raise ValueError(f"need low < high (got {low}, {high})")
        if family.kernel is None or family.isf is None or family.cdf is None:
            raise ValueError(f"{family.name} cannot be truncated (it is not continuous)")
        self.family, self.params = family, params
        self._ppf, self._isf = family.kernel, family.isf
        self.low, self.high = float(low), float(high)
        self._f_low, self._s_low = family.cdf(params, self.low)
        self._f_high, self._s_high = family.cdf(params, self.high)
        self._upper = self._f_low > 0.5  # the interval lies in the upper tail: use sf / isf
        if self._upper:
            self.mass = self._s_low - self._s_high
        else:
            self.mass = self._f_high - self._f_low

    def __repr__(self) -> str:
        return f"TruncatedDist({self.family.name}{dict(self.params)!r}, {self.low}, {self.high})"

    @cached_property
    def base(self) -> Any:
        """The untruncated frozen scipy.stats distribution (imports scipy.stats)."""
        return self.family.make(self.params)

    def ppf(self, q: Any) -> np.ndarray:
        """Quantiles of the truncated distribution at probabilities ``q`` (any shape)."""
        q = np.asarray(q, dtype=np.float64)
        if self._upper:
            p = 1.0 - q
            p *= self.mass
            p += self._s_high
            x = self._isf(self.params, p)
        else:
            p = q * self.mass
            p += self._f_low
            x = self._ppf(self.params, p)
        if isinstance(x, np.ndarray) and x.ndim:  # a new array: clipped in place
            return np.clip(x, self.low, self.high, out=x)
        clipped: np.ndarray = np.clip(x, self.low, self.high)
        return clipped

    def _at(self, f: float, s: float) -> float:
        """The base quantile whose cdf is ``f`` and sf ``s`` (one point), clipped to the interval:
        through whichever of the two is smaller (the accurate one), or the other where the
        family's function gives up (NaN: the inverse incomplete beta at sf ~ 1e-300)."""
        tails = [(self._ppf, f), (self._isf, s)]
        if s < f:
            tails.reverse()
        with np.errstate(all="ignore"):
            for kernel, p in tails:
                x = float(kernel(self.params, np.asarray(p, dtype=np.float64)))
                if not math.isnan(x):
                    break
        return float(np.clip(x, self.low, self.high))

    def _lower_tail(self, q: float) -> float:
        """``ppf(q)``, accurate even for tiny ``q``."""
        return self._at(self._f_low + q * self.mass, self._s_low - q * self.mass)

    def _upper_tail(self, q: float) -> float:
        """``ppf(1 - q)``, accurate even for tiny ``q``."""
        return self._at(self._f_high - q * self.mass, self._s_high + q * self.mass)

    def _integral(self, func: Any) -> float:
        """``E[func(X)]``: the integral of ``func(ppf(u))`` over u in (0, 1), taken as two tails
        ``q = exp(-t)``, t in (log 2, inf), each evaluated through the accurate tail quantile;
        this resolves heavy tails and narrow peaks alike."""

        def part(tail: Any) -> float:
            def integrand(t: float) -> float:
                q = math.exp(-t)
                return float(func(np.float64(tail(q))) * q) if q > 0.0 else 0.0

            value: float = integrate.quad(
                integrand, math.log(2.0), math.inf, epsabs=0.0, epsrel=1e-10, limit=100
            )[0]
            return value

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return part(self._lower_tail) + part(self._upper_tail)

    def _open_tail(self) -> bool:
        return math.isinf(self.low) or math.isinf(self.high)

    @cached_property
    def _mean(self) -> float:
        assert self.family.mean is not None
        with np.errstate(all="ignore"):
            base_mean = float(self.family.mean(self.params))
        if self.mass == 1.0 or (not math.isfinite(base_mean) and self._open_tail()):
            return base_mean  # nothing is cut off (to double precision), or no finite mean
        return self._integral(lambda x: x)

    def mean(self) -> float:
        return self._mean
