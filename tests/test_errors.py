"""Errors named for what they are: ScenarioError (the scenario), UsageError (an argument, named
by its parameter), RunDirError (a run directory); the library words them with parameter names,
the command line with its flags (simulate.FLAGS), the printed lines unchanged."""

from __future__ import annotations

import argparse
import json
import pathlib
import pickle
import shutil

import pytest

import simulate
from distributions.errors import (
    Problem,
    RunDirError,
    RunwayError,
    ScenarioError,
    SimulationError,
    UsageError,
)
from engine import rundir
from engine.compare import compare
from engine.readback import DamagedRun, load_run
from engine.runner import run
from engine.solve import solve

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    argv = ["run", BENCH, "--paths", "2000", "--seed", "1", "--jobs", "1", "--no-report"]
    assert simulate.main([*argv, "--quiet", "--out", str(out)]) == 0
    return out


# ----- the classes --------------------------------------------------------------------------
def test_one_hierarchy_under_runway_error() -> None:
    for cls in (ScenarioError, UsageError, RunDirError, SimulationError, DamagedRun):
        assert issubclass(cls, RunwayError)
    assert issubclass(DamagedRun, RunDirError)
    for cls in (UsageError, RunDirError, SimulationError):
        assert not issubclass(cls, ScenarioError) and not issubclass(ScenarioError, cls)
    assert not issubclass(UsageError, RunDirError) and not issubclass(RunDirError, UsageError)


def test_a_usage_error_names_its_parameters_as_asked() -> None:
    error = UsageError("max_paths", "{max_paths} {most:,} is below {paths} {n:,}", most=5, n=10)
    assert error.param == "max_paths" and error.params() == ["max_paths", "paths"]
    assert str(error) == "max_paths 5 is below paths 10"
    assert error.lines() == [str(error)]
    assert error.lines({"max_paths": "--max-paths", "paths": "--paths"}) == [
        "--max-paths 5 is below --paths 10"
    ]
    assert error.lines({"paths": "--paths"}) == ["max_paths 5 is below --paths 10"]


def test_a_usage_error_shows_user_text_as_given_on_one_line() -> None:
    error = UsageError("vary", "{vary} {key}: no such number", key="a.{paths}.\x1b[31m\nb")
    assert str(error) == "vary a.{paths}.\\x1b[31m\\nb: no such number"
    assert error.lines({"vary": "--vary", "paths": "--paths"}) == [
        "--vary a.{paths}.\\x1b[31m\\nb: no such number"
    ]


def test_run_dir_errors_are_one_line_naming_the_directory(tmp_path: pathlib.Path) -> None:
    assert (
        str(RunDirError(tmp_path, "no such run directory")) == f"{tmp_path}: no such run directory"
    )
    damaged = DamagedRun(tmp_path, "results.npz is\nmissing")
    assert str(damaged) == f"{tmp_path}: run directory is damaged: results.npz is\\nmissing"
    assert damaged.lines({"paths": "--paths"}) == [str(damaged)]


