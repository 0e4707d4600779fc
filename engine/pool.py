"""The workers of a run: how many, and that none outlives the process that started it.

- :func:`resolve_jobs` turns ``--jobs`` into a number of workers (joblib-style negatives count
  back from the cores: -1 all, -2 all but one), capped at the cores, refusing what leaves none.
- :func:`results_in_order` runs the chunks of a run and yields their results in chunk order:
  here (one worker); here and on ``workers - 1`` threads of this process (``backend="threads"``:
  numpy releases the GIL in its array loops); here and on joblib's reusable loky pool of
  ``workers - 1`` local processes; or on the workers of a Dask cluster (``backend="dask"``, the
  optional dask extra). Locally this process computes chunks too, whenever the next result is
  not ready: ``workers`` is the number of cores kept busy. At most two chunks per worker are
  submitted and not yet yielded, so memory stays bounded however long the run. A worker that
  dies (SIGKILL, out of memory) costs the chunks not yet yielded, which are recomputed on a new
  pool (same seeds: same result), a bounded number of times (:class:`WorkersLost` past it).
  Each local worker starts a watchdog thread that ends the worker within about half a second
  once the main process is gone, however it went (even SIGKILL); loky's resource tracker then
  sees its pipe close and removes the pool's semaphores from /dev/shm. When the consumer stops
  early (an error, Ctrl-C, SIGTERM) the local workers are killed, the Dask tasks cancelled.
- :func:`stop_on_signals` makes SIGTERM behave like Ctrl-C (it raises :class:`Terminated`, a
  ``KeyboardInterrupt``), and makes a repeated Ctrl-C / SIGTERM wait for the clean stop instead
  of breaking it (a traceback, or a death by signal on the way out).

Imports nothing heavy: the CLI imports it before knowing whether it will simulate.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from distributions.errors import RunwayError, RunwayWarning, UsageError, did_you_mean
from engine.files import pid_alive

if TYPE_CHECKING:
    from engine.batch import BatchTask, ChunkResult, Grids

# What a pool runs: work(list of tasks, grids) -> one result per chunk.
_Task = TypeVar("_Task")
_Grids = TypeVar("_Grids")
_Result = TypeVar("_Result")

__all__ = [
    "Terminated",
    "WorkersLost",
    "available_cores",
    "executor",
    "interrupt_of",
    "lost_worker_errors",
    "native_threads",
    "resolve_jobs",
    "results_in_order",
    "start_workers",
    "stop_on_signals",
    "stop_workers",
    "submit",
    "threads_map",
    "wait",
    "workers_for",
]

WATCH_SECONDS = 0.5  # how often a worker checks that the main process is still there
ORPHAN_EXIT_CODE = 143  # a worker's exit code when it ends itself because the main process went
FORCE_AFTER_SECONDS = 5.0  # a signal repeated this long after the first one exits at once


class Terminated(KeyboardInterrupt):
    """The process got SIGTERM: stop like Ctrl-C (the CLI exits 143 instead of 130)."""


def interrupt_of(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C / SIGTERM behind ``error``, if one is in its chain of causes: an interrupt
    raised inside library code can come out as another exception (zipfile's "Can't close the
    ZIP file" when it struck while writing a member, Python's RuntimeError when it struck
    while a class body was being set up during an import)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


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
    (-1: all cores, -2: all but one). 0, or a negative leaving no worker: UsageError.
    """
    cores = max(1, int(cores))
    use = "use 1" if cores == 1 else f"use 1 to {cores}"
    plural = "core" if cores == 1 else "cores"
    if jobs is None:
        return cores, None
    jobs = int(jobs)
    if jobs == 0:
        raise UsageError("jobs", "{jobs} 0 leaves no worker; {use}, or -1 for all cores", use=use)
    if jobs < 0:
        workers = cores + 1 + jobs
        if workers < 1:
            raise UsageError(
                "jobs",
                "{jobs} {n} leaves no worker on {cores} {plural}; {use}, or -1 for all cores",
                n=jobs,
                cores=cores,
                plural=plural,
                use=use,
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
BACKENDS = ("threads", "loky", "dask")
CONNECT_SECONDS = 10  # how long to wait for a Dask scheduler (and for its first worker)
CLOSE_SECONDS = 5  # how long closing a Dask client may take
RUNWAY_PACKAGES = ("cashflow", "distributions", "engine", "reports")  # what a worker imports
STUCK_SECONDS = 3.0  # a dead worker with its pool not broken this long: the pool is stuck
IDLE_WORKER_SECONDS = 300  # a local worker left idle this long ends (joblib's default)
FINISH_SECONDS = 30.0  # how long the chunks in flight may take to end when a run stops early
TRACKER_QUIET = "ignore:resource_tracker:UserWarning"  # -W option of loky's resource tracker
THREAD_VARS = (  # native thread pools a local worker limits to its share of the cores
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


class WorkersLost(RunwayError):
    """Workers died more often than the run allows (``retries``); ``next_chunk``: the first
    chunk not yielded, from which a resumed run would go on."""

    def __init__(self, message: str, next_chunk: int) -> None:
        super().__init__(message)
        self.next_chunk = next_chunk


@overload
def results_in_order(
    chunk_at: Callable[[int], list[BatchTask] | None],
    grids: Grids,
    workers: int,
    *,
    start: int = ...,
    backend: str = ...,
    scheduler: str | None = ...,
    retries: int = ...,
    note: Callable[[str], None] | None = ...,
    work: None = ...,
) -> Generator[ChunkResult, None, None]: ...


@overload
def results_in_order(
    chunk_at: Callable[[int], list[_Task] | None],
    grids: _Grids,
    workers: int,
    *,
    start: int = ...,
    backend: str = ...,
    scheduler: str | None = ...,
    retries: int = ...,
    note: Callable[[str], None] | None = ...,
    work: Callable[[list[_Task], _Grids], _Result],
) -> Generator[_Result, None, None]: ...


def results_in_order(
    chunk_at: Callable[[int], list[Any] | None],
    grids: Any,
    workers: int,
    *,
    start: int = 0,
    backend: str = "loky",
    scheduler: str | None = None,
    retries: int = 3,
    note: Callable[[str], None] | None = None,
    work: Callable[[list[Any], Any], Any] | None = None,
) -> Generator[Any, None, None]:
    """``run_chunk(chunk_at(i), grids)`` for i = start, start + 1, ... in order, until
    ``chunk_at(i)`` is None.

    ``work``: the function run on each chunk instead of :func:`engine.batch.run_chunk`, called
    as ``work(chunk_at(i), grids)`` (a module-level function, picklable for the workers; used
    by :mod:`engine.compare`). Everything else is the same whatever it is.

    ``backend``: "threads", this process and ``workers - 1`` threads; "loky", this process and
    ``workers - 1`` local worker processes (with 1 worker, or a single chunk, either runs
    everything here); or "dask", the workers of the Dask cluster whose scheduler is at
    ``scheduler`` (``tcp://HOST:PORT``; UsageError, one line, when it cannot be reached within
    CONNECT_SECONDS), through joblib. At most 2 chunks per worker dispatched ahead; ``chunk_at``
    is called lazily and must be pure.

    A worker that dies (SIGKILL, out of memory; with Dask, a task whose workers died more often
    than the scheduler's allowed-failures) loses the chunks it was running: the pool is torn
    down and the run goes on from the first chunk not yielded yet, told to ``note`` (default: a
    RunwayWarning); no chunk is yielded twice or skipped. After ``retries`` such restarts,
    :class:`WorkersLost`. Stopping early (an error, Ctrl-C, SIGTERM, ``close()``) cancels the
    pending chunks, kills the local workers and closes the Dask client.
    """
    if backend not in BACKENDS:
        hint = did_you_mean(backend, BACKENDS)
        raise UsageError("backend", "unknown backend '{given}'{hint}", given=backend, hint=hint)
    if backend == "dask" and not scheduler:
        raise UsageError(
            "scheduler",
            "{backend} dask needs {scheduler}: the address of a Dask scheduler, "
            "e.g. tcp://127.0.0.1:8786",
        )
    tell = note or _warn
    if work is None:
        from engine.batch import run_chunk

        work = run_chunk

    if backend != "dask" and (workers <= 1 or chunk_at(start + 1) is None):
        i = start
        while (group := chunk_at(i)) is not None:
            yield work(group, grids)
            i += 1
        return

    client: Any = None
    if backend == "threads":
        yield from _threads_pool(chunk_at, grids, workers, start, work)
        return
    if backend == "dask":
        assert scheduler  # a dask backend without a scheduler is refused above
        client = _connect(scheduler)
    try:
        lost = lost_worker_errors(backend)
        first = start  # the first chunk not yielded yet
        restarts = 0
        while True:
            try:
                pool = _pool(chunk_at, grids, workers, first, client, work)
                with contextlib.closing(pool) as out:
                    for result in out:
                        yield result
                        first += 1
                return
            except lost as error:
                what = _what_died(backend, error)
                if restarts >= retries:
                    tried = (
                        "no retry allowed"
                        if retries == 0
                        else f"after {retries} {'retry' if retries == 1 else 'retries'}"
                    )
                    raise WorkersLost(
                        f"{what}; stopped at chunk {first} ({tried})", first
                    ) from None
                restarts += 1
                tell(f"{what}; recomputing from chunk {first} (retry {restarts} of {retries})")
    finally:
        if client is not None:
            _disconnect(client)


def _warn(message: str) -> None:
    warnings.warn(message, RunwayWarning, stacklevel=3)


def _pool(
    chunk_at: Callable[[int], list[_Task] | None],
    grids: _Grids,
    workers: int,
    first: int,
    client: Any,
    work: Callable[[list[_Task], _Grids], _Result],
) -> Generator[_Result, None, None]:
    """One pool's results from chunk ``first`` on: local workers when ``client`` is None,
    else the Dask cluster's."""
    if client is None:
        return _loky_pool(chunk_at, grids, workers, first, work)
    return _dask_pool(chunk_at, grids, client, first, work)


def executor(workers: int) -> Any:
    """joblib's reusable loky executor of ``workers`` processes: the same one (its processes
    kept) for every call with the same ``workers``. Submit to it with :func:`submit`."""
    from joblib.executor import get_memmapping_executor

    # loky's resource tracker (started with the first pool, with these -W options) removes the
    # semaphores of a pool whose workers were killed on a stop, and would warn about each as
    # "leaked" on stderr: the cleanup is its job, the warning only noise for a user.
    if TRACKER_QUIET not in sys.warnoptions:
        sys.warnoptions.append(TRACKER_QUIET)
    return get_memmapping_executor(
        workers,
        max_nbytes=None,  # nothing memory-mapped: no joblib files to leave behind
        timeout=IDLE_WORKER_SECONDS,
        initializer=watch_main_process,  # every new pool's workers, a restarted one's too
        initargs=(os.getpid(),),
        env=_worker_env(workers + 1),  # this process computes too
    )


def submit(pool: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """``pool.submit(fn, *args)`` (a future) with Ctrl-C kept from any worker it starts: loky
    starts missing workers on a submit, and a new process inherits an ignored SIGINT through
    ``exec``. A terminal's Ctrl-C reaches every process of the group, and one that hit a worker
    still importing (before its initializer ignores SIGINT) printed a traceback."""
    with _ctrl_c_blocked():
        return pool.submit(fn, *args)


def wait(pool: Any, future: Any) -> Any:
    """The result of a future of :func:`submit` (its own exception as is; an error of
    :func:`lost_worker_errors` when a worker died), unsticking the pool when a worker died
    unnoticed (see :func:`_loky_result`)."""
    return _loky_result(pool, future)


@contextlib.contextmanager
def _ctrl_c_blocked() -> Iterator[None]:
    """SIGINT ignored (so inherited ignored by the processes started inside) and blocked (so one
    arriving meanwhile waits for the handler: Linux keeps a blocked signal pending even when
    ignored). Only in the main thread, where Python handles signals, and only over Python's own
    handler."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is None  # a handler Python did not install
    ):
        yield
        return
    blockable = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if blockable else None
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _import_the_model() -> int:
    """Run in each worker by :func:`start_workers`: import what simulating a batch needs."""
    import scipy.special  # noqa: F401  (the samplers' kernels import it on first use)

    import engine.batch  # noqa: F401  (the model)

    return os.getpid()


def start_workers(workers: int) -> None:
    """Start the local pool of a run on ``workers`` processes (this one and ``workers - 1``
    others) now, each importing the model, so that their start-up overlaps this process's own
    work (the pilot); nothing for 1. The run then finds the pool ready
    (:func:`results_in_order` uses the same executor)."""
    if workers <= 1:
        return
    pool = executor(workers - 1)
    for _ in range(workers - 1):
        submit(pool, _import_the_model)


def _loky_pool(
    chunk_at: Callable[[int], list[_Task] | None],
    grids: _Grids,
    workers: int,
    first: int,
    work: Callable[[list[_Task], _Grids], _Result],
) -> Generator[_Result, None, None]:
    """Chunks from ``first`` on, computed by this process and joblib's reusable loky pool of
    ``workers - 1`` processes (the one ``joblib.Parallel`` uses): ``workers`` processes in all,
    one per core asked for. Any exception, or closing this generator, cancels the rest and
    kills the workers."""
    pool = executor(workers - 1)
    try:
        yield from _beside_this_process(
            chunk_at,
            first,
            workers,
            here=lambda group: work(group, grids),
            submit=lambda i, group: submit(pool, work, group, grids),
            result_of=lambda future: _loky_result(pool, future),
            cancel=_finish,
        )
    except GeneratorExit:  # the consumer has all it needs: the pool stays for the next run
        raise
    except BaseException:  # an error, Ctrl-C, SIGTERM, a dead worker
        stop_workers()
        raise


def _threads_pool(
    chunk_at: Callable[[int], list[_Task] | None],
    grids: _Grids,
    workers: int,
    first: int,
    work: Callable[[list[_Task], _Grids], _Result],
) -> Generator[_Result, None, None]:
    """Chunks from ``first`` on, computed by this process's thread and ``workers - 1`` others
    (numpy releases the GIL in its array loops, so they run on as many cores). Nothing to start
    or import, nothing pickled. Any exception, or closing this generator, cancels the chunks not
    started; one running in a thread ends on its own (its result unused), and the process does
    not wait for it to exit (:class:`_DaemonThreads`)."""
    threads = _DaemonThreads(workers - 1)
    try:
        yield from _beside_this_process(
            chunk_at,
            first,
            workers,
            here=lambda group: work(group, grids),
            submit=lambda i, group: threads.submit(work, group, grids),
            result_of=lambda future: future.result(),
            cancel=lambda futures: [f.cancel() for f in futures],
            steal=lambda future: future.cancel(),  # a queued chunk: computed here instead
        )
    finally:
        threads.shutdown()


def _beside_this_process(
    chunk_at: Callable[[int], list[_Task] | None],
    first: int,
    workers: int,
    *,
    here: Callable[[list[_Task]], _Result],
    submit: Callable[[int, list[_Task]], Any],
    result_of: Callable[[Any], _Result],
    cancel: Callable[[list[Any]], Any],
    steal: Callable[[Any], bool] | None = None,
) -> Generator[_Result, None, None]:
    """:func:`_ordered` on a local pool of ``workers - 1`` (processes or threads: ``submit``,
    ``result_of``, ``cancel``, ``steal``) beside this process, which computes chunks too
    (``here``); each of the ``workers`` limits its native threads to its share of the cores."""
    with native_threads(workers):
        yield from _ordered(
            chunk_at,
            first,
            window=2 * (workers - 1),
            submit=submit,
            result_of=result_of,
            cancel=cancel,
            here=here,
            steal=steal,
        )


class _DaemonThreads:
    """``n`` daemon threads running what is submitted, in order, each call's outcome in a
    :class:`concurrent.futures.Future` (cancelled before it starts: skipped). What
    ThreadPoolExecutor does, except that the process does not wait at exit for a call still
    running: an interrupted run exits at once instead of after its threads' chunks."""

    def __init__(self, n: int) -> None:
        import queue

        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"runway-batch-{i}", daemon=True)
            for i in range(n)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures import Future

        future: Future[Any] = Future()
        self._queue.put((future, fn, args))
        return future

    def shutdown(self) -> None:
        """The threads end once the calls submitted are done or cancelled."""
        for _ in self._threads:
            self._queue.put(None)

    def _serve(self) -> None:
        while (item := self._queue.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as error:  # to the caller, through the future
                future.set_exception(error)
            else:
                future.set_result(result)


def threads_map(fn: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list[Any]:
    """``[fn(item) for item in items]``, computed as a run's chunks on threads
    (:func:`_threads_pool`: this thread and ``workers - 1`` others). The same results whatever
    ``workers``, for an ``fn`` that depends on its item only; an exception (Ctrl-C included)
    cancels the items not started and is raised here."""
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]

    def chunk_at(i: int) -> list[Any] | None:
        return [items[i]] if i < len(items) else None

    return list(
        _threads_pool(chunk_at, None, min(workers, len(items)), 0, lambda one, _: fn(one[0]))
    )


def _finish(futures: list[Any]) -> None:
    """The chunks still in flight when the loky generator ends early. Never cancelled: loky's
    manager thread dies on a future cancelled under it while the pool shuts down
    (InvalidStateError), at worst hanging the stop. When the consumer simply has enough (a run
    to a precision: GeneratorExit), they are let end (at most the window) and the pool is kept;
    on an error or an interrupt the caller kills the pool, which fails them itself."""
    import concurrent.futures

    if isinstance(sys.exc_info()[1], GeneratorExit):
        concurrent.futures.wait(futures, timeout=FINISH_SECONDS)


def _loky_result(executor: Any, future: Any) -> Any:
    """The result of a chunk's future (its own exception as is; TerminatedWorkerError or
    BrokenProcessPool when a worker died).

    loky notices a dead worker at once, except one killed while it was sending its result:
    the pool's manager thread then waits forever for the rest of that message. When a worker
    has been dead for STUCK_SECONDS and the chunk is still not done, the pool is unstuck (see
    :func:`_unstick`), which breaks it the ordinary way."""
    from concurrent.futures import TimeoutError as FutureTimeout

    dead_since: float | None = None
    while True:
        try:
            return future.result(timeout=WATCH_SECONDS)
        except FutureTimeout:
            pass
        if not _has_dead_worker(executor):
            dead_since = None
        elif dead_since is None:
            dead_since = time.monotonic()
        elif time.monotonic() - dead_since > STUCK_SECONDS:
            _unstick(executor)
            dead_since = None


def _has_dead_worker(executor: Any) -> bool:
    try:
        return any(p.exitcode is not None for p in list(executor._processes.values()))
    except Exception:  # loky's internals changed: rely on loky alone
        return False


def _unstick(executor: Any) -> None:
    """End a pool whose manager thread waits for the rest of a dead worker's message: kill the
    workers and drop the main process's end of the result pipe, so that the manager thread
    reads the end of the pipe and marks the pool broken (failing its pending futures)."""
    with contextlib.suppress(Exception):
        processes = list(executor._processes.values())
        for process in processes:
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGKILL)
        for process in processes:
            process.join(timeout=STUCK_SECONDS)
        # Not close(): the manager thread closes it too once the pool is broken. Pointing the
        # descriptor at /dev/null drops this end of the pipe and leaves one to close.
        writer = executor._result_queue._writer.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, writer)
        finally:
            os.close(null)


def _dask_pool(
    chunk_at: Callable[[int], list[_Task] | None],
    grids: _Grids,
    client: Any,
    first: int,
    work: Callable[[list[_Task], _Grids], _Result],
) -> Generator[_Result, None, None]:
    """Chunks from ``first`` on, as tasks of the Dask cluster of ``client`` (two per worker
    thread); any exception, or closing this generator, cancels the tasks not yielded."""
    from uuid import uuid4

    def submit(i: int, group: list[_Task]) -> Any:
        key = f"runway-chunk-{i}-{uuid4().hex}"
        return client.submit(work, group, grids, key=key, pure=False)

    def cancel(futures: list[Any]) -> None:
        with contextlib.suppress(Exception):
            client.cancel(futures)

    yield from _ordered(
        chunk_at,
        first,
        window=2 * _threads(client),
        submit=submit,
        result_of=lambda future: _dask_result(future, client),
        cancel=cancel,
    )


def _ordered(
    chunk_at: Callable[[int], list[_Task] | None],
    first: int,
    *,
    window: int,
    submit: Callable[[int, list[_Task]], Any],
    result_of: Callable[[Any], _Result],
    cancel: Callable[[list[Any]], Any],
    here: Callable[[list[_Task]], _Result] | None = None,
    steal: Callable[[Any], bool] | None = None,
) -> Generator[_Result, None, None]:
    """The results of chunks ``first``, ``first + 1``, ... in order: each chunk is submitted
    (``submit(i, chunk)`` returns its future) as soon as fewer than ``window`` chunks are
    submitted and not yet yielded, so at most ``window`` results are ever held, and
    ``chunk_at`` is called no further ahead. On any exception, or when closed, the futures not
    yielded are cancelled (``cancel``).

    ``here``: this process computes chunks too (``here(chunk)``: its result). Whenever the next
    chunk to yield is not ready, it takes the next chunk not yet submitted instead of waiting
    (holding at most ``2 * window`` results of its own). ``steal(future)``: take a submitted
    chunk back when it has not started (True: it will not run); with no chunk left to submit,
    this process then computes the last queued chunk instead of waiting for it."""
    pending: dict[int, Any] = {}  # chunk -> its future, in chunk order
    groups: dict[int, list[_Task]] = {}  # chunk -> its tasks, for a chunk taken back
    mine: dict[int, _Result] = {}  # chunks computed here, not yet yielded
    following = first  # the next chunk to submit
    ended = False
    try:
        done = first  # the next chunk to yield
        while True:
            while not ended and len(pending) < max(1, window):
                group = chunk_at(following)
                if group is None:
                    ended = True
                    break
                pending[following] = submit(following, group)
                groups[following] = group
                following += 1
            if done in mine:
                result = mine.pop(done)
            elif done not in pending:
                return
            elif here is None or pending[done].done() or len(mine) >= 2 * max(1, window):
                result = result_of(pending.pop(done))
            else:  # not ready: work here meanwhile
                group = None if ended else chunk_at(following)
                if group is not None:
                    mine[following] = here(group)
                    following += 1
                    continue
                ended = True
                taken = _take_back(pending, steal)
                if taken is not None:
                    mine[taken] = here(groups[taken])
                    continue
                result = result_of(pending.pop(done))
            groups.pop(done, None)
            done += 1
            yield result
    finally:
        if pending:
            cancel(list(pending.values()))
            pending.clear()


def _take_back(pending: dict[int, Any], steal: Callable[[Any], bool] | None) -> int | None:
    """The last chunk of ``pending`` that ``steal`` could take back before it started (removed
    from ``pending``), or None."""
    if steal is None:
        return None
    for i in sorted(pending, reverse=True):
        if not pending[i].done() and steal(pending[i]):
            del pending[i]
            return i
    return None


def _worker_env(workers: int) -> dict[str, str]:
    """What joblib gives its loky workers: native thread pools (BLAS, OpenMP) limited to the
    share of the cores of one of ``workers`` computing processes, unless the environment sets
    them."""
    threads = str(_share(workers))
    return {name: os.environ.get(name, threads) for name in THREAD_VARS}


def _share(workers: int) -> int:
    """Native threads (BLAS, OpenMP) per worker when ``workers`` compute at once."""
    return max(1, available_cores() // max(1, workers))


def native_threads(workers: int) -> contextlib.AbstractContextManager[Any]:
    """This process's native thread pools (BLAS, OpenMP) limited to its share while
    ``workers`` compute at once (its own threads included): a BLAS call of each worker using
    every core would leave ``workers`` times more threads than cores (the worked example's
    correlated inputs ran 1.7x slower per chunk that way). Nothing when the environment sets
    the pools' sizes (:data:`THREAD_VARS`) or with one worker."""
    if workers <= 1 or any(name in os.environ for name in THREAD_VARS):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    limits: contextlib.AbstractContextManager[Any] = threadpool_limits(limits=_share(workers))
    return limits


def _threads(client: Any) -> int:
    """The worker threads of the cluster; waits up to CONNECT_SECONDS for a first worker."""
    threads: int = sum(client.nthreads().values())
    if threads:
        return threads
    try:
        client.wait_for_workers(1, timeout=CONNECT_SECONDS)
    except Exception:  # dask's TimeoutError
        raise UsageError(
            "scheduler",
            "{scheduler} {address}: the Dask scheduler has no workers (none joined within "
            "{seconds} s)",
            address=client.scheduler.address,
            seconds=CONNECT_SECONDS,
        ) from None
    threads = sum(client.nthreads().values())
    return threads


def _dask_result(future: Any, client: Any) -> Any:
    """The result of a chunk's task (its own exception as is; KilledWorker for the caller)."""
    from concurrent.futures import CancelledError

    try:
        return future.result()
    except CancelledError:  # the scheduler went away (or cancelled the task)
        raise RunwayError(
            f"--scheduler {client.scheduler.address}: lost the Dask scheduler during the run"
        ) from None
    except ModuleNotFoundError as error:  # a worker without Runway could not load the chunk
        if (error.name or "").split(".")[0] not in RUNWAY_PACKAGES:
            raise
        raise RunwayError(
            f"--scheduler {client.scheduler.address}: the Dask workers cannot import Runway "
            f"({error}); install it where they run (pip install -e '.[dask]')"
        ) from None


def lost_worker_errors(backend: str = "loky") -> tuple[type[BaseException], ...]:
    """The exceptions by which joblib tells that a worker died under a chunk (or that the pool
    is broken by an earlier death)."""
    from concurrent.futures.process import BrokenProcessPool as StdBrokenProcessPool

    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError

    errors: tuple[type[BaseException], ...] = (
        TerminatedWorkerError,
        BrokenProcessPool,
        StdBrokenProcessPool,
    )
    if backend == "dask":
        from distributed import KilledWorker

        errors += (KilledWorker,)
    return errors


def _what_died(backend: str, error: BaseException) -> str:
    if backend == "dask":
        return (
            "Dask workers died running a chunk more often than the scheduler allows "
            f"({type(error).__name__})"
        )
    return "a worker process died (killed or out of memory)"


def _connect(scheduler: str) -> Any:
    """A client of the Dask scheduler at ``scheduler``, or a one-line UsageError."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            "backend",
            "{backend} dask needs the dask extra: pip install -e '.[dask]' "
            "(or pip install 'dask[distributed]')",
        ) from None
    try:
        return Client(
            scheduler,
            timeout=CONNECT_SECONDS,
            set_as_default=False,
            direct_to_workers=False,
        )
    except Exception as error:  # OSError (timed out, refused), ValueError (bad address), ...
        reason = " ".join(str(error).split()) or type(error).__name__
        if len(reason) > 160:
            reason = reason[:157] + "..."
        raise UsageError(
            "scheduler",
            "{scheduler} {address}: cannot reach the Dask scheduler within {seconds} s ({reason})",
            address=scheduler,
            seconds=CONNECT_SECONDS,
            reason=reason,
        ) from None


def _disconnect(client: Any) -> None:
    """Close a Dask client (its futures are released: the scheduler cancels their tasks)."""
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.close(timeout=CLOSE_SECONDS)


def stop_workers() -> None:
    """Kill the workers of loky's reusable pool, if it has any, and wait until they are gone."""
    if "joblib" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is None:
        return
    _quiet_manager_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        terminate = getattr(executor, "terminate", None)  # joblib's: also its temporary folders
        if terminate is not None:
            terminate(kill_workers=True)
        else:
            executor.shutdown(wait=True, kill_workers=True)


def _quiet_manager_threads() -> None:
    """A killed pool's loky manager thread may die of a race in loky's own shutdown; its
    traceback is noise to a user (the pool is gone either way), so it is not printed."""
    previous = threading.excepthook
    if getattr(previous, "runway_quiet", False):
        return

    def hook(args: Any) -> None:
        if args.thread is not None and args.thread.name == "ExecutorManagerThread":
            return
        previous(args)

    hook.runway_quiet = True  # type: ignore[attr-defined]
    threading.excepthook = hook


# ----- in each worker: a watchdog -----------------------------------------------------------
_watching = False


def watch_main_process(main_pid: int) -> None:
    """Worker initializer: start (once per process) a daemon thread that ends this worker with
    ``os._exit`` as soon as the main process ``main_pid`` is gone; and ignore SIGINT. A
    terminal's Ctrl-C reaches the whole process group: the main process stops the run (and
    its workers); a worker interrupted on its own would only print loky's traceback."""
    global _watching
    if _watching or os.getpid() == main_pid:
        return
    _watching = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


# ----- in the main process: SIGTERM like Ctrl-C ---------------------------------------------
#: The command that resumes the current run, for the message of a second Ctrl-C.
resume_hint = ""


def stop_on_signals(grace: float = FORCE_AFTER_SECONDS) -> Callable[..., None]:
    """SIGTERM raises :class:`Terminated`, SIGINT ``KeyboardInterrupt`` (each only where it had
    its default action), once; until the returned function ``restore`` is called.

    A second signal before ``restore`` exits at once (``os._exit``, saying so and, when
    :data:`resume_hint` is set, how to resume from the last checkpoint); after ``restore`` one
    repeated within ``grace`` seconds of the first is ignored. ``restore()`` puts the previous
    handlers back; when a signal came, only once the grace has passed.
    ``restore(exiting=True)``, for a process about to exit after a signal:
    further SIGINT / SIGTERM are ignored (the interpreter's shutdown resets Python handlers, so
    a late repeated signal would otherwise kill it with that signal instead of its exit code).
    Does nothing outside the main thread (where Python cannot set signal handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda exiting=False: None
    first: float | None = None  # when the first signal came
    first_signum: int = signal.SIGINT
    running = True  # restore not called yet

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal first, first_signum
        if first is None:
            first, first_signum = time.monotonic(), signum
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if running:  # a second Ctrl-C: exit at once (files are written atomically, so the last
            # checkpoint is whole; the workers' watchdogs follow), as the first signal asked
            signum = first_signum
            stop = "terminated" if signum == signal.SIGTERM else "interrupted"
            kept = (
                f"; the last checkpoint is kept: resume with: {resume_hint}" if resume_hint else ""
            )
            os.write(2, f"runway: {stop} again: stopped at once{kept}\n".encode())
            os._exit(143 if signum == signal.SIGTERM else 130)
        if time.monotonic() - first <= grace:
            return
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
