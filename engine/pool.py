"""The worker processes of a run: how many, and that none outlives the process that started it.

- :func:`resolve_jobs` turns ``--jobs`` into a number of workers (joblib-style negatives count
  back from the cores: -1 all, -2 all but one), capped at the cores, refusing what leaves none.
- :func:`results_in_order` runs the chunks of a run on a loky pool (joblib) and yields their
  results in submission order. Each worker starts a watchdog thread that ends the worker within
  about half a second once the main process is gone, however it went (even SIGKILL); loky's
  resource tracker then sees its pipe close and removes the pool's semaphores from /dev/shm.
  When the consumer stops early (an error, Ctrl-C, SIGTERM) the pool's workers are killed.
- :func:`stop_on_signals` makes SIGTERM behave like Ctrl-C (it raises :class:`Terminated`, a
  ``KeyboardInterrupt``), and makes a repeated Ctrl-C / SIGTERM wait for the clean stop instead
  of breaking it (a traceback, or a death by signal on the way out).

Imports nothing heavy: the CLI imports it before knowing whether it will simulate.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from distributions.errors import RunwayWarning, ScenarioError

if TYPE_CHECKING:
    from engine.batch import BatchTask, ChunkResult, Grids

__all__ = [
    "Terminated",
    "available_cores",
    "resolve_jobs",
    "results_in_order",
    "stop_on_signals",
    "stop_workers",
    "workers_for",
]

WATCH_SECONDS = 0.5  # how often a worker checks that the main process is still there
ORPHAN_EXIT_CODE = 143  # a worker's exit code when it ends itself because the main process went
FORCE_AFTER_SECONDS = 5.0  # a signal repeated this long after the first one exits at once


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM: stop like Ctrl-C (the CLI exits 143 instead of 130)."""


# ----- how many workers ---------------------------------------------------------------------
def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    total = os.cpu_count() or 1
    try:
        allowed = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        allowed = total
    return max(1, min(allowed, total))


def resolve_jobs(jobs: int | None, cores: int) -> tuple[int, str | None]:
    """Workers for ``--jobs`` on ``cores`` cores, and a note when the request was capped.

    None: all cores. n >= 1: n, at most ``cores``. Negative, joblib-style: ``cores + 1 + jobs``
    (-1: all cores, -2: all but one). 0, or a negative leaving no worker: ScenarioError.
    """
    cores = max(1, int(cores))
    use = "use 1" if cores == 1 else f"use 1 to {cores}"
    plural = "core" if cores == 1 else "cores"
    if jobs is None:
        return cores, None
    jobs = int(jobs)
    if jobs == 0:
        raise ScenarioError(f"--jobs 0 leaves no worker; {use}, or -1 for all cores")
    if jobs < 0:
        workers = cores + 1 + jobs
        if workers < 1:
            raise ScenarioError(
                f"--jobs {jobs} leaves no worker on {cores} {plural}; {use}, or -1 for all cores"
            )
        return workers, None
    if jobs > cores:
        return cores, f"--jobs {jobs} is more than the {cores} {plural} here; using {cores}"
    return jobs, None


def workers_for(jobs: int | None) -> int:
    """:func:`resolve_jobs` on this machine's cores; a capped request is told as a RunwayWarning."""
    workers, note = resolve_jobs(jobs, available_cores())
    if note:
        warnings.warn(note, RunwayWarning, stacklevel=2)
    return workers


