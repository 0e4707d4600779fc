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

__all__ = [
    "Action",
    "Condition",
    "Correlation",
    "Credit",
    "Delay",
    "Funding",
    "Line",
    "Plan",
    "Scenario",
    "Shock",
    "Step",
    "Window",
]


@dataclass(frozen=True, kw_only=True)
class Line:
    """One revenue stream or cost line, a monthly amount (positive) for t = 0..H-1.

    Exactly one of ``start``, ``schedule``, ``share_of`` or ``plan`` defines its base level:

    - ``start``: the amount in month 0; month t is ``start * prod_{s=1..t} (1 + g_s)`` with
      ``g_s = growth_monthly + growth_noise * z_s`` (z iid standard normal); ``growth`` is per
      month, or per year when ``growth_per == "year"`` (then ``(1 + g)**(1/12) - 1`` per month).
    - ``schedule``: calendar-year totals ``((year, total), ...)`` spread evenly over that year's
      12 months; every calendar year the horizon touches is present. Each total is a Spec (so a
      yearly figure may be uncertain), named ``<line>.schedule.<year>`` among the inputs.
    - ``share_of``: ``ratio`` times the final monthly amount of another line (after its own
      scale and volatility).
    - ``plan``: a monthly plan (:class:`Plan`), times ``plan_scale`` (per path), slipped by
      ``floor(plan_delay)`` months (per path): month t carries the plan's month t - delay; with
      ``plan.growth_after``, months after the last planned one continue from it with growth.

    A ``start`` line with a ``window`` compounds its growth from its first month (``start`` is
    its amount there). Then, for every kind: plus each of ``steps`` from its month on (where
    it happens); times the ``seasonality`` factor of the calendar month; times
    ``exp(volatility * z_t - volatility**2 / 2)`` (iid lognormal month-to-month shocks with
    mean 1) when ``volatility`` is set, times ``scale`` when set; zero outside its ``window``
    (whose first month moves with ``plan_delay``). ``collection`` (revenue) or ``payment``
    (cost) moves its cash later than the amount (:class:`Delay`).
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
    plan_scale: Spec | None = None
    plan_delay: Spec | None = None
    plan: Plan | None = None
    window: Window | None = None
    steps: tuple[Step, ...] | None = None
    seasonality: tuple[float, ...] | None = None
    collection: Delay | None = None
    payment: Delay | None = None
    source: str | None = None

    @property
    def grows(self) -> bool:
        """True when the line's amount compounds a growth rate: a ``start`` line, or a plan
        that goes on with ``after_plan = "growth"`` (its ``growth_noise`` then applies)."""
        return self.start is not None or (self.plan is not None and self.plan.growth_after)

    @property
    def cash_delay(self) -> Delay | None:
        """When the line's cash moves: its ``collection`` (revenue) or ``payment`` (cost)."""
        return self.collection if self.collection is not None else self.payment

    def nested_inputs(self) -> dict[str, Spec]:
        """The inputs held inside its tables, by name (``LINE.from``, ``LINE.steps[0].add``,
        ``LINE.collection.delay_months``...): those :meth:`Scenario.inputs` cannot find as
        fields of the line. In the order the file gives them; empty for a plain line."""
        out: dict[str, Spec] = {}
        if self.window is not None and self.window.first is not None:
            out[f"{self.name}.from"] = self.window.first
        for i, step in enumerate(self.steps or ()):
            for key in ("month", "add", "probability"):
                out[f"{self.name}.steps[{i}].{key}"] = getattr(step, key)
        for key in ("collection", "payment"):
            delay = getattr(self, key)
            if delay is None:
                continue
            out[f"{self.name}.{key}.delay_months"] = delay.delay_months
            if delay.bad_debt is not None:
                out[f"{self.name}.{key}.bad_debt"] = delay.bad_debt
        return out


@dataclass(frozen=True, kw_only=True)
class Window:
    """When a line runs: from month ``first`` (a Spec over month indices, floored, within the
    horizon; None: from the start) to month ``last`` (inclusive; None: to the end), both month
    indices. Outside it the line is zero."""

    first: Spec | None = None
    last: int | None = None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A monthly plan: ``amounts[k]`` is the planned amount of month ``first + k`` (month
    indices, contiguous), covering every month the line needs from ``first`` on (its window
    within the horizon) or, with ``growth_after``, up to its last month, after which the line
    grows from it. ``where``: what the plan was read from, for messages and reports."""

    first: int
    amounts: tuple[float, ...]
    growth_after: bool = False
    where: str = "the plan"


@dataclass(frozen=True, kw_only=True)
class Step:
    """A step in a line's amount: from month ``floor(month)`` on (a Spec over month indices)
    the amount rises by ``add`` (falls, if negative), on the paths where it happens: with
    ``probability``, drawn once per path."""

    month: Spec
    add: Spec
    probability: Spec


@dataclass(frozen=True, kw_only=True)
class Delay:
    """Cash later than the accrual: the money of month t moves in month t + floor(delay_months)
    (drawn per path; money due after the horizon does not move within it, and nothing is owed
    from before the start). ``bad_debt``: the share of revenue never collected (revenue only)."""

    delay_months: Spec
    bad_debt: Spec | None = None


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A condition on a path's state at the end of month t (``when = "runway < 9"``).

    ``measure`` is ``"cash"`` (the cash balance) or ``"runway"`` (months of liquidity left:
    ``(cash + undrawn credit available - floor) / burn`` where ``burn`` is the mean of
    ``costs - revenue`` over the last min(3, t + 1) months, interest included, funding and
    credit draws excluded; infinite when ``burn <= 0``). It holds when ``measure < threshold``
    and ``after <= t <= until`` (month indices; ``until`` None: to the horizon).
    ``text`` is the condition as written.
    """

    measure: Literal["cash", "runway"]
    threshold: float
    text: str
    after: int = 0
    until: int | None = None


