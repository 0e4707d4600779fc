"""The validated scenario: plain frozen dataclasses, produced by :mod:`cashflow.parse`.

Everything here is already checked; the engine trusts it. Money is in the scenario's ``unit``
(e.g. "USD billion"); flows are per month; months are integer indices from the start month
(t = 0 is ``start``). Every uncertain number is a :class:`distributions.Spec`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from distributions import Spec

__all__ = ["Correlation", "Funding", "Line", "Scenario", "Shock"]


@dataclass(frozen=True, kw_only=True)
class Line:
    """One revenue stream or cost line, a monthly amount (positive) for t = 0..H-1.

    Exactly one of ``start``, ``schedule`` or ``share_of`` defines its base level:

    - ``start``: the amount in month 0; month t is ``start * prod_{s=1..t} (1 + g_s)`` with
      ``g_s = growth_monthly + growth_noise * z_s`` (z iid standard normal); ``growth`` is per
      month, or per year when ``growth_per == "year"`` (then ``(1 + g)**(1/12) - 1`` per month).
    - ``schedule``: calendar-year totals ``((year, total), ...)`` spread evenly over that year's
      12 months; every calendar year the horizon touches is present. Each total is a Spec (so a
      yearly figure may be uncertain), named ``<line>.schedule.<year>`` among the inputs.
    - ``share_of``: ``ratio`` times the final monthly amount of another line (after its own
      scale and volatility).

    Then, for every kind: times ``exp(volatility * z_t - volatility**2 / 2)`` (iid lognormal
    month-to-month shocks with mean 1) when ``volatility`` is set, times ``scale`` when set.
    """

    name: str
    kind: Literal["revenue", "cost"]
    start: Spec | None = None
    growth: Spec | None = None
    growth_per: Literal["month", "year"] = "month"
    growth_noise: Spec | None = None
    schedule: tuple[tuple[int, Spec], ...] | None = None
    share_of: str | None = None
    ratio: Spec | None = None
    volatility: Spec | None = None
    scale: Spec | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Funding:
    """A funding round: with ``probability`` (per path) ``amount`` arrives in month ``month``.

    ``month`` is a Spec over month indices (integers after flooring); a month outside the
    horizon means the money never arrives within it.
    """

    name: str
    probability: Spec
    amount: Spec
    month: Spec
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Shock:
    """A shock: a one-off cost (``amount``) or a multiplicative change (``factor``) to ``line``.

    ``per == "horizon"``: happens at most once per path, with ``probability``, in month
    ``month`` (a Spec over month indices; default uniform over the horizon).
    ``per == "month"``: may happen in every month independently with ``probability``; each hit
    costs a fresh ``amount``, or multiplies ``line`` by ``factor`` from that month on
    (hits compound).
    Exactly one of ``amount`` and (``line``, ``factor``) is set.
    """

    name: str
    probability: Spec
    per: Literal["month", "horizon"] = "horizon"
    amount: Spec | None = None
    line: str | None = None
    factor: Spec | None = None
    month: Spec | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Correlation:
    """Target Spearman rank correlations among per-path inputs (names as in ``Scenario.inputs``).

    ``matrix`` is symmetric, unit-diagonal, positive semi-definite (repaired if asked).
    """

    names: tuple[str, ...]
    matrix: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A whole validated scenario.

    ``lines`` are in dependency order (a line comes after the line it is a ``share_of``).
    ``questions`` are dates D for "chance cash runs out before D", each within the horizon.
    ``variants`` maps a variant name to its raw override table (nested dicts, as in the file).
    ``raw`` is the parsed TOML document (for the manifest and for applying variants).
    """

    name: str
    description: str
    unit: str
    start_year: int
    start_month: int
    horizon_months: int
    starting_cash: Spec
    floor: float = 0.0
    lines: tuple[Line, ...] = ()
    events: tuple[Funding | Shock, ...] = ()
    correlation: Correlation | None = None
    questions: tuple[dt.date, ...] = ()
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None
    file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def inputs(self) -> dict[str, Spec]:
        """Every uncertain input by its name: ``starting_cash``, ``<line>.<field>``,
        ``<event>.<field>``; in file order."""
        out: dict[str, Spec] = {"starting_cash": self.starting_cash}
        for item in (*self.lines, *self.events):
            for key, value in vars(item).items():
                if isinstance(value, Spec):
                    out[f"{item.name}.{key}"] = value
            for year, spec in getattr(item, "schedule", None) or ():
                out[f"{item.name}.schedule.{year}"] = spec
        return out
