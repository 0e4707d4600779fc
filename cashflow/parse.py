"""Load and validate a scenario file (docs/scenario-format.md) into a :class:`Scenario`.

Every problem in a file is collected and raised together as one :class:`ScenarioError` (one
line per problem, ``file: key.path: what is wrong``); an input that failed is not reported again
by later checks. Each variant is validated by applying it and parsing the result; its own
problems are reported under ``variants.NAME.``. Nothing but ScenarioError escapes for a user's
mistake.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import pathlib
import re
import tomllib
import warnings
from collections.abc import Sequence
from typing import Any

from distributions._require import show
from distributions.errors import Problem, ScenarioError, did_you_mean

from . import overrides
from . import parse_events as events_module
from . import parse_lines as lines_module
from . import parse_management as management_module
from ._check import Checker, join, type_name
from .calendar import MAX_YEAR, add_months, months_before, parse_month, question_dates
from .parse_correlations import parse_correlations
from .parse_events import parse_events
from .parse_lines import parse_lines
from .parse_management import parse_actions, parse_credit
from .parse_months import Calendar
from .parse_plan import check_cash_delays
from .scenario import Correlation, Scenario

__all__ = ["apply_variant", "load_scenario", "parse_scenario"]

TOP_KEYS = (
    "name",
    "description",
    "unit",
    "start",
    "horizon_months",
    "starting_cash",
    "floor",
    "questions",
    "source",
    "lines",
    "events",
    "actions",
    "credit",
    "correlations",
    "variants",
)
REQUIRED = ("name", "unit", "start", "horizon_months", "starting_cash", "lines")
MAX_HORIZON_MONTHS = 600
MAX_DEPTH = 32  # tables and arrays nested deeper than this are refused (docs/scenario-format.md)
MAX_SCENARIO_BYTES = 64 * 2**20  # a scenario file may hold at most 64 MB
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TOML_POSITION = re.compile(r"^(.*?)\s*\(at (line \d+, column \d+|end of document)\)\s*$", re.S)


def load_scenario(
    path: str | pathlib.Path,
    *,
    variant: str | None = None,
    sets: Sequence[tuple[str, object]] = (),
) -> Scenario:
    """Read, parse and validate the scenario file ``path`` (with ``variant``, then the ``--set``
    overrides ``sets`` applied: see :func:`parse_scenario`)."""
    file = str(path)
    p = pathlib.Path(path)
    try:
        with p.open("rb") as handle:  # bounded: a device or a pipe may never end
            data = handle.read(MAX_SCENARIO_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=file) from None
    except IsADirectoryError:
        raise ScenarioError("is a directory, not a scenario file", file=file) from None
    except OSError as error:
        raise ScenarioError(f"cannot read file: {error.strerror or error}", file=file) from None
    if len(data) > MAX_SCENARIO_BYTES:
        raise ScenarioError(
            f"larger than {MAX_SCENARIO_BYTES // 2**20} MB: not a scenario file (a scenario is "
            "a few KB of TOML; large data belongs in a CSV file it names)",
            file=file,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ScenarioError(
            f"not UTF-8 text (bad byte at line {line}); save the file as UTF-8", file=file
        ) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(_toml_message(str(error)), file=file) from None
    except RecursionError:  # tomllib reads nested inline tables and arrays recursively
        raise ScenarioError(
            f"invalid TOML: values nested too deeply to read (at most {MAX_DEPTH} levels "
            "of tables and arrays are supported)",
            file=file,
        ) from None
    scenario = parse_scenario(doc, file=file, base_dir=p.parent, variant=variant, sets=sets)
    return dataclasses.replace(scenario, text=text)


def _too_deep(doc: dict[str, Any]) -> str | None:
    """The key path of the first table or array nested more than MAX_DEPTH levels deep (the
    document itself is level 0), else None. Iterative: any depth is safe to check."""
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, dict):
            items = [(join(path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        if depth > MAX_DEPTH:
            return path
        stack.extend((p, v, depth + 1) for p, v in reversed(items))
    return None


def _toml_message(text: str) -> str:
    """tomllib's ``"Invalid value (at line 3, column 9)"`` -> ``"invalid TOML at line 3, ..."``."""
    match = _TOML_POSITION.match(text)
    if match is None:
        return f"invalid TOML: {text}"
    what = match[1][:1].lower() + match[1][1:]
    where = "at the end of the file" if match[2] == "end of document" else f"at {match[2]}"
    return f"invalid TOML {where}: {what}"


