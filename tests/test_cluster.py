"""Where the chunks of a run go: local worker processes (loky) or a Dask cluster, with the
same result bit for bit as in-process; a worker killed mid-run (SIGKILL) costs a recomputation
of the chunks it lost, never a chunk counted twice or lost, and a bounded number of times.

These call :func:`engine.pool.results_in_order` directly on a real scenario, chunk by chunk as
engine/runner.py does. The Dask tests start a LocalCluster on 127.0.0.1 (2 worker processes)
and skip when the dask extra is not installed.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import pathlib
import signal
import sys
import threading
import time

import numpy as np
import pytest
from sessions import poll

import engine.pool
from cashflow.parse import load_scenario
from distributions.errors import RunwayError, UsageError
from engine import runner
from engine.batch import BatchTask, ChunkResult, Grids, simulate_batch
from engine.histogram import make_grid
from engine.pool import WorkersLost, results_in_order

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")
SEED = 11
CHUNKS = 24  # chunks of one batch each: enough for a kill to land mid-run
SIZE = 16384  # paths per batch (about 0.05 s each)

linux_only = pytest.mark.skipif(
    not pathlib.Path("/proc/self/stat").exists(), reason="finds worker processes in /proc"
)
needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="the dask extra is not installed: pip install -e '.[dask]'",
)


# ----- a run's chunks, and the reference: in-process ---------------------------------------
@pytest.fixture(scope="module")
def run_inputs() -> tuple:
    scenario = load_scenario(BENCH)

    def chunk_at(i: int) -> list[BatchTask] | None:
        return [BatchTask(scenario, SEED, i, SIZE, "mc")] if 0 <= i < CHUNKS else None

    pilot, _, _ = simulate_batch(BatchTask(scenario, SEED, 0, runner.PILOT_PATHS, "mc"))
    grids = Grids(
        quantities=make_grid(pilot.quantities, runner.HIST_BINS),
        fan=make_grid(pilot.fan, runner.FAN_BINS),
    )
    return chunk_at, grids


@pytest.fixture(scope="module")
def reference(run_inputs) -> list[ChunkResult]:
    chunk_at, grids = run_inputs
    return list(results_in_order(chunk_at, grids, 1))


def same_value(a, b) -> bool:
    """Bit-identical: arrays by dtype, shape and bytes; dataclasses field by field."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(
            same_value(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and a.tobytes() == b.tobytes()
        )
    return a == b


def assert_identical(results: list[ChunkResult], reference: list[ChunkResult]) -> None:
    """Every chunk yielded once, in order, bit-identical to the in-process run, and so are the
    merged ruin counts."""
    assert [r.first for r in results] == list(range(CHUNKS))
    assert len(results) == len(reference)
    for got, want in zip(results, reference, strict=True):
        assert same_value(got, want), f"chunk {got.first} differs from the in-process run"
    merged = np.concatenate([r.batch_ruin_counts for r in results])
    assert np.array_equal(merged, np.concatenate([r.batch_ruin_counts for r in reference]))
    assert merged.sum() == CHUNKS * SIZE


# ----- local worker processes ---------------------------------------------------------------
def loky_workers() -> list[int]:
    """Live loky worker processes that are children of this process."""
    me, found = os.getpid(), []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        alive = fields[0] not in (b"Z", b"X")
        if alive and int(fields[1]) == me and b"popen_loky_posix" in cmdline:
            found.append(int(entry.name))
    return found


def run_killing(results_iter, kill) -> list[ChunkResult]:
    """Consume ``results_iter``, calling ``kill()`` once the first result has arrived."""
    results = []
    for result in results_iter:
        results.append(result)
        if len(results) == 1:
            kill()
    return results


def kill_a_loky_worker() -> None:
    pids = loky_workers()
    assert pids, "no loky worker found"
    os.kill(pids[0], signal.SIGKILL)


def test_loky_pool_equals_in_process(run_inputs, reference):
    chunk_at, grids = run_inputs
    notes: list[str] = []
    results = list(results_in_order(chunk_at, grids, 2, note=notes.append))
    assert_identical(results, reference)
    assert notes == []


def test_start_skips_the_chunks_before_it(run_inputs, reference):
    chunk_at, grids = run_inputs
    results = list(results_in_order(chunk_at, grids, 2, start=20))
    assert [r.first for r in results] == [20, 21, 22, 23]
    assert all(same_value(r, reference[r.first]) for r in results)
    here = list(results_in_order(chunk_at, grids, 1, start=22))
    assert [r.first for r in here] == [22, 23]


def test_chunks_are_asked_for_lazily(run_inputs):
    """``chunk_at`` is called as dispatch proceeds, never far ahead of what was yielded."""
    chunk_at, grids = run_inputs
    asked: list[int] = []

    def counting(i: int):
        asked.append(i)
        return chunk_at(i)

    results = results_in_order(counting, grids, 2)
    next(results)
    assert max(asked) <= 2 * 2 + 2  # pre-dispatched: 2 per worker (and a peek)
    results.close()


@linux_only
def test_loky_worker_killed_mid_run_is_recomputed(run_inputs, reference):
    chunk_at, grids = run_inputs
    notes: list[str] = []
    results = run_killing(
        results_in_order(chunk_at, grids, 2, note=notes.append), kill_a_loky_worker
    )
    assert_identical(results, reference)
    assert len(notes) == 1, notes
    assert notes[0].startswith("a worker process died (killed or out of memory); recomputing from")
    assert notes[0].endswith("(retry 1 of 3)")
    assert "\n" not in notes[0]

    # The restarted pool's workers watch the main process too.
    from joblib import Parallel, delayed

    watching = Parallel(
        n_jobs=2, max_nbytes=None, initializer=engine.pool.watch_main_process,
        initargs=(os.getpid(),),
    )(delayed(_has_watchdog)() for _ in range(4))  # fmt: skip
    assert all(watching)
    engine.pool.stop_workers()


