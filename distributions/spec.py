"""One uncertain number: the frozen, validated :class:`Spec` that every input resolves to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Literal

import numpy as np

from ._require import fmt
from .families import FAMILIES, make_dist
from .finite import Table

__all__ = ["Params", "Spec"]

_PACK_LENGTH = 64  # tuples of floats at least this long are pickled as float64 arrays


class Params(Mapping[str, Any]):
    """A read-only mapping of resolved parameters; hashable and picklable (unlike
    ``types.MappingProxyType``). Values are floats, or tuples of floats for ``discrete``
    (``values``, ``probs``) and ``empirical`` (``data``, sorted).

    Long tuples of floats (an empirical input's observations) are pickled as float64 arrays,
    several times cheaper to write and read, and turned back into tuples only when first read:
    a worker process that only samples the input never does.
    """

    __slots__ = ("_hash", "_items", "_packed")

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        self._items = dict(items)

    def __getattr__(self, name: str) -> Any:
        # Only reached for an unset slot: ``_items`` of an unpickled Params not read yet.
        if name != "_items":
            raise AttributeError(name)
        packed: dict[str, Any] = object.__getattribute__(self, "_packed")
        items = {
            key: tuple(value.tolist()) if isinstance(value, np.ndarray) else value
            for key, value in packed.items()
        }
        self._items = items
        return items

    def __reduce__(self) -> tuple[Any, ...]:
        try:
            packed = object.__getattribute__(self, "_packed")
        except AttributeError:
            packed = {key: _pack(value) for key, value in self._items.items()}
            self._packed = packed  # immutable: pack once, however often it is pickled
        return (_unpickle_params, (packed,))

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        try:  # immutable: hashed once (an empirical input's data is a long tuple)
            value: int = object.__getattribute__(self, "_hash")
        except AttributeError:
            value = self._hash = hash(tuple(self._items.items()))
        return value

    def __repr__(self) -> str:
        return f"Params({self._items!r})"


def _pack(value: Any) -> Any:
    """A long tuple of floats as a float64 array; anything else unchanged."""
    if (
        isinstance(value, tuple)
        and len(value) >= _PACK_LENGTH
        and all(type(x) is float for x in value)
    ):
        return np.array(value, dtype=np.float64)
    return value


def _unpickle_params(packed: dict[str, Any]) -> Params:
    params = Params.__new__(Params)
    params._packed = packed
    return params


def _short(value: Any) -> str:
    """A parameter to 4 significant figures; long tuples by their length."""
    if isinstance(value, tuple):
        if len(value) > 8:
            return f"[{len(value)} values]"
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return f"{value:.4g}"


@dataclass(frozen=True, kw_only=True)
class Spec:
    """A validated distribution for one input (or a fixed number).

    ``params`` are the family's natural parameters (``{"median": .., "sigma": ..}`` for a
    lognormal, ``{"value": ..}`` for a constant); ``given`` is how the user wrote it; ``dist`` is
    the frozen scipy.stats distribution, made on first use (``None`` for a constant; a
    :class:`~distributions.truncation.TruncatedDist` when ``truncate`` is set). ``vary`` is how
    the input varies over time; ``is_month`` marks month indices (event timing). Values are in
    the scenario's units. Equality ignores ``dist`` (it follows from the other fields).

    Sampling (:meth:`ppf`) and :meth:`mean` never go through scipy.stats: they use the
    family's fast exact forms, with what they need built once and kept on the Spec (a discrete
    table, a truncation's bounds), and pickled with it.
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

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled without its scipy object (rebuilt on first use, so worker processes sample
        # through the fast kernels without importing scipy.stats), with its discrete table.
        fields = (self.family, self.params, self.given, self.vary, self.source, self.is_month)
        table = self._table if FAMILIES[self.family].table is not None else None
        return (_restore, (*fields, self.truncate, self.dist is None, table))

    @property
    def is_constant(self) -> bool:
        """True for a fixed number (``dist`` is None)."""
        return self.dist is None

    @property
    def is_discrete(self) -> bool:
        """True for bernoulli, discrete and empirical (a constant is not: see is_constant)."""
        return not self.is_constant and not FAMILIES[self.family].continuous

    @cached_property
    def _table(self) -> Table:
        """The discrete table of a ``discrete`` or ``empirical`` input, built once."""
        make = FAMILIES[self.family].table
        assert make is not None, self.family
        return make(self.params)

    @cached_property
    def _quantile(self) -> Callable[[np.ndarray], np.ndarray]:
        """The quantile function of a non-constant input, with what it needs made once."""
        family = FAMILIES[self.family]
        if self.truncate is not None:
            return self.dist.ppf  # type: ignore[no-any-return]
        if family.table is not None:
            return self._table.ppf
        if family.kernel is not None:
            return partial(family.kernel, self.params)
        return lambda u: np.asarray(self.dist.ppf(u), dtype=np.float64)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantiles at probabilities ``u`` in (0, 1): float64, same shape as ``u``. Vectorized,
        exact (scipy's own formulas, or the family's equivalent fast kernel)."""
        u = np.asarray(u, dtype=np.float64)
        if self.dist is None:
            return np.full(u.shape, float(self.params["value"]))
        return self._quantile(u)

    def mean(self) -> float:
        """The mean (of the truncated distribution when truncated)."""
        if self.dist is None:
            return float(self.params["value"])
        family = FAMILIES[self.family]
        if self.truncate is not None:
            return float(self.dist.mean())
        if family.table is not None:
            return self._table.mean
        if family.mean is not None:
            return family.mean(self.params)
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


def _restore(
    family: str,
    params: Mapping[str, Any],
    given: str,
    vary: Any,
    source: str | None,
    is_month: bool,
    truncate: tuple[float, float] | None,
    constant: bool,
    table: Table | None = None,
) -> Spec:
    spec = Spec(
        family=family,
        params=params,
        given=given,
        dist=None if constant else make_dist(family, params, truncate),
        vary=vary,
        source=source,
        is_month=is_month,
        truncate=truncate,
    )
    if table is not None:
        spec.__dict__["_table"] = table  # the cached_property's own slot
    return spec
