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

import re
import warnings
from collections.abc import Callable
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
            from engine import pool

            try:  # the simulation's pool settings (a pool left by a run is reused, shrunk)
                self.executor = pool.executor(workers - 1)
                pool.submit(self.executor, warm_up)  # imports overlap this process reading
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
        from engine import pool

        job = Pending(fn, args)
        if self.executor is None:
            job.done = recorded(fn, *args)
            return job
        try:
            job.future = pool.submit(self.executor, recorded, fn, *args)
        except pool.lost_worker_errors():  # the pool broke before: draw it here
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
        from engine import pool

        if self.executor is None:  # stopped when a worker died: the rest is drawn here
            return recorded(job.fn, *job.args)
        try:
            done: tuple[Any, _Warnings] = pool.wait(self.executor, job.future)
        except pool.lost_worker_errors():
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


#: matplotlib's warning for each character its font cannot draw (one per character).
_MISSING_GLYPH = re.compile(r"^Glyph \d+ .* missing from font\(s\) (.+?)\.?$")


def recorded(fn: Callable[..., Any], *args: Any) -> tuple[Any, _Warnings]:
    """``fn(*args)`` and the warnings it raised (every one, not only the first of each;
    matplotlib's missing-glyph warnings, one per character, become one RunwayWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(*args)
    out: _Warnings = []
    for w in caught:
        missing = _MISSING_GLYPH.match(str(w.message))
        if missing is None:
            out.append((str(w.message), w.category))
        elif not any(m.startswith("report: the font") for m, _ in out):
            out.append((
                f"report: the font ({missing.group(1)}) has no glyph for some characters of "
                "the scenario's text; they show as empty boxes",
                RunwayWarning,
            ))  # fmt: skip
    return result, out


def warm_up() -> None:
    """In a new worker: import what drawing needs (matplotlib, the PDF backend, the pages)."""
    import matplotlib.backends.backend_agg
    import matplotlib.backends.backend_pdf  # noqa: F401

    import reports.compare_page
    import reports.management_page
    import reports.pages  # noqa: F401
