"""All the randomness of one batch, turned into arrays: ``draw_batch(scenario, n, seed)``.

Every input of ``Scenario.inputs()`` and every piece of auxiliary noise the cash model needs
comes from its own stream ``stream(seed, name)``, so changing one input (a variant) leaves every
other input's draws bit-identical: common random numbers between variants for free.

Shapes (n paths, H = horizon months); every (n, H) array is month-major (Fortran order), the
layout the cash model works in:

- per-path inputs (``vary = "path"``): (n, 1); constants (1, 1) whatever their ``vary``;
- per-month inputs: (n, H); per-year inputs: drawn (n, years) and expanded to (n, H), so the
  value is the same in every month of a calendar year;
- the ``amount`` of a ``per = "month"`` shock is drawn afresh for every month (n, H) (each hit
  costs a fresh amount), or per year when its ``vary`` is ``"year"``.

Noise (names use ``:``, inputs use ``.``, so the two never share a stream):

- ``LINE:growth_z`` (n, H) standard normals of a growing line (``Line.grows``) with ``growth_noise``
  (column 0 is unused: growth compounds from t = 1);
- ``LINE:volatility_z`` (n, H) standard normals of a line with ``volatility``;
- ``LINE.steps[i]:u`` (n, 1) occurrence uniforms of step i of a line (it happens where
  ``u < probability``);
- ``EVENT:u`` (n, 1) occurrence uniforms of a funding round or a ``per = "horizon"`` shock
  (it happens where ``u < probability``);
- ``SHOCK:month_u`` (n, 1) uniforms of a ``per = "horizon"`` shock without ``month``
  (it happens in month ``floor(month_u * H)``);
- ``SHOCK:hits`` (n, H) bool of a ``per = "month"`` shock (``u < probability`` each month).

The sampler (``"mc"``, ``"lhs"``, ``"sobol"``) applies to the non-constant per-path inputs only:
with ``"mc"``/``"lhs"`` each draws ``uniforms(sampler, n, 1, stream(seed, name))``; with
``"sobol"`` they share the columns of one ``uniforms("sobol", n, d, stream(seed,
"sampler:sobol"))`` call, in ``Scenario.inputs()`` order (so common random numbers hold between
variants that keep the same set of uncertain per-path inputs). Per-month and per-year inputs and
all noise are plain Monte Carlo. Rank correlations are imposed on the drawn per-path values with
Iman-Conover (``stream(seed, "correlation")``), which only reorders them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from cashflow.calendar import year_of_month
from cashflow.scenario import Line, Scenario, Shock
from distributions import Spec
from distributions.correlation import iman_conover
from distributions.samplers import uniforms
from distributions.seeding import stream

_T = TypeVar("_T")

__all__ = [
    "Draws",
    "Shared",
    "draw_batch",
    "effective_vary",
    "month_year_index",
    "monthly_growth",
    "occurs",
    "per_path_inputs",
]


@dataclass(frozen=True)
class Draws:
    """One batch's input values and noise; every array is read-only.

    ``inputs[name]``: (n, 1) per path, (1, 1) constant, (n, H) per month or per year.
    ``noise[name]``: see the module docstring for names and shapes.
    """

    n: int
    inputs: dict[str, np.ndarray]
    noise: dict[str, np.ndarray]


def occurs(draws: Draws, event: str) -> np.ndarray:
    """(n,) bool: where the funding round, ``per = "horizon"`` shock or line step named
    ``event`` happens at all (closes, for a round): its uniform ``EVENT:u`` is below its
    probability (the month-0 value if the probability varies). When, and whether within the
    horizon, is another matter."""
    p = draws.inputs[f"{event}.probability"][:, :1]
    hit = np.broadcast_to(draws.noise[f"{event}:u"] < p, (draws.n, 1))
    return np.array(hit[:, 0])  # a writable copy


def path_values(a: np.ndarray) -> np.ndarray | float:
    """The month-0 values of an input's (n, ·) or (1, ·) array: (n,), or a float for a
    constant (the cheapest to broadcast)."""
    return float(a[0, 0]) if a.shape == (1, 1) else a[:, 0]


def monthly_growth(draws: Draws, line: Line) -> np.ndarray | None:
    """The line's growth input as a monthly rate (a yearly rate compounded down to a month);
    None without one. Shape as drawn: (n, 1), (1, 1) or (n, H)."""
    growth = draws.inputs.get(f"{line.name}.growth")
    if growth is not None and line.growth_per == "year":
        growth = np.expm1(np.log1p(growth) / 12.0)
    return growth


def month_year_index(scenario: Scenario) -> np.ndarray:
    """(H,) int: for each month t, its calendar year minus ``scenario.start_year`` (0, 1, ...)."""
    years = year_of_month(scenario.start_year, scenario.start_month, scenario.horizon_months)
    return years - scenario.start_year


def per_path_inputs(scenario: Scenario) -> list[str]:
    """Names of the uncertain inputs drawn once per path, in ``Scenario.inputs()`` order (the
    ones the sampler and correlations act on)."""
    vary = effective_vary(scenario)
    return [
        name
        for name, spec in scenario.inputs().items()
        if vary[name] == "path" and not spec.is_constant
    ]


def _is_zero(spec: Spec | None) -> bool:
    """True when ``spec`` is absent or the constant 0 (no noise needed)."""
    return spec is None or (spec.is_constant and spec.mean() == 0.0)


def effective_vary(scenario: Scenario) -> dict[str, str]:
    """Each input's ``vary`` as drawn: as written, except that the ``amount`` of a
    ``per = "month"`` shock written per path is drawn per month (a fresh amount per hit)."""
    vary: dict[str, str] = {name: spec.vary for name, spec in scenario.inputs().items()}
    for event in scenario.events:
        if isinstance(event, Shock) and event.per == "month" and event.amount is not None:
            name = f"{event.name}.amount"
            if vary[name] == "path":
                vary[name] = "month"
    return vary


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class Shared:
    """Draws that the scenarios of one batch (a base and its variants: :mod:`engine.compare`)
    can share: each array kept under a key of everything it depends on besides the batch's
    seed and size, so a variant takes what it did not change instead of drawing it again.
    Use one per (seed, n); every array in it is read-only."""

    def __init__(self) -> None:
        self._arrays: dict[tuple[Any, ...], Any] = {}

    def get(self, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
        """The value kept under ``key``, made by ``make()`` (and kept) the first time."""
        if key not in self._arrays:
            self._arrays[key] = make()
        value: _T = self._arrays[key]
        return value


class _NotShared(Shared):
    """Nothing kept: every draw made afresh (no key built or hashed)."""

    def get(self, key: tuple[Any, ...], make: Callable[[], _T]) -> _T:
        return make()


_NOT_SHARED = _NotShared()


def draw_batch(
    scenario: Scenario,
    n: int,
    seed: np.random.SeedSequence,
    sampler: str = "mc",
    shared: Shared | None = None,
) -> Draws:
    """Draw every input and all noise of one batch of ``n`` paths from ``seed``.

    ``sampler`` is ``"mc"``, ``"lhs"`` or ``"sobol"`` (for the per-path inputs only).
    The result depends only on (scenario, n, seed, sampler). ``shared``: the draws of other
    scenarios drawn from the same ``seed`` and ``n`` (:class:`Shared`), reused where this
    scenario draws the same thing: the same result, sooner.
    """
    shared = _NOT_SHARED if shared is None else shared
    horizon = scenario.horizon_months
    specs = scenario.inputs()
    vary = effective_vary(scenario)
    year_index = month_year_index(scenario)
    n_years = int(year_index[-1]) + 1

    per_path = per_path_inputs(scenario)
    sobol_key = tuple(per_path) if sampler == "sobol" else None  # its columns: every input's

    def sobol() -> np.ndarray:
        return shared.get(
            ("sobol", sobol_key),
            lambda: uniforms("sobol", n, len(per_path), stream(seed, "sampler:sobol")),
        )

    def draw(name: str, spec: Spec) -> np.ndarray:
        if vary[name] == "path":
            if sobol_key is not None:
                j = per_path.index(name)
                u = sobol()[:, j : j + 1]
            else:
                u = uniforms(sampler, n, 1, stream(seed, name))
            return np.asarray(spec.ppf(u), dtype=np.float64).reshape(n, 1)
        if vary[name] == "month":
            u = uniforms("mc", horizon, n, stream(seed, name))
            return np.asarray(spec.ppf(u), dtype=np.float64).reshape(horizon, n).T
        u = uniforms("mc", n_years, n, stream(seed, name))  # "year"
        values = np.asarray(spec.ppf(u), dtype=np.float64).reshape(n_years, n)
        by_year: np.ndarray = values[year_index].T
        return by_year

    inputs: dict[str, np.ndarray] = {}
    keys: dict[str, tuple[Any, ...]] = {}  # what each drawn input depends on
    for name, spec in specs.items():
        if spec.is_constant:
            inputs[name] = np.full((1, 1), spec.mean())
            continue
        keys[name] = ("input", name, spec, vary[name], sampler, sobol_key, horizon)

        def make(name: str = name, spec: Spec = spec) -> np.ndarray:
            return _frozen(draw(name, spec))

        inputs[name] = shared.get(keys[name], make)

    if scenario.correlation is not None:
        _correlate(scenario, inputs, vary, n, seed, shared, keys)

    noise = _noise(scenario, inputs, n, seed, shared)
    return Draws(
        n=n,
        inputs={k: _frozen(v) for k, v in inputs.items()},
        noise={k: _frozen(v) for k, v in noise.items()},
    )


def _correlate(
    scenario: Scenario,
    inputs: dict[str, np.ndarray],
    vary: dict[str, str],
    n: int,
    seed: np.random.SeedSequence,
    shared: Shared,
    keys: dict[str, tuple[Any, ...]],
) -> None:
    """Reorder the correlated per-path inputs in place (in ``inputs``) with Iman-Conover.

    Constant inputs carry no rank information and are left out of the target. ``keys``: what
    each drawn input depends on (the reordering is shared when all of them are the same).
    """
    corr = scenario.correlation
    assert corr is not None
    names = list(corr.names)
    matrix = np.asarray(corr.matrix, dtype=np.float64)
    keep = []
    for i, name in enumerate(names):
        if name not in inputs:
            raise ValueError(f"correlated input '{name}' is not an input of the scenario")
        if inputs[name].shape == (1, 1):
            continue
        if vary[name] != "path":
            raise ValueError(f"correlated input '{name}' is not drawn once per path")
        keep.append(i)
    if len(keep) < 2:
        return
    target = matrix[np.ix_(keep, keep)]

    def reorder() -> list[np.ndarray]:
        samples = np.concatenate([inputs[names[i]] for i in keep], axis=1)
        reordered = iman_conover(samples, target, stream(seed, "correlation"))
        return [_frozen(reordered[:, j : j + 1].copy()) for j in range(len(keep))]

    key = ("correlation", tuple(keys[names[i]] for i in keep), target.tobytes())
    for i, column in zip(keep, shared.get(key, reorder), strict=True):
        inputs[names[i]] = column


def _noise(
    scenario: Scenario,
    inputs: dict[str, np.ndarray],
    n: int,
    seed: np.random.SeedSequence,
    shared: Shared,
) -> dict[str, np.ndarray]:
    """The auxiliary randomness of the model, each array from its own named stream."""
    horizon = scenario.horizon_months

    def normals(key: str) -> np.ndarray:
        def make() -> np.ndarray:
            return _frozen(stream(seed, key).standard_normal((horizon, n)).T)

        return shared.get(("normals", key, horizon), make)

    def uniform(key: str, rows: int, columns: int) -> np.ndarray:
        def make() -> np.ndarray:
            return _frozen(stream(seed, key).random((rows, columns)))

        return shared.get(("uniforms", key, rows, columns), make)

    noise: dict[str, np.ndarray] = {}
    for line in scenario.lines:
        if line.grows and not _is_zero(line.growth_noise):
            key = f"{line.name}:growth_z"
            noise[key] = normals(key)
        if not _is_zero(line.volatility):
            key = f"{line.name}:volatility_z"
            noise[key] = normals(key)
        for i in range(len(line.steps or ())):
            key = f"{line.name}.steps[{i}]:u"
            noise[key] = uniform(key, n, 1)
    for event in scenario.events:
        if isinstance(event, Shock) and event.per == "month":
            key = f"{event.name}:hits"
            u = uniform(key, horizon, n).T
            noise[key] = u < inputs[f"{event.name}.probability"]
            continue
        key = f"{event.name}:u"
        noise[key] = uniform(key, n, 1)
        if isinstance(event, Shock) and event.month is None:
            key = f"{event.name}:month_u"
            noise[key] = uniform(key, n, 1)
    return noise