def parse_scenario(
    doc: dict[str, Any],
    *,
    file: str,
    base_dir: pathlib.Path,
    variant: str | None = None,
    sets: Sequence[tuple[str, object]] = (),
) -> Scenario:
    """Validate a parsed TOML document (and all its variants); the Scenario, ``variant`` applied.

    ``sets`` (``(key, value)`` pairs, :func:`cashflow.overrides.parse_set`) are then applied
    like a variant and the result validated again; the Scenario's ``raw`` stays ``doc``.

    Raises one :class:`ScenarioError` listing every problem found, attributed to ``file``; once
    the file is sound, the problems of the sets, each line starting ``--set KEY``.
    """
    if not isinstance(doc, dict):
        raise ScenarioError(f"a scenario must be a table of keys, got {type_name(doc)}", file=file)
    too_deep = _too_deep(doc)
    if too_deep is not None:  # before anything recursive (deepcopy, repr) walks the document
        problem = Problem(too_deep, f"tables nested more than {MAX_DEPTH} levels deep")
        raise ScenarioError(problem, file=file)
    cache: dict[tuple[Any, ...], Any] = {}  # parsed specs, shared by the variants' parses
    sets = list(sets)
    with warnings.catch_warnings():
        if variant is not None or sets:  # the variant's (or the sets') parse warns instead
            warnings.simplefilter("ignore")
        problems, scenario = _parse(doc, base_dir, file, cache)
    chk = Checker(base_dir=base_dir)
    tables = _variant_tables(chk, doc)
    problems += chk.problems
    known = set(problems)
    chosen = None
    for name, table in tables.items():
        merged = overrides.merge_tables(doc, _overrides(table))
        merged.pop("variants", None)
        with warnings.catch_warnings():
            if name != variant or sets:  # only the variant that is run speaks up
                warnings.simplefilter("ignore")
            found, parsed = _parse(merged, base_dir, file, cache)
        problems += [
            Problem(join(f"variants.{name}", p.path) if p.path else f"variants.{name}", p.message)
            for p in found
            if p not in known
        ]
        if name == variant:
            chosen = parsed
    if problems:
        raise ScenarioError(problems, file=file)
    if variant is not None:
        if chosen is None:  # not a variant of this file
            try:
                apply_variant(doc, variant)
            except ScenarioError as error:
                raise error.with_file(file) from None
        scenario = chosen
    if sets:
        scenario = _with_sets(doc, variant, sets, base_dir, file, cache)
    assert scenario is not None
    return dataclasses.replace(
        scenario, raw=doc, variants=tables, variant=variant, sets=tuple(sets)
    )


def _with_sets(
    doc: dict[str, Any],
    variant: str | None,
    sets: list[tuple[str, object]],
    base_dir: pathlib.Path,
    file: str,
    cache: dict[tuple[Any, ...], Any],
) -> Scenario:
    """The Scenario of the (sound) ``doc``, ``variant`` applied, then ``sets``; their problems
    raised as one ScenarioError, each line ``--set KEY: what is wrong`` (not the file's)."""
    base = apply_variant(doc, variant) if variant is not None else copy.deepcopy(doc)
    base.pop("variants", None)
    merged = overrides.apply_sets(base, sets)
    too_deep = _too_deep(merged)
    if too_deep is not None:
        problem = Problem(too_deep, f"tables nested more than {MAX_DEPTH} levels deep")
        raise ScenarioError(overrides.attribute([problem], sets))
    problems, scenario = _parse(merged, base_dir, file, cache)
    if problems:
        raise ScenarioError(overrides.attribute(problems, sets))
    assert scenario is not None
    return scenario


