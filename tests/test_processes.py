"""No process outlives a run: workers die with the main process whatever signal it gets, SIGTERM
and Ctrl-C stop a run cleanly (one line, exit 143 / 130), and --jobs is resolved to a number of
workers the machine has (capped with a note, refused in one line when it leaves none)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sessions import poll, session_processes

import engine.pool
import simulate
from distributions.errors import RunwayWarning, UsageError
from engine.pool import Terminated, resolve_jobs, stop_on_signals

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = str(ROOT / "scenarios" / "bench_runway.toml")

linux_only = pytest.mark.skipif(
    not pathlib.Path("/proc/self/stat").exists(), reason="reads processes from /proc"
)


def workers_of(sid: int) -> dict[int, dict]:
    return {p: v for p, v in session_processes(sid).items() if "popen_loky_posix" in v["cmd"]}


def shm_entries(pid: int) -> set[str]:
    """/dev/shm entries named after process ``pid`` (loky semaphores, joblib folders)."""
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        return set()
    return {n for n in names if f"-{pid}-" in n or f"_{pid}_" in n}


@pytest.fixture(params=["loky", "threads"])
def busy_run(request, tmp_path):
    """A long run with --jobs 2 (``--backend`` the fixture's parameter), started in its own
    session, once it is computing: the loky worker (the main process is the other one), or
    the main process on both cores (threads).

    Yields (process, stderr file). Whatever the test does, the whole session is killed after."""
    err = tmp_path / "stderr"
    backend = request.param
    command = [
        sys.executable, "simulate.py", "run", BENCH, "--paths", "20M", "--jobs", "2",
        "--seed", "1", "--no-report", "--out", str(tmp_path / "run"), "--backend", backend,
    ]  # fmt: skip
    with open(err, "wb") as stderr:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
            # a child of a background shell job inherits SIGINT ignored; the tests send Ctrl-C
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:

        def computing():
            if backend == "threads":  # past start-up (~0.3 s of CPU), on both cores
                main = session_processes(proc.pid).get(proc.pid)
                return main is not None and main["cpu"] >= 1.5
            workers = workers_of(proc.pid)
            return len(workers) >= 1 and all(w["cpu"] >= 0.3 for w in workers.values())

        if not poll(computing, timeout=60):
            pytest.fail(f"the workers never got to work: {session_processes(proc.pid)}")
        yield proc, err
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group outlives its leader
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ----- workers die with the main process ----------------------------------------------------
@linux_only
def test_workers_die_when_the_main_process_is_killed(busy_run):
    proc, _ = busy_run
    workers = workers_of(proc.pid)
    assert workers or "threads" in proc.args
    assert all(w["ppid"] == proc.pid for w in workers.values())  # children of the main process

    os.kill(proc.pid, signal.SIGKILL)  # the main process alone, as `timeout -s KILL` would
    proc.wait()
    killed = time.monotonic()
    # Every process of the session (workers and loky's resource trackers) ends by itself, and
    # the trackers remove the pool's semaphores on the way out.
    left = poll(lambda: not session_processes(proc.pid), timeout=10) or session_processes(proc.pid)
    assert left is True, f"still running {time.monotonic() - killed:.1f}s after: {left}"
    assert poll(lambda: not shm_entries(proc.pid), timeout=2), shm_entries(proc.pid)


@linux_only
@pytest.mark.parametrize(
    ("signals", "code", "line"),
    [
        ([signal.SIGTERM], 143, "runway: terminated"),
        ([signal.SIGINT], 130, "runway: interrupted"),
        ([signal.SIGINT, signal.SIGINT], 130, "runway: interrupted"),  # impatient: Ctrl-C twice
        ([signal.SIGTERM, signal.SIGINT], 143, "runway: terminated"),
    ],
    ids=["sigterm", "sigint", "sigint-twice", "sigterm-then-sigint"],
)
def test_sigterm_and_ctrl_c_stop_the_run_cleanly(busy_run, signals, code, line):
    proc, err = busy_run
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.1)
        os.kill(proc.pid, sig)  # the main process alone
    assert proc.wait(timeout=20) == code
    assert poll(lambda: not session_processes(proc.pid), timeout=10), session_processes(proc.pid)
    text = err.read_text()
    lines = text.strip().splitlines()
    # One line; with a second signal, possibly the first stop's line and "stopped at once".
    assert 1 <= len(lines) <= len(signals) and lines[-1].startswith(line), text
    assert all(x.startswith("runway: ") for x in lines), text  # no traceback, no "leaked"
    assert poll(lambda: not shm_entries(proc.pid), timeout=5), shm_entries(proc.pid)


@pytest.fixture
def default_handlers():
    """Skip unless SIGTERM and SIGINT have their default handlers; put them back after."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    if before != (signal.SIG_DFL, signal.default_int_handler):
        pytest.skip("SIGTERM or SIGINT already has a handler here")
    yield before
    signal.signal(signal.SIGTERM, before[0])
    signal.signal(signal.SIGINT, before[1])


def handlers():
    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)


