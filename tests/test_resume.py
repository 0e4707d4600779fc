"""Overnight runs: checkpoints, resume after SIGKILL / SIGINT / SIGTERM, damaged checkpoints,
refusals, runs to a precision, and a full disk. Each on a real subprocess of the CLI."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

import simulate
from engine import checkpoint, rundir

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")
FILES = ("summary.json", "results.npz", "survival.csv", "years.csv", "drivers.csv", "cash_fan.csv")
# 48 batches of 65,536 paths in 24 chunks: a few seconds of work on one core.
PATHS = str(48 * 65536)


def cli(*argv: str) -> subprocess.Popen:
    """The CLI in a subprocess, checkpointing after every chunk (so a kill lands mid-run)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "simulate.py"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUNWAY_CHECKPOINT_SECONDS": "0"},
        preexec_fn=_ctrl_c_as_on_a_terminal,
    )


def _ctrl_c_as_on_a_terminal() -> None:
    """A child of a background shell job inherits SIGINT ignored; the tests send Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(*argv: str) -> tuple[int, str, str]:
    proc = cli(*argv)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def wait_for_checkpoint(run_dir: pathlib.Path, proc: subprocess.Popen, chunks: int) -> dict:
    """Poll until the run has checkpointed at least ``chunks`` chunks."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        index = checkpoint.read_index(run_dir)
        if index and index["chunks"] >= chunks:
            return index
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no checkpoint")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    code, _, err = finish("run", BENCH, "--paths", PATHS, "--seed", "11", "--jobs", "1",
                          "--no-report", "--quiet", "--out", str(out))  # fmt: skip
    assert code == 0, err
    return out