def _has_watchdog() -> bool:
    return any(t.name == "runway-watchdog" for t in threading.enumerate())


@linux_only
def test_loky_retries_exhausted_is_one_line(run_inputs):
    chunk_at, grids = run_inputs
    notes: list[str] = []
    with pytest.raises(WorkersLost) as caught:
        run_killing(
            results_in_order(chunk_at, grids, 2, retries=0, note=notes.append),
            kill_a_loky_worker,
        )
    message = str(caught.value)
    assert isinstance(caught.value, RunwayError)
    assert "\n" not in message
    assert message.startswith("a worker process died (killed or out of memory); stopped at chunk")
    assert message.endswith("(no retry allowed)")
    assert 1 <= caught.value.next_chunk < CHUNKS
    assert notes == []
    assert poll(lambda: not loky_workers(), 10), "the pool's workers outlived the error"


def test_unknown_backend_and_missing_scheduler(run_inputs):
    chunk_at, grids = run_inputs
    with pytest.raises(UsageError, match="unknown backend 'dusk'; did you mean 'dask'") as caught:
        next(results_in_order(chunk_at, grids, 2, backend="dusk"))
    assert caught.value.param == "backend"
    with pytest.raises(UsageError, match=r"^backend dask needs scheduler") as caught:
        next(results_in_order(chunk_at, grids, 2, backend="dask"))
    assert caught.value.param == "scheduler"


def test_dask_extra_missing_is_one_line(run_inputs, monkeypatch):
    chunk_at, grids = run_inputs
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    with pytest.raises(UsageError, match=r"needs the dask extra: pip install -e '\.\[dask\]'"):
        next(results_in_order(chunk_at, grids, 2, backend="dask", scheduler="tcp://x:1"))


# ----- a Dask cluster -----------------------------------------------------------------------
def local_cluster(**config):
    import dask
    from distributed import LocalCluster

    with dask.config.set(config):  # read by the scheduler (here, in-process) as it starts
        return LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as started:
        yield started


def kill_a_busy_dask_worker(address: str):
    """A function that SIGKILLs one worker process of the cluster at ``address``, one that is
    running a task if there is one."""
    from distributed import Client

    def kill() -> None:
        with Client(address, timeout=10, set_as_default=False) as client:
            pids = client.run(os.getpid)  # worker address -> pid
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            os.kill(pids[(busy or sorted(pids))[0]], signal.SIGKILL)

    return kill


def wait_for_workers(address: str, n: int = 2) -> None:
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        client.wait_for_workers(n, timeout=30)


@needs_dask
def test_dask_cluster_equals_in_process(run_inputs, reference, cluster):
    chunk_at, grids = run_inputs
    wait_for_workers(cluster.scheduler_address)
    notes: list[str] = []
    results = list(
        results_in_order(
            chunk_at,
            grids,
            2,
            backend="dask",
            scheduler=cluster.scheduler_address,
            note=notes.append,
        )
    )
    assert_identical(results, reference)
    assert notes == []


@needs_dask
def test_dask_worker_killed_mid_run_is_survived(run_inputs, reference, cluster):
    """Dask reschedules the killed worker's tasks by itself (allowed-failures)."""
    chunk_at, grids = run_inputs
    address = cluster.scheduler_address
    wait_for_workers(address)
    results = run_killing(
        results_in_order(chunk_at, grids, 2, backend="dask", scheduler=address),
        kill_a_busy_dask_worker(address),
    )
    assert_identical(results, reference)


@needs_dask
def test_dask_killed_worker_past_allowed_failures_is_recomputed(run_inputs, reference):
    """With allowed-failures 0, a killed worker fails its task (KilledWorker): Runway goes on
    from the first chunk not yielded, or stops in one line when it may not retry."""
    chunk_at, grids = run_inputs
    with local_cluster(**{"distributed.scheduler.allowed-failures": 0}) as strict:
        address = strict.scheduler_address
        for retries in (3, 0):
            wait_for_workers(address)
            notes: list[str] = []
            run = results_in_order(
                chunk_at, grids, 2, backend="dask", scheduler=address, retries=retries,
                note=notes.append,
            )  # fmt: skip
            if retries:
                results = run_killing(run, kill_a_busy_dask_worker(address))
                assert_identical(results, reference)
                assert len(notes) <= 1  # 0: the task had finished as the worker died
                assert all("(KilledWorker); recomputing from chunk" in n for n in notes)
            else:
                try:
                    run_killing(run, kill_a_busy_dask_worker(address))
                except WorkersLost as error:
                    assert "\n" not in str(error)
                    assert "(KilledWorker); stopped at chunk" in str(error)
                assert notes == []


@needs_dask
def test_unreachable_scheduler_is_one_line_within_the_timeout(run_inputs):
    chunk_at, grids = run_inputs
    started = time.monotonic()
    with pytest.raises(UsageError) as caught:
        next(results_in_order(chunk_at, grids, 2, backend="dask", scheduler="tcp://127.0.0.1:1"))
    assert time.monotonic() - started < 15
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "scheduler tcp://127.0.0.1:1: cannot reach the Dask scheduler within 10 s ("
    )