@pytest.mark.parametrize(
    "error",
    [
        UsageError("paths", "{paths} must be a positive number (got {got})", got=0),
        RunDirError(pathlib.Path("/runs/x"), "the run is finished; nothing to resume"),
        DamagedRun(pathlib.Path("/runs/x"), "results.npz is missing"),
        ScenarioError([Problem("a.b", "bad", param="sets")], file="s.toml"),
    ],
)
def test_errors_survive_pickling(error: RunwayError) -> None:
    """Errors cross process boundaries (workers): the same class, the same lines."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert back.lines() == error.lines() and back.lines(simulate.FLAGS) == error.lines(
        simulate.FLAGS
    )


def test_a_problem_of_a_parameter_is_named_before_its_path() -> None:
    error = ScenarioError([Problem("lines.x", "unknown line 'x'", param="sets")])
    assert str(error) == "sets lines.x: unknown line 'x'"
    assert error.lines(simulate.FLAGS) == ["--set lines.x: unknown line 'x'"]
    assert error.with_file("s.toml").lines(simulate.FLAGS) == [
        "s.toml: --set lines.x: unknown line 'x'"
    ]


def test_every_flag_is_an_option_of_the_command_line() -> None:
    parser = simulate.build_parser()
    options = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for a in sub._actions:
                    options.update(a.option_strings)
    assert set(simulate.FLAGS.values()) <= options


# ----- the library's words ------------------------------------------------------------------
def test_python_api_users_get_the_library_wording() -> None:
    with pytest.raises(UsageError) as caught:
        simulate.run(BENCH, paths=0)
    assert caught.value.param == "paths"
    assert str(caught.value) == "paths must be a positive number (got 0)"
    assert simulate.error_lines(caught.value) == ["--paths must be a positive number (got 0)"]

    with pytest.raises(UsageError, match=r"^until_ci must be between 0 and 0\.5 \(got 0\.7\)$"):
        simulate.run(BENCH, paths=10, until_ci=0.7)
    with pytest.raises(UsageError, match=r"^max_paths 5 is below paths 10$"):
        simulate.run(BENCH, paths=10, until_ci=0.01, max_paths=5)
    with pytest.raises(UsageError, match=r"^jobs 0 leaves no worker"):
        simulate.run(BENCH, paths=10, jobs=0)
    with pytest.raises(UsageError, match=r"^paths must be a positive number \(got 0\)$"):
        compare(ROOT / "scenarios" / "openai_2024.toml", paths=0)
    with pytest.raises(UsageError, match=r"^tolerance must be a positive number \(got -1\)$"):
        solve(
            BENCH,
            "before 2026-01-01 <= 5%",
            "events.raise.amount",
            paths=10,
            tolerance=-1,
            sets=[("events.raise.amount", 5)],
        )


def test_engine_run_checks_its_arguments_before_any_work() -> None:
    from cashflow.parse import load_scenario

    scenario = load_scenario(BENCH, sets=[("questions", [])])
    with pytest.raises(UsageError) as caught:
        run(scenario, paths=10, until_ci=0.01)
    assert str(caught.value).startswith("until_ci needs question dates")
    assert simulate.error_lines(caught.value)[0].startswith("--until-ci needs question dates")


def test_an_answer_outside_the_horizon_names_the_parameter(finished: pathlib.Path) -> None:
    results = load_run(finished)
    with pytest.raises(UsageError, match=r"^before 2045-01-01 is outside the simulated horizon"):
        results.probability_runs_out_before("2045-01-01")
    with pytest.raises(UsageError, match=r"^before: 'soon' is not a date; expected YYYY-MM-DD$"):
        results.probability_runs_out_before("soon")


# ----- run directories ----------------------------------------------------------------------
def test_run_directory_problems_are_run_dir_errors(
    finished: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(RunDirError, match=r": no such run directory$"):
        load_run(tmp_path / "nope")
    with pytest.raises(RunDirError, match=r"not a finished run directory \(no manifest\.json\)"):
        load_run(tmp_path)
    with pytest.raises(RunDirError, match="the run is finished; nothing to resume") as caught:
        rundir.reopen_run_dir(finished)
    assert not isinstance(caught.value, DamagedRun)

    damaged = tmp_path / "damaged"
    shutil.copytree(finished, damaged)
    (damaged / "results.npz").write_bytes(b"junk")
    with pytest.raises(DamagedRun) as caught:
        load_run(damaged)
    assert str(caught.value) == (
        f"{damaged}: run directory is damaged: results.npz does not match its checksum in "
        "manifest.json"
    )

    unfinished = tmp_path / "unfinished"
    shutil.copytree(finished, unfinished)
    manifest = json.loads((unfinished / "manifest.json").read_text())
    (unfinished / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    with pytest.raises(RunDirError, match=r": the run is unfinished \(.*; finish it with: "):
        load_run(unfinished)


def test_a_bad_out_is_a_usage_error_worded_for_each_side(tmp_path: pathlib.Path, capsys) -> None:
    file = tmp_path / "afile"
    file.write_text("x")
    with pytest.raises(UsageError) as caught:
        rundir.claim_run_dir(file, "bench")
    assert caught.value.param == "out"
    assert str(caught.value) == f"out {file}: is a file, not a directory; name a new directory"
    code, _, err = cli(capsys, "run", BENCH, "--out", str(file))
    assert code == 2
    assert err == f"--out {file}: is a file, not a directory; name a new directory\n"

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(UsageError, match=r"; choose a new directory, or add force to replace"):
        rundir.claim_run_dir(busy, "bench")
    code, _, err = cli(capsys, "run", BENCH, "--out", str(busy))
    assert code == 2 and err.endswith("or add --force to replace a previous run there\n")


def test_a_usage_error_of_a_run_leaves_no_directory(tmp_path: pathlib.Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["--until-ci", "0.01", "--paths", "2000", "--max-paths", "1000", "--seed", "1"]
    code, _, err = cli(capsys, "run", BENCH, *argv, "--quiet", "--out", str(out))
    assert code == 2 and err == "--max-paths 1,000 is below --paths 2,000\n"
    assert not out.exists()


def test_malformed_sets_recorded_in_a_run_make_it_damaged(
    finished: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["run"]["sets"] = [["variants.x.y", 1]]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DamagedRun, match="its scenario copy no longer validates: sets variants"):
        load_run(copy)
