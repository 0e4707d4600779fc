"""The decision commands from the command line: compare, solve, sensitivity and --set; their
output shapes, and one clear line with exit 2 for every mistake."""

from __future__ import annotations

import json
import pathlib

import pytest

import simulate

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPENAI = str(ROOT / "scenarios" / "openai_2024.toml")
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_compare_json_has_the_promised_keys(capsys):
    code, out, err = cli(capsys, "compare", OPENAI, "--paths", "20000", "--seed", "1", "--json")
    assert code == 0, err
    data = json.loads(out)
    names = [v["name"] for v in data["variants"]]
    assert names == [
        "base",
        "no_raise",
        "unmanaged",
        "compute_plus_30",
        "without cut_costs",
        "without revolver",
    ]
    for v in data["variants"]:
        assert {"median_runway_months", "net_loss", "questions"} <= set(v)
        for q in v["questions"]:
            assert {"before", "probability", "ci95", "difference", "difference_ci95"} <= set(q)
    base = data["variants"][0]["questions"]
    assert all(q["difference"] == 0 and q["difference_ci95"] == [0, 0] for q in base)


def test_compare_the_run_and_the_variant_agree_with_single_runs(capsys):
    """The compare's base equals `run` of the scenario on the same seed and paths; a variant
    equals `run --variant` (common random numbers: the same draws)."""
    args = ("--paths", "20000", "--seed", "3", "--jobs", "1")
    code, out, _ = cli(capsys, "compare", OPENAI, "--variants", "no_raise", *args, "--json")
    assert code == 0
    data = {v["name"]: v for v in json.loads(out)["variants"]}
    for name, variant in (("base", []), ("no_raise", ["--variant", "no_raise"])):
        code, out, _ = cli(
            capsys, "ask", OPENAI, "--before", "2026-01-01", *args, *variant, "--json"
        )
        single = json.loads(out)["probability"]
        assert data[name]["questions"][1]["probability"] == single


def test_compare_an_unknown_variant_is_one_line(capsys):
    code, _, err = cli(capsys, "compare", OPENAI, "--variants", "no_rise", "--paths", "1000")
    assert code == 2 and "no_raise" in one_line(err)


def test_solve_prints_the_answer_and_json(capsys):
    args = ("--target", "before 2026-01-01 <= 50%", "--vary", "events.raise.amount")
    code, out, err = cli(capsys, "solve", BENCH, *args, "--paths", "20000", "--seed", "1")
    assert code == 0, err
    assert out.startswith("Raise at least ") and "events.raise.amount" in out
    code, out, _ = cli(capsys, "solve", BENCH, *args, "--paths", "20000", "--seed", "1", "--json")
    data = json.loads(out)
    assert (data["met"] is True and data["probability"] <= 0.5) or data["ci95"][0] <= 0.5


def test_solve_out_of_reach_says_so(capsys):
    args = ("--target", "before 2025-01-01 <= 0%", "--vary", "events.raise.amount")
    code, out, _ = cli(capsys, "solve", BENCH, *args, "--range", "0", "1", "--paths", "5000",
                       "--seed", "1")  # fmt: skip
    assert code == 0 and "cannot be met inside the range" in out


def test_sensitivity_prints_evaluations_up_front_and_writes_the_csv(capsys, tmp_path):
    code, out, err = cli(
        capsys, "sensitivity", OPENAI, "--output", "before 2026-01-01", "--paths", "20000",
        "--seed", "1", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert "model evaluations" in err and "starting_cash" in out
    assert (tmp_path / "sensitivity.csv").read_text().startswith("input,")


def test_sensitivity_refuses_a_bad_out_or_too_few_paths_before_computing(capsys, tmp_path):
    args = ("sensitivity", OPENAI, "--output", "cash 2025-06", "--seed", "3")
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for out, message in ((str(a_file), "cannot write there: a file, not a folder"),
                         ("", "an empty name is not a folder")):  # fmt: skip
        code, stdout, err = cli(capsys, *args, "--paths", "20000", "--out", out)
        assert code == 2 and stdout == "" and message in err, err
        assert "model evaluations" not in err  # nothing computed
    code, stdout, err = cli(capsys, *args, "--paths", "1000")
    assert code == 2 and "is too few for a Sobol analysis" in err
    assert "model evaluations (" not in err


def test_sensitivity_jobs_gives_the_same_table(capsys):
    args = ("sensitivity", OPENAI, "--output", "cash 2025-06", "--paths", "20000", "--seed", "3")
    code, one, err = cli(capsys, *args, "--jobs", "1")
    assert code == 0, err
    code, two, err = cli(capsys, *args, "--jobs", "2")
    assert code == 0, err
    assert one == two and "starting_cash" in one


def test_set_is_recorded_and_used_on_resume(capsys, tmp_path):
    out = tmp_path / "r"
    sets = ["--set", "events.raise.probability=0", "--set", "starting_cash=6 to 9"]
    code, _, err = cli(capsys, "run", BENCH, "--paths", "20000", "--seed", "2", "--jobs", "1",
                       "--no-report", "--quiet", "--out", str(out), *sets)  # fmt: skip
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["run"]["sets"] == [["events.raise.probability", 0], ["starting_cash", "6 to 9"]]
    code, asked, _ = cli(capsys, "ask", str(out), "--before", "2026-01-01", "--json")
    code, fresh, _ = cli(capsys, "ask", BENCH, "--before", "2026-01-01", "--paths", "20000",
                         "--seed", "2", "--jobs", "1", "--json", *sets)  # fmt: skip
    assert json.loads(asked)["probability"] == json.loads(fresh)["probability"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--set", "lines.revnue.growth=0.05"], "unknown line 'revnue'; did you mean 'revenue'?"),
        (["--set", "lines.revenue.growht=0.05"], "unknown key 'growht'; did you mean 'growth'?"),
        (["--set", "events.raise.month=5"], "a month must be a 'YYYY-MM' string"),
        (["--set", "lines.revenue.growth={dist="], "not a valid TOML value"),
        (["--set", "novalue"], "expected KEY=VALUE"),
    ],
)
@pytest.mark.parametrize("command", ["run", "ask", "compare", "solve"])
def test_bad_sets_are_one_line_exit_2(capsys, tmp_path, argv, message, command):
    more = {
        "run": ["--out", str(tmp_path / "r")],
        "ask": ["--before", "2026-01-01"],
        "compare": [],
        "solve": ["--target", "before 2026-01-01 <= 5%", "--vary", "events.raise.amount"],
    }[command]
    code, out, err = cli(capsys, command, OPENAI, "--paths", "1000", *more, *argv)
    assert code == 2 and out == ""
    assert message in one_line(err)
    assert not (tmp_path / "r").exists()
