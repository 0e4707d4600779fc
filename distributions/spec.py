"""One uncertain number: the frozen, validated :class:`Spec` that every input resolves to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._require import fmt
from .families import FAMILIES, make_dist

__all__ = ["Params", "Spec"]


class Params(Mapping[str, Any]):
    """A read-only mapping of resolved parameters; hashable and picklable (unlike
    ``types.MappingProxyType``). Values are floats, or tuples of floats for ``discrete``
    (``values``, ``probs``) and ``empirical`` (``data``, sorted)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"Params({self._items!r})"


def _short(value: Any) -> str:
    """A parameter to 4 significant figures; long tuples by their length."""
    if isinstance(value, tuple):
        if len(value) > 8:
            return f"[{len(value)} values]"
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return f"{value:.4g}"


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A validated distribution for one input (or a fixed number), resolved to scipy.

    ``params`` are the family's natural parameters (``{"median": .., "sigma": ..}`` for a
    lognormal, ``{"value": ..}`` for a constant); ``given`` is how the user wrote it; ``dist`` is
    the frozen scipy.stats distribution (``None`` for a constant; a
    :class:`~distributions.truncation.TruncatedDist` when ``truncate`` is set). ``vary`` is how
    the input varies over time; ``is_month`` marks month indices (event timing). Values are in
    the scenario's units. Equality ignores ``dist`` (it follows from the other fields).
    """

    family: str
    params: Mapping[str, Any]
    given: str
    dist: Any = field(compare=False)
    vary: Literal["path", "month", "year"] = "path"
    source: str | None = None
    is_month: bool = False
    truncate: tuple[float, float] | None = None  # (low, high) of a truncated continuous family

    def __post_init__(self) -> None:
        if not isinstance(self.params, Params):
            object.__setattr__(self, "params", Params(self.params))

    def __reduce__(self) -> tuple:
        # Pickled without its scipy object, which is rebuilt on first use: worker processes
        # then sample through the fast kernels without importing scipy.stats.
        fields = (self.family, self.params, self.given, self.vary, self.source, self.is_month)
        return (_restore, (*fields, self.truncate, self.dist is None))

    @property
    def is_constant(self) -> bool:
        """True for a fixed number (``dist`` is None)."""
        return self.dist is None

    @property
    def is_discrete(self) -> bool:
        """True for bernoulli, discrete and empirical (a constant is not: see is_constant)."""
        return not self.is_constant and not FAMILIES[self.family].continuous

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles at probabilities ``u`` in (0, 1): float64, same shape as ``u``. Vectorized,
        exact (scipy's own formulas, or the family's equivalent fast kernel)."""
        u = np.asarray(u, dtype=np.float64)
        if self.dist is None:
            return np.full(u.shape, float(self.params["value"]))
        family = FAMILIES[self.family]
        if self.truncate is None and family.kernel is not None:
            return family.kernel(self.params, u)
        return np.asarray(self.dist.ppf(u), dtype=np.float64)

    def mean(self) -> float:
        """The mean (of the truncated distribution when truncated)."""
        if self.dist is None:
            return float(self.params["value"])
        return float(self.dist.mean())

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """The ``q`` quantile(s): a float for a scalar ``q``, else an array shaped like ``q``."""
        q_arr = np.asarray(q, dtype=np.float64)
        x = self.ppf(q_arr)
        return float(x) if q_arr.ndim == 0 else x

    def describe(self) -> str:
        """Family and resolved parameters to 4 significant figures, e.g.
        ``"lognormal(median=3.682, sigma=0.06629)"``; truncation appended."""
        family = FAMILIES[self.family]
        if family.describe is not None:
            text = family.describe(self.params)
        else:
            inner = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
            text = f"{self.family}({inner})"
        if self.truncate is not None:
            low, high = self.truncate
            text += f" truncated to [{fmt(low)}, {fmt(high)}]"
        return text


class _LazyDist:
    """The frozen scipy distribution of an unpickled Spec, made on first attribute access."""

    def __init__(self, family: str, params: Mapping[str, Any], truncate: tuple | None) -> None:
        self._args = (family, params, truncate)
        self._dist: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._dist is None:
            self._dist = make_dist(*self._args)
        return getattr(self._dist, name)


def _restore(
    family: str,
    params: Mapping[str, Any],
    given: str,
    vary: Any,
    source: str | None,
    is_month: bool,
    truncate: tuple[float, float] | None,
    constant: bool,
) -> Spec:
    dist = None if constant else _LazyDist(family, params, truncate)
    return Spec(
        family=family,
        params=params,
        given=given,
        dist=dist,
        vary=vary,
        source=source,
        is_month=is_month,
        truncate=truncate,
    )
