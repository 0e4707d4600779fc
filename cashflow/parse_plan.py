"""Parse and check the keys of a line that follow a company's own plan (docs/scenario-format.md,
"Plans, windows, steps, seasonality and late cash"): ``from`` / ``until``, ``plan`` (inline, CSV
or XLSX) with ``after_plan``, ``plan_scale`` and ``plan_delay``, ``steps``, ``seasonality``, and
``collection`` / ``payment``.

:func:`parse_plan_keys` returns the :class:`~cashflow.scenario.Line` fields they set;
:func:`check_cash_delays` refuses a delayed line that an action changes (the management loop
moves an action's effect in the accrual month only).
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable, Sequence
from typing import Any, Literal

from distributions import Spec
from distributions._require import fmt, show
from distributions.errors import ScenarioError

from ._check import Checker, join, type_name
from .calendar import parse_month
from .parse_months import Calendar, KnownCalendar, MonthReader, check_month_in_horizon
from .plan_files import PlanFile, plan_rows, read_plan
from .scenario import Action, Delay, Line, Plan, Step, Window

__all__ = ["MAX_STEPS", "PLAN_KEYS", "check_cash_delays", "parse_plan_keys"]

MAX_STEPS = 1000  # steps per line (docs/scenario-format.md)

#: The keys of this module, in the order a user meets them.
PLAN_KEYS = (
    "from",
    "until",
    "plan",
    "after_plan",
    "plan_scale",
    "plan_delay",
    "steps",
    "seasonality",
    "collection",
    "payment",
)
_PLAN_ONLY = ("after_plan", "plan_scale", "plan_delay")
_FILE_KEYS = {
    "csv": ("csv", "column", "month_column"),
    "xlsx": ("xlsx", "sheet", "column", "month_column"),
}
_DELAY_KEYS = {"collection": ("delay_months", "bad_debt"), "payment": ("delay_months",)}
_PLAN_WHAT = (
    'a table of months and amounts, e.g. { "2024-01" = 0.3, "2024-02" = 0.32 }, or a file, '
    'e.g. { csv = "budget.csv", column = "cloud" }'
)


def parse_plan_keys(
    chk: Checker,
    name: str,
    t: dict[str, Any],
    *,
    kind: str | None,
    base: str | None,
    source: str | None,
    calendar: Calendar,
) -> dict[str, Any]:
    """The Line fields set by this module's keys of ``t`` (the table of line ``name``, whose
    ``kind`` and base key are given when they parsed); problems go to ``chk``. The month checks
    are skipped when the ``calendar`` did not parse."""
    path = f"lines.{name}"
    cal = calendar.known()
    out: dict[str, Any] = {}
    for key in _PLAN_ONLY:
        if key in t and base not in ("plan", None):
            chk.add(join(path, key), f"only goes with plan (this line uses {base})")

    def spec(key: str, value: Any, input_name: str, month: bool = False) -> Spec | None:
        if month and cal is None:
            return None
        month_of = (
            MonthReader(cal.start_year, cal.start_month) if month and cal is not None else None
        )
        found = chk.spec(value, key, input_name, source=source, month_of=month_of)
        chk.per_path(found, key)
        return found

    first = spec(join(path, "from"), t["from"], f"{name}.from", True) if "from" in t else None
    if first is not None and cal is not None:
        check_month_in_horizon(chk, first, join(path, "from"), *cal)
    last = _until(chk, t["until"], join(path, "until"), first, cal) if "until" in t else None
    if "from" in t or "until" in t:
        out["window"] = Window(first=first, last=last)

    if "after_plan" in t:
        chk.choice(t["after_plan"], join(path, "after_plan"), ("growth",))
    if "plan" in t and base == "plan":  # (with several bases, that is the one problem)
        growth_after = t.get("after_plan") == "growth"
        out["plan"] = _plan(chk, t["plan"], join(path, "plan"), growth_after, first, last, cal)
    if "plan_scale" in t:
        out["plan_scale"] = spec(join(path, "plan_scale"), t["plan_scale"], f"{name}.plan_scale")
        chk.at_least(out["plan_scale"], join(path, "plan_scale"), 0)
    if "plan_delay" in t:
        key = join(path, "plan_delay")
        out["plan_delay"] = spec(key, t["plan_delay"], f"{name}.plan_delay")
        _months(chk, out["plan_delay"], key, cal)
    if "steps" in t:
        out["steps"] = _steps(chk, name, t["steps"], spec, cal)
    if "seasonality" in t:
        out["seasonality"] = _seasonality(chk, t["seasonality"], join(path, "seasonality"))
    for key, goes_with in (("collection", "revenue"), ("payment", "cost")):
        if key not in t:
            continue
        if kind is not None and kind != goes_with:
            other = "payment" if key == "collection" else "collection"
            why = f"only goes with kind = '{goes_with}' (a {kind} line: {other})"
            chk.add(join(path, key), why)
        out[key] = _delay(chk, name, key, t[key], spec, cal)
    return out


def _keys(
    chk: Checker, table: dict[str, Any], path: str, allowed: Sequence[str], required: Sequence[str]
) -> None:
    """Unknown keys (with a suggestion), then missing required ones unless a key was unknown:
    a misspelt required key is one problem, not two."""
    mark = chk.mark()
    chk.keys(table, path, allowed)
    if chk.clean_since(mark):
        chk.keys(table, path, allowed, required=required)


def _until(
    chk: Checker, value: Any, path: str, first: Spec | None, cal: KnownCalendar | None
) -> int | None:
    """The last month of the line (an index, not before the start, at or after every month
    ``from`` can take); it may lie beyond the horizon."""
    if not isinstance(value, str):
        chk.add(path, f'must be a month "YYYY-MM", got {type_name(value)} ({show(value)})')
        return None
    if cal is None:
        return None
    try:
        last = cal.month_at(value, path)
    except ScenarioError as error:
        chk.problems.extend(error.problems)
        return None
    if last < 0:
        chk.add(path, f"{value.strip()} is before the start ({cal.label(0)})")
        return None
    if first is not None:
        high = chk.bounds(first)[1]
        if high > last:
            when = first.given if first.is_constant else f"{first.given}, up to {cal.label(high)}"
            chk.add(
                path,
                f"{value.strip()} is before from ({when}); until must be the same month as from "
                "or later",
            )
            return None
    return last


def _months(chk: Checker, spec: Spec | None, path: str, cal: KnownCalendar | None) -> None:
    """A number of months (a delay, floored when drawn): every value it can take must be at
    least 0, and below the horizon."""
    if spec is None or spec.vary != "path":  # per_path reports the latter
        return
    low, high = chk.bounds(spec)
    horizon = cal.horizon_months if cal is not None else None
    too_low = not low >= 0
    too_high = horizon is not None and not high < horizon
    if not (too_low or too_high):
        return
    if spec.is_constant:
        if too_low:
            chk.add(path, f"must be at least 0 months (got {fmt(low)})")
        else:
            chk.add(path, f"{fmt(low)} months leaves the horizon ({horizon} months); must be less")
        return
    parts = []
    if too_low:
        parts.append(f"its smallest value {fmt(low)} is below 0 months")
    if too_high:
        parts.append(f"its largest value {fmt(high)} leaves the horizon ({horizon} months)")
    span = ">= 0" if horizon is None else f">= 0 and < {horizon}"
    chk.add(
        path,
        f"{spec.describe()}: {' and '.join(parts)}; every value must be {span} "
        "(use discrete, uniform, pert or truncate)",
    )


# -- the plan -----------------------------------------------------------------------------------


def _plan(
    chk: Checker,
    value: Any,
    path: str,
    growth_after: bool,
    first: Spec | None,
    last: int | None,
    cal: KnownCalendar | None,
) -> Plan | None:
    table = chk.table(value, path, _PLAN_WHAT)
    if table is None:
        return None
    mark = chk.mark()
    files = [k for k in _FILE_KEYS if k in table]
    if len(files) > 1:
        chk.add(path, "give either csv or xlsx, not both")
        return None
    if files:
        where, amounts = _plan_file(chk, table, path, files[0])
    else:
        where, amounts = "the plan", _inline(chk, table, path)
    if not chk.clean_since(mark) or cal is None or amounts is None:
        return None
    by_index = {(y - cal.start_year) * 12 + (m - cal.start_month): x for (y, m), x in amounts}
    # the months the line needs: from its earliest first month to its last within the horizon
    a = 0 if first is None else max(0, math.floor(chk.bounds(first)[0]))
    b = cal.horizon_months - 1 if last is None else min(last, cal.horizon_months - 1)
    if a > b:  # it never runs within the horizon (until is then an error, reported above)
        return None
    planned = [i for i in by_index if a <= i <= b]
    end = max(planned, default=a - 1) if growth_after else b
    missing = next((i for i in range(a, max(end, a) + 1) if i not in by_index), None)
    if missing is not None:
        hint = ""
        if not growth_after and missing > max(planned, default=a - 1):
            hint = '; or set after_plan = "growth" to continue from its last month'
        chk.add(
            path,
            f"{where} has no amount for {cal.label(missing)}: it needs every month the line "
            f"runs within the horizon, {cal.label(a)} to {cal.label(b)}{hint}",
        )
        return None
    values = tuple(by_index[i] for i in range(a, end + 1))
    return Plan(first=a, amounts=values, growth_after=growth_after, where=where)


def _inline(chk: Checker, table: dict[str, Any], path: str) -> list[tuple[tuple[int, int], float]]:
    """``{ "2024-01" = 0.3, ... }``: months and fixed amounts >= 0."""
    if not table:
        chk.add(path, f"must give at least one month: {_PLAN_WHAT}")
        return []
    out = []
    for key, amount in table.items():
        at = join(path, key)
        try:
            month = parse_month(str(key), at)
        except ScenarioError:
            hint = "; a file needs csv or xlsx" if str(key) in ("column", "month_column") else ""
            chk.add(at, f"'{key}' is not a month (write months like \"2024-01\"){hint}")
            continue
        x = chk.number(amount, at)
        if x is not None and x < 0:
            chk.add(at, f"must be >= 0 (got {fmt(x)})")
        elif x is not None:
            out.append((month, x))
    return out


def _plan_file(
    chk: Checker, table: dict[str, Any], path: str, kind: str
) -> tuple[str, list[tuple[tuple[int, int], float]] | None]:
    """The amounts of a ``{ csv = ... }`` or ``{ xlsx = ... }`` plan."""
    mark = chk.mark()
    _keys(chk, table, path, _FILE_KEYS[kind], required=("column",))
    text: dict[str, str | None] = {}
    for key in _FILE_KEYS[kind]:
        if key in table:
            text[key] = chk.string(table[key], join(path, key), empty=False)
    name, column = text.get(kind), text.get("column")
    where = f"{kind} file '{name}'" if name else f"the {kind} file"
    if not chk.clean_since(mark) or name is None or column is None:
        return where, None
    file = pathlib.Path(name)
    if not file.is_absolute() and chk.base_dir is not None:
        file = chk.base_dir / file
    source = PlanFile(
        kind=kind,
        name=name,
        file=file,
        column=column,
        month_column=text.get("month_column") or "month",
        sheet=text.get("sheet"),
        path=path,
    )
    read = ("plan rows", kind, str(file.resolve()), source.sheet)
    rows = chk.cache.get(read)  # a file read once per load, whatever the lines using it
    if rows is None:
        try:
            rows = chk.cache[read] = plan_rows(source)
        except ScenarioError as error:  # told once, by the first line that reads the file
            chk.cache[read] = error
            chk.problems.extend(error.problems)
            return where, None
    if isinstance(rows, ScenarioError):
        return where, None
    try:
        found = read_plan(source, rows)
    except ScenarioError as error:
        chk.problems.extend(error.problems)
        return where, None
    return f"{where} column '{column}'", sorted(found.items())


# -- steps, seasonality, late cash --------------------------------------------------------------


def _steps(
    chk: Checker,
    name: str,
    value: Any,
    spec: Callable[..., Spec | None],
    cal: KnownCalendar | None,
) -> tuple[Step, ...]:
    path = f"lines.{name}.steps"
    example = '[{ month = "2025-04", add = 0.05 }]'
    if not isinstance(value, list):
        chk.add(path, f"must be an array of steps such as {example}, got {type_name(value)}")
        return ()
    if len(value) > MAX_STEPS:
        chk.add(path, f"{len(value)} steps; at most {MAX_STEPS} are supported")
        return ()
    out = []
    for i, item in enumerate(value):
        at = f"{path}[{i}]"
        table = chk.table(item, at, f"a table such as {example[1:-1]}")
        if table is None:
            continue
        mark = chk.mark()
        _keys(chk, table, at, ("month", "add", "probability"), required=("month", "add"))
        prefix = f"{name}.steps[{i}]"
        month = None
        if "month" in table:
            month = spec(join(at, "month"), table["month"], f"{prefix}.month", True)
        if month is not None and cal is not None:
            check_month_in_horizon(chk, month, join(at, "month"), *cal)
        add = spec(join(at, "add"), table["add"], f"{prefix}.add") if "add" in table else None
        p = table.get("probability", 1)
        probability = spec(join(at, "probability"), p, f"{prefix}.probability")
        chk.probability(probability, join(at, "probability"))
        ready = month is not None and add is not None and probability is not None
        if chk.clean_since(mark) and ready:
            assert month is not None and add is not None and probability is not None
            out.append(Step(month=month, add=add, probability=probability))
    return tuple(out)


def _seasonality(chk: Checker, value: Any, path: str) -> tuple[float, ...] | None:
    """12 fixed factors, January first, each >= 0, normalised to mean 1."""
    what = "12 factors, January first, e.g. [0.9, 0.9, 1.0, ..., 1.3]"
    if not isinstance(value, list):
        chk.add(path, f"must be an array of {what}; got {type_name(value)} ({show(value)})")
        return None
    if len(value) != 12:
        chk.add(path, f"needs {what}; got {len(value)}")
        return None
    mark = chk.mark()
    factors = [chk.number(x, f"{path}[{i}]") for i, x in enumerate(value)]
    for i, x in enumerate(factors):
        if x is not None and x < 0:
            chk.add(f"{path}[{i}]", f"a factor must be >= 0 (got {fmt(x)})")
    if not chk.clean_since(mark):
        return None
    total = math.fsum(x for x in factors if x is not None)
    if not total > 0:
        chk.add(path, "the factors are all 0; at least one must be above 0")
        return None
    return tuple(12 * x / total for x in factors if x is not None)


def _delay(
    chk: Checker,
    name: str,
    key: str,
    value: Any,
    spec: Callable[..., Spec | None],
    cal: KnownCalendar | None,
) -> Delay | None:
    path = f"lines.{name}.{key}"
    table = chk.table(value, path, "a table such as { delay_months = 2 }")
    if table is None:
        return None
    mark = chk.mark()
    _keys(chk, table, path, _DELAY_KEYS[key], required=("delay_months",))
    delay = None
    if "delay_months" in table:
        at = join(path, "delay_months")
        delay = spec(at, table["delay_months"], f"{name}.{key}.delay_months")
        _months(chk, delay, at, cal)
    bad_debt = None
    if "bad_debt" in table and key == "collection":
        at = join(path, "bad_debt")
        bad_debt = spec(at, table["bad_debt"], f"{name}.{key}.bad_debt")
        chk.probability(bad_debt, at, what="share")
    if not chk.clean_since(mark) or delay is None:
        return None
    return Delay(delay_months=delay, bad_debt=bad_debt)


# -- across sections ----------------------------------------------------------------------------


def check_cash_delays(chk: Checker, lines: Sequence[Line], actions: Sequence[Action]) -> None:
    """A line whose cash moves later (``collection``, ``payment``) must not be changed by an
    action, directly or as a share of a line it names: the management loop applies an action's
    effect to the month's cash as well as to its amount."""
    children: dict[str, list[str]] = {}
    for line in lines:
        if line.share_of is not None:
            children.setdefault(line.share_of, []).append(line.name)
    delayed: dict[str, Literal["collection", "payment"]] = {
        line.name: "collection" if line.collection is not None else "payment"
        for line in lines
        if line.cash_delay is not None
    }
    if not delayed:
        return
    reported: set[str] = set()
    for action in actions:
        scaled = action.lines if action.factor is not None else ()
        for key, names in (("lines", scaled), ("stop", action.stop)):
            todo = list(names)
            while todo:
                at = todo.pop()
                todo.extend(children.get(at, ()))
                if at in delayed and at not in reported:
                    reported.add(at)
                    how = "directly" if at in names else "as a share of a line it names"
                    chk.add(
                        f"lines.{at}.{delayed[at]}",
                        f"cannot go with actions.{action.name}.{key}, which changes this line "
                        f"({how}): an action's effect on a line whose cash moves later is not "
                        f"modelled; remove {delayed[at]} here or the line from the action",
                    )
