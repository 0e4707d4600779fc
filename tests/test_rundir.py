"""Run directories you can trust: claimed exclusively, self-contained, verified when read back.

Two tables in the style of ``tests/bad/``: damaged run directories (each made by the test from
a finished run) and bad ``run`` / ``ask`` arguments; each must give one line and exit 2.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import simulate
from engine import files, rundir

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")
QUICK = ["--paths", "20000", "--seed", "5", "--jobs", "1", "--no-report"]

SCENARIO = """
name = "csv company"
unit = "USD million"
start = "2024-01"
horizon_months = 24
questions = ["2025-01-01", "2026-01-01"]
starting_cash = 30

[lines.revenue]
kind = "revenue"
start = { dist = "empirical", csv = "data/revenue.csv", column = "monthly" }
growth = { dist = "normal", mean = 0.02, sd = 0.01 }

[lines.costs]
kind = "cost"
start = { dist = "uniform", low = 2.5, high = 3.5 }
growth = 0.01
"""


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> pathlib.Path:
    """A scenario file that reads a CSV (relative to the scenario's folder)."""
    folder = tmp_path_factory.mktemp("company")
    (folder / "data").mkdir()
    (folder / "data" / "revenue.csv").write_text("month,monthly\n1,1.0\n2,1.2\n3,0.9\n4,1.4\n")
    path = folder / "company.toml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory, company) -> pathlib.Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    assert simulate.main(["run", str(company), *QUICK, "--out", str(out)]) == 0
    return out


def answer(capsys, run_dir: pathlib.Path, before: str = "2026-01-01") -> dict:
    code, out, err = cli(capsys, "ask", str(run_dir), "--before", before, "--json")
    assert code == 0, err
    return json.loads(out)


# ----- self-contained -----------------------------------------------------------------------
def test_run_directory_holds_and_checks_every_file(finished):
    manifest = json.loads((finished / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["format"] == rundir.FORMAT
    copy = manifest["inputs"]["data/revenue.csv"]
    assert (finished / copy).read_text().startswith("month,monthly")
    for name in ("scenario.toml", copy, "results.npz", "summary.json", "survival.csv"):
        assert manifest["sha256"][name] == files.sha256_of(finished / name)


def test_run_directory_does_not_depend_on_the_original_files(capsys, tmp_path, company):
    folder = tmp_path / "company"
    shutil.copytree(company.parent, folder)
    out = tmp_path / "run"
    assert simulate.main(["run", str(folder / "company.toml"), *QUICK, "--out", str(out)]) == 0
    capsys.readouterr()
    before = answer(capsys, out)
    (folder / "data" / "revenue.csv").write_text("month,monthly\n1,100\n2,200\n")
    assert answer(capsys, out) == before
    shutil.rmtree(folder)
    assert answer(capsys, out) == before


def test_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert simulate.main(["run", BENCH, *QUICK, "--out", str(tmp_path / "r")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "r").rglob("*") if p.is_file()}
    assert modes and set(modes.values()) == {0o644}, modes


def test_stale_temporaries_are_removed_on_the_next_write(tmp_path):
    dead = 2**22 + 7  # above any pid_max: no such process
    stale = tmp_path / f".results.npz.{dead}.0123abcd.tmp"
    live = tmp_path / f".results.npz.{os.getppid()}.0123abcd.tmp"  # a live writer's file
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    files.atomic_write(tmp_path / "x.txt", lambda tmp: tmp.write_text("ok"))
    assert not stale.exists() and live.exists()
    assert (tmp_path / "x.txt").read_text() == "ok"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == [live.name]


# ----- exclusive creation -------------------------------------------------------------------
def test_two_runs_at_the_same_moment_get_two_directories(tmp_path):
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "simulate.py"),
                "run",
                BENCH,
                "--paths",
                "30000",
                "--seed",
                str(seed),
                "--jobs",
                "1",
                "--no-report",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    dirs = sorted((tmp_path / "runs").iterdir())
    assert len(dirs) == 2
    seeds = set()
    for d in dirs:
        manifest = json.loads((d / "manifest.json").read_text())
        assert manifest["status"] == "finished"
        seeds.add(manifest["seed"])
        rundir.load_run(d)  # complete and verified
    assert seeds == {1, 2}
    printed = {line.split("Run directory: ")[1] for out, _ in outputs for line in out.splitlines()
               if line.startswith("Run directory: ")}  # fmt: skip
    assert len(printed) == 2


def test_two_runs_into_the_same_out(tmp_path):
    out = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "simulate.py"), "run", BENCH, *QUICK, "--out", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outputs
    err = next(e for (_, e), p in zip(outputs, procs, strict=True) if p.returncode == 2)
    assert "another run is writing" in one_line(err) or "not empty" in one_line(err)
    rundir.load_run(out)


def test_force_replaces_a_run_whole(capsys, tmp_path):
    out = tmp_path / "run"
    args = ["--paths", "20000", "--jobs", "1", "--out", str(out)]
    assert simulate.main(["run", BENCH, *args, "--seed", "1"]) == 0
    assert (out / "report.pdf").exists() and (out / "charts").is_dir()
    capsys.readouterr()
    code, _, err = cli(capsys, "run", BENCH, *args, "--seed", "2", "--no-report")
    assert code == 2 and "--force" in one_line(err)
    assert json.loads((out / "manifest.json").read_text())["seed"] == 1  # untouched
    assert simulate.main(["run", BENCH, *args, "--seed", "2", "--no-report", "--force"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert not (out / "report.pdf").exists() and not (out / "charts").exists()  # nothing mixed
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no sibling left


def test_an_interrupted_run_keeps_its_directory_to_resume(monkeypatch, capsys, tmp_path):
    import engine.runner

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(engine.runner, "run", interrupted)
    code, _, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(tmp_path / "r"))
    assert code == 130 and f"resume the run with: python simulate.py resume {tmp_path / 'r'}" in err
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "running"


def test_a_run_that_fails_on_its_scenario_leaves_no_directory(monkeypatch, capsys, tmp_path):
    import engine.runner
    from distributions.errors import ScenarioError

    def overflow(*_args, **_kwargs):
        raise ScenarioError("lines.a: amounts overflow")

    monkeypatch.setattr(engine.runner, "run", overflow)
    code, _, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(tmp_path / "r"))
    assert code == 2 and "amounts overflow" in one_line(err)
    assert not (tmp_path / "r").exists()


# ----- the disk fails -----------------------------------------------------------------------
def test_not_enough_space_is_found_before_simulating(monkeypatch, capsys, tmp_path):
    import engine.runner

    monkeypatch.setattr(engine.runner, "run", lambda *a, **k: pytest.fail("simulated"))
    monkeypatch.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10, 10, 10))
    code, _, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(tmp_path / "r"))
    assert code == 2 and "not enough free space" in one_line(err)
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_really_small_disk_is_refused_before_simulating(capsys, tmp_path):
    disk = tmp_path / "tiny"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        code, _, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(disk / "r"))
        assert code == 2 and "not enough free space" in one_line(err)
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _disk_full_under(monkeypatch, prefix: pathlib.Path) -> None:
    original = rundir._save_npz

    def save(path, arrays):
        if str(path).startswith(str(prefix)):
            raise OSError(errno.ENOSPC, "No space left on device")
        original(path, arrays)

    monkeypatch.setattr(rundir, "_save_npz", save)


