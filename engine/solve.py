"""Goal seek: the value of one fixed scenario number that meets a target probability.

``solve("s.toml", "before 2026-01-01 <= 5%", "events.raise.amount")`` finds the smallest raise
that brings the chance cash runs out before 2026-01-01 to at most 5%; for a number whose
increase hurts (``lines.staff.scale``) it finds the largest that still meets the target, for a
month (``events.raise.month``) the latest (or earliest) month that does.

How:

- Every evaluation sets the number in a copy of the scenario document, parses it and runs it
  with the same seed, paths and batch size: common random numbers. Each input has its own
  random stream (:mod:`distributions.seeding`), so the other inputs' draws do not move with
  the varied number, and the estimate P(x) is a monotone step function of x whenever the model
  is monotone in x (a larger raise never ruins a path that a smaller one saved).
- Direction: the range's two ends are evaluated first; the end that meets the target says on
  which side the answer lies ("smallest"/"largest" value, "earliest"/"latest" month). Neither
  end meeting is reported as "cannot be met inside the range"; both meeting gives the end itself.
- Bisection on the bracket until it is narrower than ``tolerance``: by default 0.005 in the
  value's units (half a cent when the value is money in the scenario's unit) or 1e-6 of the
  range, whichever is smaller; months by integer bisection over month indices. The answer is the
  bracket's end that meets the target, so P at the answer always meets it.
- Uncertainty: P at the answer comes with its 95% Wilson interval; the Monte Carlo uncertainty
  of the answer itself is the interval of values where the estimate crosses the target level
  shifted by +/- the half-width of that CI (two more bisections, starting from the brackets the
  cached evaluations already give). A deterministic scenario (every input fixed, every
  probability 0 or 1, no noise) is simulated on a few paths: its P is exactly 0 or 1, its CI
  zero-width and its answer exact to the tolerance.

Nothing is printed; :class:`Solution` holds the answer, its uncertainty and a one-sentence
message (``Solution.as_dict()`` for JSON).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import pathlib
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cashflow import calendar
from cashflow.overrides import apply_sets
from cashflow.parse import apply_variant, load_scenario, parse_scenario
from cashflow.scenario import Scenario, Shock
from distributions._require import finite
from distributions.errors import ScenarioError, UsageError, did_you_mean
from distributions.seeding import fresh_entropy
from engine.results import Answer, check_question_date
from engine.wording import ci_text, pct

__all__ = ["DETERMINISTIC_PATHS", "Solution", "Target", "parse_target", "solve"]

DETERMINISTIC_PATHS = 64  # paths per evaluation of a deterministic scenario (all identical)
MONEY_TOLERANCE = 0.005  # default bracket width in the value's units: half a cent of money
RELATIVE_TOLERANCE = 1e-6  # ... or this share of the range, whichever is smaller
INTERVAL_RELATIVE_TOLERANCE = 1e-4  # the uncertainty interval's ends: to this share of the range
IN_PROCESS_CHUNKS = 2  # evaluations of at most this many chunks run in this process
MAX_EVALUATIONS = 400  # a safety net; bisection to the tolerance needs far fewer

_TARGET_EXAMPLE = "e.g. 'before 2026-01-01 <= 5%'"
_TARGET_RE = re.compile(
    r"\s*before\s+(?P<date>\S+)\s*(?P<op><=|>=|<|>|≤|≥|=<|=>)\s*(?P<level>[^\s%]+)\s*(?P<pct>%?)\s*",
    re.IGNORECASE,
)
_OPS = {"<=": "<=", "=<": "<=", "≤": "<=", "<": "<", ">=": ">=", "=>": ">=", "≥": ">=", ">": ">"}
_NOT_VARIED = {
    "horizon_months": "it sets the simulated calendar",
    "start": "it sets the simulated calendar",
}
_MONEY_FIELDS = {"amount", "start", "starting_cash", "floor"}


# ----- the target ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """ "The chance cash runs out before ``before`` is ``op`` ``level``" (probability units).

    ``op`` is "<=" or "<" (at most) or ">=" or ">" (at least).
    """

    before: dt.date
    op: str
    level: float

    @property
    def at_most(self) -> bool:
        return self.op in ("<=", "<")

    def meets(self, p: float, level: float | None = None) -> bool:
        """Whether probability ``p`` meets the target (at ``level`` instead of its own)."""
        q = self.level if level is None else level
        return {"<=": p <= q, "<": p < q, ">=": p >= q, ">": p > q}[self.op]

    def text(self) -> str:
        return f"before {self.before.isoformat()} {self.op} {_level(self.level)}"

    def __str__(self) -> str:
        return self.text()


def parse_target(text: str | Target) -> Target:
    """``'before 2026-01-01 <= 5%'`` -> Target; also ``< 5%``, ``<= 0.05``, ``>= 90%`` (at
    least). A level without ``%`` is a probability from 0 to 1. Anything else: one-line
    UsageError with an example."""

    def bad(template: str, /, **values: Any) -> UsageError:
        return UsageError("target", template, example=_TARGET_EXAMPLE, **values)

    if isinstance(text, Target):
        return text
    if not isinstance(text, str):
        raise bad("{target} must be text, {example}")
    match = _TARGET_RE.fullmatch(text)
    if match is None:
        raise bad(
            "{target} {text!r} is not a target; write 'before DATE <= LEVEL', {example} "
            "(or >= for 'at least')",
            text=text,
        )
    try:
        before = dt.date.fromisoformat(match["date"])
    except ValueError:
        date = match["date"]
        raise bad("{target}: {date!r} is not a date YYYY-MM-DD, {example}", date=date) from None
    try:
        level = float(match["level"])
    except ValueError:
        raise bad("{target}: {level!r} is not a number, {example}", level=match["level"]) from None
    if not math.isfinite(level):
        raise bad("{target}: the level must be a finite number, {example}")
    if match["pct"]:
        level /= 100
        if not 0 <= level <= 1:
            raise bad(
                "{target}: the level must be from 0% to 100% (got {level}%)", level=match["level"]
            )
    elif not 0 <= level <= 1:
        raise bad(
            "{target}: a level without % is a probability from 0 to 1 (got {level}); "
            "did you mean {level}%?",
            level=match["level"],
        )
    return Target(before=before, op=_OPS[match["op"]], level=level)


# ----- the answer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Solution:
    """The result of a goal seek.

    ``answer``: the value found (a float, or ``"YYYY-MM"`` for a month), None when the target
    cannot be met inside the range. ``direction``: "smallest", "largest", "earliest" or
    "latest" (the value that meets the target, on which side). ``probability`` / ``ci95``: the
    estimate at the answer (at ``closest`` when not met). ``interval``: (low, high), the answer's
    Monte Carlo uncertainty (equal ends for a deterministic scenario; None when not met).
    ``evaluations``: distinct simulations run, each of ``paths`` paths with ``seed``.
    """

    vary: str
    target: str
    answer: float | str | None
    direction: str
    met: bool
    probability: float
    ci95: tuple[float, float]
    interval: tuple[float, float] | tuple[str, str] | None
    evaluations: int
    paths: int
    seed: int
    message: str
    range: tuple[float, float] | tuple[str, str]
    deterministic: bool = False
    closest: float | str | None = None
    unit: str = ""
    tolerance: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("ci95", "interval", "range"):
            if out[key] is not None:
                out[key] = list(out[key])
        out["seed"] = int(self.seed)
        return out


# ----- the varied key -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    path: tuple[str, ...]
    month: bool
    current: float | str
    funding: bool = False  # a field of a funding round

    @property
    def field(self) -> str:
        return self.path[-1]


def _leaves(doc: dict[str, Any]) -> list[str]:
    """Every dotted key that can be varied: a fixed number, or a fixed month of an event."""
    out: list[str] = []

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            if "dist" in value:
                return
            for k, v in value.items():
                walk(v, (*path, str(k)))
            return
        if _varied_reason(path) is not None:
            return
        if _is_number(value) or (_is_month_key(path) and _is_month(value)):
            out.append(".".join(path))

    walk(doc, ())
    for path, _ in _optional(doc):
        out.append(".".join(path))
    return out


def _optional(doc: dict[str, Any]) -> list[tuple[tuple[str, ...], float]]:
    """Keys with a default that the document leaves out, and their defaults: ``floor`` (0),
    ``lines.NAME.scale`` (1), ``events.NAME.probability`` (1)."""
    out: list[tuple[tuple[str, ...], float]] = []
    if "floor" not in doc:
        out.append((("floor",), 0.0))
    for section, field, default in (("lines", "scale", 1.0), ("events", "probability", 1.0)):
        tables = doc.get(section)
        if isinstance(tables, dict):
            for name, table in tables.items():
                if isinstance(table, dict) and field not in table:
                    out.append(((section, str(name), field), default))
    return out


def _varied_reason(path: tuple[str, ...]) -> str | None:
    """Why the key cannot be varied, or None."""
    if not path:
        return "name a key"
    if path[0] == "variants":
        return "a variant's value is chosen with {variant}; vary the scenario's key instead"
    if path[0] == "correlations":
        return "correlations cannot be varied"
    if len(path) == 1 and path[0] in _NOT_VARIED:
        return _NOT_VARIED[path[0]]
    return None


def _is_number(value: Any) -> bool:
    is_real = isinstance(value, int | float) and not isinstance(value, bool)
    return is_real and finite(value) is not None


def _is_month_key(path: tuple[str, ...]) -> bool:
    return len(path) == 3 and path[0] == "events" and path[2] == "month"


def _is_month(value: Any) -> bool:
    try:
        calendar.parse_month(value)
    except ScenarioError:
        return False
    return True


def _find_key(doc: dict[str, Any], vary: str, file: str) -> _Key:
    """The varied key in ``doc`` (of ``file``): it must exist and hold a fixed number (or
    month); else a one-line UsageError."""

    def bad(template: str, /, **values: Any) -> UsageError:
        return UsageError(
            "vary", "{file}: {vary} {key}: " + template, file=file, key=vary, **values
        )

    if not isinstance(vary, str) or not vary.strip():
        raise UsageError(
            "vary", "{file}: {vary} needs a dotted key, e.g. events.raise.amount", file=file
        )
    vary = vary.strip()
    path = tuple(vary.split("."))
    valid = _leaves(doc)
    reason = _varied_reason(path)  # a sentence of this module, naming parameters as {fields}
    if reason is not None:
        raise bad(f"cannot be varied ({reason})")
    defaults = dict(_optional(doc))
    event = doc["events"].get(path[1]) if path[0] == "events" and len(path) == 3 else None
    funding = isinstance(event, dict) and event.get("kind") == "funding"
    if path in defaults:
        return _Key(path, False, defaults[path], funding)
    value: Any = doc
    for i, part in enumerate(path):
        if not isinstance(value, dict) or part not in value:
            where = ".".join(path[:i]) or "the scenario"
            what = (
                "no such number in the scenario"
                if isinstance(value, dict)
                else f"{where} is not a table"
            )
            raise bad("{what}{hint}", what=what, hint=did_you_mean(vary, valid))
        value = value[part]
    if isinstance(value, dict):
        if "dist" in value:
            raise bad(
                "is a distribution ({dist}), not a fixed value; goal seek varies a fixed "
                "number: give it one (e.g. with {sets}) or vary another key",
                dist=value["dist"],
            )
        inside = [k for k in valid if k.startswith(vary + ".")]
        hint = did_you_mean(vary, inside or valid)
        raise bad("is a table; name one of its numbers{hint}", hint=hint)
    if _is_month_key(path):
        if _is_month(value):
            return _Key(path, True, str(value).strip(), funding)
        raise bad('must hold a fixed month "YYYY-MM" to be varied (got {value!r})', value=value)
    if _is_number(value):
        return _Key(path, False, float(value), funding)
    if isinstance(value, str) and re.search(r"\S\s+to\s+\S", value):
        raise bad(
            "is an uncertain number ({value!r}), not a fixed value; goal seek varies a fixed "
            "number: give it one (e.g. with {sets}) or vary another key",
            value=value,
        )
    raise bad(
        "holds {type} {value!r}, not a number{hint}",
        type=type(value).__name__,
        value=value,
        hint=did_you_mean(vary, valid),
    )


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    table = doc
    for part in path[:-1]:
        nxt = table.get(part)
        if not isinstance(nxt, dict):
            nxt = table[part] = {}
        table = nxt
    table[path[-1]] = value


# ----- the solver ---------------------------------------------------------------------------
def solve(
    scenario_file: str | pathlib.Path,
    target: Target | str,
    vary: str,
    *,
    range_: tuple[Any, Any] | None = None,
    paths: int = 200_000,
    seed: int | None = None,
    jobs: int | None = None,
    variant: str | None = None,
    sets: Iterable[Any] = (),
    tolerance: float | None = None,
) -> Solution:
    """Find the value of the fixed number ``vary`` that meets ``target`` (see the module doc).

    ``range_``: (low, high) of the value (months as ``"YYYY-MM"``); default [0, 10 x the current
    value] for amounts, [0, 1] for probabilities, [0, 5] for scales, the horizon for months.
    ``tolerance``: bracket width in the value's units (default: 0.005, or 1e-6 of the range if
    smaller). ``sets``: overrides, ``(key, value)`` pairs as
    :func:`cashflow.overrides.parse_set` returns them, applied after the variant.
    Raises a one-line UsageError for a bad target, key, range, tolerance or number of paths,
    a ScenarioError for a bad scenario (file, variant or sets).
    """
    file = str(scenario_file)
    goal = parse_target(target)
    sets = list(sets)
    # Every problem of the file, the variant and the sets, as for a run (one line each).
    base = load_scenario(file, variant=variant, sets=sets)
    doc = apply_variant(base.raw, variant) if variant is not None else copy.deepcopy(base.raw)
    doc.pop("variants", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # said once already by load_scenario
        doc = apply_sets(doc, sets)
    key = _find_key(doc, vary, file)
    vary = ".".join(key.path)
    base_dir = pathlib.Path(file).parent

    def scenario_at(value: Any) -> Scenario:
        trial = copy.deepcopy(doc)
        _set(trial, key.path, value)
        try:
            return parse_scenario(trial, file=file, base_dir=base_dir)
        except ScenarioError as error:
            shown = value if isinstance(value, str) else _num(value)
            problems = "; ".join(
                f"{p.path}: {p.message}" if p.path else p.message for p in error.problems
            )
            raise UsageError(
                "range_",
                "{file}: {vary} {key} = {value}: the scenario is not valid there: {problems}",
                file=file,
                key=vary,
                value=shown,
                problems=problems,
            ) from None

    scenario = scenario_at(key.current)  # the scenario with the overrides applied
    _check_date(scenario, goal)
    deterministic = _deterministic(scenario) and key.field != "probability"
    n_paths = min(int(paths), DETERMINISTIC_PATHS) if deterministic else int(paths)
    if n_paths < 1:
        raise UsageError("paths", "{paths} must be a positive number (got {got})", got=paths)
    entropy = fresh_entropy() if seed is None else int(seed)

    from engine.pool import available_cores, resolve_jobs
    from engine.runner import batch_size_for, chunk_batches, local_backend, run

    size = min(batch_size_for(scenario), max(1, n_paths))
    few_chunks = math.ceil(n_paths / (size * chunk_batches(size))) <= IN_PROCESS_CHUNKS
    workers, _ = resolve_jobs(jobs, available_cores())  # refused or capped by run(), once
    threads = local_backend([scenario], size, workers) == "threads"
    # A few chunks: faster here than shipped to a pool of processes; threads cost nothing.
    run_jobs = 1 if few_chunks and not threads else jobs

    # Values are handled as u (a float, or a month index), converted for the document by `raw`.
    if key.month:
        lo_u, hi_u = _month_range(scenario, vary, range_)
    else:
        lo_u, hi_u = _number_range(key, vary, range_)
    digits: int | None = None  # decimals shown, once the precision of the answer is known

    def raw(u: float) -> Any:
        if key.month:
            return calendar.month_label(scenario.start_year, scenario.start_month, int(u))
        return float(u)

    def shown(u: float) -> str:
        return raw(u) if key.month else _num(u, digits, strip=deterministic)

    cache: dict[float, Answer] = {}

    def answer_at(u: float) -> Answer:
        if u not in cache:
            if len(cache) >= MAX_EVALUATIONS:
                raise UsageError(  # a range too wide for the tolerance
                    "range_", "goal seek: more than {n} evaluations needed", n=MAX_EVALUATIONS
                )
            results = run(
                scenario_at(raw(u)),
                paths=n_paths,
                seed=entropy,
                jobs=run_jobs,
                batch_size=size,
                progress=None,
            )
            ans = results.probability_runs_out_before(goal.before)
            if deterministic:  # every path identical: P is exact
                p = ans.probability
                ans = dataclasses.replace(ans, std_error=0.0, ci95=(p, p))
            cache[u] = ans
        return cache[u]

    if tolerance is None:
        tol = min(MONEY_TOLERANCE, RELATIVE_TOLERANCE * (hi_u - lo_u)) if not key.month else 1
    else:
        if not (_is_number(tolerance) and tolerance > 0):
            raise UsageError(
                "tolerance", "{tolerance} must be a positive number (got {got})", got=tolerance
            )
        tol = max(1, round(tolerance)) if key.month else float(tolerance)
    if not key.month and tol <= 0:
        tol = MONEY_TOLERANCE

    a, b = answer_at(lo_u), answer_at(hi_u)
    meets_a, meets_b = goal.meets(a.probability), goal.meets(b.probability)
    unit = f" ({scenario.unit})" if _is_money(key) else ""
    context = _Context(goal, vary, key, unit, n_paths, entropy, deterministic, tol)

    def solution(at: Answer, **fields: Any) -> Solution:
        """A Solution with the fields every outcome shares; P and its CI from ``at``."""
        return Solution(
            vary=vary,
            target=goal.text(),
            probability=at.probability,
            ci95=at.ci95,
            evaluations=len(cache),
            paths=n_paths,
            seed=entropy,
            range=(raw(lo_u), raw(hi_u)),
            deterministic=deterministic,
            unit=scenario.unit if _is_money(key) else "",
            tolerance=tol,
            **fields,
        )

    if not meets_a and not meets_b:
        better = lo_u if _better(goal, a.probability, b.probability) else hi_u
        best = cache[better]
        range_text = f"[{shown(lo_u)}, {shown(hi_u)}]"
        message = (
            f"The target (chance cash runs out {goal.text()}) cannot be met inside the range "
            f"{range_text} of {vary}: at best P = {_pct(best.probability)}"
            f"{context.ci_text(best)} at {vary} = {shown(better)}{unit}; {context.runs(cache)}."
        )
        return solution(
            best,
            answer=None,
            direction=context.direction(+1 if better == hi_u else -1),
            met=False,
            interval=None,
            message=message,
            closest=raw(better),
        )

    if meets_a and meets_b:
        if a.probability == b.probability:
            sign = _prior_sign(doc, key)
        else:
            sign = +1 if _better(goal, b.probability, a.probability) else -1
        end = lo_u if sign > 0 else hi_u  # higher helps: the smallest is the low end
        at = cache[end]
        direction = context.direction(sign)
        message = (
            f"Every value of {vary} in the range [{shown(lo_u)}, {shown(hi_u)}] meets the target "
            f"(chance cash runs out {goal.text()}); the {direction}, the range's end "
            f"{shown(end)}{unit}, gives {_pct(at.probability)}{context.ci_text(at)}; "
            f"{context.runs(cache)}."
        )
        return solution(
            at,
            answer=raw(end),
            direction=direction,
            met=True,
            interval=(raw(end), raw(end)),
            message=message,
        )

    sign = +1 if meets_b else -1  # +1: higher helps (the smallest value that meets)
    direction = context.direction(sign)
    # In s = sign * u the task is always "the smallest s that meets".
    meet_s, fail_s = sign * (hi_u if meets_b else lo_u), sign * (lo_u if meets_b else hi_u)

    def meets(s: float, level: float | None = None) -> bool:
        return goal.meets(answer_at(sign * s).probability, level)

    found = _bisect(meets, fail_s, meet_s, tol, key.month)
    at = cache[sign * found]
    answer_u = sign * found

    if deterministic:
        ends = (answer_u, answer_u)
    else:
        half = (at.ci95[1] - at.ci95[0]) / 2
        coarse = tol if key.month else max(tol, INTERVAL_RELATIVE_TOLERANCE * (hi_u - lo_u))
        ends_s = []
        for level in (goal.level - half, goal.level + half):
            ends_s.append(
                _bisect_cached(cache, goal, level, sign, lo_u, hi_u, answer_at, coarse, key.month)
            )
        ends = tuple(sorted(sign * s for s in ends_s))  # type: ignore[assignment]

    if key.month:
        interval: tuple[Any, Any] = (raw(ends[0]), raw(ends[1]))
        answer: Any = raw(answer_u)
    else:
        interval = (float(ends[0]), float(ends[1]))
        answer = float(answer_u)
        if deterministic:  # shown to about a tenth of the tolerance's order, at least cents
            digits = max(2, min(6, math.ceil(-math.log10(tol)) - 1))
        else:
            digits = _digits(interval[1] - interval[0], tol)

    message = context.sentence(shown, answer_u, at, ends, direction, cache)
    return solution(
        at,
        answer=answer,
        direction=direction,
        met=True,
        interval=interval,
        message=message,
    )


def _bisect(
    meets: Callable[[float], bool], fail: float, meet: float, tol: float, integer: bool
) -> float:
    """The smallest s found to meet, between ``fail`` (does not) and ``meet`` (does), to
    within ``tol`` (integers: exactly, adjacent)."""
    while True:
        if integer:
            if meet - fail <= 1:
                return meet
            mid = float((fail + meet) // 2)
        else:
            if meet - fail <= tol:
                return meet
            mid = (fail + meet) / 2
            if mid in (fail, meet):  # floating point exhausted
                return meet
        if meets(mid):
            meet = mid
        else:
            fail = mid


def _bisect_cached(
    cache: dict[float, Answer],
    goal: Target,
    level: float,
    sign: int,
    lo_u: float,
    hi_u: float,
    answer_at: Callable[[float], Answer],
    tol: float,
    integer: bool,
) -> float:
    """The smallest s = sign * u meeting the target at ``level``, starting from the bracket the
    cached evaluations give (a model monotone in u assumed); the range's far end if the shifted
    target is not met inside it, the near end if met everywhere."""
    ok = sorted(sign * u for u, ans in cache.items() if goal.meets(ans.probability, level))
    near, far = sorted((sign * lo_u, sign * hi_u))
    if not ok:
        return far
    meet = ok[0]
    below = [sign * u for u, ans in cache.items() if sign * u < meet]
    if not below:
        return near
    fail = max(below)

    def meets(s: float) -> bool:
        return goal.meets(answer_at(sign * s).probability, level)

    return _bisect(meets, fail, meet, tol, integer)


@dataclass(frozen=True)
class _Context:
    goal: Target
    vary: str
    key: _Key
    unit: str
    paths: int
    seed: int
    deterministic: bool
    tolerance: float

    def direction(self, sign: int) -> str:
        if self.key.month:
            return "earliest" if sign > 0 else "latest"
        return "smallest" if sign > 0 else "largest"

    def ci_text(self, ans: Answer) -> str:
        if self.deterministic:
            return " (deterministic: exact)"
        lo, hi = ans.ci95
        return f" ({ci_text(lo, hi, small=True)})"

    def runs(self, cache: dict[float, Answer]) -> str:
        n = len(cache)
        paths = f"{self.paths:,} path" + ("s" if self.paths != 1 else "")
        text = f"{n} evaluation{'s' if n != 1 else ''} of {paths}"
        if self.deterministic:
            return text + " (deterministic scenario)"
        return text + f", seed {self.seed}"

    def sentence(
        self,
        shown: Callable[[float], str],
        answer_u: float,
        at: Answer,
        ends: tuple[float, float],
        direction: str,
        cache: dict[float, Answer],
    ) -> str:
        goal, vary, unit = self.goal, self.vary, self.unit
        x = shown(answer_u)
        bring = (
            f"the chance cash runs out before {goal.before.isoformat()} to "
            f"{_pct(at.probability)}{self.ci_text(at)[:-1]}; target {goal.op} {_level(goal.level)})"
        )
        if self.key.month:
            lead = {
                "latest": f"{vary} can be as late as {x} and still bring",
                "earliest": f"{vary} must be {x} or later to bring",
            }[direction]
            what = "month"
        elif direction == "smallest" and self.key.field == "amount" and self.key.funding:
            lead = f"Raise at least {x}{unit} in {vary} to bring"
            what = "amount"
        else:
            bound = "at least" if direction == "smallest" else "at most"
            lead = f"Set {vary} to {bound} {x}{unit} to bring"
            what = "amount" if _is_money(self.key) else "value"
        lead = lead[0].upper() + lead[1:] if not self.key.month else lead
        if self.deterministic:
            spread = "exact" if self.key.month else f"exact to within {_num(self.tolerance)}"
        else:
            spread = f"Monte Carlo uncertainty of the {what}: {shown(ends[0])} to {shown(ends[1])}"
        return f"{lead} {bring}; {spread}; {self.runs(cache)}."


def _better(goal: Target, p: float, q: float) -> bool:
    """Whether probability ``p`` is nearer to meeting the target than ``q``."""
    return p < q if goal.at_most else p > q


def _prior_sign(doc: dict[str, Any], key: _Key) -> int:
    """+1 when a higher value of the key (usually) lowers the chance of running out, else -1;
    used only to name the answer when the whole range meets the target equally."""
    path = key.path
    if path[0] == "starting_cash":
        return +1
    if path[0] == "floor":
        return -1
    table = doc.get(path[0], {}).get(path[1], {}) if len(path) > 2 else {}
    kind = table.get("kind") if isinstance(table, dict) else None
    if kind == "revenue":
        return +1
    if kind == "funding":
        return -1 if key.month else +1
    if kind == "shock":
        return +1 if key.month else -1
    return -1  # costs


def _is_money(key: _Key) -> bool:
    if key.month:
        return False
    if key.path[0] in ("starting_cash", "floor"):
        return True
    if len(key.path) == 4 and key.path[2] == "schedule":
        return True
    return key.field in _MONEY_FIELDS


def _deterministic(scenario: Scenario) -> bool:
    """Every input fixed, every probability 0 or 1, no month-to-month noise: every path is the
    same, so P is exactly 0 or 1."""
    if any(not spec.is_constant for spec in scenario.inputs().values()):
        return False
    for line in scenario.lines:
        for spec in (line.volatility, line.growth_noise):
            if spec is not None and spec.mean() != 0:
                return False
        if any(step.probability.mean() not in (0.0, 1.0) for step in line.steps or ()):
            return False  # a step on some paths only
    for event in scenario.events:
        p = event.probability.mean()
        if p not in (0.0, 1.0):
            return False
        if isinstance(event, Shock) and event.per == "horizon" and event.month is None and p > 0:
            return False  # a shock at a random month
    return True


def _check_date(scenario: Scenario, goal: Target) -> None:
    s = scenario
    check_question_date(s.start_year, s.start_month, s.horizon_months, goal.before, "target", ": ")


def _number_range(key: _Key, vary: str, range_: tuple[Any, Any] | None) -> tuple[float, float]:
    if range_ is None:
        current = float(key.current)
        if key.field == "probability":
            return 0.0, 1.0
        if key.field == "scale":
            return 0.0, 5.0
        if current > 0:
            return 0.0, 10 * current
        if current < 0:
            return 10 * current, 0.0
        return 0.0, 1.0
    try:
        low, high = (float(v) for v in range_)
    except (TypeError, ValueError):
        raise UsageError(
            "range_",
            "{range_} for {key} must be two numbers LOW HIGH, e.g. {range_} 0 30 (got {got!r})",
            key=vary,
            got=range_,
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise UsageError(
            "range_",
            "{range_} for {key} must be two finite numbers with LOW < HIGH (got {got!r})",
            key=vary,
            got=range_,
        )
    return low, high


def _month_range(
    scenario: Scenario, vary: str, range_: tuple[Any, Any] | None
) -> tuple[float, float]:
    h = scenario.horizon_months
    if range_ is None:
        return 0.0, float(h - 1)
    first = calendar.month_label(scenario.start_year, scenario.start_month, 0)
    last = calendar.month_label(scenario.start_year, scenario.start_month, h - 1)
    values = {"key": vary, "first": first, "last": last, "got": range_}
    try:
        low, high = (
            calendar.month_index(scenario.start_year, scenario.start_month, str(v)) for v in range_
        )
    except (ScenarioError, TypeError, ValueError):
        raise UsageError(
            "range_",
            '{range_} for {key} must be two months "YYYY-MM", e.g. {range_} {first} {last} '
            "(got {got!r})",
            **values,
        ) from None
    if not 0 <= low < high <= h - 1:
        raise UsageError(
            "range_",
            "{range_} for {key} must be two months within the horizon, the first earlier, "
            "e.g. {range_} {first} {last} (got {got!r})",
            **values,
        )
    return float(low), float(high)


def _digits(width: float, tol: float) -> int:
    """Decimals showing a value known to within ``width`` (2 to 6)."""
    scale = width if width > 0 else tol
    if scale <= 0:
        return 2
    return max(2, min(6, math.ceil(-math.log10(scale)) + 1))


def _num(x: float, digits: int | None = None, strip: bool = False) -> str:
    """A value for a message: ``digits`` decimals (6 significant digits if None); with
    ``strip`` trailing zeros dropped (``3.2170`` -> ``3.217``, ``30.00`` -> ``30``)."""
    if digits is None:
        text = f"{x:.6g}" if abs(x) < 1e6 else f"{x:,.0f}"
        return text
    text = f"{x:.{digits}f}"
    if strip and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pct(p: float) -> str:
    return pct(p, small=True)


def _level(level: float) -> str:
    return f"{100 * level:g}%"