def test_without_a_signal_the_handlers_come_back_at_once(default_handlers):
    restore = stop_on_signals()
    assert handlers() != default_handlers
    restore()
    assert handlers() == default_handlers


def test_a_signal_raises_once_then_ctrl_c_works_again_after_the_grace(default_handlers):
    assert issubclass(Terminated, KeyboardInterrupt)
    restore = stop_on_signals(grace=0.3)
    try:
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs at the next bytecode boundary
        # (a repeated signal before restore exits at once: the CLI tests above show it)
    finally:
        restore()
    os.kill(os.getpid(), signal.SIGINT)  # still within the grace: ignored
    time.sleep(0.35)
    with pytest.raises(KeyboardInterrupt) as caught:  # after the grace: Ctrl-C as before
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    assert type(caught.value) is KeyboardInterrupt
    assert handlers() == default_handlers


def test_a_process_exiting_after_a_signal_ignores_more(default_handlers):
    restore = stop_on_signals()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    restore(exiting=True)
    assert handlers() == (signal.SIG_IGN, signal.SIG_IGN)


def test_main_outside_the_main_thread_leaves_signals_alone(capsys):
    before = handlers()
    codes = []
    thread = threading.Thread(
        target=lambda: codes.append(simulate.main(["run", BENCH, "--jobs", "0"]))
    )
    thread.start()
    thread.join()
    assert codes == [2] and handlers() == before
    assert "--jobs must be >= 1" in capsys.readouterr().err


# ----- how many workers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("jobs", "cores", "workers", "note"),
    [
        (None, 2, 2, None),
        (1, 2, 1, None),
        (2, 2, 2, None),
        (3, 2, 2, "--jobs 3 is more than the 2 cores here; using 2"),
        (1000, 2, 2, "--jobs 1000 is more than the 2 cores here; using 2"),
        (-1, 2, 2, None),
        (-1, 8, 8, None),
        (-2, 2, 1, None),
        (-2, 8, 7, None),
        (-8, 8, 1, None),
        (4, 1, 1, "--jobs 4 is more than the 1 core here; using 1"),
    ],
)
def test_resolve_jobs(jobs, cores, workers, note):
    assert resolve_jobs(jobs, cores) == (workers, note)


@pytest.mark.parametrize(
    ("jobs", "cores", "message"),
    [
        (-3, 2, "jobs -3 leaves no worker on 2 cores; use 1 to 2, or -1 for all cores"),
        (-9, 8, "jobs -9 leaves no worker on 8 cores; use 1 to 8, or -1 for all cores"),
        (-2, 1, "jobs -2 leaves no worker on 1 core; use 1, or -1 for all cores"),
        (-(10**30), 2, "jobs -1000000000000000000000000000000 leaves no worker on 2 cores"),
        (0, 2, "jobs 0 leaves no worker; use 1 to 2, or -1 for all cores"),
    ],
)
def test_resolve_jobs_refuses_no_worker(jobs, cores, message):
    with pytest.raises(UsageError) as caught:
        resolve_jobs(jobs, cores)
    assert caught.value.param == "jobs"
    assert str(caught.value).startswith(message)
    assert len(str(caught.value).splitlines()) == 1
    assert simulate.error_lines(caught.value)[0].startswith(f"--{message}")  # the CLI's flag


def test_available_cores_is_what_this_process_may_use():
    cores = engine.pool.available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores == min(len(os.sched_getaffinity(0)), os.cpu_count() or 1)