def test_a_full_disk_after_simulating_keeps_the_results(monkeypatch, capsys, tmp_path):
    out = tmp_path / "r"
    _disk_full_under(monkeypatch, out)
    code, stdout, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(out))
    line = one_line(err)
    assert code == 1 and "No space left on device" in line and "saved to" in line
    assert "Chance cash runs out before 2026-01-01" in stdout  # the answers are still printed
    assert f"finish it with: python simulate.py resume {out}" in line
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    rescued = pathlib.Path(line.split("saved to ")[1].split(" instead")[0])
    try:
        summary = json.loads((rescued / "summary.json").read_text())
        assert answer(capsys, rescued)["probability"] == summary["questions"][1]["probability"]
    finally:
        shutil.rmtree(rescued)


def test_a_full_disk_everywhere_says_what_was_lost(monkeypatch, capsys, tmp_path):
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _disk_full_under(monkeypatch, pathlib.Path("/"))
    code, _, err = cli(capsys, "run", BENCH, *QUICK, "--out", str(tmp_path / "r"))
    line = one_line(err)
    assert code == 1 and "only the answers above remain" in line and "resume" in line
    assert list(temp.iterdir()) == []  # no half-written rescue directory left behind
    monkeypatch.undo()  # space is freed: the run is finished from its checkpoint
    assert simulate.main(["resume", str(tmp_path / "r"), "--no-report", "--quiet"]) == 0
    rundir.load_run(tmp_path / "r")


