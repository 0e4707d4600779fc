"""The command line on a real Dask cluster (a scheduler and two workers started by the test on
127.0.0.1) and with a local worker killed mid-run: the same files as a local run, bit for bit.
The Dask tests skip when the dask extra is not installed (`.ci/run` installs it)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest

from engine import checkpoint

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")
PATHS = str(24 * 131072)  # 24 chunks
FILES = ("summary.json", "results.npz", "survival.csv", "years.csv", "drivers.csv")
DASK = pathlib.Path(sys.executable).with_name("dask")

needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None or not DASK.exists(),
    reason="the dask extra is not installed: pip install -e '.[dask]'",
)
linux_only = pytest.mark.skipif(
    not pathlib.Path("/proc/self/stat").exists(), reason="finds worker processes in /proc"
)


def cli(*argv: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "simulate.py"), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "RUNWAY_CHECKPOINT_SECONDS": "0"},
    )


def run_args(out: pathlib.Path, *more: str) -> list[str]:
    return ["run", BENCH, "--paths", PATHS, "--seed", "21", "--no-report", "--quiet",
            "--out", str(out), *more]  # fmt: skip


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("local") / "run"
    proc = cli(*run_args(out, "--jobs", "1"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return out


def same_files(a: pathlib.Path, b: pathlib.Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def wait_for_chunks(out: pathlib.Path, proc: subprocess.Popen, chunks: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        index = checkpoint.read_index(out)
        if index and index["chunks"] >= chunks:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the run made no progress")


def children(pid: int) -> list[int]:
    out = []
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(p) for p in text]
    return out


def cmdline(pid: int) -> str:
    try:
        return pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# ----- a local worker dies ------------------------------------------------------------------
@linux_only
def test_a_loky_worker_killed_mid_run_changes_nothing(local_run, tmp_path):
    out = tmp_path / "run"
    proc = cli(*run_args(out, "--jobs", "2", "--backend", "loky"))
    wait_for_chunks(out, proc, 3)
    workers = [
        p for p in children(proc.pid) if "loky" in cmdline(p) and "tracker" not in cmdline(p)
    ]
    assert workers, [cmdline(p) for p in children(proc.pid)]
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "a worker process died" in err and "Traceback" not in err
    same_files(local_run, out)


# ----- a Dask cluster -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1: (address, workers)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = open(tmp_path / "dask.log", "w")  # noqa: SIM115
    common = {"stdout": logs, "stderr": subprocess.STDOUT, "start_new_session": True}
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        **common,
    )
    workers = [
        subprocess.Popen(
            [
                str(DASK),
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-dashboard",
                "--host",
                "127.0.0.1",
                "--name",
                f"w{i}",
            ],
            cwd=ROOT,
            **common,
        )
        for i in range(2)
    ]
    try:
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in [*workers, scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        logs.close()


@needs_dask
def test_a_run_on_a_dask_cluster_equals_the_local_run(local_run, tmp_path, dask_cluster):
    address, _ = dask_cluster
    out = tmp_path / "run"
    proc = cli(*run_args(out, "--backend", "dask", "--scheduler", address))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    same_files(local_run, out)


@needs_dask
def test_a_dask_worker_killed_mid_run_changes_nothing(local_run, tmp_path, dask_cluster):
    address, workers = dask_cluster
    out = tmp_path / "run"
    proc = cli(*run_args(out, "--backend", "dask", "--scheduler", address))
    wait_for_chunks(out, proc, 3)
    os.killpg(workers[0].pid, signal.SIGKILL)  # the worker and its nanny, at once
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    same_files(local_run, out)


@needs_dask
def test_an_unreachable_scheduler_is_one_line_exit_2(tmp_path):
    out = tmp_path / "run"
    start = time.monotonic()
    proc = cli(*run_args(out, "--backend", "dask", "--scheduler", f"tcp://127.0.0.1:{free_port()}"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0], err
    assert time.monotonic() - start < 60