def test_workers_for_warns_when_capped(monkeypatch):
    monkeypatch.setattr(engine.pool, "available_cores", lambda: 2)
    with pytest.warns(RunwayWarning, match="--jobs 1000 is more than the 2 cores here; using 2"):
        assert engine.pool.workers_for(1000) == 2


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = simulate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_jobs_leaving_no_worker(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(engine.pool, "available_cores", lambda: 2)
    out = tmp_path / "r"
    argv = ["--paths", "2000", "--jobs", "-3", "--out", str(out)]
    code, _, err = run_cli(capsys, "run", BENCH, *argv)
    assert code == 2
    assert err.strip() == "--jobs -3 leaves no worker on 2 cores; use 1 to 2, or -1 for all cores"
    assert not out.exists()


def test_cli_caps_jobs_with_a_one_line_note(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(engine.pool, "available_cores", lambda: 2)
    argv = ["--paths", "2000", "--seed", "1", "--jobs", "1000", "--no-report"]
    code, out, err = run_cli(capsys, "run", BENCH, *argv, "--out", str(tmp_path / "r"))
    assert code == 0 and "Chance cash runs out" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("runway: warning: ")
    assert lines[0].endswith("--jobs 1000 is more than the 2 cores here; using 2")


@pytest.mark.parametrize("jobs", ["0", "two", "1.5"])
def test_cli_refuses_jobs_that_are_not_a_count(capsys, jobs):
    code, _, err = run_cli(capsys, "run", BENCH, "--jobs", jobs)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--jobs" in err


def test_parse_jobs_passes_negatives_through():
    assert simulate.parse_jobs("-1") == -1
    assert simulate.parse_jobs("-100") == -100  # resolve_jobs decides, knowing the cores
    assert simulate.parse_jobs("1000") == 1000


def _ignores_ctrl_c(tasks: list[int], grids: object) -> list[tuple[int, bool]]:
    """Run in a worker (or the main process): its pid and whether SIGINT is ignored there (one
    answer per task)."""
    import signal as _signal

    return [(os.getpid(), _signal.getsignal(_signal.SIGINT) == _signal.SIG_IGN) for _ in tasks]


def test_workers_ignore_ctrl_c_which_the_main_process_handles():
    """A terminal's Ctrl-C reaches every process of the group; a loky worker interrupted on
    its own printed a traceback (1 in 11 interrupted runs). The main process, which computes
    chunks too, stops the run."""
    from engine.pool import results_in_order

    chunks = results_in_order(
        lambda i: [i] if i < 6 else None, None, 2, backend="loky", work=_ignores_ctrl_c
    )
    answers = [answer for chunk in chunks for answer in chunk]
    assert len(answers) == 6
    in_workers = [ignored for pid, ignored in answers if pid != os.getpid()]
    assert in_workers and all(in_workers), answers  # the first chunks go to the worker


def test_an_interrupt_behind_another_error_is_an_interrupt(capsys, monkeypatch):
    """Ctrl-C inside library code can surface as another exception (Python's RuntimeError when
    it strikes while an imported class body is set up, zipfile's ValueError when it strikes
    while a member is written): the command line says "interrupted" and exits 130, not
    "internal error"."""
    import simulate
    from engine.pool import interrupt_of

    def struck(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as error:
            raise RuntimeError("Error calling __set_name__") from error

    monkeypatch.setitem(simulate.COMMANDS, "scenarios", struck)
    assert simulate.main(["scenarios"]) == 130
    assert capsys.readouterr().err.strip() == "runway: interrupted"

    def later(args):  # an interrupt in the context (not the cause), two levels down
        try:
            try:
                raise Terminated
            except Terminated:
                raise ValueError("Can't close the ZIP file") from None
        except ValueError as error:
            raise OSError("cleanup failed") from error

    monkeypatch.setitem(simulate.COMMANDS, "scenarios", later)
    assert interrupt_of(ValueError("plain")) is None
    assert simulate.main(["scenarios"]) == 143
    assert capsys.readouterr().err.strip() == "runway: terminated"


def test_a_checkpoint_write_struck_by_ctrl_c_raises_the_interrupt(tmp_path, monkeypatch):
    """The runner saves the checkpoint on KeyboardInterrupt: an interrupt that zipfile turned
    into a ValueError must reach it as the interrupt, leaving no temporary file."""
    import engine.checkpoint as checkpoint

    class FakeState:
        chunks, paths, seconds = 3, 300, 1.0

        def arrays(self):
            return {"a": np.zeros(3)}

    def interrupted_write(path, arrays):
        path.write_bytes(b"half")
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ValueError("Can't close the ZIP file: an open writing handle")  # noqa: B904

    monkeypatch.setattr(checkpoint, "_save", interrupted_write)
    store = checkpoint.CheckpointStore(tmp_path, resume_hint="runway resume X")
    with pytest.raises(KeyboardInterrupt):
        store.save(FakeState())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_the_first_modules_load_is_one_line():
    """Before main() installs its handlers, `python simulate.py` imports numpy (about 0.1 s):
    a Ctrl-C there is "runway: interrupted" and exit 130, not a traceback. The interrupt is
    raised by an import hook, deterministically, where the first Runway module loads."""
    code = f"""
import runpy, sys
class Strike:
    def find_spec(self, name, path=None, target=None):
        if name == "engine.wording":
            raise KeyboardInterrupt
        return None
sys.meta_path.insert(0, Strike())
sys.argv = ["simulate.py", "--help"]
runpy.run_path({str(ROOT / "simulate.py")!r}, run_name="__main__")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "runway: interrupted"
    assert done.stdout == ""


def _blas_threads(tasks: list[int], grids: object) -> list[int]:
    """Run by a worker (or the main process, or one of its threads): its BLAS threads."""
    from threadpoolctl import threadpool_info

    found = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return [max(found) if found else -1 for _ in tasks]


@pytest.mark.parametrize("backend", ["threads", "loky"])
def test_native_threads_are_shared_between_the_workers(backend, monkeypatch):
    """Each of the --jobs workers gets its share of the cores for BLAS: a BLAS call of each
    using every core left twice as many threads as cores (the worked example's correlated
    inputs ran 1.7x slower per chunk)."""
    from engine.pool import THREAD_VARS, available_cores, results_in_order

    for name in THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    chunks = results_in_order(
        lambda i: [i] if i < 6 else None, None, 2, backend=backend, work=_blas_threads
    )
    answers = [n for chunk in chunks for n in chunk]
    if -1 in answers:
        pytest.skip("numpy without a BLAS threadpoolctl knows")
    assert answers == [max(1, available_cores() // 2)] * 6


def test_native_threads_leave_sizes_set_by_the_environment(monkeypatch):
    from engine.pool import native_threads

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert isinstance(native_threads(2), contextlib.nullcontext)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert isinstance(native_threads(1), contextlib.nullcontext)  # one worker: nothing shared


def _uneven(tasks: list[int], grids: object) -> list[int]:
    """A chunk whose time varies (0-8 ms, by its index): results finish out of order."""
    time.sleep((tasks[0] * 7919 % 9) / 1000)
    return tasks


@pytest.mark.parametrize("backend", ["threads", "loky"])
@pytest.mark.parametrize("start", [0, 5])
def test_chunks_come_in_order_once_each_whoever_computes_them(backend, start):
    """This process computes chunks while the others do, and takes a queued one back at the
    end: every chunk is yielded once, in order, from ``start`` on."""
    from engine.pool import results_in_order

    chunks = results_in_order(
        lambda i: [i] if i < 40 else None, None, 2, start=start, backend=backend, work=_uneven
    )
    assert [task for chunk in chunks for task in chunk] == list(range(start, 40))


def test_threads_compute_each_chunk_once():
    """The queued chunk this process takes back at the end is cancelled first: no chunk is
    computed twice (a thread would otherwise keep a core busy, and the exit waiting)."""
    from engine.pool import results_in_order

    computed: list[int] = []
    lock = threading.Lock()

    def counted(tasks: list[int], grids: object) -> list[int]:
        with lock:
            computed.extend(tasks)
        return _uneven(tasks, grids)

    chunks = results_in_order(
        lambda i: [i] if i < 40 else None, None, 2, backend="threads", work=counted
    )
    assert [task for chunk in chunks for task in chunk] == list(range(40))
    assert sorted(computed) == list(range(40))


def test_daemon_threads_run_in_order_skip_cancelled_and_pass_errors_on():
    """The threads backend's executor: calls in order, a call cancelled before it starts is
    skipped, an error reaches its future, and the threads are daemons (an interrupted run
    exits at once, not after the chunk a thread is computing)."""
    from engine.pool import _DaemonThreads

    gate = threading.Event()
    ran: list[int] = []
    threads = _DaemonThreads(1)
    first = threads.submit(lambda: gate.wait(5) and ran.append(1))
    second = threads.submit(ran.append, 2)
    failing = threads.submit(lambda: 1 / 0)
    assert second.cancel()  # queued behind the first: taken back
    gate.set()
    first.result(timeout=5)
    with pytest.raises(ZeroDivisionError):
        failing.result(timeout=5)
    threads.shutdown()
    assert ran == [1]
    assert all(t.daemon for t in threads._threads)
    for t in threads._threads:
        t.join(timeout=5)
        assert not t.is_alive()  # ended by shutdown
