#!/usr/bin/env python3
"""Runway: how likely is it that a company runs out of money, and when?

    python simulate.py                                   the built-in scenario, headline answers
    python simulate.py scenarios                         list the built-in scenarios
    python simulate.py run SCENARIO [--paths 1M] [--seed S] [--jobs J] [--sampler mc|lhs|sobol]
                                    [--memory 512M] [--out DIR [--force]] [--no-report]
                                    [--until-ci 0.0005] [--compare] [--set KEY=VALUE]
    python simulate.py resume RUN_DIR                    finish an interrupted or killed run
    python simulate.py ask SCENARIO|RUN_DIR --before YYYY-MM-DD [--json]
    python simulate.py compare SCENARIO [--variants a,b] [--json]
    python simulate.py solve SCENARIO --target 'before 2026-01-01 <= 5%' --vary KEY
    python simulate.py sensitivity SCENARIO --output 'before 2026-01-01'
    python simulate.py validate SCENARIO
    python simulate.py report RUN_DIR

SCENARIO is a scenario file or the name of a built-in scenario (``openai_2024``, with or without
``.toml``); an existing file of that name wins. The install provides the same as ``runway ...``.

A thin command line: arguments -> engine -> reports. User mistakes print one line and exit 2:
a ScenarioError, a RunDirError, or a UsageError, whose parameter is named by its flag here
(:data:`FLAGS`: ``paths must be ...`` from the engine reads ``--paths must be ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import decimal
import errno
import json
import os
import pathlib
import re
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

try:  # Ctrl-C while the first modules load (numpy: ~0.1 s), before main() handles it
    from distributions.errors import (
        RunDirError,
        RunwayError,
        RunwayWarning,
        ScenarioError,
        UsageError,
        escape_controls,
    )
    from distributions.samplers import SAMPLERS
    from engine.wording import ci_text, pct_ci, pct_in, runway_words
except KeyboardInterrupt:
    print("runway: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

if TYPE_CHECKING:
    from cashflow.scenario import Scenario
    from engine.results import Results
    from engine.rundir import RunDir

__all__ = ["main", "run"]

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_NAME = "openai_2024"  # the built-in scenario `runway` runs without arguments
DEFAULT_PATHS = 1_000_000
CHARTS_HELP = "chart files beside the PDF: png (default), svg, or png,svg"
DEFAULT_SEED = 2024
MAX_SOBOL_EVALUATIONS = 50_000_000
MAX_PATHS = 10**10  # about two hours on two cores; bigger runs belong on a cluster

#: The flag of each library parameter an error may name (UsageError.param, Problem.param):
#: errors are worded with the parameters' names, and printed here with the flags.
FLAGS = {
    "paths": "--paths",
    "seed": "--seed",
    "jobs": "--jobs",
    "sampler": "--sampler",
    "variant": "--variant",
    "variants": "--variants",
    "memory_bytes": "--memory",
    "sets": "--set",
    "out": "--out",
    "force": "--force",
    "until_ci": "--until-ci",
    "max_paths": "--max-paths",
    "time_limit": "--time-limit",
    "charts": "--charts",
    "backend": "--backend",
    "scheduler": "--scheduler",
    "before": "--before",
    "target": "--target",
    "vary": "--vary",
    "range_": "--range",
    "output": "--output",
}
#: The user's mistakes: printed as their lines, exit code 2.
USER_ERRORS = (ScenarioError, UsageError, RunDirError)


def error_lines(error: RunwayError) -> list[str]:
    """The lines that tell ``error`` on the command line: its parameters named by their flags."""
    return error.lines(FLAGS)


# ----- the built-in scenarios ---------------------------------------------------------------
def builtin_folder() -> pathlib.Path:
    """The folder of the built-in scenarios: the package ``scenarios`` (installed as package
    data beside this module, or the checkout's scenarios/ folder)."""
    import importlib.resources

    try:
        folder = importlib.resources.files("scenarios")
    except ModuleNotFoundError:  # a checkout whose editable install predates the package
        return HERE / "scenarios"
    # Another project's "scenarios" first on sys.path, or a zipped install: the one beside us.
    if isinstance(folder, pathlib.Path) and (folder / f"{DEFAULT_NAME}.toml").is_file():
        return folder
    return HERE / "scenarios"


DEFAULT_SCENARIO = builtin_folder() / f"{DEFAULT_NAME}.toml"


def builtin_scenarios() -> dict[str, pathlib.Path]:
    """Name -> file of every built-in scenario, by name."""
    folder = builtin_folder()
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if p.is_file()}


def resolve_scenario(name: str | pathlib.Path, *, run_dirs: bool = False) -> pathlib.Path:
    """A SCENARIO argument -> the file to read. An existing file wins (with ``run_dirs`` a
    directory too: ``ask RUN_DIR``); else the built-in scenario of that name, with or without
    ``.toml``; else a ScenarioError: file not found, with the built-in names."""
    path = pathlib.Path(name)
    if path.is_file() or (run_dirs and path.is_dir()):
        return path
    builtins = builtin_scenarios()
    key = str(name).removesuffix(".toml")
    if key in builtins:
        return builtins[key]
    if path.exists():  # a directory: load_scenario says what is wrong with it
        return path
    import difflib

    close = difflib.get_close_matches(key, list(builtins), n=1, cutoff=0.6)
    hint = f"; did you mean the built-in '{close[0]}'?" if close else ""
    names = ", ".join(builtins) or "none"
    raise ScenarioError(
        f"file not found{hint}; built-in scenarios: {names} (`runway scenarios` describes them)",
        file=str(name),
    )