@dataclass(frozen=True, kw_only=True)
class Funding:
    """A funding round: with ``probability`` (per path) ``amount`` arrives in month ``month``.

    ``month`` is a Spec over month indices (integers after flooring); a month outside the
    horizon means the money never arrives within it.

    A *bridge round* has ``when`` instead of ``month``: on each path, the first month t where
    the condition holds triggers it (at most once); it then closes with ``probability`` and
    ``amount`` arrives in month ``t + floor(delay_months)`` (never when that is past the
    horizon). ``delay_months`` is at least 1.
    """

    name: str
    probability: Spec
    amount: Spec
    month: Spec | None = None
    when: Condition | None = None
    delay_months: Spec | None = None
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
class Action:
    """A management action: when its condition holds at the end of month t, its effect starts
    in month ``t + floor(lag_months)`` (lag at least 1) on that path.

    Effects (at least one): every line of ``lines`` is multiplied by ``factor`` from the effect
    month on (and, since a ``share_of`` line is a share of another's final amount, so is every
    line that is a share of it); every line of ``stop`` is zero from then on (likewise its
    shares); ``cost`` is a one-off cost in the effect month. With ``once`` it fires at most once
    per path; otherwise again when the condition holds ``cooldown_months`` (at least 1) after
    its last effect month (factors compound; each firing costs ``cost`` again). A path never has
    two effects of one action pending.
    """

    name: str
    when: Condition
    lines: tuple[str, ...] = ()
    factor: Spec | None = None
    stop: tuple[str, ...] = ()
    cost: Spec | None = None
    lag_months: Spec
    once: bool = True
    cooldown_months: int = 0
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Credit:
    """A revolving credit line, drawn automatically to keep cash at the floor.

    Every month, interest on the balance at the end of month t - 1 is charged at
    ``interest / 12`` (an annual rate) as a cost, whether or not the line is available. In each
    month t with ``available_from <= t`` (and ``t < until`` when ``until`` is set): if cash
    would end below the floor, ``min(floor - cash, limit - balance)`` is drawn; otherwise, with
    ``repay == "cash_flow"``, the balance is repaid by ``min(balance, max(net flow of the month,
    0), cash - floor)`` (the net flow less what earlier credit lines repaid that month). In month
    ``until`` (its maturity, which may lie beyond the horizon) the whole balance is repaid,
    whatever the cash, and nothing is drawn from then on; with ``repay == "maturity"`` that is
    the only repayment.
    """

    name: str
    limit: Spec
    interest: Spec
    available_from: int = 0
    until: int | None = None
    repay: Literal["cash_flow", "maturity"] = "cash_flow"
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
    ``variant`` and ``sets`` say what was applied to ``raw`` to give this scenario (``--variant``
    and the ``--set`` pairs); ``text`` is the file's text when it was read from one.
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
    actions: tuple[Action, ...] = ()
    credit: tuple[Credit, ...] = ()
    correlation: Correlation | None = None
    questions: tuple[dt.date, ...] = ()
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None
    file: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    variant: str | None = None
    sets: tuple[tuple[str, Any], ...] = ()
    text: str | None = field(default=None, repr=False)

    def document(self) -> str:
        """The scenario as TOML text: the file's own text, or, for a scenario built in Python,
        ``raw`` written out (the variant and sets are recorded beside it, not applied)."""
        if self.text is not None:
            return self.text
        from cashflow.toml_text import dumps

        return dumps(self.raw)

    def inputs(self) -> dict[str, Spec]:
        """Every uncertain input by its name: ``starting_cash``, ``<line>.<field>``,
        ``<event>.<field>``; in file order."""
        out: dict[str, Spec] = {"starting_cash": self.starting_cash}
        for item in (*self.lines, *self.events, *self.actions, *self.credit):
            for key, value in vars(item).items():
                if isinstance(value, Spec):
                    out[f"{item.name}.{key}"] = value
            for year, spec in getattr(item, "schedule", None) or ():
                out[f"{item.name}.schedule.{year}"] = spec
            if isinstance(item, Line):  # from, steps, collection, payment
                out.update(item.nested_inputs())
        return out

    @property
    def rounds(self) -> tuple[Funding, ...]:
        """The funding rounds in fixed months (``month``), in file order."""
        return tuple(e for e in self.events if isinstance(e, Funding) and e.when is None)

    @property
    def bridges(self) -> tuple[Funding, ...]:
        """The funding rounds triggered by a condition (``when``), in file order."""
        return tuple(e for e in self.events if isinstance(e, Funding) and e.when is not None)

    @property
    def managed(self) -> bool:
        """True when cash depends on the path's own state: actions, bridges or credit lines."""
        return bool(self.actions or self.credit or self.bridges)
