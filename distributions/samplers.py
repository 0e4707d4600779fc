"""Uniform samplers: plain Monte Carlo, Latin hypercube and scrambled Sobol'.

Every sampler has the same signature and returns uniforms strictly inside (0, 1); inputs are
made from them by correlation (on normal scores) and each input's ``ppf``, so the sampler is a
one-word switch.

- ``"mc"``: independent uniforms; error of a mean ~ n**-0.5.
- ``"lhs"``: Latin hypercube, exactly one point per stratum [i/n, (i+1)/n) in each dimension;
  removes the additive part of the variance.
- ``"sobol"``: scrambled Sobol' points (randomised QMC); error ~ n**-1 or better for smooth
  integrands. Best with n a power of 2 (the balance properties need it); other n work but
  lose part of the gain.
"""

from __future__ import annotations

import numpy as np

from distributions.errors import ScenarioError, UsageError, did_you_mean

from ._lazy import qmc

__all__ = ["SAMPLERS", "check_sampler", "uniforms"]

SAMPLERS = ("mc", "lhs", "sobol")

# Uniforms are clipped to [_EPS, 1 - _EPS] so that every ppf is finite (a QMC point may be 0).
_EPS = 2.0**-53


def check_sampler(name: str) -> str:
    """``name`` if it is one of :data:`SAMPLERS`; else a UsageError("sampler", ...) with a hint.

    The one check of a ``sampler`` argument that the library functions (run, compare, ...) make
    before any work.
    """
    if name not in SAMPLERS:
        hint = did_you_mean(name, SAMPLERS)
        raise UsageError("sampler", "unknown sampler '{given}'{hint}", given=name, hint=hint)
    return name


def uniforms(method: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in ``d`` dimensions from ``method``, all randomness from ``rng``.

    Returns a float64 array of shape (n, d) with values in [2**-53, 1 - 2**-53].
    Raises ScenarioError for an unknown ``method``.
    """
    if method not in SAMPLERS:
        raise ScenarioError(f"unknown sampler '{method}'{did_you_mean(method, SAMPLERS)}")
    if n < 0 or d < 0:
        raise ValueError(f"n and d must be >= 0, got n={n}, d={d}")
    if n == 0 or d == 0:
        return np.empty((n, d), dtype=np.float64)
    if method == "mc":
        u = rng.random((n, d))
    elif method == "lhs":
        u = qmc.LatinHypercube(d, rng=rng).random(n)
    else:
        # The first n points of the next power of two: the same points as ``random(n)``, without
        # scipy's warning for an n that is not a power of 2 (documented above; still a valid
        # randomised QMC sample). Silencing it would take warnings.catch_warnings, which is not
        # thread-safe, and batches run on threads.
        m = (n - 1).bit_length()
        u = qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)[:n]
    return np.clip(np.asarray(u, dtype=np.float64), _EPS, 1.0 - _EPS)
