"""Parse and check the ``[events.NAME]`` tables of a scenario: funding rounds and shocks."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from distributions import Spec

from ._check import Checker, join
from .parse_lines import _reference
from .parse_management import check_months_spec, parse_condition
from .parse_months import Calendar, MonthReader, check_month_in_horizon
from .scenario import Funding, Shock

__all__ = ["FUNDING_KEYS", "MAX_EVENTS", "SHOCK_KEYS", "parse_events"]

MAX_EVENTS = 1000  # events per scenario (docs/scenario-format.md)

FUNDING_KEYS = (
    "kind",
    "probability",
    "amount",
    "month",
    "when",
    "after",
    "until",
    "delay_months",
    "source",
)
#: The keys of a bridge round (a funding event with ``when``) that go only with ``when``.
BRIDGE_KEYS = ("after", "until", "delay_months")
SHOCK_KEYS = ("kind", "probability", "per", "amount", "line", "factor", "month", "source")


#: The keys of an event that hold an input (a number or a distribution).
SPEC_KEYS = ("probability", "amount", "month", "factor", "delay_months")


def parse_events(
    chk: Checker, value: Any, cal: Calendar, line_names: list[str]
) -> tuple[Funding | Shock, ...]:
    """Every well-formed event, in file order; names must not repeat a line's name."""
    out: list[Funding | Shock] = []
    taken = dict.fromkeys(line_names, "a line")
    tables = chk.tables(value, "events", "event", limit=MAX_EVENTS, taken=taken)
    for name, table in tables.items():
        event = _parse_event(chk, name, table, cal, line_names)
        if event is not None:
            out.append(event)
    return tuple(out)


def _parse_event(
    chk: Checker, name: str, t: dict[str, Any], cal: Calendar, line_names: list[str]
) -> Funding | Shock | None:
    path = f"events.{name}"
    mark = chk.mark()
    kind = None
    if "kind" in t:
        kind = chk.choice(t["kind"], join(path, "kind"), ("funding", "shock"))
    allowed = {"funding": FUNDING_KEYS, "shock": SHOCK_KEYS}.get(kind or "", SHOCK_KEYS)
    chk.keys(t, path, allowed, required=("kind", "amount") if kind == "funding" else ())
    if "kind" not in t:
        chk.add(path, "missing required key 'kind' ('funding' or 'shock')")
    source = None
    if "source" in t:
        source = chk.string(t["source"], join(path, "source"), multiline=True)

    def spec(key: str, default: Any = None) -> Spec | None:
        if key not in t and default is None:
            return None
        month_of = None
        if key == "month":
            if cal.start_year is None or cal.start_month is None:  # no calendar to read it by
                return None
            month_of = MonthReader(cal.start_year, cal.start_month)
        return chk.spec(
            t.get(key, default), join(path, key), f"{name}.{key}", source=source, month_of=month_of
        )

    event: Funding | Shock
    if kind == "funding":
        event = _funding(chk, name, t, spec, source, cal)
    elif kind == "shock":
        event = _shock(chk, name, t, spec, source, line_names)
    else:
        return None
    known = cal.known()
    if "month" in t and event.month is not None and known is not None:
        check_month_in_horizon(chk, event.month, join(path, "month"), *known)
    return event if chk.clean_since(mark) else None


def _funding(
    chk: Checker, name: str, t: dict[str, Any], spec: Any, source: str | None, cal: Calendar
) -> Funding:
    """A round in a given month, or a bridge round (``when``: see parse_management)."""
    path = f"events.{name}"
    if "month" in t and "when" in t:
        chk.add(path, "give either month or when (a bridge round), not both")
    elif "month" not in t and "when" not in t:
        chk.add(
            path,
            "missing required key 'month' (the month the money arrives), "
            "or 'when' for a bridge round (e.g. when = \"runway < 6\")",
        )
    bridge = "when" in t and "month" not in t
    for key in BRIDGE_KEYS:
        if key in t and "when" not in t:
            chk.add(join(path, key), "only goes with when (a bridge round)")
    when = parse_condition(chk, t, path, cal) if bridge else None
    probability = spec("probability", 1)
    amount = spec("amount")
    month = spec("month")
    delay = spec("delay_months", 1) if bridge else None
    chk.probability(probability, join(path, "probability"))
    chk.at_least(amount, join(path, "amount"), 0)
    for key, value in (
        ("probability", probability),
        ("amount", amount),
        ("month", month),
        ("delay_months", delay),
    ):
        chk.per_path(value, join(path, key))
    check_months_spec(chk, delay, join(path, "delay_months"), cal)
    return Funding(
        name=name,
        probability=probability,
        amount=amount,
        month=month,
        when=when,
        delay_months=delay,
        source=source,
    )


def _shock(
    chk: Checker,
    name: str,
    t: dict[str, Any],
    spec: Any,
    source: str | None,
    line_names: list[str],
) -> Shock:
    path = f"events.{name}"
    if "probability" not in t:
        chk.add(path, "missing required key 'probability'")
    per: Literal["horizon", "month"] | None = "horizon"
    if "per" in t:
        per = chk.choice(t["per"], join(path, "per"), ("horizon", "month"))
    if "amount" in t and ("line" in t or "factor" in t):
        chk.add(path, "give either amount, or line and factor, not both")
    elif "amount" not in t and "line" in t and "factor" not in t:
        chk.add(path, "missing required key 'factor' (a shock on a line needs a factor)")
    elif "amount" not in t and "factor" in t and "line" not in t:
        chk.add(path, "missing required key 'line' (the line that factor multiplies)")
    elif "amount" not in t and "line" not in t:
        chk.add(path, "needs amount, or line and factor")
    if "month" in t and per == "month":
        why = "only goes with per = 'horizon' (this shock has per = 'month')"
        chk.add(join(path, "month"), why)
    line = _reference(chk, t["line"], join(path, "line"), line_names) if "line" in t else None

    probability = spec("probability")
    amount = spec("amount")
    if per == "month" and amount is not None and amount.vary == "path":
        # Each hit of a per-month shock costs a fresh amount: the input varies per month (so
        # it shows as such in tables and cannot be correlated as a per-path input).
        amount = dataclasses.replace(amount, vary="month")
        chk.inputs[f"{name}.amount"] = amount
    factor = spec("factor")
    month = spec("month") if per != "month" else None
    chk.probability(probability, join(path, "probability"))
    chk.at_least(amount, join(path, "amount"), 0)
    chk.at_least(factor, join(path, "factor"), 0)
    if per == "horizon":
        chk.per_path(probability, join(path, "probability"))
    chk.per_path(month, join(path, "month"))
    return Shock(
        name=name,
        probability=probability,
        per=per or "horizon",
        amount=amount,
        line=line,
        factor=factor,
        month=month,
        source=source,
    )
