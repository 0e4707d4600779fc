"""Management that reacts to the simulated cash: actions, bridge rounds and credit lines.

The planned flows of a batch (every line's monthly amount, fixed funding, one-off shocks) do not
depend on the cash; these do. :func:`manage` walks the months once, carrying each path's state
as arrays (multipliers of the lines actions touch, pending effects, fired flags, drawn balances):
per month a few whole-batch vector operations per action, bridge and credit line, no loop over
paths. The exact monthly rules are in ``docs/scenario-format.md`` ("Management"); in short, for
month t: effects due start, revenue and costs follow, interest on last month's balance is a
cost, bridge money arrives, cash moves by the net flow, credit lines draw (cash below the floor)
or repay, and then every condition reads the month's closing figures, so that what it sets off
starts in month t + 1 at the earliest.

Shapes: n paths, H months; (n, H) arrays are month-major, as in :mod:`cashflow.model`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cashflow.draws import Draws, occurs
from cashflow.scenario import Action, Condition, Credit, Funding, Scenario

__all__ = ["BURN_MONTHS", "ManagedFlows", "Management", "Touched", "manage", "touched_groups"]

#: Months of trailing net burn behind the ``runway`` measure.
BURN_MONTHS = 3


@dataclass(frozen=True)
class Management:
    """What management did on every path of a batch.

    ``fired[action]``: (n,) int16 first month it fired (H: never); ``fires[action]``: (n,) int32
    times it fired; ``triggered[bridge]``: (n,) int16 first month its condition held (H: never);
    ``arrived[bridge]``: (n,) int16 month its money arrived (H: not within the horizon);
    ``balance[credit]``: (n, H) drawn balance at the end of each month; ``monthly_rate[credit]``:
    (n,) its interest rate per month (a float when constant); :attr:`interest` derives from them.
    """

    fired: dict[str, np.ndarray]
    fires: dict[str, np.ndarray]
    triggered: dict[str, np.ndarray]
    arrived: dict[str, np.ndarray]
    balance: dict[str, np.ndarray]
    monthly_rate: dict[str, np.ndarray | float]

    @property
    def interest(self) -> dict[str, np.ndarray]:
        """``interest[credit]``: (n, H) interest charged in each month, on the balance at the
        end of the month before (none in month 0); the very products the model charged."""
        out = {}
        for name, balance in self.balance.items():
            rate = self.monthly_rate[name]
            charged = np.zeros_like(balance)
            np.multiply(balance[:, :-1], np.reshape(rate, (-1, 1)), out=charged[:, 1:])
            out[name] = charged
        return out


@dataclass(frozen=True)
class ManagedFlows:
    """The planned flows handed to :func:`manage`, each (n, H) month-major, updated in place.

    ``revenue`` and ``costs``: planned totals (one-off shock costs in ``costs``); ``net``: planned
    ``revenue - costs + fixed funding`` (becomes the cash balance); ``groups``: the planned
    amount of each group of :func:`touched_groups`, summed over its lines; ``funding``: fixed
    funding, or None when not kept.
    """

    revenue: np.ndarray
    costs: np.ndarray
    net: np.ndarray
    groups: list[np.ndarray]
    funding: np.ndarray | None


@dataclass(frozen=True)
class Touched:
    """Lines that the actions change alike: of one ``kind``, multiplied by the factor of each
    action ``i`` of ``scale`` ``k`` times (``(i, k)`` pairs), stopped by the actions ``stop``.
    They share one multiplier per path, so the model keeps their planned amounts summed."""

    kind: str
    lines: tuple[str, ...]
    scale: tuple[tuple[int, int], ...]
    stop: tuple[int, ...]


def touched_groups(scenario: Scenario) -> list[Touched]:
    """The lines some action changes (those it names and their shares), grouped by how the
    actions change them, in the order of their first line."""
    scales = [
        _exponents(scenario, a.lines) if a.factor is not None else {} for a in scenario.actions
    ]
    stops = [_exponents(scenario, a.stop) for a in scenario.actions]
    Key = tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]]
    groups: dict[Key, list[str]] = {}
    for line in scenario.lines:
        scale = tuple((i, s[line.name]) for i, s in enumerate(scales) if line.name in s)
        stop = tuple(i for i, s in enumerate(stops) if line.name in s)
        if scale or stop:
            groups.setdefault((line.kind, scale, stop), []).append(line.name)
    return [
        Touched(kind=kind, lines=tuple(names), scale=scale, stop=stop)
        for (kind, scale, stop), names in groups.items()
    ]


def _exponents(scenario: Scenario, names: tuple[str, ...]) -> dict[str, int]:
    """How many times a factor applied to each of ``names`` multiplies each line: once for a
    named line, plus once for each named line it is (transitively) a share of."""
    parent = {line.name: line.share_of for line in scenario.lines}
    out: dict[str, int] = {}
    for line in scenario.lines:
        k = 0
        name: str | None = line.name
        while name is not None:
            k += name in names
            name = parent.get(name)
        if k:
            out[line.name] = k
    return out


def _column(a: np.ndarray, n: int) -> np.ndarray | float:
    """An input's per-path values as (n,), or a float for a constant (1, 1)."""
    if a.shape == (1, 1):
        return float(a[0, 0])
    return np.ascontiguousarray(a[:, 0], dtype=np.float64).reshape(n)


