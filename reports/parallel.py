"""Drawing the report's files on several cores: the PDF in one process, the charts in others.

A report is a few independent jobs, each a module-level function of the report's numbers that
returns whole files as bytes (the PDF; a group of charts in every format asked for). A
:class:`Drawing` runs them on joblib's reusable loky pool (the one the simulation uses, with the
same watchdog and worker settings, so a pool left by a run just simulated is reused) or, with one
process, here, one after the other. Either way every job runs the same code on the same numbers,
so the files are the same bytes; only the time differs.

- The pool is started first (:func:`Drawing.__init__`), and its workers import matplotlib while
  this process reads the run directory.
- Warnings raised by a job (a crowded page, ...) are recorded where it ran and raised again here
  in job order, so a report drawn in parallel warns exactly as one drawn here.
- A worker that dies (killed, out of memory) costs nothing but time: its jobs are drawn here,
  with a RunwayWarning. An error in a job, Ctrl-C or SIGTERM stops the workers (they ignore
  Ctrl-C themselves: no traceback from them) and is raised here as it is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

from distributions.errors import RunwayWarning

__all__ = ["Drawing", "Pending"]

#: What a job gives back with its result: its warnings, as (message, category).
_Warnings = list[tuple[str, type[Warning]]]


class Pending:
    """A job submitted to a :class:`Drawing`: its result, once :meth:`Drawing.results` has it."""

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn = fn
        self.args = args
        self.future: Any = None  # on the pool
        self.done: tuple[Any, _Warnings] | None = None  # drawn here


class Drawing:
    """Jobs drawn by ``workers`` processes: this one and a pool of ``workers - 1``.

    Use as a context manager: leaving it by an exception (Ctrl-C included) kills the pool's
    workers. ``submit`` sends a job to the pool (with one process: draws it at once, here);
    ``here`` draws one in this process; ``results`` waits for jobs, in order.
    """

    def __init__(self, workers: int) -> None:
        self.processes = max(1, workers)  # this one and the pool's
        self.executor: Any = None
        if workers > 1:
            start = _executor(workers)
            try:
                with _ctrl_c_blocked():  # for the workers (and loky's trackers) started here
                    self.executor = start()
                    self.executor.submit(warm_up)  # imports overlap this process reading the run
            except OSError:  # no process pool here (no semaphores, ...): everything drawn here
                self.executor, self.processes = None, 1

    def __enter__(self) -> Drawing:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is not None and self.executor is not None:
            from engine.pool import stop_workers

            stop_workers()  # jobs still running are of no use any more

    def submit(self, fn: Callable[..., Any], *args: Any) -> Pending:
        """Draw ``fn(*args)`` on the pool (here and now with one process)."""
        job = Pending(fn, args)
        if self.executor is None:
            job.done = recorded(fn, *args)
            return job
        try:
            job.future = self.executor.submit(recorded, fn, *args)
        except _lost_worker_errors():  # the pool broke before: draw it here
            job.done = self._instead(job)
        return job

    def here(self, fn: Callable[..., Any], *args: Any) -> Pending:
        """Draw ``fn(*args)`` in this process, now."""
        job = Pending(fn, args)
        job.done = recorded(fn, *args)
        return job

    def results(self, jobs: list[Pending]) -> list[Any]:
        """Each job's result, in order; each job's warnings raised again here, in order."""
        out = []
        for job in jobs:
            if job.done is None:
                job.done = self._wait(job)
            result, caught = job.done
            for message, category in caught:
                warnings.warn(message, category, stacklevel=2)
            out.append(result)
        return out

    def _wait(self, job: Pending) -> tuple[Any, _Warnings]:
        from engine.pool import _loky_result

        if self.executor is None:  # stopped when a worker died: the rest is drawn here
            return recorded(job.fn, *job.args)
        try:
            done: tuple[Any, _Warnings] = _loky_result(self.executor, job.future)
        except _lost_worker_errors():
            return self._instead(job)
        return done

    def _instead(self, job: Pending) -> tuple[Any, _Warnings]:
        """A job whose worker died, drawn here (the pool is stopped: it is broken)."""
        from engine.pool import stop_workers

        stop_workers()
        self.executor, self.processes = None, 1
        warnings.warn(
            "report: a worker process died (killed or out of memory); drawing the rest here",
            RunwayWarning,
            stacklevel=4,
        )
        return recorded(job.fn, *job.args)


def recorded(fn: Callable[..., Any], *args: Any) -> tuple[Any, _Warnings]:
    """``fn(*args)`` and the warnings it raised (every one, not only the first of each)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    return result, [(str(w.message), w.category) for w in caught]


def warm_up() -> None:
    """In a new worker: import what drawing needs (matplotlib, the PDF backend, the pages)."""
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_pdf  # noqa: F401

    import reports.compare_page
    import reports.management_page
    import reports.pages  # noqa: F401


def _executor(workers: int) -> Callable[[], Any]:
    """What gets joblib's reusable loky pool with ``workers - 1`` processes (everything it
    needs imported already), set up as the simulation sets up its own
    (:func:`engine.pool._loky_pool`): a watchdog in each worker that also ignores Ctrl-C, the
    same idle timeout and native thread limits. After a run on all cores, its pool is the one
    reused (shrunk by one)."""
    from joblib.executor import get_memmapping_executor

    from engine.pool import IDLE_WORKER_SECONDS, TRACKER_QUIET, _worker_env, watch_main_process

    if TRACKER_QUIET not in sys.warnoptions:  # see engine.pool._loky_pool
        sys.warnoptions.append(TRACKER_QUIET)
    return functools.partial(
        get_memmapping_executor,
        workers - 1,
        max_nbytes=None,
        timeout=IDLE_WORKER_SECONDS,
        initializer=watch_main_process,
        initargs=(os.getpid(),),
        env=_worker_env(workers),
    )


@contextlib.contextmanager
def _ctrl_c_blocked() -> Iterator[None]:
    """Processes started inside never see Ctrl-C: SIGINT is ignored for the block, and a
    process inherits an ignored signal through ``exec``. A terminal's Ctrl-C reaches every
    process of the group, and interrupted a worker still importing (before the pool's
    initializer makes it ignore SIGINT), which printed a traceback. SIGINT is also blocked
    meanwhile, so that one arriving here waits for its handler (Linux keeps a blocked signal
    pending even when ignored). Only in the main thread, where Python handles signals."""
    blockable = hasattr(signal, "pthread_sigmask")
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is None  # a handler Python did not install
    ):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if blockable else None
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _lost_worker_errors() -> tuple[type[BaseException], ...]:
    """How loky tells that a worker died (or that the pool is broken by an earlier death)."""
    from concurrent.futures.process import BrokenProcessPool as StdBrokenProcessPool

    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    return (TerminatedWorkerError, BrokenProcessPool, StdBrokenProcessPool)
