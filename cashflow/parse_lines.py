"""Parse and check the ``[lines.NAME]`` tables of a scenario (see docs/scenario-format.md)."""

from __future__ import annotations

import heapq
from typing import Any, Literal

from distributions import Spec
from distributions._require import show
from distributions.errors import did_you_mean

from ._check import Checker, join, type_name
from .calendar import years
from .parse_months import Calendar
from .parse_plan import PLAN_KEYS, parse_plan_keys
from .scenario import Line

__all__ = ["LINE_KEYS", "MAX_LINES", "Calendar", "parse_lines"]

MAX_LINES = 1000  # lines per scenario (docs/scenario-format.md)

LINE_KEYS = (
    "kind",
    "start",
    "growth",
    "growth_per",
    "growth_noise",
    "schedule",
    "share_of",
    "ratio",
    "volatility",
    "scale",
    *PLAN_KEYS,
    "source",
)
_BASES = ("start", "schedule", "share_of", "plan")
_WITH_START = ("growth", "growth_per", "growth_noise")


#: The keys of a line parsed as its own inputs (fields of :class:`Line`).
_FIELD_SPECS = ("start", "growth", "growth_noise", "ratio", "volatility", "scale")
#: The keys of a line that hold an input (a number or a distribution), besides its schedule
#: and the inputs inside its tables (steps, collection, payment).
SPEC_KEYS = (*_FIELD_SPECS, "from", "plan_scale", "plan_delay")


def parse_lines(chk: Checker, value: Any, cal: Calendar) -> tuple[Line, ...]:
    """Every well-formed line, in dependency order (a line after the line it is a share of)."""
    tables = chk.tables(value, "lines", "line", limit=MAX_LINES)
    if isinstance(value, dict) and len(value) > MAX_LINES:
        return ()
    if isinstance(value, dict) and not value:
        chk.add("lines", "at least one line is required ([lines.NAME])")
    names = [str(k) for k in value] if isinstance(value, dict) else []
    built: dict[str, Line] = {}
    for name, table in tables.items():
        line = _parse_line(chk, name, table, names, cal)
        if line is not None:
            built[name] = line
    deps = {
        name: t["share_of"]
        for name, t in tables.items()
        if isinstance(t.get("share_of"), str) and t["share_of"] in names
    }
    in_cycle = _report_cycles(chk, names, deps)
    order = _dependency_order(names, deps)
    return tuple(built[n] for n in order if n in built and n not in in_cycle)


def _parse_line(
    chk: Checker, name: str, t: dict[str, Any], names: list[str], cal: Calendar
) -> Line | None:
    path = f"lines.{name}"
    mark = chk.mark()
    chk.keys(t, path, LINE_KEYS, required=("kind",))
    kind: Literal["revenue", "cost"] | None = None
    if "kind" in t:
        kind = chk.choice(t["kind"], join(path, "kind"), ("revenue", "cost"))
    source = None
    if "source" in t:
        source = chk.string(t["source"], join(path, "source"), multiline=True)

    bases = [k for k in _BASES if k in t]
    if len(bases) != 1:
        got = " and ".join(bases) if bases else "none"
        chk.add(path, f"needs exactly one of start, schedule, share_of or plan (got {got})")
    base = bases[0] if len(bases) == 1 else None
    grows_after_plan = base == "plan" and t.get("after_plan") == "growth"
    for key in _WITH_START:
        if key in t and base not in ("start", None) and not grows_after_plan:
            also = ', or with plan and after_plan = "growth"' if base == "plan" else ""
            chk.add(join(path, key), f"only goes with start{also} (this line uses {base})")
    if "ratio" in t and base not in ("share_of", None):
        chk.add(join(path, "ratio"), "only goes with share_of")
    if base == "share_of" and "ratio" not in t:
        chk.add(path, "missing required key 'ratio' (share_of needs a ratio)")

    def spec(key: str) -> Spec | None:
        if key not in t:
            return None
        return chk.spec(t[key], join(path, key), f"{name}.{key}", source=source)

    fields: dict[str, Any] = {k: spec(k) for k in _FIELD_SPECS}
    chk.at_least(fields["start"], join(path, "start"), 0)
    chk.at_least(fields["growth"], join(path, "growth"), -1, strict=True)
    for key in ("growth_noise", "ratio", "volatility", "scale"):
        chk.at_least(fields[key], join(path, key), 0)
    if "growth_per" in t:
        fields["growth_per"] = chk.choice(
            t["growth_per"], join(path, "growth_per"), ("month", "year")
        )
    if "schedule" in t:
        fields["schedule"] = _schedule(chk, name, t["schedule"], source, cal)
    if "share_of" in t:
        fields["share_of"] = _reference(chk, t["share_of"], join(path, "share_of"), names)
    planned = parse_plan_keys(chk, name, t, kind=kind, base=base, source=source, calendar=cal)

    if not chk.clean_since(mark):
        return None
    assert kind is not None  # "kind" is required: a missing or wrong kind is a problem above
    present = {k: v for k, v in fields.items() if k in t}
    return Line(name=name, kind=kind, source=source, **present, **planned)