def apply_variant(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``doc["variants"][name]`` (minus ``description``) merged in.

    Tables are merged key by key; any other value, and a distribution table (one with
    ``dist``), replaces the base value whole.
    """
    variants = doc.get("variants")
    if not isinstance(variants, dict) or not isinstance(variants.get(name), dict):
        names = list(variants) if isinstance(variants, dict) else []
        hint = did_you_mean(name, names) if names else "; the file defines no variants"
        raise ScenarioError(Problem("variants", f"unknown variant '{name}'{hint}"))
    return overrides.merge_tables(doc, _overrides(variants[name]))


def _overrides(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k != "description"}


def _variant_tables(chk: Checker, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The well-formed ``[variants.NAME]`` tables; problems of their shape go to ``chk``."""
    if "variants" not in doc:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, table in chk.tables(doc["variants"], "variants", "variant").items():
        path = f"variants.{name}"
        mark = chk.mark()
        if "description" in table:
            chk.string(table["description"], join(path, "description"), multiline=True)
        if "variants" in table:
            chk.add(path, "a variant cannot define variants")
        for section, (what, _) in overrides.NAMED.items():
            base, over = doc.get(section), table.get(section)
            if not isinstance(over, dict):
                continue
            existing = list(base) if isinstance(base, dict) else []
            for key, entry in over.items():
                if key not in existing and not overrides.whole_table(section, entry):
                    hint = did_you_mean(str(key), existing) if existing else ""
                    chk.add(join(path, section), f"unknown {what} '{key}'{hint}")
        if chk.clean_since(mark):
            out[name] = table
    return out


def _parse(
    doc: dict[str, Any], base_dir: pathlib.Path, file: str, cache: dict[tuple[Any, ...], Any]
) -> tuple[list[Problem], Scenario | None]:
    """Every problem of ``doc`` (its variants aside) and, if there are none, the Scenario."""
    chk = Checker(base_dir=base_dir, cache=cache)
    chk.keys(doc, "", TOP_KEYS, required=REQUIRED)

    def text(key: str, *, empty: bool = True, multiline: bool = False) -> str | None:
        if key not in doc:
            return None
        return chk.string(doc[key], key, empty=empty, multiline=multiline)

    name, unit = text("name", empty=False), text("unit", empty=False)
    description, source = text("description", multiline=True), text("source", multiline=True)
    cal = _calendar(chk, doc)
    starting_cash = None
    if "starting_cash" in doc:
        starting_cash = chk.spec(doc["starting_cash"], "starting_cash", "starting_cash")
        chk.per_path(starting_cash, "starting_cash")
    floor = chk.number(doc["floor"], "floor") if "floor" in doc else 0.0
    questions = _questions(chk, doc["questions"], cal) if "questions" in doc else ()
    lines = parse_lines(chk, doc["lines"], cal) if "lines" in doc else ()
    line_names = [str(k) for k in doc["lines"]] if isinstance(doc.get("lines"), dict) else []
    events = parse_events(chk, doc["events"], cal, line_names) if "events" in doc else ()
    taken = _names(doc, ("lines", "line"), ("events", "event"))
    actions = parse_actions(chk, doc["actions"], cal, line_names, taken) if "actions" in doc else ()
    check_cash_delays(chk, lines, actions)  # late cash and actions do not mix (yet)
    taken = _names(doc, ("lines", "line"), ("events", "event"), ("actions", "action"))
    credit = parse_credit(chk, doc["credit"], cal, taken) if "credit" in doc else ()
    correlation = None
    if "correlations" in doc:
        correlation = parse_correlations(chk, doc["correlations"], _declared(doc))
    if chk.problems:
        return chk.problems, None
    # Without problems every required value parsed: each that did not recorded a problem.
    known = cal.known()
    assert name is not None and unit is not None and known is not None
    assert starting_cash is not None and floor is not None
    start_year, start_month, horizon_months = known
    scenario = Scenario(
        name=name,
        description=description or "",
        unit=unit,
        start_year=start_year,
        start_month=start_month,
        horizon_months=horizon_months,
        starting_cash=starting_cash,
        floor=floor,
        lines=lines,
        events=events,
        actions=actions,
        credit=credit,
        questions=questions,
        source=source,
        file=file,
        raw=doc,
    )
    correlation = _without_left_out(correlation, set(scenario.inputs()))
    return [], dataclasses.replace(scenario, correlation=correlation)


def _names(doc: dict[str, Any], *sections: tuple[str, str]) -> dict[str, str]:
    """The names the document gives in ``sections`` (``(section, what)``), each mapped to
    what uses it (``"a line"``), for the checks that names are distinct."""
    out: dict[str, str] = {}
    for section, what in sections:
        tables = doc.get(section)
        if isinstance(tables, dict):
            article = "an" if what[0] in "aeiou" else "a"
            out.update({str(name): f"{article} {what}" for name in tables if name not in out})
    return out


def _without_left_out(correlation: Correlation | None, inputs: set[str]) -> Correlation | None:
    """``correlation`` restricted to ``inputs``: the inputs of an action or credit line with
    ``enabled = false`` (valid, but left out of the Scenario) are dropped with their rows and
    columns (a principal submatrix of a PSD matrix is PSD); None when fewer than two remain."""
    if correlation is None or all(name in inputs for name in correlation.names):
        return correlation
    keep = [i for i, name in enumerate(correlation.names) if name in inputs]
    if len(keep) < 2:
        return None
    return Correlation(
        names=tuple(correlation.names[i] for i in keep),
        matrix=tuple(tuple(correlation.matrix[i][j] for j in keep) for i in keep),
    )


def _calendar(chk: Checker, doc: dict[str, Any]) -> Calendar:
    """``start`` and ``horizon_months``, each ``None`` where wrong."""
    year = month = horizon = None
    if "start" in doc:
        try:
            year, month = parse_month(doc["start"], "start")
        except ScenarioError as error:
            chk.problems.extend(error.problems)
    if "horizon_months" in doc:
        value = doc["horizon_months"]
        if isinstance(value, bool) or not isinstance(value, int):
            got = f"{type_name(value)} ({show(value)})"
            chk.add("horizon_months", f"must be a whole number of months, got {got}")
        elif not 1 <= value <= MAX_HORIZON_MONTHS:
            chk.add("horizon_months", f"must be from 1 to {MAX_HORIZON_MONTHS}, got {show(value)}")
        else:
            horizon = value
    if (
        year is not None
        and month is not None
        and horizon is not None
        and add_months(year, month, horizon)[0] > MAX_YEAR
    ):
        chk.add("horizon_months", f"the horizon runs past the year {MAX_YEAR}")
        horizon = None
    return Calendar(year, month, horizon)


def _questions(chk: Checker, value: Any, cal: Calendar) -> tuple[dt.date, ...]:
    """Dates D within the horizon (see :func:`calendar.question_dates`)."""
    if not isinstance(value, list):
        example = '["2026-01-01"]'
        chk.add("questions", f"must be an array of dates such as {example}, got {type_name(value)}")
        return ()
    out: list[dt.date] = []
    for i, item in enumerate(value):
        path = f"questions[{i}]"
        date = _date(chk, item, path)
        if date is None:
            continue
        known = cal.known()
        if known is not None:
            sy, sm, horizon = known
            first, last = question_dates(sy, sm, horizon)
            if not first <= date <= last:
                chk.add(
                    path,
                    f"{date.isoformat()} is outside the horizon; valid dates are "
                    f"{first.isoformat()} to {last.isoformat()}",
                )
                continue
            assert 1 <= months_before(sy, sm, date) <= horizon
        out.append(date)
    return tuple(out)


def _date(chk: Checker, value: Any, path: str) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError as error:
            chk.add(path, f"'{value}' is not a valid date ({error})")
            return None
    chk.add(path, f'must be a date "YYYY-MM-DD", got {type_name(value)} ({show(value)})')
    return None


def _declared(doc: dict[str, Any]) -> set[str]:
    """Every input name the document writes (whether or not it parsed)."""
    out = {"starting_cash"}
    keys: tuple[str, ...]
    for section, keys in (("lines", lines_module.SPEC_KEYS), ("events", events_module.SPEC_KEYS)):
        tables = doc.get(section)
        if not isinstance(tables, dict):
            continue
        for name, table in tables.items():
            if not isinstance(table, dict):
                continue
            out |= {f"{name}.{key}" for key in keys if key in table}
            if section == "events":
                out.add(f"{name}.probability")
            if isinstance(table.get("schedule"), dict):
                out |= {f"{name}.schedule.{year}" for year in table["schedule"]}
            if section == "events" and "when" in table:
                out.add(f"{name}.delay_months")
    for section, keys in (
        ("actions", management_module.ACTION_SPEC_KEYS),
        ("credit", management_module.CREDIT_SPEC_KEYS),
    ):
        tables = doc.get(section)
        if not isinstance(tables, dict):
            continue
        for name, table in tables.items():
            if isinstance(table, dict):
                out |= {f"{name}.{key}" for key in keys if key in table}
                if section == "actions":
                    out.add(f"{name}.lag_months")
    return out
