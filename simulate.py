#!/usr/bin/env python3
"""Runway: how likely is it that a company runs out of money, and when?

    python simulate.py                                   the built-in scenario, headline answers
    python simulate.py run SCENARIO [--paths 1M] [--seed S] [--jobs J] [--sampler mc|lhs|sobol]
    python simulate.py ask SCENARIO|RUN_DIR --before YYYY-MM-DD [--json]
    python simulate.py validate SCENARIO
    python simulate.py report RUN_DIR

A thin command line: arguments -> engine -> reports. User mistakes print one line and exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import re
import sys
import warnings
from typing import TYPE_CHECKING, Any

from distributions.errors import RunwayError, RunwayWarning, ScenarioError
from distributions.samplers import SAMPLERS

if TYPE_CHECKING:
    from cashflow.scenario import Scenario
    from engine.results import Results

__all__ = ["main", "run"]

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_SCENARIO = HERE / "scenarios" / "openai_2024.toml"
DEFAULT_PATHS = 1_000_000
DEFAULT_SEED = 2024


def run(
    scenario: str | pathlib.Path | Scenario, *, variant: str | None = None, **options: Any
) -> Results:
    """Simulate a scenario file (optionally one of its variants) or a parsed Scenario.

    ``options``: ``paths``, ``seed``, ``jobs``, ``sampler``, ``batch_size``, ``progress``, as in
    :func:`engine.runner.run`. Returns :class:`engine.results.Results`.
    """
    from cashflow.parse import load_scenario
    from engine.runner import run as _run

    if isinstance(scenario, str | pathlib.Path):
        scenario = load_scenario(scenario, variant=variant)
    return _run(scenario, **options)


# ----- argument parsing ---------------------------------------------------------------------
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}


def parse_count(text: str) -> int:
    """'1e6', '1_000_000', '1M', '2.5k', '10000' -> int (> 0)."""
    s = text.strip().replace("_", "").replace(",", "").lower()
    m = re.fullmatch(r"(\d+(?:\.\d*)?(?:e\d+)?)([kmgb]?)", s)
    if not m:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a number of paths; e.g. 1000000, 1_000_000, 1e6 or 1M"
        )
    value = float(m.group(1)) * _SUFFIX[m.group(2)]
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"'{text}' must be a whole number of paths >= 1")
    return int(value)


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
    if value == 0 or value < -64:
        raise argparse.ArgumentTypeError("--jobs must be >= 1, or -1 for all cores")
    return value


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; expected YYYY-MM-DD") from None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line (exit 2) instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ScenarioError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="runway", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    def sim_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--paths",
            type=parse_count,
            default=DEFAULT_PATHS,
            help="number of simulated paths: 1000000, 1_000_000, 1e6 or 1M",
        )
        sp.add_argument(
            "--seed",
            type=parse_seed,
            default=None,
            help="seed (entropy) for a reproducible run; default: fresh, printed",
        )
        sp.add_argument(
            "--jobs", type=parse_jobs, default=-1, help="worker processes (default -1: all cores)"
        )
        sp.add_argument(
            "--sampler",
            choices=SAMPLERS,
            default="mc",
            help="plain Monte Carlo, Latin hypercube or scrambled Sobol",
        )
        sp.add_argument("--variant", default=None, help="a named variant of the scenario")

    r = sub.add_parser("run", help="simulate a scenario and write a run directory")
    r.add_argument("scenario")
    sim_options(r)
    r.add_argument(
        "--out",
        type=pathlib.Path,
        default=None,
        help="run directory (default runs/<scenario>-<UTC timestamp>)",
    )
    r.add_argument("--no-report", action="store_true", help="skip the PDF report")

    a = sub.add_parser("ask", help="chance cash runs out before a date")
    a.add_argument("scenario", help="a scenario file, or a finished run directory")
    a.add_argument("--before", type=parse_date, required=True, help="the date, YYYY-MM-DD")
    sim_options(a)
    a.add_argument("--json", action="store_true", help="print one JSON object")

    v = sub.add_parser("validate", help="check a scenario and print its inputs")
    v.add_argument("scenario")

    rep = sub.add_parser("report", help="rebuild the PDF report of a finished run")
    rep.add_argument("run_dir", type=pathlib.Path)
    return p


# ----- commands -----------------------------------------------------------------------------
def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        print(f"\r  simulated {done:,} / {total:,} paths", end="", file=sys.stderr, flush=True)
        if done == total:
            print(file=sys.stderr)


def _simulate(args: argparse.Namespace) -> Results:
    options = {k: getattr(args, k) for k in ("paths", "seed", "jobs", "sampler")}
    return run(args.scenario, variant=args.variant, progress=_progress, **options)


def _default_out(name: str) -> pathlib.Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower() or "scenario"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return pathlib.Path("runs") / f"{slug}-{stamp}"


def _money(x: float) -> str:
    return f"{x:,.2f}"


def key_figures(results) -> str:
    """A short text table: revenue, costs, net loss (p5 / p50 / p95) and year-end cash per year."""
    df = results.years()
    unit = results.scenario.unit
    lines = [f"Key figures per calendar year ({unit}; p5 / median / p95):"]
    head = f"  {'year':<6}{'revenue':>26}{'costs':>26}{'net loss':>26}{'cash at year end':>26}"
    lines.append(head)
    for y in results.layout.years:
        cells = []
        for what in ("revenue", "costs", "net_loss", "cash_end"):
            row = df[(df.year == y) & (df.quantity == what)].iloc[0]
            cells.append(f"{_money(row.p5)} / {_money(row.p50)} / {_money(row.p95)}")
        lines.append(f"  {y:<6}" + "".join(f"{c:>26}" for c in cells))
    rp = results.runway_percentiles()
    median = rp["p50"]
    median_text = median if isinstance(median, str) else f"{median} months"
    if not isinstance(median, str):
        median_text += f" (cash runs out in {results.month_label(median - 1)})"
    last = results.survival().iloc[-1]  # never runs out = still above the floor at the end
    lo, hi = last["low"], last["high"]
    lines.append(
        f"Median runway: {median_text}; paths that never run out within the horizon: "
        f"{100 * results.never_runs_out:.1f}% (95% CI {100 * lo:.1f}–{100 * hi:.1f}%)"
    )
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    results = _simulate(args)
    out = args.out or _default_out(results.scenario.name)
    from engine.rundir import save_run

    save_run(results, out, variant=args.variant)
    if args.seed is None:
        print(f"Seed (fresh entropy, recorded in the run): {results.seed}")
    for answer in results.answers():
        print(answer.sentence())
    print(key_figures(results))
    if not args.no_report:
        from reports.pdf import write_report

        print(f"Report: {write_report(results, out)}")
    print(f"Run directory: {out}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    target = pathlib.Path(args.scenario)
    if target.is_dir():
        from engine.rundir import load_run

        results = load_run(target)
    else:
        results = _simulate(args)
    answer = results.probability_runs_out_before(args.before)
    if args.json:
        print(json.dumps(answer.as_dict(results.scenario.name)))
    else:
        if args.seed is None and not target.is_dir():
            print(f"Seed (fresh entropy): {results.seed}")
        print(answer.sentence())
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from cashflow.describe import format_input_table
    from cashflow.parse import load_scenario

    scenario = load_scenario(args.scenario)
    print(format_input_table(scenario))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from reports.pdf import build_report

    print(f"Report: {build_report(args.run_dir)}")
    return 0


COMMANDS = {"run": cmd_run, "ask": cmd_ask, "validate": cmd_validate, "report": cmd_report}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python simulate.py`` and the ``runway`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        argv = ["run", str(DEFAULT_SCENARIO), "--seed", str(DEFAULT_SEED)]
    shown: set[str] = set()
    where: list[str] = []  # the scenario file or run directory the command works on

    def show_warning(message, category, *_args, **_kwargs) -> None:
        # Runway's warnings as one plain line each (once), not Python's file:line form.
        text = str(message)
        if where and not text.startswith(where[0]):
            text = f"{where[0]}: {text}"
        if text not in shown:
            shown.add(text)
            prefix = "warning" if issubclass(category, RunwayWarning) else category.__name__
            print(f"runway: {prefix}: {text}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RunwayWarning)
            warnings.showwarning = show_warning
            args = build_parser().parse_args(argv)
            target = getattr(args, "scenario", None) or getattr(args, "run_dir", None)
            if target is not None:
                where.append(str(target))
            if args.command is None:
                build_parser().print_help()
                return 2
            return COMMANDS[args.command](args)
    except ScenarioError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except RunwayError as exc:
        print(f"runway: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("runway: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