def run(
    scenario: str | pathlib.Path | Scenario,
    *,
    variant: str | None = None,
    sets: Sequence[tuple[str, Any]] = (),
    **options: Any,
) -> Results:
    """Simulate a scenario file or built-in scenario's name (optionally one of its variants,
    and ``sets``: overrides as ``[("events.raise.probability", 0)]``) or a parsed Scenario.

    ``options``: ``paths``, ``seed``, ``jobs``, ``sampler``, ``batch_size``, ``memory_bytes``,
    ``progress``, as in
    :func:`engine.runner.run`. Returns :class:`engine.results.Results`.
    """
    from cashflow.parse import load_scenario
    from engine.runner import run as _run

    if isinstance(scenario, str | pathlib.Path):
        scenario = load_scenario(resolve_scenario(scenario), variant=variant, sets=sets)
    return _run(scenario, **options)


# ----- argument parsing ---------------------------------------------------------------------
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}


def parse_count(text: str) -> int:
    """'1e6', '1_000_000', '1M', '2.5k', '10000' -> int (1 to MAX_PATHS)."""
    s = text.strip().replace("_", "").replace(",", "").lower()
    m = re.fullmatch(r"(\d{1,30}(?:\.\d{0,30})?(?:e\d{1,4})?)([kmgb]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(
            f"'{_shown(text)}' is not a number of paths; e.g. 1000000, 1_000_000, 1e6 or 1M"
        )
    value = decimal.Decimal(m.group(1)) * _SUFFIX[m.group(2)]
    if value < 1 or value != value.to_integral_value():
        raise argparse.ArgumentTypeError(f"'{_shown(text)}' must be a whole number of paths >= 1")
    if value > MAX_PATHS:
        raise argparse.ArgumentTypeError(
            f"'{_shown(text)}' is more than the {MAX_PATHS:,} paths one run may have (about two "
            "hours on two cores); the error of a probability shrinks as 1/sqrt(paths), so 1e8 "
            "paths already give it to +/-0.01 points"
        )
    return int(value)


def _shown(text: str) -> str:
    """User text as echoed in a message: at most 40 characters, control characters escaped."""
    return escape_controls(text if len(text) <= 40 else text[:37] + "...")


def parse_seed(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a seed; use a whole number >= 0"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a seed; use a whole number >= 0")
    return value


def parse_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of jobs") from None
    if value == 0:  # negatives count back from the cores; engine.pool.resolve_jobs checks them
        raise argparse.ArgumentTypeError("--jobs must be >= 1, or -1 for all cores")
    return value


def parse_dir(text: str) -> pathlib.Path:
    """A folder named on the command line: not empty (``--out ''`` is not the current one)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name is not a folder; use . for this one")
    return pathlib.Path(text)


def parse_set(text: str) -> tuple[str, Any]:
    from cashflow.overrides import parse_set as parse

    try:
        return parse(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(error_lines(error)[0]) from None


def parse_memory(text: str) -> int:
    from engine.memory import parse_memory as parse

    try:
        return parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(escape_controls(str(error))) from None


def parse_probability_width(text: str) -> float:
    """A CI half-width in probability units, 0 < w < 0.5 ("0.0005", "5e-4")."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 0.5:
        raise argparse.ArgumentTypeError(
            f"'{_shown(text)}' is not a half-width between 0 and 0.5 (probability units, "
            "e.g. 0.0005 for +/-0.05 points)"
        )
    return value


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?")


