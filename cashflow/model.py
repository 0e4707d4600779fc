"""The vectorized cash model: a pure function of one batch's draws (no RNG, no I/O).

Semantics as in ``docs/scenario-format.md``; shapes are (n paths, H months), money in the
scenario's unit per month. Month t's amount of a line:

    start:    start_t * prod_{s=f+1..t} (1 + g_s),  g_s = growth (per month) + growth_noise * z_s
              (f: its first month, 0 without ``from``; start_t = start for a per-path start,
              its month-t value if it varies by month)
    schedule: total[year of t] / 12
    share_of: ratio * final amount of the other line in month t
    plan:     plan[t - delay] * plan_scale (after the plan, with after_plan = "growth":
              its last amount times 1 + g_s for each later month s)
    then:     + steps from their months  * seasonality[calendar month of t]
              * exp(volatility * z_t - volatility**2 / 2) * scale * (factor-shock multiplier),
              and 0 outside [from + plan_delay, until]

(:mod:`cashflow.plan_model` has the plan, window, step and late-cash parts.) Factor shocks are
applied to their line before any line that is a share of it is computed. Events: a funding
round adds ``amount`` in month ``floor(month)`` when ``u < probability`` and
``0 <= floor(month) < H``; a ``per = "horizon"`` shock does the same with a one-off cost (or
multiplies its line by ``factor`` from that month on); a ``per = "month"`` shock acts in every
month it hits (costs add, factors compound). ``revenue`` and ``costs`` keep each amount in its
own (accrual) month; the cash flow moves a line's money by its ``collection`` or ``payment``
delay (less bad debt). Finally ``cash[t] = starting_cash + cumsum(cash flow + funding)[t]``.

Written for speed: (n, H) float64 buffers updated in place, constants broadcast as scalars,
no loop over paths. Every (n, H) array is *month-major* (Fortran order: ``a[:, t]`` is
contiguous), so that running products and sums over months (compound growth, the cash balance)
are a loop of H whole-batch vector operations, about 8x faster than ``np.cumprod`` /
``np.cumsum(axis=1)``, whose accumulate is not vectorised across paths. Per-year sums and
columns (``a[:, s].sum(axis=1)``, ``a[:, t]``) are faster in this order too.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from cashflow import calendar, plan_model
from cashflow.draws import Draws, monthly_growth, occurs, path_values
from cashflow.management import ManagedFlows, Management, manage, touched_groups
from cashflow.scenario import Funding, Line, Scenario, Shock
from distributions._require import fmt

__all__ = [
    "MAX_AMOUNT",
    "Flows",
    "Overflow",
    "explain_overflow",
    "first_nonfinite",
    "line_amounts",
    "simulate_flows",
]

#: The largest amount (in the scenario's unit, per month, per year or as a balance) a run
#: accepts: far beyond any real figure, yet far enough from float64's 1.8e308 that no sum or
#: histogram built from such amounts can overflow (docs/scenario-format.md).
MAX_AMOUNT = 1e100


@dataclass(frozen=True)
class Flows:
    """The monthly flows of one batch, each (n, H) float64 (month-major) in the scenario's unit.

    ``revenue`` and ``costs`` are totals per month, each amount in its accrual month (one-off
    shock costs in ``costs``; with management, the actions' effects and costs and the credit
    lines' interest too), ``cash`` the balance at the end of each month (in the cash month of
    late collections and payments; after credit draws and repayments), ``funding`` the money
    received per month (only with ``simulate_flows(..., keep_funding=True)``, else None; bridge
    rounds included, credit draws not), ``management`` what actions, bridge rounds and credit
    lines did (None for a scenario without them).
    """

    revenue: np.ndarray
    costs: np.ndarray
    funding: np.ndarray | None
    cash: np.ndarray
    management: Management | None = None


class _Context:
    """Per-call state: sizes, month grid, factor shocks by line, scratch buffers."""

    def __init__(self, scenario: Scenario, draws: Draws) -> None:
        self.scenario = scenario
        self.draws = draws
        self.n = draws.n
        self.horizon = scenario.horizon_months
        self.t = np.arange(self.horizon, dtype=np.float64)
        self.factor_shocks: dict[str, list[Shock]] = {}
        for event in scenario.events:
            if isinstance(event, Shock) and event.line is not None:
                self.factor_shocks.setdefault(event.line, []).append(event)
        self.kept: dict[str, np.ndarray] = {}
        self._scratch: list[np.ndarray | None] = []

    def buffer(self) -> np.ndarray:
        return _month_major(self.n, self.horizon)

    def take_scratch(self, i: int) -> np.ndarray:
        """The i-th scratch buffer (or a new one), no longer to be used as scratch."""
        buf = self._scratch[i] if i < len(self._scratch) else None
        if buf is None:
            return self.buffer()
        self._scratch[i] = None
        return buf

    def scratch(self, i: int) -> np.ndarray:
        """The i-th reusable (n, H) scratch buffer."""
        while len(self._scratch) <= i:
            self._scratch.append(None)
        buf = self._scratch[i]
        if buf is None:
            buf = self._scratch[i] = self.buffer()
        return buf

    def inp(self, name: str) -> np.ndarray | None:
        return self.draws.inputs.get(name)


def _month_major(n: int, horizon: int) -> np.ndarray:
    """An uninitialised (n, H) float64 buffer laid out month by month (Fortran order)."""
    return np.empty((horizon, n)).T


def _running(ufunc: np.ufunc, a: np.ndarray) -> None:
    """In place along months: ``a[:, t] = ufunc(a[:, t - 1], a[:, t])`` (cumprod / cumsum).

    A loop over months of contiguous whole-batch vectors: ~8x faster than ``np.cumsum(axis=1)``
    (numpy's accumulate is not vectorised across paths, whatever the memory order).
    """
    by_month = a.T
    for t in range(1, by_month.shape[0]):
        ufunc(by_month[t - 1], by_month[t], out=by_month[t])


def _scalar(a: np.ndarray) -> np.ndarray | float:
    """A (1, 1) array as a float (cheapest broadcast); anything else unchanged."""
    return float(a[0, 0]) if a.shape == (1, 1) else a


def _first_col(a: np.ndarray) -> np.ndarray:
    """Month-0 values: (n, 1) or (1, 1)."""
    return a[:, :1]


def _at(a: np.ndarray, rows: np.ndarray, months: np.ndarray) -> np.ndarray | float:
    """Values of an input on ``rows`` in ``months`` (per row); scalar for a constant."""
    if a.shape == (1, 1):
        return float(a[0, 0])
    values: np.ndarray = a[rows, 0] if a.shape[1] == 1 else a[rows, months]
    return values


def _event_month(ctx: _Context, event: Funding | Shock) -> tuple[np.ndarray, np.ndarray]:
    """Rows where the event happens within the horizon, and its month there (both (k,) int).

    It happens where ``u < probability`` (the month-0 value if the probability varies) and
    ``0 <= floor(month) < H``; a shock without ``month`` falls in ``floor(month_u * H)``.
    """
    d = ctx.draws
    happens = occurs(d, event.name).reshape(-1, 1)
    if event.month is not None:
        month = np.floor(_first_col(d.inputs[f"{event.name}.month"]))
    else:
        month = np.floor(d.noise[f"{event.name}:month_u"] * ctx.horizon)
    happens &= (month >= 0) & (month < ctx.horizon)  # NaN months never happen
    rows = np.flatnonzero(happens)
    months = month[rows, 0] if month.shape[0] > 1 else np.full(rows.size, month[0, 0])
    return rows, months.astype(np.intp)


def _start_into(ctx: _Context, line: Line, out: np.ndarray) -> None:
    """``start`` line's base amount into ``out`` (n, H, month-major)."""
    name = line.name
    start_in = ctx.draws.inputs[f"{name}.start"]
    by_month_start = start_in.shape[1] > 1  # vary "month" / "year": start_t * growth factor_t
    start = 1.0 if by_month_start else path_values(start_in)
    growth = monthly_growth(ctx.draws, line)
    z = ctx.draws.noise.get(f"{name}:growth_z")
    by_month = out.T  # (H, n) rows: one month of every path, contiguous

    if z is None and growth is None:
        by_month[...] = start
    elif z is None and growth is not None and growth.shape == (1, 1):
        row = np.exp(np.log1p(growth[0, 0]) * ctx.t)
        np.multiply(np.reshape(start, (-1, 1)), row, out=out)
    elif z is None and growth is not None and growth.shape[1] == 1:
        by_month[0] = start
        step = growth[:, 0] + 1.0
        for t in range(1, ctx.horizon):
            np.multiply(by_month[t - 1], step, out=by_month[t])
    else:
        # Factors 1 + g_t (t >= 1) after the start amount in column 0, then their running product.
        if z is not None:
            np.multiply(z, _scalar(ctx.draws.inputs[f"{name}.growth_noise"]), out=out)
            if growth is None:
                out += 1.0
            elif growth.shape[1] == 1:
                out += growth + 1.0  # (n, 1) or (1, 1): one pass over out
            else:
                out += growth
                out += 1.0
        else:
            assert growth is not None  # z is None: the branches above took a missing growth
            np.add(growth, 1.0, out=out)
        out[:, 0] = start
        _running(np.multiply, out)
    if by_month_start:
        out *= start_in


def _schedule_into(ctx: _Context, line: Line, out: np.ndarray) -> None:
    """``schedule`` line: each calendar year's total / 12 in each of its months."""
    assert line.schedule is not None
    s = ctx.scenario
    months = calendar.year_slices(s.start_year, s.start_month, s.horizon_months)
    for year, _spec in line.schedule:
        if year not in months:
            continue
        a, b = months[year].start, months[year].stop
        total = ctx.draws.inputs[f"{line.name}.schedule.{year}"]
        part = total if total.shape[1] == 1 else total[:, a:b]
        np.divide(part, 12.0, out=out[:, a:b])


def _apply_factor_shock(ctx: _Context, shock: Shock, out: np.ndarray) -> None:
    """Multiply ``out`` (the line's amount) by the shock's factor from each hit on."""
    factor = ctx.draws.inputs[f"{shock.name}.factor"]
    mult = ctx.scratch(1)
    if shock.per == "month":
        mult.fill(1.0)
        np.copyto(mult, factor, where=ctx.draws.noise[f"{shock.name}:hits"])
        _running(np.multiply, mult)
        out *= mult
        return
    rows, months = _event_month(ctx, shock)
    if rows.size == 0:
        return
    first = np.full((ctx.n, 1), np.inf)  # month from which the factor applies, per path
    first[rows, 0] = months
    value = factor if factor.shape[1] == 1 else np.ones((ctx.n, 1))
    if factor.shape[1] > 1:  # a factor that varies by month: its value in the hit month
        value[rows, 0] = factor[rows, months]
    np.multiply(out, value, out=out, where=ctx.t >= first)


def _line_stages(ctx: _Context, line: Line, out: np.ndarray) -> Iterator[str | Shock]:
    """Compute the final monthly amount of ``line`` into ``out`` (n, H), stage by stage,
    yielding after each: ``"base"``, ``"steps"``, ``"seasonality"``, ``"volatility"``,
    ``"scale"``, each factor shock, then ``"window"`` (the stages a line has)."""
    windowed = line.window is not None or line.plan_delay is not None
    if line.start is not None and line.window is not None and line.window.first is not None:
        plan_model.start_from_into(ctx.draws, line, out, plan_model.window_first(ctx.draws, line))
    elif line.start is not None:
        _start_into(ctx, line, out)
    elif line.schedule is not None:
        _schedule_into(ctx, line, out)
    elif line.plan is not None:
        plan_model.plan_into(ctx.draws, line, out)
    else:
        assert line.share_of is not None  # a line has a start, a schedule, a share_of or a plan
        ratio = _scalar(ctx.draws.inputs[f"{line.name}.ratio"])
        np.multiply(ctx.kept[line.share_of], ratio, out=out)
    yield "base"
    if line.steps:
        plan_model.add_steps(ctx.draws, line, out)
        yield "steps"
    if line.seasonality is not None:
        s = ctx.scenario
        out *= plan_model.season_row(line, s.start_month, s.horizon_months)
        yield "seasonality"
    z = ctx.draws.noise.get(f"{line.name}:volatility_z")
    if z is not None:
        v = _scalar(ctx.draws.inputs[f"{line.name}.volatility"])
        mult = ctx.scratch(1)
        np.multiply(z, v, out=mult)
        mult -= np.multiply(v, v) * 0.5
        np.exp(mult, out=mult)
        out *= mult
        yield "volatility"
    scale = ctx.inp(f"{line.name}.scale")
    if scale is not None:
        out *= _scalar(scale)
        yield "scale"
    for shock in ctx.factor_shocks.get(line.name, ()):
        _apply_factor_shock(ctx, shock, out)
        yield shock
    if windowed:
        plan_model.apply_window(ctx.draws, line, out)
        yield "window"


def _line_into(ctx: _Context, line: Line, out: np.ndarray) -> None:
    """The final monthly amount of ``line`` into ``out`` (n, H)."""
    for _stage in _line_stages(ctx, line, out):
        pass


def _release(ctx: _Context, line: Line, pending: Counter[str]) -> None:
    """Drop the kept amounts of the line ``line`` is a share of once no other line needs them
    (a long share_of chain then holds two lines at a time, not all of them)."""
    if line.share_of is not None:
        pending[line.share_of] -= 1
        if pending[line.share_of] == 0:
            del ctx.kept[line.share_of]


def simulate_flows(scenario: Scenario, draws: Draws, *, keep_funding: bool = False) -> Flows:
    """Revenue, costs and cash (each (n, H), month-major) of every path of one batch.

    Funding is added straight into the cash flow; with ``keep_funding`` it is also returned
    as an (n, H) array (``Flows.funding`` is None otherwise: it costs ~10% of the model time).
    """
    ctx = _Context(scenario, draws)
    pending = Counter(line.share_of for line in scenario.lines if line.share_of)
    totals: dict[str, np.ndarray] = {}
    group_of = {name: g for g, gr in enumerate(touched_groups(scenario)) for name in gr.lines}
    planned: dict[int, np.ndarray] = {}  # per group of lines actions change alike, as planned
    timing = None  # late cash (collection, payment): cash flow minus accrued flow, (n, H)
    for line in scenario.lines:
        total = totals.get(line.kind)
        if line.name in pending:  # kept whole for the lines that are a share of it
            amount = ctx.buffer()
            _line_into(ctx, line, amount)
            ctx.kept[line.name] = amount
            if total is None:
                totals[line.kind] = amount.copy(order="K")
            else:
                total += amount
        elif total is None:
            totals[line.kind] = amount = ctx.buffer()
            _line_into(ctx, line, amount)
        else:
            amount = ctx.scratch(0)
            _line_into(ctx, line, amount)
            total += amount
        if line.cash_delay is not None:
            if timing is None:
                timing = ctx.buffer()
                timing.fill(0.0)
            plan_model.add_cash_timing(draws, line, amount, timing)
        g = group_of.get(line.name)
        if g is not None and g in planned:
            planned[g] += amount
        elif g is not None:
            planned[g] = amount.copy(order="K")
        _release(ctx, line, pending)
    revenue = totals.get("revenue")
    if revenue is None:
        revenue = ctx.buffer()
        revenue.fill(0.0)
    costs = totals.get("cost")
    if costs is None:
        costs = ctx.buffer()
        costs.fill(0.0)

    for event in scenario.events:  # one-off costs
        if isinstance(event, Shock) and event.amount is not None:
            amount = draws.inputs[f"{event.name}.amount"]
            if event.per == "month":
                hits = draws.noise[f"{event.name}:hits"]
                np.add(costs, _scalar(amount), out=costs, where=hits)
            else:
                rows, months = _event_month(ctx, event)
                costs[rows, months] += _at(amount, rows, months)

    cash = ctx.take_scratch(0)  # the net flow, then the balance
    np.subtract(revenue, costs, out=cash)
    if timing is not None:  # the cash month, not the accrual month
        cash += timing
    funding = None
    if keep_funding:
        funding = ctx.buffer()
        funding.fill(0.0)
    for event in scenario.rounds:  # bridge rounds depend on the cash: see manage
        rows, months = _event_month(ctx, event)
        received = _at(draws.inputs[f"{event.name}.amount"], rows, months)
        cash[rows, months] += received  # one month per path: no repeated index
        if funding is not None:
            funding[rows, months] += received

    if scenario.managed:
        groups = [planned[g] for g in range(len(planned))]
        managed = ManagedFlows(revenue, costs, cash, groups, funding)
        done = manage(scenario, draws, managed)
        return Flows(revenue=revenue, costs=costs, funding=funding, cash=cash, management=done)
    cash[:, 0] += path_values(draws.inputs["starting_cash"])
    _running(np.add, cash)
    return Flows(revenue=revenue, costs=costs, funding=funding, cash=cash)


def line_amounts(scenario: Scenario, draws: Draws) -> dict[str, np.ndarray]:
    """Each line's final monthly amount (n, H), factor shocks included, in scenario order."""
    ctx = _Context(scenario, draws)
    out: dict[str, np.ndarray] = {}
    for line in scenario.lines:
        amount = ctx.buffer()
        _line_into(ctx, line, amount)
        ctx.kept[line.name] = amount
        out[line.name] = amount
    return out


def first_nonfinite(scenario: Scenario, draws: Draws) -> str | None:
    """The name of what first makes the cash NaN or infinite (``"starting_cash"``, a line or
    an event, see :func:`explain_overflow`), else None (also when it is the sum of several)."""
    found = explain_overflow(scenario, draws, limit=math.inf)
    return None if found is None else found.culprit


@dataclass(frozen=True)
class Overflow:
    """Why amounts overflowed: ``culprit`` (``"starting_cash"``, a line or an event; None when
    several add up), ``path`` (the scenario key to blame, may be "") and a one-line ``message``."""

    culprit: str | None
    path: str
    message: str


def explain_overflow(
    scenario: Scenario,
    draws: Draws,
    *,
    limit: float = MAX_AMOUNT,
    rows: np.ndarray | None = None,
) -> Overflow | None:
    """What first takes an amount beyond ``limit`` (or to NaN / infinity), else None.

    Replays the model on ``rows`` (default: every path) step by step and blames the first step
    that goes wrong: the starting cash; then, line by line in dependency order, an input whose
    draws are out of range, the line's compounding growth, its ratio, volatility or scale, or a
    factor shock on it; then a one-off shock or funding amount where it happens; then the sum of
    several amounts (monthly revenue, costs, the cash balance, then yearly totals), naming the
    largest of them. Slow: call it only once a batch has gone wrong.
    """
    if rows is not None:
        draws = _subset(draws, np.asarray(rows))
    with np.errstate(all="ignore"):
        return _Replay(scenario, draws, limit).run()


def _subset(draws: Draws, rows: np.ndarray) -> Draws:
    """The draws of some paths only (constants, of one row, stay as they are)."""

    def take(a: np.ndarray) -> np.ndarray:
        return np.asfortranarray(a[rows]) if a.shape[0] == draws.n else a

    return Draws(
        n=len(rows),
        inputs={k: take(v) for k, v in draws.inputs.items()},
        noise={k: take(v) for k, v in draws.noise.items()},
    )


class _Replay:
    """The model again, checking every step (see :func:`explain_overflow`)."""

    def __init__(self, scenario: Scenario, draws: Draws, limit: float) -> None:
        self.s = scenario
        self.d = draws
        self.limit = limit
        self.specs = scenario.inputs()
        self.lines = {line.name for line in scenario.lines}

    # -- wording --------------------------------------------------------------------------------

    def bad(self, a: np.ndarray | float) -> np.ndarray:
        return ~(np.isfinite(a) & (np.abs(a) <= self.limit))

    def how(self, values: np.ndarray, *, one: bool = False) -> str:
        """What the bad ``values`` did: overflow to infinity, become NaN or exceed the limit
        (the verb for one subject with ``one``)."""
        values = np.asarray(values, dtype=np.float64)
        s = "s" if one else ""
        if np.isinf(values).any():
            return f"overflow{s} to infinity"
        if np.isnan(values).any():
            return f"become{s} NaN (not a number)"
        return f"go{'es' if one else ''} beyond ±{_e(self.limit)} (the largest amount supported)"

    def text(self, name: str) -> str:
        """Input ``name`` as the user would recognise it: ``3`` or ``lognormal(...)``."""
        spec = self.specs[name]
        return fmt(float(spec.mean())) if spec.is_constant else spec.describe()

    def month(self, t: int) -> str:
        return calendar.month_label(self.s.start_year, self.s.start_month, t)

    def key(self, name: str) -> str:
        """The scenario key of input ``name``: ``lines.a.start``, ``events.x.amount``..."""
        if name == "starting_cash":
            return name
        owner = name.split(".", 1)[0]
        return f"{'lines' if owner in self.lines else 'events'}.{name}"

    def input_problem(self, name: str, culprit: str, values: np.ndarray) -> Overflow | None:
        """The input ``name`` if its draws ``values`` go out of range."""
        bad = self.bad(values)
        if not bad.any():
            return None
        how = self.how(np.asarray(values)[bad])
        what = self.text(name)
        if self.specs[name].is_constant:
            message = f"{what} is beyond ±{_e(self.limit)} (the largest amount supported)"
        else:
            message = f"{what} draws values that {how} on some paths; check its distribution"
        return Overflow(culprit, self.key(name), message)

    # -- the replay -----------------------------------------------------------------------------

    def run(self) -> Overflow | None:
        d = self.d
        found = self.input_problem("starting_cash", "starting_cash", d.inputs["starting_cash"])
        if found is not None:
            return found
        ctx = _Context(self.s, d)
        amounts: dict[str, np.ndarray] = {}
        for line in self.s.lines:
            out = ctx.buffer()
            for stage in _line_stages(ctx, line, out):
                bad = self.bad(out)
                if bad.any():  # the first stage of the first line to go out of range
                    return self.line_problem(ctx, line, stage, out, bad)
            ctx.kept[line.name] = out
            amounts[line.name] = out
        events = self.event_amounts(ctx)
        for name, (used, _) in events.items():
            found = self.input_problem(f"{name}.amount", name, used)
            if found is not None:
                return found
        return self.sums(amounts, events)

    def line_problem(
        self, ctx: _Context, line: Line, stage: str | Shock, out: np.ndarray, bad: np.ndarray
    ) -> Overflow:
        """Blame ``stage`` of ``line`` (or an input of it) for the ``bad`` cells of ``out``."""
        name = line.name
        fields: tuple[str, ...]
        if isinstance(stage, Shock):
            fields = ("factor",)
        else:
            fields = {
                "base": ("start", "growth", "growth_noise", "ratio", "plan_scale"),
                "steps": tuple(f"steps[{i}].add" for i in range(len(line.steps or ()))),
                "volatility": ("volatility",),
                "scale": ("scale",),
            }.get(stage, ())
        if stage == "base" and line.schedule is not None:
            fields = tuple(f"schedule.{year}" for year, _ in line.schedule)
        for field in fields:
            owner = stage.name if isinstance(stage, Shock) else name
            values = ctx.inp(f"{owner}.{field}")
            if values is not None:
                found = self.input_problem(f"{owner}.{field}", owner, values)
                if found is not None:
                    return found
        growth = ctx.inp(f"{name}.growth")
        yearly = stage == "base" and line.growth_per == "year"
        if yearly and growth is not None and (growth < -1).any():
            what = self.text(f"{name}.growth")
            return Overflow(
                name,
                f"lines.{name}.growth",
                f"{what} draws yearly growth rates below -100% on some paths, which have no "
                "monthly equivalent; bound it below, e.g. truncate = [-1, inf]",
            )
        if isinstance(stage, Shock):
            factor = self.text(f"{stage.name}.factor")
            if stage.per == "month":
                cause = f"shock '{stage.name}' (factor {factor} per month, compounding)"
            else:
                cause = f"shock '{stage.name}' (factor {factor} from the month it hits)"
            culprit = stage.name
        elif stage == "base" and line.share_of is not None:
            ratio = self.text(f"{name}.ratio")
            cause = f"its ratio {ratio} times line '{line.share_of}'"
            culprit = name
        elif stage == "base" and line.start is not None:
            parts = [
                f"{k} = {self.text(f'{name}.{k}')}"
                for k in ("growth", "growth_noise")
                if f"{name}.{k}" in self.specs
            ]
            cause = f"its compounding growth ({', '.join(parts)})" if parts else "its start"
            culprit = name
        elif stage == "base" and line.plan is not None:
            cause, culprit = f"its plan ({line.plan.where}", name
            if line.plan.growth_after and f"{name}.growth" in self.specs:
                cause += f", then growth = {self.text(f'{name}.growth')}"
            cause += ")"
        elif stage == "base":
            cause, culprit = "its schedule", name
        elif stage in ("steps", "seasonality", "window"):
            cause, culprit = f"its {stage}", name
        else:
            cause = f"its {stage} ({self.text(f'{name}.{stage}')})"
            culprit = name
        t = int(np.flatnonzero(bad.any(axis=0))[0])
        how = self.how(out[:, t][bad[:, t]])
        return Overflow(
            culprit,
            f"lines.{name}",
            f"amounts {how} in {self.month(t)} on some paths; caused by {cause}; check its "
            "distribution",
        )

    def event_amounts(self, ctx: _Context) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each amount event's amounts where it happens, and an (n, H) bool of where that is."""
        n, h = self.d.n, self.s.horizon_months
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        bridges = {b.name for b in self.s.bridges}  # their money depends on the cash
        for event in self.s.events:
            if getattr(event, "amount", None) is None or event.name in bridges:
                continue
            amount = self.d.inputs[f"{event.name}.amount"]
            if isinstance(event, Shock) and event.per == "month":
                where = np.asarray(self.d.noise[f"{event.name}:hits"], dtype=bool)
            else:
                rows, months = _event_month(ctx, event)
                where = np.zeros((n, h), dtype=bool)
                where[rows, months] = True
            out[event.name] = (np.broadcast_to(amount, (n, h))[where], where)
        return out

    def sums(
        self,
        amounts: dict[str, np.ndarray],
        events: dict[str, tuple[np.ndarray, np.ndarray]],
    ) -> Overflow | None:
        """Blame the largest amounts when their monthly or yearly sums go out of range."""
        n, h = self.d.n, self.s.horizon_months
        monthly: dict[str, np.ndarray] = {}  # every part as an (n, H) array of monthly amounts
        kinds: dict[str, str] = {}
        for line in self.s.lines:
            monthly[line.name], kinds[line.name] = amounts[line.name], line.kind
        for event in self.s.events:
            if event.name in events:
                used, where = events[event.name]
                part = np.zeros((n, h))
                part[where] = used
                monthly[event.name] = part
                kinds[event.name] = "funding" if isinstance(event, Funding) else "cost"
        revenue = sum((a for k, a in monthly.items() if kinds[k] == "revenue"), np.zeros((n, h)))
        costs = sum((a for k, a in monthly.items() if kinds[k] == "cost"), np.zeros((n, h)))
        funding = sum((a for k, a in monthly.items() if kinds[k] == "funding"), np.zeros((n, h)))
        cash = revenue - costs + funding
        cash[:, 0] += path_values(self.d.inputs["starting_cash"])
        cash = np.cumsum(cash, axis=1)
        checks = [
            ("the monthly revenue", revenue, ("revenue",)),
            ("the monthly costs", costs, ("cost",)),
            ("the cash balance", cash, ("revenue", "cost", "funding")),
        ]
        for t in range(h):
            for what, total, parts in checks:
                bad = self.bad(total[:, t])
                if bad.any():
                    names = [k for k in monthly if kinds[k] in parts]
                    upto = {k: monthly[k][bad, : t + 1] for k in names}
                    return self.blame_sum(what, self.month(t), total[bad, t], upto)
        slices = calendar.year_slices(self.s.start_year, self.s.start_month, h)
        for year, months in slices.items():
            yearly = [
                (f"the revenue of {year}", revenue, ("revenue",)),
                (f"the costs of {year}", costs, ("cost",)),
                (f"the net loss of {year}", costs - revenue, ("revenue", "cost")),
            ]
            for what, total, parts in yearly:
                sums = total[:, months].sum(axis=1)
                bad = self.bad(sums)
                if bad.any():
                    names = [k for k in monthly if kinds[k] in parts]
                    upto = {k: monthly[k][bad, months] for k in names}
                    return self.blame_sum(what, None, sums[bad], upto)
        return None

    def blame_sum(
        self, what: str, month: str | None, totals: np.ndarray, parts: dict[str, np.ndarray]
    ) -> Overflow:
        """``what`` went out of range: name the parts (lines, events) with the largest amounts."""
        size = {k: float(np.max(np.abs(a), initial=0.0)) for k, a in parts.items()}
        largest = max(size.values(), default=0.0)
        top = sorted((k for k in size if size[k] >= largest * 1e-3), key=lambda k: -size[k])[:3]
        lines = [k for k in top if k in self.lines]
        events = [k for k in top if k not in self.lines]
        names = []
        for word, group in (("line", lines), ("event", events)):
            if group:
                listed = " and ".join(", ".join(f"'{k}'" for k in group).rsplit(", ", 1))
                names.append(f"{word}{'s' if len(group) > 1 else ''} {listed}")
        who = " and ".join(names) or "no single part"
        when = f" in {month}" if month else ""
        several = len(top) > 1
        if len(top) == 1:
            path = f"{'lines' if lines else 'events'}.{top[0]}"
        else:
            path = "lines" if lines and not events else ""
        return Overflow(
            top[0] if len(top) == 1 else None,
            path,
            f"{what} {self.how(totals, one=True)}{when} on some paths, where {who} "
            f"{'reach' if several else 'reaches'} up to {largest:.3g} a month; check "
            f"{'their distributions' if several else 'its distribution'}",
        )


def _e(x: float) -> str:
    """``1e100`` rather than ``1e+100``."""
    return f"{x:.0e}".replace("e+", "e")