def _rows(x: np.ndarray | float, rows: np.ndarray) -> np.ndarray | float:
    """Per-path values (n,) on ``rows`` (indices or a mask); a constant as it is."""
    if isinstance(x, np.ndarray):
        picked: np.ndarray = x[rows]
        return picked
    return x


# Months are 0..H-1, so H itself marks what never happens (within the horizon): a pending
# effect, a bridge's money, an action that may not fire again, a first firing.


class _ActionState:
    def __init__(
        self, index: int, action: Action, scenario: Scenario, draws: Draws, groups: list[Touched]
    ) -> None:
        n, h = draws.n, scenario.horizon_months
        self.action = action
        # (group, exponent) for each group this action multiplies; the groups it stops
        self.scale = [(g, k) for g, gr in enumerate(groups) for i, k in gr.scale if i == index]
        self.stop = [g for g, gr in enumerate(groups) if index in gr.stop]
        name = action.name
        self.factor = (
            _column(draws.inputs[f"{name}.factor"], n) if action.factor is not None else None
        )
        self.cost = _column(draws.inputs[f"{name}.cost"], n) if action.cost is not None else None
        self.lag = np.floor(_column(draws.inputs[f"{name}.lag_months"], n)).astype(np.int64)
        self.pending = np.full(n, h, dtype=np.int64)  # month its effect starts (H: none)
        self.waiting = 0  # paths with an effect pending (none: nothing to look for)
        self.next_ok = np.zeros(n, dtype=np.int64)  # first month it may fire again
        self.fired = np.full(n, h, dtype=np.int16)
        self.fires = np.zeros(n, dtype=np.int32)


class _BridgeState:
    def __init__(self, event: Funding, scenario: Scenario, draws: Draws) -> None:
        n, h = draws.n, scenario.horizon_months
        name = event.name
        self.event = event
        self.closes = np.ascontiguousarray(occurs(draws, name))
        self.amount = _column(draws.inputs[f"{name}.amount"], n)
        self.delay = np.floor(_column(draws.inputs[f"{name}.delay_months"], n)).astype(np.int64)
        self.triggered = np.full(n, h, dtype=np.int16)
        self.arrived = np.full(n, h, dtype=np.int16)


class _CreditState:
    def __init__(self, credit: Credit, draws: Draws, horizon: int) -> None:
        n = draws.n
        self.credit = credit
        self.limit = _column(draws.inputs[f"{credit.name}.limit"], n)
        self.monthly_rate = _column(draws.inputs[f"{credit.name}.interest"], n) / 12.0
        self.balance = np.zeros(n)
        self.balance_out = np.empty((horizon, n)).T
        self.drawn = False  # whether any path has drawn yet (nothing to repay before)

    def available(self, t: int) -> bool:
        c = self.credit
        return c.available_from <= t and (c.until is None or t < c.until)


def _holds(
    cond: Condition, t: int, cash: np.ndarray, runway: np.ndarray | None
) -> np.ndarray | None:
    """Where ``cond`` holds on month t's closing ``cash`` or ``runway`` (None outside its
    window: it holds nowhere)."""
    if t < cond.after or (cond.until is not None and t > cond.until):
        return None
    measure = cash if cond.measure == "cash" else runway
    assert measure is not None  # runway is computed whenever a condition reads it
    return measure < cond.threshold