def same_files(a: pathlib.Path, b: pathlib.Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def start(out: pathlib.Path, jobs: str = "1") -> subprocess.Popen:
    return cli("run", BENCH, "--paths", PATHS, "--seed", "11", "--jobs", jobs, "--no-report",
               "--out", str(out))  # fmt: skip


def test_sigkill_half_way_then_resume_is_identical(reference, tmp_path):
    out = tmp_path / "run"
    proc = start(out, jobs="1")
    wait_for_checkpoint(out, proc, 6)
    proc.kill()  # SIGKILL: nothing is saved on the way out
    proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"
    # An unfinished run is not read; the message gives the command that finishes it.
    code, out_text, err = finish("ask", str(out), "--before", "2026-01-01")
    assert code == 2 and out_text == ""
    assert f"finish it with: python simulate.py resume {out}" in err
    time.sleep(1.5)  # the run lies still a while: its finish is when it really finished
    code, _, err = finish("resume", str(out), "--jobs", "2", "--no-report", "--quiet")
    assert code == 0, err
    same_files(reference, out)
    assert not list(out.glob("checkpoint*"))  # gone once the results are written
    done = json.loads((out / "manifest.json").read_text())
    started, finished = (dt.datetime.fromisoformat(done[k]) for k in ("started", "finished"))
    # it said started + computing time, hours early for a run resumed the next morning
    assert finished - started > dt.timedelta(seconds=done["seconds"] + 1.5)
    assert finished.timestamp() <= (out / "results.npz").stat().st_mtime + 1
    code, _, err = finish("resume", str(out))
    assert code == 2 and "the run is finished; nothing to resume" in err


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_interrupt_saves_a_checkpoint_and_prints_the_resume_command(
    reference, tmp_path, sig, code, word
):
    out = tmp_path / "run"
    proc = start(out, jobs="2")
    wait_for_checkpoint(out, proc, 4)
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    lines = err.strip().splitlines()
    assert lines[-1] == f"runway: {word}; resume the run with: python simulate.py resume {out}"
    assert "Traceback" not in err
    index = checkpoint.read_index(out)
    assert index["paths"] < int(PATHS)
    code, _, err = finish("resume", str(out), "--jobs", "1", "--no-report", "--quiet")
    assert code == 0, err
    same_files(reference, out)


def _killed_run(tmp_path: pathlib.Path) -> pathlib.Path:
    out = tmp_path / "run"
    proc = start(out)
    wait_for_checkpoint(out, proc, 4)
    proc.kill()
    proc.wait()
    return out


def test_a_corrupt_checkpoint_is_recomputed(reference, tmp_path):
    out = _killed_run(tmp_path)
    index = checkpoint.read_index(out)
    data = bytearray((out / index["file"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / index["file"]).write_bytes(bytes(data))
    code, _, err = finish("resume", str(out), "--no-report", "--quiet")
    assert code == 0, err
    assert "the checkpoint is damaged" in err and "recomputed from the start" in err
    same_files(reference, out)


def test_a_truncated_checkpoint_index_is_recomputed(reference, tmp_path):
    out = _killed_run(tmp_path)
    (out / "checkpoint.json").write_text('{"file": ')
    code, _, err = finish("resume", str(out), "--no-report", "--quiet")
    assert code == 0 and "damaged" in err
    same_files(reference, out)


def test_resume_refuses_a_changed_scenario_another_version_and_a_live_run(tmp_path):
    scenario = tmp_path / "s.toml"
    shutil.copy(BENCH, scenario)
    out = tmp_path / "run"
    proc = cli("run", str(scenario), "--paths", PATHS, "--seed", "1", "--jobs", "1",
               "--no-report", "--out", str(out))  # fmt: skip
    wait_for_checkpoint(out, proc, 2)
    code, _, err = finish("resume", str(out))
    assert code == 2 and "the run is still going on in another process" in err
    proc.kill()
    proc.wait()

    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "runway_version": "0.0.1"}))
    code, _, err = finish("resume", str(out))
    assert code == 2 and "started by Runway 0.0.1" in err
    # ask and report do not send the user to a resume that refuses
    code, _, err = finish("ask", str(out), "--before", "2026-01-01")
    assert code == 2 and "started by Runway 0.0.1" in err and "finish it with that version" in err
    assert "finish it with:" not in err  # the resume command
    for damaged in (None, ["x"], ""):
        (out / "manifest.json").write_text(json.dumps({**manifest, "runway_version": damaged}))
        for command in (("resume", str(out)), ("ask", str(out), "--before", "2026-01-01")):
            code, _, err = finish(*command)
            assert code == 2 and "'runway_version' is missing or not a version" in err, err
    (out / "manifest.json").write_text(json.dumps({**manifest, "status": "paused"}))
    code, _, err = finish("resume", str(out))
    assert code == 2 and "'status' is neither 'finished' nor 'running'" in err
    (out / "manifest.json").write_text(json.dumps(manifest))

    scenario.write_text(scenario.read_text().replace("amount = 6.5", "amount = 7.5"))
    code, _, err = finish("resume", str(out))
    assert code == 2 and "has changed since the run started" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_resume_of_something_else_is_one_line(tmp_path):
    code, _, err = finish("resume", str(tmp_path))
    assert code == 2 and "not a finished run directory (no manifest.json)" in err
    code, _, err = finish("resume", str(tmp_path / "nope"))
    assert code == 2 and "no such run directory" in err


def test_until_ci_stops_at_the_target_and_equals_the_fixed_run(tmp_path):
    out = tmp_path / "ci"
    code, stdout, err = finish("run", BENCH, "--until-ci", "0.002", "--seed", "3", "--jobs", "2",
                               "--no-report", "--quiet", "--out", str(out))  # fmt: skip
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    stopped = summary["stopped"]
    assert stopped["reason"] == "precision reached" and stopped["target"] == 0.002
    assert max(stopped["half_widths"].values()) <= 0.002
    paths = summary["paths"]
    # Stopped at the first chunk boundary where the target holds: one chunk fewer would not.
    assert paths % 131072 == 0 and "Stopped: precision reached at" in stdout
    for q in summary["questions"]:
        lo, hi = q["ci95"]
        assert (hi - lo) / 2 == pytest.approx(stopped["half_widths"][q["before"]])
    fixed = tmp_path / "fixed"
    code, _, err = finish("run", BENCH, "--paths", str(paths), "--seed", "3", "--jobs", "1",
                          "--no-report", "--quiet", "--out", str(fixed))  # fmt: skip
    assert code == 0, err
    assert (fixed / "results.npz").read_bytes() == (out / "results.npz").read_bytes()
    other = json.loads((fixed / "summary.json").read_text())
    assert {**other, "stopped": None} == {**summary, "stopped": None}
    # One chunk fewer would not have met the target: the stop is the first that does.
    smaller = simulate.run(BENCH, paths=paths - 131072, seed=3, jobs=1)
    assert max((a.ci95[1] - a.ci95[0]) / 2 for a in smaller.answers()) > 0.002