# ----- the pool -----------------------------------------------------------------------------
def results_in_order(
    groups: list[list[BatchTask]], grids: Grids, jobs: int
) -> Iterator[ChunkResult]:
    """``run_chunk(group, grids)`` for each group, in order; on ``jobs`` worker processes when
    there is more than one of each (else here). Stopping early kills the workers."""
    from engine.batch import run_chunk

    if jobs == 1 or len(groups) <= 1:
        for group in groups:
            yield run_chunk(group, grids)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(
        n_jobs=jobs,
        return_as="generator",
        max_nbytes=None,  # nothing memory-mapped: no joblib files to leave behind
        initializer=watch_main_process,
        initargs=(os.getpid(),),
    )
    outputs = None
    try:
        outputs = parallel(delayed(run_chunk)(group, grids) for group in groups)
        # Not `yield from`: that would close `outputs` before the handler below could silence
        # joblib's warning about the cancelled tasks.
        for result in outputs:  # noqa: UP028
            yield result
    except BaseException:  # an error, Ctrl-C, SIGTERM, or the consumer gone (GeneratorExit)
        if outputs is not None:
            with warnings.catch_warnings():  # not joblib's "tasks ... have been cancelled"
                warnings.simplefilter("ignore")
                outputs.close()  # joblib aborts: kills the workers
        stop_workers()
        raise


def stop_workers() -> None:
    """Kill the workers of loky's reusable pool, if it has any, and wait until they are gone."""
    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        terminate = getattr(executor, "terminate", None)  # joblib's: also its temporary folders
        if terminate is not None:
            terminate(kill_workers=True)
        else:
            executor.shutdown(wait=True, kill_workers=True)


# ----- in each worker: a watchdog -----------------------------------------------------------
_watching = False


def watch_main_process(main_pid: int) -> None:
    """Worker initializer: start (once per process) a daemon thread that ends this worker with
    ``os._exit`` as soon as the main process ``main_pid`` is gone."""
    global _watching
    if _watching or os.getpid() == main_pid:
        return
    _watching = True
    parent = os.getppid()
    thread = threading.Thread(
        target=_watch, args=(main_pid, parent), name="runway-watchdog", daemon=True
    )
    thread.start()


def _watch(main_pid: int, parent: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        # A child of the main process is re-parented (to init or a subreaper) once it is gone.
        gone = os.getppid() != main_pid if parent == main_pid else not _alive(main_pid)
        if gone:
            os._exit(ORPHAN_EXIT_CODE)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


# ----- in the main process: SIGTERM like Ctrl-C ---------------------------------------------
def stop_on_signals(grace: float = FORCE_AFTER_SECONDS) -> Callable[..., None]:
    """SIGTERM raises :class:`Terminated`, SIGINT ``KeyboardInterrupt`` (each only where it had
    its default action), once; until the returned function ``restore`` is called.

    A signal repeated within ``grace`` seconds of the first is ignored, so that the stop the
    first one started (workers killed, files removed) completes without a second exception
    breaking it; a later one, before ``restore``, exits at once (``os._exit``: the stop seems
    stuck). ``restore()`` puts the previous handlers back; when a signal came, only once the
    grace has passed. ``restore(exiting=True)``, for a process about to exit after a signal:
    further SIGINT / SIGTERM are ignored (the interpreter's shutdown resets Python handlers, so
    a late repeated signal would otherwise kill it with that signal instead of its exit code).
    Does nothing outside the main thread (where Python cannot set signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda exiting=False: None
    first: float | None = None  # when the first signal came
    running = True  # restore not called yet

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal first
        if first is None:
            first = time.monotonic()
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if time.monotonic() - first <= grace:
            return
        if running:  # the stop seems stuck: give up on it
            stop = "terminated" if signum == signal.SIGTERM else "interrupted"
            os.write(2, f"runway: {stop} (forced)\n".encode())
            os._exit(143 if signum == signal.SIGTERM else 130)  # the workers' watchdogs follow
        put_back()  # the grace is over: the signal does what it did before
        signal.raise_signal(signum)

    previous: dict[int, Any] = {}
    for signum, default in (
        (signal.SIGTERM, signal.SIG_DFL),
        (signal.SIGINT, signal.default_int_handler),
    ):
        if signal.getsignal(signum) is default:
            previous[signum] = signal.signal(signum, on_signal)

    def put_back() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        previous.clear()

    def restore(exiting: bool = False) -> None:
        nonlocal running
        running = False
        if first is not None and exiting:
            for signum in list(previous):
                signal.signal(signum, signal.SIG_IGN)
            previous.clear()
        elif first is None or time.monotonic() - first > grace:
            put_back()

    return restore