def manage(scenario: Scenario, draws: Draws, flows: ManagedFlows) -> Management:
    """Run the management loop over ``flows`` in place (see the module docstring).

    On return ``flows.revenue`` and ``flows.costs`` include the actions' effects, their one-off
    costs and interest; ``flows.net`` is the cash balance at the end of each month (after credit
    draws and repayments); ``flows.funding`` (if kept) includes bridge money.
    """
    n, h = draws.n, scenario.horizon_months
    floor = float(scenario.floor)
    groups = touched_groups(scenario)
    actions = [_ActionState(i, a, scenario, draws, groups) for i, a in enumerate(scenario.actions)]
    bridges = [_BridgeState(e, scenario, draws) for e in scenario.bridges]
    credits = [_CreditState(c, draws, h) for c in scenario.credit]
    multiplier = [np.ones(n) for _ in groups]
    active = [False] * len(groups)  # whether some path has a multiplier for the group
    conditions = [a.action.when for a in actions] + [b.event.when for b in bridges]
    need_runway = any(c is not None and c.measure == "runway" for c in conditions)
    burn = np.zeros((BURN_MONTHS, n))  # ring of the last months' costs - revenue
    start = _column(draws.inputs["starting_cash"], n)

    rev_by_month, cost_by_month, cash_by_month = flows.revenue.T, flows.costs.T, flows.net.T
    fund_by_month = flows.funding.T if flows.funding is not None else None
    extra = np.empty(n)  # this month's change to the net flow
    scratch = np.empty(n)
    for t in range(h):
        revenue, costs, cash = rev_by_month[t], cost_by_month[t], cash_by_month[t]
        extra.fill(0.0)
        # 1. effects due this month
        for state in actions:
            if state.waiting == 0:
                continue
            due = np.flatnonzero(state.pending == t)
            if due.size == 0:
                continue
            state.pending[due] = h
            state.waiting -= due.size
            if state.scale:
                assert state.factor is not None  # scale is empty without a factor
                f = _rows(state.factor, due)
                for g, k in state.scale:
                    multiplier[g][due] *= f**k if k != 1 else f
                    active[g] = True
            for g in state.stop:
                multiplier[g][due] = 0.0
                active[g] = True
            if state.cost is not None:
                one_off = _rows(state.cost, due)
                costs[due] += one_off
                extra[due] -= one_off
        # 2. the touched lines at their multipliers (in group order: the sums' order is fixed)
        for g, group in enumerate(groups):
            if not active[g]:
                continue
            delta = (multiplier[g] - 1.0) * flows.groups[g][:, t]
            if group.kind == "revenue":
                revenue += delta
                extra += delta
            else:
                costs += delta
                extra -= delta
        # 3. interest on last month's balances
        for credit in credits:
            np.multiply(credit.balance, credit.monthly_rate, out=scratch)
            costs += scratch
            extra -= scratch
        # 4. bridge money
        for bridge in bridges:
            rows = np.flatnonzero(bridge.arrived == t)
            if rows.size:
                money = _rows(bridge.amount, rows)
                extra[rows] += money
                if fund_by_month is not None:
                    fund_by_month[t][rows] += money
        # 5. cash moves by the month's net flow
        flow = cash + extra  # the month's net flow, for repayments
        np.add(cash_by_month[t - 1] if t else start, flow, out=cash)
        # 6. credit lines
        room = flow  # positive net flow not yet used to repay a line (``flow`` is not needed after)
        for credit in credits:
            c = credit.credit
            if c.until is not None and t == c.until:
                cash -= credit.balance
                credit.balance.fill(0.0)
            elif credit.available(t):
                below = np.flatnonzero(cash < floor)
                if below.size:
                    need = floor - cash[below]
                    limit = _rows(credit.limit, below)
                    headroom = np.maximum(limit - credit.balance[below], 0.0)
                    draw = np.minimum(need, headroom)
                    credit.balance[below] += draw
                    cash[below] = np.where(need <= headroom, floor, cash[below] + draw)
                    credit.drawn = True
                if c.repay == "cash_flow" and credit.drawn:
                    owing = np.flatnonzero((credit.balance > 0) & (cash >= floor))
                    if owing.size:
                        repaid = np.minimum(credit.balance[owing], np.maximum(room[owing], 0.0))
                        np.minimum(repaid, cash[owing] - floor, out=repaid)
                        credit.balance[owing] -= repaid
                        cash[owing] -= repaid
                        room[owing] -= repaid
            credit.balance_out[:, t] = credit.balance
        if not conditions:
            continue
        # 8. conditions on the month's closing figures
        runway = None
        if need_runway:
            np.subtract(costs, revenue, out=burn[t % BURN_MONTHS])
            k = min(BURN_MONTHS, t + 1)
            mean_burn = burn.sum(axis=0) / k if k == BURN_MONTHS else burn[:k].sum(axis=0) / k
            liquidity = cash - floor
            for credit in credits:
                if credit.available(t):
                    liquidity = liquidity + np.maximum(credit.limit - credit.balance, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                runway = np.where(mean_burn > 0, liquidity / mean_burn, np.inf)
        for state in actions:
            holds = _holds(state.action.when, t, cash, runway)
            if holds is None:
                continue
            rows = np.flatnonzero(holds & (state.pending == h) & (state.next_ok <= t))
            if rows.size == 0:
                continue
            state.fired[rows[state.fires[rows] == 0]] = t
            state.fires[rows] += 1
            effect = np.minimum(t + _rows(state.lag, rows), h)  # H: beyond the horizon
            state.pending[rows] = effect
            state.waiting += int(np.count_nonzero(np.broadcast_to(effect < h, rows.shape)))
            if state.action.once:
                state.next_ok[rows] = h
            else:
                state.next_ok[rows] = effect + state.action.cooldown_months
        for bridge in bridges:
            assert bridge.event.when is not None  # a bridge round is one with a condition
            holds = _holds(bridge.event.when, t, cash, runway)
            if holds is None:
                continue
            rows = np.flatnonzero(holds & (bridge.triggered == h))
            if rows.size == 0:
                continue
            bridge.triggered[rows] = t
            arrive = np.minimum(t + _rows(bridge.delay, rows), h)  # H: beyond the horizon
            bridge.arrived[rows] = np.where(bridge.closes[rows], arrive, h)

    return Management(
        fired={s.action.name: s.fired for s in actions},
        fires={s.action.name: s.fires for s in actions},
        triggered={s.event.name: s.triggered for s in bridges},
        arrived={s.event.name: s.arrived for s in bridges},
        balance={s.credit.name: s.balance_out for s in credits},
        monthly_rate={s.credit.name: s.monthly_rate for s in credits},
    )