def parse_duration(text: str) -> float:
    """'8h', '90m', '1h30m', '45s', '3600' -> seconds (> 0)."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError(
            f"'{_shown(text)}' is not a duration; e.g. 8h, 90m, 1h30m or 3600 (seconds)"
        )
    h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
    seconds = 3600 * h + 60 * mi + sec
    if not 0 < seconds < 366 * 86400:
        raise argparse.ArgumentTypeError(f"'{_shown(text)}' must be more than 0 and under a year")
    return seconds


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; expected YYYY-MM-DD") from None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (exit 2) instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError("argv", "{prog}: {message}", prog=self.prog, message=message)


SCENARIO_HELP = "a scenario file, or a built-in scenario's name (`runway scenarios` lists them)"


JOBS_HELP = "cores to compute on: this process and jobs - 1 threads or processes (default: all)"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runway", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    # Defaults of the simulation options are None here (filled in by _simulate), so that
    # `ask RUN_DIR` can tell which options were given and refuse those it cannot honour.
    def sim_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--paths",
            type=parse_count,
            default=None,
            help=f"number of simulated paths: 1000000, 1_000_000, 1e6 or 1M (default 1M, "
            f"at most {MAX_PATHS:.0e})",
        )
        sp.add_argument(
            "--seed",
            type=parse_seed,
            default=None,
            help="seed (entropy) for a reproducible run; default: fresh, printed",
        )
        sp.add_argument("--jobs", type=parse_jobs, default=None, help=JOBS_HELP)
        sp.add_argument(
            "--sampler",
            choices=SAMPLERS,
            default=None,
            help="plain Monte Carlo, Latin hypercube or scrambled Sobol",
        )
        sp.add_argument("--variant", default=None, help="a named variant of the scenario")
        sp.add_argument(
            "--memory",
            dest="memory_bytes",
            metavar="SIZE",
            type=parse_memory,
            default=None,
            help="peak memory per process, which sets the batch size: 512M (default), 2G, ...",
        )
        sp.add_argument(
            "--quiet", action="store_true", help="no progress bar or progress lines on stderr"
        )
        set_option(sp)

    def set_option(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--set",
            dest="sets",
            metavar="KEY=VALUE",
            type=parse_set,
            action="append",
            default=None,
            help="change one scenario value, as in the file (repeatable): "
            "--set events.raise.probability=0 --set 'starting_cash=6 to 9'",
        )

    def cluster_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--backend",
            choices=("auto", "threads", "loky", "dask"),
            default="auto",
            help="where the batches run: threads of this process, local processes (loky), or "
            "a Dask cluster; auto (default): threads when the batches of every job fit "
            "--memory together, else processes",
        )
        sp.add_argument(
            "--scheduler", default=None, help="the Dask scheduler's address, tcp://HOST:8786"
        )

    r = sub.add_parser("run", help="simulate a scenario and write a run directory")
    r.add_argument("scenario", help=SCENARIO_HELP)
    sim_options(r)
    r.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="run directory (default runs/<scenario>-<UTC timestamp>); must be new or empty",
    )
    r.add_argument(
        "--force",
        action="store_true",
        help="replace the previous run in --out (swapped in whole when the new run is written)",
    )
    r.add_argument("--no-report", action="store_true", help="skip the PDF report")
    r.add_argument("--charts", default="png", metavar="FORMATS", help=CHARTS_HELP)
    r.add_argument(
        "--compare",
        action="store_true",
        help="also run the scenario's variants on the same paths (compare.csv, a report page)",
    )
    r.add_argument(
        "--until-ci",
        metavar="WIDTH",
        type=parse_probability_width,
        default=None,
        help="add paths until every question's 95%% CI half-width is at most this, e.g. 0.0005",
    )
    r.add_argument(
        "--max-paths",
        metavar="PATHS",
        type=parse_count,
        default=None,
        help=f"with --until-ci: stop at this many paths (default {MAX_PATHS:.0e})",
    )
    r.add_argument(
        "--time-limit",
        metavar="DURATION",
        type=parse_duration,
        default=None,
        help="with --until-ci: stop after this long, e.g. 8h, 90m, 1h30m",
    )
    cluster_options(r)

    res = sub.add_parser("resume", help="finish a run that was interrupted or killed")
    res.add_argument("run_dir", type=pathlib.Path)
    res.add_argument("--jobs", type=parse_jobs, default=None, help=JOBS_HELP)
    res.add_argument("--quiet", action="store_true", help="no progress on stderr")
    res.add_argument("--no-report", action="store_true", help="skip the PDF report")
    res.add_argument("--charts", default="png", metavar="FORMATS", help=CHARTS_HELP)
    cluster_options(res)

    a = sub.add_parser("ask", help="chance cash runs out before a date")
    a.add_argument(
        "scenario", help="a scenario file, a built-in scenario's name, or a finished run directory"
    )
    a.add_argument("--before", type=parse_date, required=True, help="the date, YYYY-MM-DD")
    sim_options(a)
    a.add_argument("--json", action="store_true", help="print one JSON object")

    def decision_options(sp: argparse.ArgumentParser, *, paths: int, what: str) -> None:
        """--paths (with its own default), --seed and --jobs of compare, solve, sensitivity."""
        sp.add_argument("--paths", type=parse_count, default=paths, help=what)
        sp.add_argument("--seed", type=parse_seed, default=None, help="seed; default: fresh")
        sp.add_argument("--jobs", type=parse_jobs, default=None, help=JOBS_HELP)

    cmp_ = sub.add_parser(
        "compare", help="the base and its variants on the same paths, with paired differences"
    )
    cmp_.add_argument("scenario", help=SCENARIO_HELP)
    cmp_.add_argument(
        "--variants", default=None, help="names, comma-separated (default: every variant)"
    )
    decision_options(cmp_, paths=DEFAULT_PATHS, what="paths (1M)")
    cmp_.add_argument("--sampler", choices=SAMPLERS, default="mc", help="mc, lhs or sobol")
    cmp_.add_argument("--json", action="store_true", help="print one JSON object")
    set_option(cmp_)

    sol = sub.add_parser(
        "solve", help="goal seek: the value of one number that meets a target probability"
    )
    sol.add_argument("scenario", help=SCENARIO_HELP)
    sol.add_argument(
        "--target", required=True, help="e.g. 'before 2026-01-01 <= 5%%' (also <, >=, >)"
    )
    sol.add_argument(
        "--vary",
        required=True,
        help="a fixed number or month of the scenario: events.raise.amount, lines.staff.scale, "
        "events.raise.month",
    )
    sol.add_argument(
        "--range", nargs=2, metavar=("LOW", "HIGH"), default=None, help="where to look"
    )
    decision_options(sol, paths=200_000, what="paths per evaluation (200k)")
    sol.add_argument("--variant", default=None, help="a named variant of the scenario")
    sol.add_argument("--json", action="store_true", help="print one JSON object")
    set_option(sol)

    sen = sub.add_parser(
        "sensitivity", help="Sobol indices: which inputs matter, alone and together"
    )
    sen.add_argument("scenario", help=SCENARIO_HELP)
    sen.add_argument(
        "--output",
        required=True,
        help="'before 2026-01-01' (runs out before), 'cash 2025-12' (month-end cash), "
        "'loss 2024' (a year's net loss)",
    )
    decision_options(sen, paths=200_000, what="model evaluations at most (200k)")
    sen.add_argument("--variant", default=None, help="a named variant of the scenario")
    sen.add_argument(
        "--out",
        type=parse_dir,
        default=None,
        help="also write sensitivity.csv there (e.g. a run directory: its report then shows it)",
    )

    v = sub.add_parser(
        "validate", help="check a scenario (and 4,096 simulated paths of it), print its inputs"
    )
    v.add_argument("scenario", help=SCENARIO_HELP)

    sub.add_parser("scenarios", help="list the built-in scenarios: name, then description")

    rep = sub.add_parser("report", help="rebuild the PDF report of a finished run")
    rep.add_argument("run_dir", type=pathlib.Path)
    rep.add_argument("--charts", default="png", metavar="FORMATS", help=CHARTS_HELP)
    rep.add_argument(
        "--jobs", type=parse_jobs, default=None, help="drawing processes (default: all cores)"
    )
    return p


# ----- commands -----------------------------------------------------------------------------
SIM_DEFAULTS = {
    "paths": DEFAULT_PATHS,
    "seed": None,
    "jobs": None,
    "sampler": "mc",
    "memory_bytes": None,
}


def _simulate(args: argparse.Namespace, scenario: Scenario, **more: Any) -> Results:
    options = {
        k: d if getattr(args, k, None) is None else getattr(args, k)
        for k, d in SIM_DEFAULTS.items()
    }
    return run(scenario, progress=None if args.quiet else "auto", **{**options, **more})


_stdout_gone = False


def say(text: str = "") -> None:
    """Print a line to stdout; if the reader has gone (``| head``), keep working silently. A
    stdout that cannot be written (a full disk) is a RunwayError: the answer would be lost."""
    global _stdout_gone
    if _stdout_gone:
        return
    try:
        print(text, flush=True)
    except OSError as error:
        _stdout_gone = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more, not even at exit, goes there
        os.close(devnull)
        if not isinstance(error, BrokenPipeError):
            raise RunwayError(
                f"cannot write to standard output: {error.strerror or error}"
            ) from None


def _reopen_closed_streams() -> None:
    """A standard stream closed by the caller (``>&-``) is None in Python; joblib and print()
    would fail on it. Such a stream goes to /dev/null (its descriptor too, so that a worker
    process started from here does not write into whatever file takes that number)."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is not None:
            continue
        devnull = os.open(os.devnull, os.O_RDWR)
        if devnull != fd:
            os.dup2(devnull, fd)  # inheritable
            os.close(devnull)
        else:  # os.open's descriptors are not inherited: worker processes would lack it
            os.set_inheritable(fd, True)
        stream = open(fd, "r" if fd == 0 else "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        setattr(sys, name, stream)  # open for the rest of the process


def _money(x: float) -> str:
    """An amount of the key-figures table: two decimals ("-0.00" never), or three significant
    digits beyond a thousand billion units (a runaway scenario printed 60-digit rows)."""
    if abs(x) >= 1e12:
        return f"{x:.3g}"
    return f"{round(x, 2) + 0.0:,.2f}"  # + 0.0: no "-0.00" for a hair below zero


def key_figures(results: Results) -> str:
    """A short text table: revenue, costs, net loss (p5 / p50 / p95) and year-end cash per year."""
    df = results.years()
    unit = results.scenario.unit
    lines = [f"Key figures per calendar year ({unit}; p5 / median / p95):"]
    rows = []
    for y in results.layout.years:
        cells = []
        for what in ("revenue", "costs", "net_loss", "cash_end"):
            row = df[(df.year == y) & (df.quantity == what)].iloc[0]
            cells.append(f"{_money(row.p5)} / {_money(row.p50)} / {_money(row.p95)}")
        rows.append((y, cells))
    # each column two wider than its longest cell: amounts in thousands have many digits,
    # and fixed columns ran them together
    titles = ("revenue", "costs", "net loss", "cash at year end")
    widths = [2 + max(len(t), *(len(cells[i]) for _, cells in rows)) for i, t in enumerate(titles)]
    lines.append(
        f"  {'year':<6}" + "".join(f"{t:>{w}}" for t, w in zip(titles, widths, strict=True))
    )
    for y, cells in rows:
        lines.append(f"  {y:<6}" + "".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    rp = results.runway_percentiles()
    median = rp["p50"]
    label = None if isinstance(median, str) else results.month_label(median - 1)
    lines.append(
        f"Median runway: {runway_words(median, label)}; paths that never run out within the "
        f"horizon: {pct_ci(results.never_runs_out, *results.never_runs_out_ci)}"
    )
    lines += management_lines(results)
    return "\n".join(lines)


def management_lines(results: Results) -> list[str]:
    """One line per management lever: on what share of paths it happened, and when."""
    words = {"fired": "fired", "triggered": "was needed", "arrived": "paid out", "drew": "drawn"}
    kinds = {"action": "Action", "bridge": "Bridge round", "credit": "Credit line"}
    out = []
    for row in results.management().itertuples():
        text = (
            f"{kinds[row.kind]} {row.name} {words[row.event]} on "
            f"{pct_in(row.share, row.share_lo, row.share_hi)} of paths "
            f"({ci_text(row.share_lo, row.share_hi)})"
        )
        if row.paths:
            text += f", first in {row.month_p50} (median; p10 {row.month_p10}, p90 {row.month_p90})"
        out.append(text)
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from cashflow.parse import load_scenario
    from distributions.seeding import fresh_entropy
    from engine.rundir import claim_run_dir, estimated_bytes, start_run
    from engine.runner import FAN_BINS, HIST_BINS, batch_size_for

    if args.until_ci is None and (args.max_paths is not None or args.time_limit is not None):
        raise UsageError("max_paths", "runway run: {max_paths} and {time_limit} go with {until_ci}")
    _check_backend(args)
    _check_charts(args)
    sets = args.sets or []
    scenario = load_scenario(args.scenario, variant=args.variant, sets=sets)
    if args.until_ci is not None and not scenario.questions:
        raise UsageError(
            "until_ci",
            "{scenario}: {until_ci} needs question dates (questions = [...])",
            scenario=args.scenario,
        )
    seed = fresh_entropy() if args.seed is None else args.seed
    paths = args.paths or (1 if args.until_ci is not None else DEFAULT_PATHS)
    sampler = args.sampler or "mc"
    spec = {
        "variant": args.variant,
        "sets": [[key, value] for key, value in sets],
        "seed": seed,
        "paths": paths,
        "sampler": sampler,
        "batch_size": batch_size_for(
            scenario,
            *([args.memory_bytes] if args.memory_bytes else []),
            sampler=sampler,
            paths=paths,
        ),
        "memory_bytes": args.memory_bytes,  # the budget the run keeps to (threads or processes)
        "until_ci": args.until_ci,
        "compare": args.compare,
        "max_paths": args.max_paths,
        "time_limit": args.time_limit,
    }
    need = estimated_bytes(scenario, HIST_BINS, FAN_BINS)
    run_dir = claim_run_dir(args.out, scenario.name, force=args.force, need_bytes=need)
    try:
        start_run(run_dir, scenario, spec)
    except BaseException:
        run_dir.discard()
        raise
    if args.seed is None:
        say(f"Seed (fresh entropy, recorded in the run): {seed}")
    return _execute(args, scenario, spec, run_dir)


def _check_backend(args: argparse.Namespace) -> None:
    if args.backend == "dask" and not args.scheduler:
        raise UsageError(
            "scheduler",
            "runway {command}: {backend} dask needs {scheduler} tcp://HOST:8786",
            command=args.command,
        )
    if args.scheduler and args.backend != "dask":
        raise UsageError(
            "scheduler",
            "runway {command}: {scheduler} goes with {backend} dask",
            command=args.command,
        )


def _check_charts(args: argparse.Namespace) -> None:
    """A bad --charts is told before the run, not after it (with --no-report too: a typo is
    one whatever else the command says)."""
    from reports.pdf import chart_formats

    chart_formats(args.charts)


def cmd_resume(args: argparse.Namespace) -> int:
    from engine.readback import scenario_of
    from engine.rundir import reopen_run_dir

    _check_backend(args)
    _check_charts(args)
    run_dir, manifest = reopen_run_dir(args.run_dir)
    scenario = scenario_of(args.run_dir, manifest)
    return _execute(args, scenario, manifest["run"], run_dir, resumed=True)


def _execute(
    args: argparse.Namespace,
    scenario: Scenario,
    spec: dict[str, Any],
    run_dir: RunDir,
    resumed: bool = False,
) -> int:
    """Simulate a claimed run with checkpoints, save it, write the report, put it in place.
    An interrupt or a failure that leaves it resumable keeps the directory and says how."""
    from engine import pool
    from engine.checkpoint import CheckpointStore
    from engine.pool import Terminated
    from engine.readback import resume_command

    hint = resume_command(run_dir.work)
    store = CheckpointStore(run_dir.work, resume_hint=hint)
    pool.resume_hint = hint
    options = {k: spec[k] for k in ("seed", "paths", "sampler", "batch_size", "until_ci")}
    options |= {k: spec.get(k) for k in ("max_paths", "time_limit", "memory_bytes")}
    try:
        results = run(
            scenario,
            jobs=args.jobs,
            progress=None if args.quiet else "auto",
            backend=args.backend,
            scheduler=args.scheduler,
            checkpoints=store,
            **options,
        )
    except KeyboardInterrupt as stop:
        what = "terminated" if isinstance(stop, Terminated) else "interrupted"
        print(f"runway: {what}; resume the run with: {hint}", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130
    except USER_ERRORS:
        if not resumed:  # a user's mistake: resuming would fail the same way
            run_dir.discard()  # (a resumed run's directory, and its checkpoint, are the user's)
        raise
    except RunwayError as error:
        text = str(error)
        if "resume" not in text:
            text += f"; the checkpoint is kept: resume with: {hint}"
        print(f"runway: {escape_controls(text)}", file=sys.stderr)
        return 1
    # The run started when its directory was claimed (a resumed run: in its first part).
    manifest = json.loads((run_dir.work / "manifest.json").read_text(encoding="utf-8"))
    results = dataclasses.replace(results, started=dt.datetime.fromisoformat(manifest["started"]))
    lost = _save(results, run_dir, hint)
    for answer in results.answers():
        say(answer.sentence())
    if results.stop and results.stop["reason"] != "paths reached":
        widths = ", ".join(f"{w:.2g}" for w in results.stop["half_widths"].values())
        reason = results.stop["reason"]
        say(f"Stopped: {reason} at {results.paths:,} paths (95% CI half-widths {widths})")
    if not lost and spec.get("compare") and (scenario.variants or scenario.managed):
        _compare_into(scenario, spec, args, results, run_dir.work)
    say(key_figures(results))
    if lost:
        print(f"runway: {lost}", file=sys.stderr)
        return 1
    problem = None
    if not args.no_report:
        from reports.pdf import write_report

        try:
            write_report(results, run_dir.work, charts=args.charts, jobs=args.jobs)
        except OSError as error:
            problem = (
                f"the report could not be written ({error.strerror or error}); the results are "
                f"saved: rebuild it with `runway report {run_dir.path}`"
            )
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM while drawing: the run itself is done
            run_dir.commit()
            print(
                f"runway: the report was not written; the results are saved in {run_dir.path}: "
                f"rebuild it with `runway report {run_dir.path}`",
                file=sys.stderr,
            )
            raise
    run_dir.commit()
    if not args.no_report and problem is None:
        say(f"Report: {run_dir.path / 'report.pdf'}")
    say(f"Run directory: {run_dir.path}")
    if problem:
        print(f"runway: {problem}", file=sys.stderr)
        return 1
    return 0


def _compare_into(
    scenario: Scenario,
    spec: dict[str, Any],
    args: argparse.Namespace,
    results: Results,
    work: pathlib.Path,
) -> None:
    """The scenario's variants on the run's paths and seed (common random numbers), into the
    run directory's compare.csv (the report's "What changes the answer" page)."""
    from engine.compare import compare, write_comparison

    # Parsed from a file: `run` loads the scenario file, `resume` the run directory's copy.
    assert scenario.file is not None
    try:
        comparison = compare(
            scenario.file,
            None,
            paths=results.paths,
            seed=results.seed,
            jobs=args.jobs,
            sampler=results.sampler,
            batch_size=results.batch_size,
            sets=[(k, v) for k, v in spec.get("sets") or []],
        )
        write_comparison(comparison, work)
    except (RunwayError, OSError) as error:  # the run itself is saved: say what is missing
        text = error_lines(error)[0] if isinstance(error, RunwayError) else str(error)
        warnings.warn(f"the variants could not be compared: {text}", RunwayWarning, stacklevel=2)
        return
    table = comparison.questions()
    last = table[table.before == table.before.iloc[-1]]
    for row in last.itertuples():
        if row.variant != "base":
            say(
                f"Variant {row.variant} ({row.description}): {100 * row.probability:.1f}% before "
                f"{row.before}, {100 * row.difference:+.1f} points (95% CI "
                f"{100 * row.diff_low:+.1f} to {100 * row.diff_high:+.1f}) on the same paths"
            )


def cmd_solve(args: argparse.Namespace) -> int:
    from engine.solve import solve

    solution = solve(
        args.scenario,
        args.target,
        args.vary,
        range_=tuple(args.range) if args.range else None,
        paths=args.paths,
        seed=args.seed,
        jobs=args.jobs,
        variant=args.variant,
        sets=args.sets or (),
    )
    say(json.dumps(solution.as_dict(), default=str) if args.json else solution.message)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from engine.compare import compare

    names = [n.strip() for n in args.variants.split(",") if n.strip()] if args.variants else None
    comparison = compare(
        args.scenario,
        names,
        paths=args.paths,
        seed=args.seed,
        jobs=args.jobs,
        sampler=args.sampler,
        sets=args.sets or (),
    )
    say(json.dumps(comparison.as_dict()) if args.json else comparison.text())
    return 0


def _save(results: Results, run_dir: RunDir, hint: str) -> str | None:
    """Save the run; None, or (when the disk fails) what happened: the results are saved to a
    temporary directory if possible, and the run directory keeps its checkpoint to resume."""
    import shutil
    import tempfile

    from engine.rundir import claim_run_dir, save_run

    try:
        save_run(results, run_dir)
        return None
    except OSError as error:
        reason = error.strerror or str(error)
    rescue = None
    try:
        rescue = pathlib.Path(tempfile.mkdtemp(prefix="runway-rescued-"))
        save_run(results, claim_run_dir(rescue, results.scenario.name))
        kept = f"they were saved to {rescue} instead"
    except (OSError, RunwayError):
        if rescue is not None:  # a half-written rescue is no use to anyone: leave nothing
            shutil.rmtree(rescue, ignore_errors=True)
        kept = "nor in the temporary directory: only the answers above remain of the results"
    return (
        f"{run_dir.work}: the results could not be written ({reason}); {kept}; the run "
        f"directory keeps its checkpoint: free some space and finish it with: {hint}"
    )


def cmd_ask(args: argparse.Namespace) -> int:
    target = pathlib.Path(args.scenario)
    if target.is_dir():
        from engine.rundir import load_run

        given = [k for k in [*SIM_DEFAULTS, "sets", "variant"] if getattr(args, k) is not None]
        if given:
            raise UsageError(
                given[0],
                "{run_dir}: {given} cannot apply to a finished run (ask RUN_DIR answers from the "
                "saved results); drop {them}, or ask the scenario file to simulate afresh",
                run_dir=target,
                given=", ".join(FLAGS[k] for k in given),
                them="it" if len(given) == 1 else "them",
            )
        results = load_run(target)
    else:
        from cashflow.parse import load_scenario
        from engine.results import check_question_date

        scenario = load_scenario(target, variant=args.variant, sets=args.sets or ())
        s = scenario
        check_question_date(s.start_year, s.start_month, s.horizon_months, args.before)
        results = _simulate(args, scenario)
    answer = results.probability_runs_out_before(args.before)
    if args.json:
        say(json.dumps(answer.as_dict(results.scenario.name)))
    else:
        if args.seed is None and not target.is_dir():
            say(f"Seed (fresh entropy): {results.seed}")
        say(answer.sentence())
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from cashflow.parse import load_scenario
    from distributions.seeding import fresh_entropy
    from engine.pool import workers_for
    from engine.sensitivity import (
        MIN_ROWS,
        evaluations_for,
        factors_of,
        parse_output,
        sensitivity,
    )

    if args.paths > MAX_SOBOL_EVALUATIONS:  # scipy holds every evaluation's inputs in memory
        raise UsageError(
            "paths",
            "runway sensitivity: {paths} {given:,} is more than the {most:,} model evaluations "
            "a Sobol analysis may use here",
            given=args.paths,
            most=MAX_SOBOL_EVALUATIONS,
        )
    scenario = load_scenario(args.scenario, variant=args.variant)
    output = parse_output(args.output, scenario)
    workers = workers_for(args.jobs)  # refused or capped before anything is printed
    if args.out is not None:  # a folder that cannot take the table: said before computing
        _writable_dir(args.out)
    seed = fresh_entropy() if args.seed is None else args.seed
    d = len(factors_of(scenario))
    evaluations = evaluations_for(args.paths, d)
    if evaluations // (d + 2) >= MIN_ROWS:  # else sensitivity() says how many are needed
        print(
            f"runway: {evaluations:,} model evaluations ({d} inputs), seed {seed}", file=sys.stderr
        )
    result = sensitivity(scenario, output, paths=args.paths, seed=seed, jobs=workers)
    say(result.text())
    if args.out is not None:
        try:
            path = result.write_csv(args.out)
        except OSError as error:  # the folder was fine before: a full disk, ...
            raise RunwayError(
                f"{args.out}: sensitivity.csv could not be written: {error.strerror or error}"
            ) from None
        say(f"Table: {path}")
    return 0


def _writable_dir(path: pathlib.Path) -> None:
    """Make the folder ``path`` (and its parents) if needed; a one-line UsageError (``--out``)
    if it is not a folder this process can write in."""
    from engine.rundir import describe_os_error

    try:
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "permission denied")
    except OSError as error:
        why = "a file, not a folder" if isinstance(error, FileExistsError) else None
        raise UsageError(
            "out",
            "{out} {path}: cannot write there: {why}",
            path=path,
            why=why or describe_os_error(error),
        ) from None


#: Paths simulated by ``validate`` (as a run's pilot): amounts that go out of range there
#: (an amount of 1e308, a runaway growth) are refused as ``run`` would refuse them.
VALIDATE_PATHS = 4096


def cmd_validate(args: argparse.Namespace) -> int:
    from cashflow.describe import format_input_table
    from cashflow.parse import load_scenario
    from engine.batch import BatchTask, simulate_batch

    scenario = load_scenario(args.scenario)
    simulate_batch(BatchTask(scenario, 0, 0, VALIDATE_PATHS, "mc"))  # ScenarioError: one line
    say(format_input_table(scenario))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """One line per built-in scenario: its name (what SCENARIO accepts), then its description."""
    import tomllib

    rows = []
    for name, path in builtin_scenarios().items():
        try:
            description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        except (OSError, ValueError) as error:
            description = f"(cannot be read: {error})"
        rows.append((name, " ".join(str(description).split())))
    width = max((len(name) for name, _ in rows), default=0)
    for name, description in rows:
        say(escape_controls(f"{name:<{width}}  {description}".rstrip()))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from reports.pdf import build_report

    try:
        path = build_report(args.run_dir, charts=args.charts, jobs=args.jobs)
    except OSError as error:
        print(
            f"runway: {args.run_dir}: the report could not be written: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    say(f"Report: {path}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "ask": cmd_ask,
    "sensitivity": cmd_sensitivity,
    "compare": cmd_compare,
    "solve": cmd_solve,
    "validate": cmd_validate,
    "scenarios": cmd_scenarios,
    "report": cmd_report,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python simulate.py`` and the ``runway`` console script (``argv``:
    None) and of a command run in this process (``argv``: its arguments; returns the exit
    code). As the program, the process ends here with that code (:func:`_exit_now`)."""
    if argv is not None:
        return _command(list(argv), as_program=False)
    _reopen_closed_streams()
    _exit_now(_command(sys.argv[1:], as_program=True))


def _exit_now(code: int) -> NoReturn:
    """End the process with exit code ``code`` at once, without the interpreter's teardown.

    By now every file Runway writes is whole and closed (each written atomically) and every
    line printed; what the teardown would still do is free memory page by page, run the
    modules' clean-ups (matplotlib, pandas, scipy: about 0.15 s) and wait for pool workers to
    tear themselves down (0.2 s after a report). So: the workers are killed, the standard
    streams flushed, and ``os._exit``.
    """
    from engine.pool import stop_workers

    try:
        stop_workers()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def _command(argv: list[str], *, as_program: bool) -> int:
    """Run the command ``argv``; its exit code. Errors become one line and a code here."""
    if not argv:
        argv = ["run", str(DEFAULT_SCENARIO), "--seed", str(DEFAULT_SEED), "--compare"]
    shown: set[str] = set()
    where: list[str] = []  # the scenario file or run directory the command works on

    def show_warning(
        message: Warning | str, category: type[Warning], *_args: object, **_kwargs: object
    ) -> None:
        # Runway's warnings as one plain line each (once), not Python's file:line form.
        text = str(message)
        if where and not text.startswith(where[0]):
            text = f"{where[0]}: {text}"
        if text not in shown:
            shown.add(text)
            prefix = "warning" if issubclass(category, RunwayWarning) else category.__name__
            print(f"runway: {prefix}: {escape_controls(text)}", file=sys.stderr)

    from engine.pool import Terminated, stop_on_signals

    restore_signals = stop_on_signals()  # SIGTERM like Ctrl-C; a repeated one waits for the stop
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RunwayWarning)
            warnings.showwarning = show_warning
            args = build_parser().parse_args(argv)
            if getattr(args, "scenario", None) is not None:  # a file, or a built-in's name
                args.scenario = str(resolve_scenario(args.scenario, run_dirs=args.command == "ask"))
            target = getattr(args, "scenario", None) or getattr(args, "run_dir", None)
            if target is not None:
                where.append(str(target))
            if args.command is None:
                build_parser().print_help()
                return 2
            return COMMANDS[args.command](args)
    except USER_ERRORS as exc:
        print("\n".join(error_lines(exc)), file=sys.stderr)
        return 2
    except RunwayError as exc:
        print(f"runway: {escape_controls(str(exc))}", file=sys.stderr)
        return 1
    except MemoryError:
        print(
            "runway: out of memory; use fewer --jobs or a smaller --memory budget per process",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # a bug in Runway: one line here, the traceback in a file
        from engine.pool import interrupt_of

        interrupt = interrupt_of(exc)  # Ctrl-C inside library code, surfaced as another error
        if interrupt is not None:
            terminated = isinstance(interrupt, Terminated)
            print(f"runway: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
            return 143 if terminated else 130
        if os.environ.get("RUNWAY_DEBUG"):
            raise
        print(f"runway: internal error: {_crash_report(exc, argv)}", file=sys.stderr)
        return 70
    except Terminated:
        print("runway: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("runway: interrupted", file=sys.stderr)
        return 130
    finally:
        restore_signals(exiting=as_program)


def _crash_report(exc: Exception, argv: list[str]) -> str:
    """Write the traceback of an unexpected error to a file; the one line that names it."""
    import tempfile
    import traceback

    what = escape_controls(f"{type(exc).__name__}: {exc}")[:300]
    try:
        fd, path = tempfile.mkstemp(prefix="runway-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"runway {' '.join(argv)}\n\n")
            traceback.print_exception(exc, file=f)
    except OSError:
        return f"{what} (please report it; RUNWAY_DEBUG=1 shows the traceback)"
    return f"{what} (please report it with the details in {path})"


if __name__ == "__main__":
    sys.exit(main())
