"""The command line: headline answers, run directories, asking a finished run, one-line errors."""

from __future__ import annotations

import json
import pathlib

import pytest

import simulate

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e6", 10**6), ("1_000_000", 10**6), ("1M", 10**6), ("2.5k", 2500), ("400000", 400_000)],
)
def test_path_counts(text, value):
    assert simulate.parse_count(text) == value


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("run") / "bench"
    args = ["--paths", "30000", "--seed", "5", "--jobs", "1", "--out", str(out), "--no-report"]
    code = simulate.main(["run", BENCH, *args])
    assert code == 0
    return out


def test_run_writes_the_run_directory(finished_run):
    names = {p.name for p in finished_run.iterdir()}
    for required in ("manifest.json", "summary.json", "scenario.toml", "results.npz"):
        assert required in names
    assert "survival.csv" in names and "years.csv" in names and "cash_fan.csv" in names
    assert not [n for n in names if n.endswith(".tmp")]  # atomic writes leave nothing behind
    summary = json.loads((finished_run / "summary.json").read_text())
    assert {"scenario", "paths", "seed", "sampler", "questions", "runway_months", "years"} <= set(
        summary
    )
    assert [q["before"] for q in summary["questions"]] == ["2025-01-01", "2026-01-01", "2027-01-01"]
    manifest = json.loads((finished_run / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["paths"] == 30000
    assert len(manifest["scenario_sha256"]) == 64 and manifest["versions"]["numpy"]


def test_ask_run_dir_matches_the_run_and_simulating_again(capsys, finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    code, out, _ = run_cli(capsys, "ask", str(finished_run), "--before", "2026-01-01", "--json")
    assert code == 0
    saved = next(q for q in summary["questions"] if q["before"] == "2026-01-01")
    assert json.loads(out)["probability"] == saved["probability"]
    # Any date within the horizon, same numbers as simulating that question afresh.
    code, out, _ = run_cli(capsys, "ask", str(finished_run), "--before", "2025-06-15", "--json")
    from_dir = json.loads(out)
    code, out, _ = run_cli(
        capsys, "ask", BENCH, "--before", "2025-06-15", "--paths", "30000", "--seed", "5",
        "--jobs", "1", "--json",
    )  # fmt: skip
    fresh = json.loads(out)
    assert from_dir["probability"] == fresh["probability"]
    assert {"question", "before", "probability", "ci95", "std_error", "paths", "seed"} <= set(fresh)


def test_jobs_do_not_change_summary(tmp_path):
    figures = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}"
        args = ["--paths", "150000", "--seed", "9", "--jobs", jobs, "--out", str(out)]
        assert simulate.main(["run", BENCH, *args, "--no-report"]) == 0
        figures.append(json.loads((out / "summary.json").read_text()))
    assert figures[0] == figures[1]


def test_memory_budget_is_the_runs_own_for_threads_too(capsys, tmp_path):
    """--memory is recorded for a resume and is the budget threads are judged by: the batch
    it gives (16,384 paths at 256 MiB) fits once per process, not twice in one."""
    out = tmp_path / "r"
    argv = ["--paths", "40000", "--seed", "4", "--jobs", "2", "--memory", "256M", "--no-report"]
    code, _, err = run_cli(capsys, "run", BENCH, *argv, "--backend", "threads", "--out", str(out))
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "over the memory budget of 256 MiB" in lines[0], err
    assert json.loads((out / "manifest.json").read_text())["run"]["memory_bytes"] == 256 * 2**20
    code, _, err = run_cli(capsys, "run", BENCH, *argv, "--out", str(tmp_path / "auto"))
    assert code == 0 and err == ""  # auto: processes, within the budget, nothing to say


def test_fresh_entropy_is_printed_and_recorded(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, "run", BENCH, "--paths", "2000", "--jobs", "1", "--out", str(tmp_path / "r"),
        "--no-report",
    )  # fmt: skip
    assert code == 0
    seed = int(out.split("Seed (fresh entropy, recorded in the run): ")[1].split()[0])
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["seed"] == seed


def test_headline_sentence(capsys, tmp_path):
    code, out, _ = run_cli(
        capsys, "run", BENCH, "--paths", "5000", "--seed", "1", "--jobs", "1",
        "--out", str(tmp_path / "r"), "--no-report",
    )  # fmt: skip
    assert code == 0
    assert "Chance cash runs out before 2026-01-01: " in out
    assert "(95% CI " in out and "5,000 paths, seed 1" in out
    assert "Key figures per calendar year (USD billion" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", BENCH, "--paths", "lots"], "is not a number of paths"),
        (["run", BENCH, "--paths", "0"], "must be a whole number of paths"),
        (["run", BENCH, "--jobs", "0"], "--jobs must be >= 1"),
        (["run", BENCH, "--sampler", "halton"], "invalid choice: 'halton'"),
        (["run", "no/such/file.toml"], "no/such/file.toml: file not found"),
        (["run", BENCH, "--variant", "nope"], "nope"),
        (["ask", BENCH, "--before", "2031-01-01", "--paths", "100"], "outside the simulated"),
        (["ask", BENCH, "--before", "tomorrow"], "is not a date"),
        (["ask", BENCH], "--before"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_ask_a_directory_that_is_not_a_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "ask", str(tmp_path), "--before", "2025-01-01")
    assert code == 2 and "not a finished run directory" in err


def test_warnings_are_one_plain_line_naming_the_file(capsys):
    scenario = str(ROOT / "tests" / "good" / "every_feature.toml")
    code, _, err = run_cli(capsys, "validate", scenario)
    assert code == 0
    lines = [line for line in err.splitlines() if "repaired" in line]
    assert len(lines) == 1  # once, though the variants re-validate the same matrix
    assert lines[0].startswith(f"runway: warning: {scenario}: correlations.matrix: ")


def test_an_unexpected_error_is_one_line_with_the_details_in_a_file(monkeypatch, capsys):
    def broken(_args):
        raise TypeError("a bug")

    monkeypatch.setitem(simulate.COMMANDS, "validate", broken)
    monkeypatch.delenv("RUNWAY_DEBUG", raising=False)
    code, _, err = run_cli(capsys, "validate", BENCH)
    assert code == 70 and len(err.strip().splitlines()) == 1
    assert err.startswith("runway: internal error: TypeError: a bug (please report it")
    details = pathlib.Path(err.split("details in ")[1].rstrip(")\n"))
    try:
        assert "Traceback" in details.read_text() and "raise TypeError" in details.read_text()
    finally:
        details.unlink()


def test_escape_sequences_in_arguments_are_not_echoed_raw(capsys):
    code, _, err = run_cli(capsys, "run", BENCH, "--paths", "\x1b[2J")
    assert code == 2 and "\x1b" not in err and "\\x1b[2J" in err


def test_charts_flag_asks_for_svg_and_a_bad_format_is_refused_before_the_run(capsys, tmp_path):
    out = tmp_path / "run"
    quick = ["--paths", "4000", "--seed", "3", "--jobs", "1", "--quiet"]
    assert simulate.main(["run", BENCH, *quick, "--out", str(out), "--charts", "png,svg"]) == 0
    assert (out / "charts" / "cash_fan.png").exists() and (out / "charts" / "cash_fan.svg").exists()
    capsys.readouterr()

    refused = tmp_path / "refused"
    assert simulate.main(["run", BENCH, *quick, "--out", str(refused), "--charts", "pdf"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "--charts: unknown chart format 'pdf'; valid: png, svg"
    assert not refused.exists()  # told before anything ran or was written
    assert simulate.main(["report", str(out), "--charts", "svgg"]) == 2
    assert "did you mean 'svg'?" in capsys.readouterr().err
    no_report = ["--out", str(refused), "--no-report", "--charts", "gif"]  # a typo all the same
    assert simulate.main(["run", BENCH, *quick, *no_report]) == 2
    assert "unknown chart format 'gif'" in capsys.readouterr().err and not refused.exists()


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(1.234, "1.23"), (-0.0001, "0.00"), (999_999_999_999.99, "999,999,999,999.99"),
     (6.2e55, "6.2e+55"), (-3.3e20, "-3.3e+20")],
)  # fmt: skip
def test_key_figures_amounts_stay_short(amount, shown):
    # A runaway scenario (growth of 4000% a month) printed table rows of 60-digit numbers.
    assert simulate._money(amount) == shown


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("amount = 6.5", "amount = 1e308", "events.raise.amount: 1e+308 is beyond ±1e100"),
        ("growth = 0.02", "growth = 1e40", "lines.staff: amounts go beyond ±1e100"),
    ],
)
def test_validate_refuses_what_run_would(capsys, tmp_path, old, new, message):
    # validate passed these scenarios; run then refused them at its pilot batch.
    text = pathlib.Path(BENCH).read_text()
    assert old in text
    path = tmp_path / "s.toml"
    path.write_text(text.replace(old, new))
    for argv in (["validate", str(path)], ["run", str(path), "--seed", "1", "--no-report"]):
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1