def test_until_ci_path_limit_is_recorded(tmp_path):
    out = tmp_path / "r"
    code, stdout, err = finish("run", BENCH, "--until-ci", "0.00001", "--max-paths", "300000",
                               "--seed", "3", "--jobs", "1", "--no-report", "--quiet",
                               "--out", str(out))  # fmt: skip
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stopped"]["reason"] == "path limit" and manifest["paths"] == 300000
    assert "Stopped: path limit at 300,000 paths" in stdout


def test_a_full_disk_at_a_checkpoint_keeps_the_previous_one(monkeypatch, capsys, tmp_path):
    out = tmp_path / "run"
    calls = {"n": 0}
    original = checkpoint._save

    def fill_up(path, arrays):
        calls["n"] += 1
        if calls["n"] >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(path, arrays)

    monkeypatch.setattr(checkpoint, "_save", fill_up)
    monkeypatch.setenv("RUNWAY_CHECKPOINT_SECONDS", "0")
    code = simulate.main(["run", BENCH, "--paths", "600000", "--seed", "2", "--jobs", "1",
                          "--no-report", "--quiet", "--out", str(out)])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "cannot write the checkpoint (No space left on device)" in line
    assert "the previous checkpoint (131,072 paths) is intact" in line
    assert f"resume with: python simulate.py resume {out}" in line
    index = checkpoint.read_index(out)
    assert index["paths"] == 131072
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    code = simulate.main(["resume", str(out), "--no-report", "--quiet", "--jobs", "1"])
    assert code == 0
    fresh = tmp_path / "fresh"
    simulate.main(["run", BENCH, "--paths", "600000", "--seed", "2", "--jobs", "1",
                   "--no-report", "--quiet", "--out", str(fresh)])  # fmt: skip
    same_files(fresh, out)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_really_full_disk_while_writing_results(tmp_path):
    """A real tmpfs, filled up during the run: a clear line, the run directory keeps its
    checkpoint, and once space is freed the run is resumed to the same result."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(disk)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = disk / "run"
        proc = cli("run", BENCH, "--paths", PATHS, "--seed", "11", "--jobs", "1",
                   "--no-report", "--quiet", "--out", str(out))  # fmt: skip
        wait_for_checkpoint(out, proc, 2)
        filler = disk / "filler"
        with open(filler, "wb") as f:  # take all the space that is left
            try:
                while True:
                    f.write(b"\0" * 2**20)
            except OSError:
                pass
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert "No space left on device" in err and "resume" in err
        filler.unlink()
        code, _, err = finish("resume", str(out), "--no-report", "--quiet")
        assert code == 0, err
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_rundir_keeps_its_lock_only_while_running(tmp_path):
    out = tmp_path / "r"
    assert simulate.main(["run", BENCH, "--paths", "5000", "--seed", "1", "--jobs", "1",
                          "--no-report", "--quiet", "--out", str(out)]) == 0  # fmt: skip
    assert not (out / rundir.LOCK).exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("many", "'run.paths' has the wrong type"),
        (-5, "'run.paths' has an impossible value"),
        (None, "manifest.json has no 'run.paths'"),
    ],
)
def test_resume_of_edited_run_parameters_is_one_line(tmp_path, value, message):
    """The manifest is the one file no checksum covers: its run parameters are checked before
    a resume uses them (an edited 'paths' was an internal error, or blamed --paths)."""
    out = _killed_run(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["run"]["paths"] = value
    (out / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = finish("resume", str(out), "--quiet")
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert f"{out}: run directory is damaged: " in err and message in err