def _reference(chk: Checker, value: Any, path: str, names: list[str]) -> str | None:
    """The name of an existing line."""
    if not isinstance(value, str):
        chk.add(path, f"must be the name of a line, got {type_name(value)} ({show(value)})")
        return None
    if value not in names:
        chk.add(path, f"unknown line '{value}'{did_you_mean(value, names)}")
        return None
    return value


def _schedule(
    chk: Checker, name: str, value: Any, source: str | None, cal: Calendar
) -> tuple[tuple[int, Spec], ...] | None:
    """Calendar-year totals ``{2024 = 1.5, ...}`` covering every year of the horizon."""
    path = f"lines.{name}.schedule"
    table = chk.table(value, path, "a table of calendar-year totals, e.g. { 2024 = 1.5 }")
    if table is None:
        return None
    mark = chk.mark()
    out: dict[int, Spec] = {}
    for key, total in table.items():
        text = str(key).strip()
        if not (text.isascii() and text.isdigit() and len(text) == 4):
            chk.add(path, f"'{key}' is not a calendar year (write years like 2024 = 1.5)")
            continue
        year = int(text)
        spec = chk.spec(total, join(path, key), f"{name}.schedule.{year}", source=source)
        chk.at_least(spec, join(path, key), 0)
        if spec is not None:
            out[year] = spec
    if not chk.clean_since(mark):
        return None
    known = cal.known()
    if known is not None:
        needed = years(*known)
        missing = [y for y in needed if y not in out]
        if missing:
            which = ", ".join(map(str, missing))
            span = f"{needed[0]}-{needed[-1]}" if len(needed) > 1 else str(needed[0])
            plural = "s" if len(missing) > 1 else ""
            chk.add(path, f"missing year{plural} {which} (the horizon covers {span})")
            return None
    return tuple(sorted(out.items()))


def _report_cycles(chk: Checker, names: list[str], deps: dict[str, str]) -> set[str]:
    """Report each share_of cycle once, at its first line in file order; its members.

    Each line depends on at most one other, so following share_of from every line in turn,
    never walking a line twice, finds every cycle in time linear in the number of lines.
    """
    index = {name: i for i, name in enumerate(names)}
    done: set[str] = set()  # lines whose chain has been followed to its end
    found: list[list[str]] = []
    for name in names:
        walk: dict[str, int] = {}  # this walk's lines, by position
        at = name
        while at not in done and at not in walk:
            walk[at] = len(walk)
            if at not in deps:
                break
            at = deps[at]
        else:
            if at in walk:  # came back into this walk: a new cycle
                steps = list(walk)
                found.append(steps[walk[at] :])
        done.update(walk)
    members: set[str] = set()
    for cycle in found:
        first = min(cycle, key=index.__getitem__)
        i = cycle.index(first)
        ordered = [*cycle[i:], *cycle[:i], first]
        members |= set(cycle)
        chk.add(f"lines.{first}.share_of", "share_of cycle " + " -> ".join(ordered))
    return members


def _dependency_order(names: list[str], deps: dict[str, str]) -> list[str]:
    """File order, except that a line comes after the line it depends on (cycles left out)."""
    index = {name: i for i, name in enumerate(names)}
    children: dict[str, list[str]] = {}
    waiting = {}
    for name in names:
        if name in deps:
            children.setdefault(deps[name], []).append(name)
            waiting[name] = 1
    ready = [index[n] for n in names if n not in waiting]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        out.append(name)
        for child in children.get(name, ()):
            heapq.heappush(ready, index[child])
    return out