# ----- damaged run directories --------------------------------------------------------------
def _manifest(d: pathlib.Path) -> dict:
    return json.loads((d / "manifest.json").read_text())


def _set_manifest(d: pathlib.Path, **changes) -> None:
    m = _manifest(d)
    m.update(changes)
    (d / "manifest.json").write_text(json.dumps(m))


def _drop_manifest_key(key: str):
    def damage(d):
        m = _manifest(d)
        del m[key]
        (d / "manifest.json").write_text(json.dumps(m))

    return damage


def _rewrite_npz(change):
    """Change results.npz and record its new checksum: only the content checks can tell."""

    def damage(d):
        with np.load(d / "results.npz") as z:
            a = {k: z[k] for k in z.files}
        change(a)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **a)
        (d / "results.npz").write_bytes(buffer.getvalue())
        m = _manifest(d)
        m["sha256"]["results.npz"] = files.sha256_of(d / "results.npz")
        (d / "manifest.json").write_text(json.dumps(m))

    return damage


def _truncate(name: str, keep: float):
    def damage(d):
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[: int(len(data) * keep)])

    return damage


def _flip(name: str):
    def damage(d):
        data = bytearray((d / name).read_bytes())
        data[len(data) // 2] ^= 0x10
        (d / name).write_bytes(bytes(data))

    return damage


def _input_copy(d: pathlib.Path) -> pathlib.Path:
    return d / next(iter(_manifest(d)["inputs"].values()))


def _negative(a):
    a["hist_counts"][0, 5] = -3


def _wrong_shape(a):
    a["batch_ruin_counts"] = a["batch_ruin_counts"][:, :-1]


def _missing_key(a):
    del a["fan_counts"]


def _unbalanced(a):
    a["batch_ruin_counts"][0, 0] += 1


def _nan_grid(a):
    a["grid_lo"][0] = np.nan


def _float_counts(a):
    a["hist_counts"] = a["hist_counts"].astype(float)


DAMAGE = {
    "results.npz truncated": (_truncate("results.npz", 0.5), "results.npz does not match"),
    "results.npz empty": (_truncate("results.npz", 0), "results.npz does not match"),
    "results.npz bit flipped": (_flip("results.npz"), "results.npz does not match"),
    "results.npz deleted": (lambda d: (d / "results.npz").unlink(), "results.npz is missing"),
    "array missing": (_rewrite_npz(_missing_key), "has no array 'fan_counts'"),
    "array of the wrong shape": (_rewrite_npz(_wrong_shape), "'batch_ruin_counts' has shape"),
    "negative counts": (_rewrite_npz(_negative), "negative counts"),
    "counts that do not add up": (_rewrite_npz(_unbalanced), "do not add up"),
    "NaN grid edge": (_rewrite_npz(_nan_grid), "NaN or infinite"),
    "counts stored as floats": (_rewrite_npz(_float_counts), "'hist_counts' has shape"),
    "manifest truncated": (_truncate("manifest.json", 0.5), "manifest.json cannot be read"),
    "manifest empty": (_truncate("manifest.json", 0), "manifest.json cannot be read"),
    "manifest a list": (lambda d: (d / "manifest.json").write_text("[1, 2]"), "not a JSON obj"),
    "manifest not UTF-8": (
        lambda d: (d / "manifest.json").write_bytes(b'{"a": "\xff"}'),
        "manifest.json cannot be read",
    ),
    "paths negative": (lambda d: _set_manifest(d, paths=-5), "'paths' has an impossible value"),
    "paths a string": (lambda d: _set_manifest(d, paths="many"), "'paths' has the wrong type"),
    "paths a bool": (lambda d: _set_manifest(d, paths=True), "'paths' has the wrong type"),
    "paths changed": (lambda d: _set_manifest(d, paths=40000), "do not add up"),
    "seed a float": (lambda d: _set_manifest(d, seed=1.5), "'seed' has the wrong type"),
    "sampler unknown": (lambda d: _set_manifest(d, sampler="x"), "'sampler' has an impossible"),
    "bins huge": (lambda d: _set_manifest(d, hist_bins=10**12), "'hist_bins' has an impossible"),
    "bins changed": (lambda d: _set_manifest(d, hist_bins=1024), "'hist_counts' has shape"),
    "paths missing": (_drop_manifest_key("paths"), "manifest.json has no 'paths'"),
    "status missing": (_drop_manifest_key("status"), "manifest.json has no 'status'"),
    # a future layout was read as if it were this one
    "format from the future": (lambda d: _set_manifest(d, format=99), "written by a newer Runway"),
    "format a word": (lambda d: _set_manifest(d, format="1"), "'format' is not a format number"),
    # neither finished nor running: ask gave a resume hint that resume then refused
    "status garbled": (lambda d: _set_manifest(d, status="fnished"), "'status' is neither"),
    "status a number": (lambda d: _set_manifest(d, status=3), "'status' is neither"),
    "checksums a list": (lambda d: _set_manifest(d, sha256=[1]), "'sha256' has the wrong type"),
    "checksums dropped": (_drop_manifest_key("sha256"), "manifest.json has no 'sha256'"),
    # the report's run table reads them: a number crashed it (AttributeError, exit 70)
    "versions a number": (lambda d: _set_manifest(d, versions=999), "'versions' has the wrong"),
    "versions a word": (lambda d: _set_manifest(d, versions="x"), "'versions' has the wrong"),
    "run paths a word": (
        lambda d: _set_manifest(d, run={**_manifest(d)["run"], "paths": "many"}),
        "'run.paths' has the wrong type",
    ),
    "run sampler unknown": (
        lambda d: _set_manifest(d, run={**_manifest(d)["run"], "sampler": "x"}),
        "'run.sampler' has an impossible value",
    ),
    "variant a number": (lambda d: _set_manifest(d, variant=5), "'variant' has the wrong type"),
    "started not a date": (
        lambda d: _set_manifest(d, started="yesterday"),
        "'started' is not a date",
    ),
    "drivers not names": (
        lambda d: _set_manifest(d, driver_inputs=[1]),
        "'driver_inputs' has an impossible value",
    ),
    "extra driver": (
        lambda d: _set_manifest(d, driver_inputs=[*_manifest(d)["driver_inputs"], "x"]),
        "'driver_counts' has shape",
    ),
    "scenario copy outside": (
        lambda d: _set_manifest(d, scenario_copy="../../../etc/passwd"),
        "outside the run directory",
    ),
    "scenario copy edited": (
        lambda d: (d / "scenario.toml").write_text(
            (d / "scenario.toml").read_text().replace("starting_cash = 30", "starting_cash = 99")
        ),
        "scenario.toml does not match its checksum",
    ),
    "scenario copy deleted": (lambda d: (d / "scenario.toml").unlink(), "scenario.toml is miss"),
    "scenario copy a directory": (
        lambda d: ((d / "scenario.toml").unlink(), (d / "scenario.toml").mkdir()),
        "scenario.toml cannot be read",
    ),
    "input copy edited": (
        lambda d: _input_copy(d).write_text("month,monthly\n1,5\n2,6\n"),
        "does not match its checksum",
    ),
    "input copy deleted": (lambda d: _input_copy(d).unlink(), "revenue.csv is missing"),
    "summary edited": (
        lambda d: (d / "summary.json").write_text("{}"),
        "summary.json does not match its checksum",
    ),
    "checksum of results dropped": (
        lambda d: _set_manifest(
            d, sha256={k: v for k, v in _manifest(d)["sha256"].items() if k != "results.npz"}
        ),
        "no checksum for results.npz",
    ),
}


def _not_a_zip(d):
    (d / "results.npz").write_text("hello")
    m = _manifest(d)
    m["sha256"]["results.npz"] = files.sha256_of(d / "results.npz")
    (d / "manifest.json").write_text(json.dumps(m))


DAMAGE["results.npz not a zip (checksum updated)"] = (_not_a_zip, "results.npz cannot be read")


#: Damage to the histograms only (checksums made to match): ``ask`` does not read them (its
#: answer comes from the verified ruin counts), the report does.
HISTOGRAMS_ONLY = {
    "NaN grid edge",
    "array missing",
    "bins changed",
    "counts stored as floats",
    "negative counts",
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_run_directory_is_one_line_exit_2(capsys, tmp_path, finished, case):
    damage, message = DAMAGE[case]
    d = tmp_path / "run"
    shutil.copytree(finished, d)
    damage(d)
    ask = ["ask", str(d), "--before", "2025-06-01"]
    if case in HISTOGRAMS_ONLY:
        assert cli(capsys, *ask)[0] == 0
    for command in ([] if case in HISTOGRAMS_ONLY else [ask]) + [["report", str(d)]]:
        code, out, err = cli(capsys, *command)
        line = one_line(err)
        assert code == 2 and out == "", (case, command, err)
        assert message in line, (case, line)
        assert line.startswith(str(d)), line
    assert not (d / "report.pdf").exists()


def test_an_unfinished_run_is_not_read(capsys, tmp_path, finished):
    d = tmp_path / "run"
    shutil.copytree(finished, d)
    _set_manifest(d, status="running")
    code, _, err = cli(capsys, "ask", str(d), "--before", "2025-06-01")
    assert code == 2 and "the run is unfinished" in one_line(err) and "resume" in err


def test_a_run_directory_from_before_checksums_is_still_read(capsys, tmp_path, finished):
    d = tmp_path / "run"
    shutil.copytree(finished, d)
    m = _manifest(d)
    for key in ("sha256", "inputs", "status", "format"):
        m.pop(key)
    (d / "manifest.json").write_text(json.dumps(m))
    shutil.rmtree(d / "inputs")  # such runs had no copies: the original CSV is read instead
    assert answer(capsys, d, "2025-06-01") == answer(capsys, finished, "2025-06-01")


# ----- bad arguments ------------------------------------------------------------------------
def _file(tmp: pathlib.Path) -> str:
    (tmp / "a_file").write_text("x")
    return str(tmp / "a_file")


def _non_empty(tmp: pathlib.Path) -> str:
    (tmp / "notes").mkdir()
    (tmp / "notes" / "todo.txt").write_text("x")
    return str(tmp / "notes")


def _no_questions(tmp: pathlib.Path) -> str:
    text = pathlib.Path(BENCH).read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("questions"))
    (tmp / "no_questions.toml").write_text(text)
    return str(tmp / "no_questions.toml")


BAD_ARGS = {
    "--out a file": (lambda t: ["run", BENCH, "--out", _file(t)], "is a file, not a directory"),
    "--out under a file": (
        lambda t: ["run", BENCH, "--out", _file(t) + "/run"],
        "a parent of this path is a file",
    ),
    "--out not empty": (lambda t: ["run", BENCH, "--out", _non_empty(t)], "add --force"),
    "--force on a folder that is no run": (
        lambda t: ["run", BENCH, "--out", _non_empty(t), "--force"],
        "is not a Runway run directory",
    ),
    "--out where nobody may write": (
        lambda t: ["run", BENCH, "--out", "/sys/runway-test"],
        "cannot create the run directory",
    ),
    "--out in /proc": (lambda t: ["run", BENCH, "--out", "/proc/runway-test"], "--out /proc/"),
    "--paths 1e400": (lambda t: ["run", BENCH, "--paths", "1e400"], "is more than the"),
    "--paths 1e20": (lambda t: ["run", BENCH, "--paths", "1e20"], "is more than the"),
    "--paths 1e12": (lambda t: ["run", BENCH, "--paths", "1e12"], "is more than the"),
    "--paths 0.5": (lambda t: ["run", BENCH, "--paths", "0.5"], "whole number of paths"),
    "--paths huge digits": (lambda t: ["run", BENCH, "--paths", "9" * 500], "not a number"),
    "--memory too small": (lambda t: ["run", BENCH, "--memory", "10M"], "under the minimum"),
    "--memory not a size": (lambda t: ["run", BENCH, "--memory", "lots"], "not a memory size"),
    "--memory huge": (lambda t: ["run", BENCH, "--memory", "9" * 400], "over the maximum"),
    "--backend dask without --scheduler": (
        lambda t: ["run", BENCH, "--backend", "dask"],
        "--backend dask needs --scheduler",
    ),
    "--scheduler without dask": (
        lambda t: ["run", BENCH, "--scheduler", "tcp://127.0.0.1:8786"],
        "--scheduler goes with --backend dask",
    ),
    "--until-ci too wide": (lambda t: ["run", BENCH, "--until-ci", "2"], "not a half-width"),
    "--until-ci not a number": (lambda t: ["run", BENCH, "--until-ci", "x"], "not a half-width"),
    "--max-paths alone": (
        lambda t: ["run", BENCH, "--max-paths", "1M"],
        "--max-paths and --time-limit go with --until-ci",
    ),
    "--time-limit not a duration": (
        lambda t: ["run", BENCH, "--until-ci", "0.01", "--time-limit", "soon"],
        "not a duration",
    ),
    "--until-ci on a scenario without questions": (
        lambda t: ["run", _no_questions(t), "--until-ci", "0.01"],
        "--until-ci needs question dates",
    ),
    "--jobs 0": (lambda t: ["run", BENCH, "--jobs", "0"], "--jobs must be >= 1"),
    "--before before the start": (
        lambda t: ["ask", BENCH, "--before", "2024-01-15"],
        "valid dates are 2024-02-01 to 2027-01-31",
    ),
    "--before after the horizon": (
        lambda t: ["ask", BENCH, "--before", "2027-02-01"],
        "valid dates are 2024-02-01 to 2027-01-31",
    ),
}
for _option in (
    ["--seed", "3"],
    ["--sampler", "lhs"],
    ["--paths", "10"],
    ["--jobs", "1"],
    ["--memory", "1G"],
):
    BAD_ARGS[f"ask RUN_DIR {_option[0]}"] = (
        lambda t, o=_option: ["ask", "RUN", "--before", "2025-06-01", *o],
        f"{_option[0]} cannot apply to a finished run",
    )
BAD_ARGS["ask RUN_DIR --variant"] = (
    lambda t: ["ask", "RUN", "--before", "2025-06-01", "--variant", "does-not-exist"],
    "--variant cannot apply to a finished run",
)


@pytest.mark.parametrize("case", sorted(BAD_ARGS))
def test_a_bad_argument_is_one_line_exit_2(monkeypatch, capsys, tmp_path, finished, case):
    import engine.runner

    monkeypatch.setattr(engine.runner, "run", lambda *a, **k: pytest.fail("simulated"))
    argv, message = BAD_ARGS[case]
    argv = [str(finished) if a == "RUN" else a for a in argv(tmp_path)]
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "", err
    assert message in one_line(err), (case, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_the_last_valid_date_is_answered(capsys):
    code, out, err = cli(
        capsys, "ask", BENCH, "--before", "2027-01-31", "--paths", "2000", "--seed", "1",
        "--jobs", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["months"] == 36


def test_output_piped_into_a_closed_reader_ends_cleanly(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "simulate.py"), "run", BENCH, *QUICK, "--out",
         str(tmp_path / "r")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is printed
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err
    assert proc.returncode == 0
    rundir.load_run(tmp_path / "r")  # the work was finished all the same


def _closed(fd):
    return lambda: os.close(fd)


@pytest.mark.parametrize("fd", [1, 2])
def test_a_closed_standard_stream_is_no_error(tmp_path, fd):
    # `runway run ... >&-`: Python's sys.stdout is None; the exit flushed it (AttributeError,
    # exit 1) and joblib's process start failed on it (exit 70).
    # 3 chunks: worker processes start (one chunk would run here alone), inheriting the streams
    argv = [sys.executable, str(ROOT / "simulate.py"), "run", BENCH, *QUICK, "--out",
            str(tmp_path / "r"), "--backend", "loky", "--jobs", "2",
            "--paths", "300000"]  # fmt: skip
    streams = {"stdout": subprocess.PIPE} if fd == 2 else {"stderr": subprocess.PIPE}
    proc = subprocess.run(argv, preexec_fn=_closed(fd), timeout=120, **streams)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    if fd == 1:
        assert proc.stderr == b""  # nothing to say but the answers, which have nowhere to go
    else:
        assert b"Chance cash runs out before 2026-01-01" in proc.stdout
    rundir.load_run(tmp_path / "r")


def test_output_to_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        argv = [sys.executable, str(ROOT / "simulate.py"), "scenarios"]
        proc = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == "runway: cannot write to standard output: No space left on device\n"


def test_a_run_stopped_while_drawing_its_report_says_how_to_rebuild_it(
    monkeypatch, capsys, tmp_path
):
    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt  # Ctrl-C or SIGTERM once the results are saved

    monkeypatch.setattr("reports.pdf.write_report", stopped)
    out = tmp_path / "r"
    argv = [a for a in QUICK if a != "--no-report"]
    code, _, err = cli(capsys, "run", BENCH, *argv, "--out", str(out))
    assert code == 130
    assert f"the results are saved in {out}: rebuild it with `runway report {out}`" in err
    rundir.load_run(out)  # the run is finished and in place
    assert not (out / "report.pdf").exists()


def test_a_resumed_run_that_fails_on_its_scenario_keeps_its_directory(
    monkeypatch, capsys, tmp_path
):
    import engine.runner
    from distributions.errors import ScenarioError

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    def overflow(*_args, **_kwargs):
        raise ScenarioError("lines.a: amounts overflow")

    out = tmp_path / "r"
    monkeypatch.setattr(engine.runner, "run", interrupted)
    assert cli(capsys, "run", BENCH, *QUICK, "--out", str(out))[0] == 130
    monkeypatch.setattr(engine.runner, "run", overflow)
    code, _, err = cli(capsys, "resume", str(out))
    assert code == 2 and "amounts overflow" in one_line(err)
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    assert (out / "scenario.toml").exists()


def test_force_does_not_replace_a_run_still_going_on(capsys, tmp_path):
    """A long run writes into OUT; a second run with --out OUT --force must be refused while
    the first is alive (it used to swap its own results in, then the first run wrote over them:
    both said they succeeded and the second run was lost), and a plain --out is told why."""
    out = tmp_path / "busy"
    long_run = subprocess.Popen(
        [sys.executable, str(ROOT / "simulate.py"), "run", BENCH, "--paths", "2e8", "--seed",
         "1", "--jobs", "1", "--no-report", "--quiet", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (out / rundir.LOCK).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (out / rundir.LOCK).exists()
        for extra in (["--force"], []):
            code, out_text, err = cli(
                capsys, "run", BENCH, *QUICK, "--seed", "2", "--out", str(out), *extra
            )
            line = one_line(err)
            assert code == 2 and out_text == "", err
            assert "another run is writing this directory" in line, line
            assert long_run.poll() is None  # the first run goes on, its directory untouched
        assert json.loads((out / "manifest.json").read_text())["status"] == "running"
    finally:
        long_run.kill()
        long_run.wait()
    # once the writer is gone (killed: its lock is free), --force replaces the directory
    assert simulate.main(["run", BENCH, *QUICK, "--seed", "2", "--out", str(out), "--force"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
