"""Parse and check management that reacts (docs/scenario-format.md): ``[actions.NAME]``,
``[credit.NAME]``, and the ``when`` condition with its ``after`` / ``until`` window, shared by
actions and bridge rounds (a funding event with ``when``, :mod:`cashflow.parse_events`).

Months are written ``"YYYY-MM"`` and become indices from the start month (t = 0 is ``start``).
An action or credit line with ``enabled = false`` is checked like any other, then left out.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, cast

from distributions import Spec
from distributions._require import fmt, show
from distributions.errors import ScenarioError, did_you_mean

from ._check import Checker, join, type_name
from .calendar import month_index, month_label
from .parse_lines import _reference
from .parse_months import Calendar
from .scenario import Action, Condition, Credit

__all__ = [
    "ACTION_KEYS",
    "ACTION_SPEC_KEYS",
    "CREDIT_KEYS",
    "CREDIT_SPEC_KEYS",
    "MAX_ACTIONS",
    "MAX_CREDIT",
    "check_months_spec",
    "parse_actions",
    "parse_condition",
    "parse_credit",
]

MAX_ACTIONS = 100  # actions per scenario (docs/scenario-format.md)
MAX_CREDIT = 100  # credit lines per scenario
MAX_COOLDOWN_MONTHS = 600  # the longest horizon: a longer cooldown would never end within it

ACTION_KEYS = (
    "when",
    "after",
    "until",
    "lines",
    "factor",
    "stop",
    "cost",
    "lag_months",
    "once",
    "cooldown_months",
    "enabled",
    "source",
)
CREDIT_KEYS = ("limit", "interest", "available_from", "until", "repay", "enabled", "source")

#: The keys that hold an input (a number or a distribution), named ``NAME.KEY``.
ACTION_SPEC_KEYS = ("factor", "cost", "lag_months")
CREDIT_SPEC_KEYS = ("limit", "interest")

Measure = Literal["cash", "runway"]
MEASURES: tuple[Measure, ...] = ("cash", "runway")
FORMS = '"cash < NUMBER" or "runway < NUMBER"'
_CONDITION = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*<\s*(\S+)\s*")


# -- the condition ------------------------------------------------------------------------------


def parse_condition(chk: Checker, t: dict[str, Any], path: str, cal: Calendar) -> Condition | None:
    """``t["when"]`` with the window ``t["after"]`` / ``t["until"]`` (months within the
    horizon, until not before after); None (problems recorded) when anything is wrong."""
    mark = chk.mark()
    parsed = _condition_text(chk, t["when"], join(path, "when"))
    after = until = None
    if "after" in t:
        after = month_in_horizon(chk, t["after"], join(path, "after"), cal)
    if "until" in t:
        until = month_in_horizon(chk, t["until"], join(path, "until"), cal)
    if after is not None and until is not None and until < after:
        chk.add(
            join(path, "until"),
            f"{_label(cal, until)} is before after ({_label(cal, after)}); "
            "until must be the same month as after or later",
        )
    if parsed is None or not chk.clean_since(mark):
        return None
    measure, threshold, text = parsed
    return Condition(
        measure=measure,
        threshold=threshold,
        text=text,
        after=after if after is not None else 0,
        until=until,
    )


def _condition_text(chk: Checker, value: Any, path: str) -> tuple[Measure, float, str] | None:
    """``"runway < 9"`` -> ``("runway", 9.0, "runway < 9")``."""
    if not isinstance(value, str):
        got = f"{type_name(value)} ({show(value)})"
        chk.add(path, f'must be a condition such as "runway < 9", got {got}; write {FORMS}')
        return None
    text = chk.string(value, path)
    if text is None:
        return None
    text = text.strip()
    match = _CONDITION.fullmatch(text)
    if match is None:
        chk.add(path, f"cannot read the condition {show(text)}; write {FORMS}")
        return None
    measure, number = match[1], match[2]
    if measure not in MEASURES:
        chk.add(
            path, f"unknown measure '{measure}'{did_you_mean(measure, MEASURES)}; write {FORMS}"
        )
        return None
    try:
        threshold = float(number)
    except ValueError:
        chk.add(path, f"{show(number)} is not a number; write {FORMS}")
        return None
    if not math.isfinite(threshold):
        chk.add(path, f"the threshold must be a finite number (got {number}); write {FORMS}")
        return None
    if measure == "runway" and threshold <= 0:
        chk.add(
            path,
            f'a runway threshold must be > 0 months (got {fmt(threshold)}), e.g. "runway < 6"',
        )
        return None
    return cast(Measure, measure), threshold, text  # one of MEASURES (checked above)


# -- months -------------------------------------------------------------------------------------


def _label(cal: Calendar, t: int) -> str:
    # Only called with a month index read by the calendar's start (see month_of).
    assert cal.start_year is not None and cal.start_month is not None
    return month_label(cal.start_year, cal.start_month, t)


def month_of(chk: Checker, value: Any, path: str, cal: Calendar) -> int | None:
    """The index of month ``"YYYY-MM"`` (None without a calendar to read it by)."""
    if cal.start_year is None or cal.start_month is None:
        return None
    try:
        return month_index(cal.start_year, cal.start_month, value, path)
    except ScenarioError as error:
        chk.problems.extend(error.problems)
        return None


def month_in_horizon(chk: Checker, value: Any, path: str, cal: Calendar) -> int | None:
    """The index of month ``"YYYY-MM"``, which must be a month of the horizon."""
    t = month_of(chk, value, path, cal)
    if t is None or cal.horizon_months is None:
        return None
    if not 0 <= t < cal.horizon_months:
        first, last = _label(cal, 0), _label(cal, cal.horizon_months - 1)
        where = _label(cal, t)
        chk.add(path, f"{where} is outside the horizon; valid months are {first} to {last}")
        return None
    return t


def check_months_spec(chk: Checker, spec: Spec | None, path: str, cal: Calendar) -> None:
    """A number of months (a lag or a delay, floored when drawn): every value it can take must
    be at least 1, and below the horizon (its largest value would otherwise leave it)."""
    if spec is None or spec.vary != "path":  # per_path reports the latter
        return
    horizon = cal.horizon_months
    low, high = chk.bounds(spec)
    too_low = not low >= 1
    too_high = horizon is not None and not high < horizon
    if not (too_low or too_high):
        return
    span = ">= 1" if horizon is None else f">= 1 and < {horizon}"
    if spec.is_constant:
        if too_low:
            chk.add(path, f"must be at least 1 month (got {fmt(low)})")
        else:
            chk.add(
                path,
                f"{fmt(low)} months leaves the horizon ({horizon} months); "
                f"must be less than {horizon}",
            )
        return
    parts = []
    if too_low:
        parts.append(f"its smallest value {fmt(low)} is below 1 month")
    if too_high:
        parts.append(f"its largest value {fmt(high)} leaves the horizon ({horizon} months)")
    chk.add(
        path,
        f"{spec.describe()}: {' and '.join(parts)}; every value must be {span} "
        "(use discrete, uniform, pert or truncate)",
    )


# -- actions ------------------------------------------------------------------------------------


def _source_and_enabled(
    chk: Checker, t: dict[str, Any], path: str
) -> tuple[str | None, bool | None]:
    """A lever's ``source`` note (None without one) and ``enabled`` flag (default true; None,
    its problem recorded, when it is not a boolean)."""
    source = (
        chk.string(t["source"], join(path, "source"), multiline=True) if "source" in t else None
    )
    enabled = chk.boolean(t["enabled"], join(path, "enabled")) if "enabled" in t else True
    return source, enabled


def parse_actions(
    chk: Checker, value: Any, cal: Calendar, line_names: list[str], taken: dict[str, str]
) -> tuple[Action, ...]:
    """Every well-formed, enabled action, in file order. ``taken`` maps the names already used
    (by lines and events) to what uses them (``"a line"``)."""
    out: list[Action] = []
    tables = chk.tables(value, "actions", "action", limit=MAX_ACTIONS, taken=taken)
    for name, table in tables.items():
        action = _parse_action(chk, name, table, cal, line_names)
        if action is not None:
            out.append(action)
    return tuple(out)


def _parse_action(
    chk: Checker, name: str, t: dict[str, Any], cal: Calendar, line_names: list[str]
) -> Action | None:
    path = f"actions.{name}"
    mark = chk.mark()
    chk.keys(t, path, ACTION_KEYS)
    source, enabled = _source_and_enabled(chk, t, path)

    when = None
    if "when" in t:
        when = parse_condition(chk, t, path, cal)
    else:
        chk.add(path, f"missing required key 'when' (a condition: {FORMS}, e.g. \"runway < 9\")")

    has_lines, has_factor = "lines" in t, "factor" in t
    if has_lines and not has_factor:
        chk.add(path, "missing required key 'factor' (the multiplier applied to its lines)")
    elif has_factor and not has_lines:
        chk.add(path, "missing required key 'lines' (the lines that factor multiplies)")
    elif not (has_lines or "stop" in t or "cost" in t):
        chk.add(path, "has no effect; give lines and factor, stop, or cost (or several)")
    lines = _line_list(chk, t["lines"], join(path, "lines"), line_names) if has_lines else ()
    stop = _line_list(chk, t["stop"], join(path, "stop"), line_names) if "stop" in t else ()
    if lines and stop:
        for i, line in enumerate(stop):
            if line in lines:
                chk.add(
                    f"{path}.stop[{i}]",
                    f"line '{line}' is also in lines; a line is either multiplied or stopped",
                )

    def spec(key: str, default: Any = None) -> Spec | None:
        if key not in t and default is None:
            return None
        return chk.spec(t.get(key, default), join(path, key), f"{name}.{key}", source=source)

    factor, cost, lag = spec("factor"), spec("cost"), spec("lag_months", 1)
    chk.at_least(factor, join(path, "factor"), 0)
    chk.at_least(cost, join(path, "cost"), 0)
    for key, value in (("factor", factor), ("cost", cost), ("lag_months", lag)):
        chk.per_path(value, join(path, key))
    check_months_spec(chk, lag, join(path, "lag_months"), cal)

    once = chk.boolean(t["once"], join(path, "once")) if "once" in t else True
    cooldown = 0
    if "cooldown_months" in t:
        key = join(path, "cooldown_months")
        if once:
            chk.add(key, "only goes with once = false (this action fires at most once)")
        else:
            cooldown = _whole_months(chk, t["cooldown_months"], key) or 0
    elif once is False:
        chk.add(
            path,
            "missing required key 'cooldown_months' (once = false needs the months to wait "
            "after an effect before firing again, a whole number >= 1)",
        )

    if not chk.clean_since(mark) or not enabled:
        return None
    # Without problems both parsed: a missing or wrong when or lag_months is a problem above.
    assert when is not None and lag is not None
    return Action(
        name=name,
        when=when,
        lines=lines or (),
        factor=factor,
        stop=stop or (),
        cost=cost,
        lag_months=lag,
        once=bool(once),
        cooldown_months=cooldown,
        source=source,
    )


def _line_list(
    chk: Checker, value: Any, path: str, line_names: list[str]
) -> tuple[str, ...] | None:
    """A non-empty array of distinct line names."""
    if not isinstance(value, list):
        got = f"{type_name(value)} ({show(value)})"
        chk.add(path, f'must be an array of line names such as ["staff"], got {got}')
        return None
    if not value:
        chk.add(path, 'must name at least one line, e.g. ["staff"]')
        return None
    mark = chk.mark()
    out: list[str] = []
    for i, item in enumerate(value):
        line = _reference(chk, item, f"{path}[{i}]", line_names)
        if line is None:
            continue
        if line in out:
            chk.add(f"{path}[{i}]", f"line '{line}' is listed twice")
            continue
        out.append(line)
    return tuple(out) if chk.clean_since(mark) else None


def _whole_months(chk: Checker, value: Any, path: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        got = f"{type_name(value)} ({show(value)})"
        chk.add(path, f"must be a whole number of months >= 1, got {got}")
        return None
    if value > MAX_COOLDOWN_MONTHS:
        chk.add(path, f"must be at most {MAX_COOLDOWN_MONTHS} months, got {show(value)}")
        return None
    return value


# -- credit lines -------------------------------------------------------------------------------


def parse_credit(
    chk: Checker, value: Any, cal: Calendar, taken: dict[str, str]
) -> tuple[Credit, ...]:
    """Every well-formed, enabled credit line, in file order (``taken`` as for actions)."""
    out: list[Credit] = []
    tables = chk.tables(value, "credit", "credit line", limit=MAX_CREDIT, taken=taken)
    for name, table in tables.items():
        credit = _parse_credit(chk, name, table, cal)
        if credit is not None:
            out.append(credit)
    return tuple(out)


def _parse_credit(chk: Checker, name: str, t: dict[str, Any], cal: Calendar) -> Credit | None:
    path = f"credit.{name}"
    mark = chk.mark()
    chk.keys(t, path, CREDIT_KEYS)
    source, enabled = _source_and_enabled(chk, t, path)
    if "limit" not in t:
        chk.add(path, "missing required key 'limit' (the most that can be drawn, >= 0)")
    if "interest" not in t:
        chk.add(
            path,
            "missing required key 'interest' (the annual rate on the drawn balance, "
            "e.g. 0.07; 0 for none)",
        )

    def spec(key: str) -> Spec | None:
        if key not in t:
            return None
        return chk.spec(t[key], join(path, key), f"{name}.{key}", source=source)

    limit, interest = spec("limit"), spec("interest")
    for key, value in (("limit", limit), ("interest", interest)):
        chk.at_least(value, join(path, key), 0)
        chk.per_path(value, join(path, key))

    start = 0
    if "available_from" in t:
        found = month_in_horizon(chk, t["available_from"], join(path, "available_from"), cal)
        start = found if found is not None else -1
    until = None
    if "until" in t:
        until = month_of(chk, t["until"], join(path, "until"), cal)
        if until is not None and start >= 0 and until <= start:
            since = (
                f"available_from ({_label(cal, start)})"
                if "available_from" in t
                else f"the start month ({_label(cal, 0)}), where it becomes available"
            )
            chk.add(join(path, "until"), f"{_label(cal, until)} must be after {since}")
    repay: Literal["cash_flow", "maturity"] | None = "cash_flow"
    if "repay" in t:
        repay = chk.choice(t["repay"], join(path, "repay"), ("cash_flow", "maturity"))

    if not chk.clean_since(mark) or not enabled:
        return None
    # Without problems all parsed: a missing or wrong limit, interest or repay is a problem above.
    assert limit is not None and interest is not None and repay is not None
    return Credit(
        name=name,
        limit=limit,
        interest=interest,
        available_from=start,
        until=until,
        repay=repay,
        source=source,
    )
