"""Progress of a long run: a tqdm bar on a terminal, timestamped lines in a log, or nothing.

The runner drives a :class:`Reporter`: ``start(total, done)`` once, ``update(done, estimate)``
after each merged chunk (cumulative paths done and the running answer to the headline
question), ``note(text)`` for a one-line message, ``close()`` at the end (idempotent).
:func:`reporter_for` turns the ``progress`` option (``"auto"``, ``"bar"``, ``"lines"``,
``None``/``"none"``, a Reporter, or a callable) into one.

- The bar (:class:`BarReporter`) is tqdm (imported only when a bar starts): paths done of the
  total, paths per second, ETA and the estimate with its 95% CI, fitted to the terminal width
  (the layout tightens on narrow terminals, an 80-column one included).
- The lines (:class:`LinesReporter`) are for a stream that is not a terminal (a log file,
  cron): ``2026-11-26 03:12:05 runway: 4,194,304 / 10,000,000 paths (41.9%), 1,480,000
  paths/s, ETA 00:03:55, P(before 2026-01-01) 27.5% (95% CI 27.4–27.6%)`` at most every
  minute or every 10% of the total, whichever comes first, and a last line at close.

Rates and ETAs count only the work done since ``start()``: a run resumed from a checkpoint
does not claim the paths it found already done. This module imports nothing heavy.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import math
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TextIO, runtime_checkable

from engine.wording import pct, pct_ci

if TYPE_CHECKING:
    from engine.results import Answer

__all__ = [
    "BarReporter",
    "CallbackReporter",
    "LinesReporter",
    "NullReporter",
    "Reporter",
    "reporter_for",
]

NAME = "runway"  # the prefix of every line, as the CLI's other messages on stderr


@runtime_checkable
class Reporter(Protocol):
    def start(self, total_paths: int | None, done_paths: int = 0) -> None:
        """``total_paths`` None: not known in advance (a run to a precision: paths done, rate
        and estimate, no ETA). ``done_paths`` > 0: a resumed run (rate and ETA count only the
        new work)."""

    def update(self, done_paths: int, estimate: Answer | None) -> None:
        """After each merged chunk: cumulative paths done and the running headline estimate."""

    def note(self, text: str) -> None:
        """A one-line message, printed without breaking the bar."""

    def close(self) -> None:
        """Idempotent; what was shown stays on screen and ends with a newline."""


# ----- text ---------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return pct(x)[:-1]


def bar_estimate(a: Answer, *, style: str = "long") -> str:
    """``P(before 2026-01-01) 27.5% [27.4–27.6]``; style "short": ``P(<2026-01-01) ...``,
    "tiny": ``P=27.5% [27.4–27.6]`` (the narrowest terminals)."""
    lo, hi = a.ci95
    what = {
        "long": f"P(before {a.before.isoformat()}) ",
        "short": f"P(<{a.before.isoformat()}) ",
        "tiny": "P=",
    }[style]
    return f"{what}{_pct(a.probability)}% [{_pct(lo)}–{_pct(hi)}]"


def line_estimate(a: Answer) -> str:
    """``P(before 2026-01-01) 27.5% (95% CI 27.4–27.6%)``."""
    lo, hi = a.ci95
    return f"P(before {a.before.isoformat()}) {pct_ci(a.probability, lo, hi)}"


def format_rate(rate: float | None) -> str:
    """Paths per second to three significant figures: ``1,480,000``, ``12,300``, ``4.56``."""
    if rate is None or not math.isfinite(rate) or rate <= 0:
        return "?"
    if rate >= 100:
        digits = math.floor(math.log10(rate)) + 1
        return f"{round(rate, 3 - digits):,.0f}"
    return f"{rate:.3g}"


def format_duration(seconds: float | None) -> str:
    """``HH:MM:SS``; ``3d 04:05:06`` beyond a day; ``?`` when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    hms = f"{hours:02d}:{minutes:02d}:{s:02d}"
    return f"{days}d {hms}" if days else hms


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


# ----- nothing, or a callable ---------------------------------------------------------------
class NullReporter:
    """Shows no progress (``None``, ``"none"``, the CLI's ``--quiet``). A note is not progress
    (e.g. a worker died): it is still printed, one line on the stream."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def start(self, total_paths: int | None, done_paths: int = 0) -> None:
        pass

    def update(self, done_paths: int, estimate: Answer | None) -> None:
        pass

    def note(self, text: str) -> None:
        _say(self._stream or sys.stderr, f"{NAME}: {text}")

    def close(self) -> None:
        pass


class CallbackReporter:
    """Calls ``fn(done_paths, total_paths)`` after each chunk, or ``fn(done_paths,
    total_paths, estimate)`` when ``with_estimate``; notes go to the stream as one line."""

    def __init__(
        self, fn: Callable[..., Any], *, with_estimate: bool, stream: TextIO | None = None
    ) -> None:
        self.fn = fn
        self.with_estimate = with_estimate
        self._stream = stream
        self._total: int | None = None

    def start(self, total_paths: int | None, done_paths: int = 0) -> None:
        self._total = total_paths

    def update(self, done_paths: int, estimate: Answer | None) -> None:
        if self.with_estimate:
            self.fn(done_paths, self._total, estimate)
        else:
            self.fn(done_paths, self._total)

    def note(self, text: str) -> None:
        _say(self._stream or sys.stderr, f"{NAME}: {text}")

    def close(self) -> None:
        pass


# ----- plain lines --------------------------------------------------------------------------
def _quiet_seconds() -> float:
    """Seconds before a log's first progress line: RUNWAY_PROGRESS_AFTER, default 10."""
    try:
        return max(0.0, float(os.environ.get("RUNWAY_PROGRESS_AFTER", "10")))
    except ValueError:
        return 10.0


class LinesReporter:
    """Timestamped plain lines for a log: at most one every ``interval`` seconds or every
    ``step`` of the total (whichever comes first), and a last one at close if paths were done
    since the previous line. A run shorter than ``after`` seconds prints nothing (its answer is
    all a log needs). ``clock`` (seconds, monotonic) and ``now`` (local time of day printed on
    each line) are injectable for tests."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = 60.0,
        step: float = 0.10,
        after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = dt.datetime.now,
    ) -> None:
        self._stream = stream
        self.interval = interval
        self.step = step
        self.after = _quiet_seconds() if after is None else after
        self._spoke = False
        self._clock = clock
        self._now = now
        self._total: int | None = None
        self._started = False
        self._closed = False
        self._t0 = 0.0
        self._done0 = 0
        self._done = 0
        self._estimate: Answer | None = None
        self._last_t = 0.0
        self._last_done = 0

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def start(self, total_paths: int | None, done_paths: int = 0) -> None:
        self._total = total_paths
        self._started, self._closed = True, False
        self._t0 = self._last_t = self._clock()
        self._done0 = self._done = self._last_done = done_paths
        self._estimate = None

    def update(self, done_paths: int, estimate: Answer | None) -> None:
        if not self._started:
            self.start(None)
        self._done = done_paths
        if estimate is not None:
            self._estimate = estimate
        t = self._clock()
        due = t - self._last_t >= self.interval
        if self._total:
            due = due or done_paths - self._last_done >= self.step * self._total
        if due and done_paths > self._last_done and t - self._t0 >= self.after:
            self._emit(t)

    def note(self, text: str) -> None:
        _say(self.stream, f"{self._stamp()} {NAME}: {text}")

    def close(self) -> None:
        t = self._clock()
        late = self._spoke or t - self._t0 >= self.after
        if self._started and not self._closed and self._done > self._last_done and late:
            self._emit(t)
        self._closed = True

    def _stamp(self) -> str:
        return self._now().strftime("%Y-%m-%d %H:%M:%S")

    def _emit(self, t: float) -> None:
        _say(self.stream, f"{self._stamp()} {NAME}: {self.text(t)}")
        self._last_t, self._last_done, self._spoke = t, self._done, True

    def text(self, t: float) -> str:
        """The line at clock time ``t`` (without timestamp and name)."""
        done, total = self._done, self._total
        elapsed = t - self._t0
        rate = (done - self._done0) / elapsed if elapsed > 0 else None
        parts = []
        if total:
            share = math.floor(1000 * done / total) / 10  # never 100.0% before the end
            parts.append(f"{done:,} / {total:,} paths ({share:.1f}%)")
        else:
            parts.append(f"{done:,} paths")
        parts.append(f"{format_rate(rate)} paths/s")
        if total and done >= total:
            parts.append(f"elapsed {format_duration(elapsed)}")
        elif total:
            eta = (total - done) / rate if rate else None
            parts.append(f"ETA {format_duration(eta)}")
        if self._estimate is not None:
            parts.append(line_estimate(self._estimate))
        return ", ".join(parts)


# ----- the bar ------------------------------------------------------------------------------
MIN_BAR = 10  # narrowest bar worth keeping a richer layout for


def _layouts(total_known: bool, estimate: Answer | None) -> list[tuple[str, int]]:
    """Bar formats from the richest to the tightest, each with the narrowest bar it accepts
    (0: no bar); the first that fits the terminal is used."""

    def est(style: str) -> str:
        if estimate is None:
            return ""
        return " " + bar_estimate(estimate, style=style).replace("{", "{{").replace("}", "}}")

    if not total_known:  # a run to a precision: no bar, no ETA
        head = "{n_fmt} paths [{elapsed}, {rate_fmt}]"
        return [
            (head + est("long"), 0),
            (head + est("short"), 0),
            ("{n_fmt} paths {rate_short}" + est("tiny"), 0),
        ]
    head = "{l_bar}{bar}| {n_fmt}/{total_fmt}"
    tight = "{percentage:3.0f}% {n_fmt}/{total_fmt} {rate_short} ETA {remaining}"
    return [
        (head + " [{elapsed}<{remaining}, {rate_fmt}]" + est("long"), MIN_BAR),
        (head + " [{elapsed}<{remaining}, {rate_fmt}]" + est("short"), MIN_BAR),
        (head + " {rate_short} ETA {remaining}" + est("short"), 4),
        (tight + est("short"), 0),
        (tight + est("tiny"), 0),
    ]


@functools.cache
def _bar_class() -> type:
    """A tqdm subclass that shows the estimate and fits its layout to the terminal width."""
    from tqdm import tqdm
    from tqdm.utils import disp_len

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: updates come from the runner's loop
        estimate: Answer | None = None
        nrows: int | None  # set by tqdm; annotated here as tqdm has no type information

        def display(self, msg: str | None = None, pos: int | None = None) -> Any:
            if self.nrows is not None and self.nrows <= 0:  # a terminal that reports no size:
                self.nrows = None  # tqdm would take the bar for one below the screen and hide it
            return super().display(msg, pos)

        @property
        def format_dict(self) -> dict:
            d: dict = super().format_dict
            ncols = d.get("ncols")
            if ncols is not None and ncols <= 0:  # a terminal that reports no size
                ncols = 79
            rate = d.get("rate")
            if rate is None and d["elapsed"]:
                rate = (d["n"] - d["initial"]) / d["elapsed"]
            d["rate_short"] = (self.format_sizeof(rate) if rate else "?") + "/s"
            layouts = _layouts(d["total"] is not None, self.estimate)
            chosen = layouts[-1][0]
            if ncols is None:
                chosen = layouts[0][0]
            else:
                for fmt, min_bar in layouts:
                    probe = self.format_meter(**{**d, "bar_format": fmt, "ncols": None})
                    has_bar = "{bar}" in fmt
                    width = disp_len(probe) - (10 if has_bar else 0)  # unsized bar: 10 cells
                    if width + (min_bar if has_bar else 0) <= ncols:
                        chosen = fmt
                        break
            d["bar_format"], d["ncols"] = chosen, ncols
            return d

    return Bar


class BarReporter:
    """A tqdm progress bar on ``stream`` (default: sys.stderr when the bar starts)."""

    def __init__(self, stream: TextIO | None = None, *, mininterval: float = 0.5) -> None:
        self._stream = stream
        self.mininterval = mininterval
        self._bar: Any = None

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def start(self, total_paths: int | None, done_paths: int = 0) -> None:
        self.close()
        self._bar = _bar_class()(
            total=total_paths,
            initial=done_paths,
            unit="paths",
            unit_scale=True,
            dynamic_ncols=True,
            mininterval=self.mininterval,
            file=self.stream,
            leave=True,
        )

    def update(self, done_paths: int, estimate: Answer | None) -> None:
        if self._bar is None:
            self.start(None)
        if estimate is not None:
            self._bar.estimate = estimate
        self._bar.update(done_paths - self._bar.n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            type(self._bar).write(f"{NAME}: {text}", file=self.stream)
        else:
            _say(self.stream, f"{NAME}: {text}")

    def close(self) -> None:
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()  # leave=True: the final state stays, then a newline
            self.stream.flush()


# ----- the option ---------------------------------------------------------------------------
def _arity(fn: Callable[..., Any]) -> int | None:
    """3 if ``fn`` accepts (done, total, estimate), 2 if only (done, total), else None."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: trust them with two
        return 2
    for n in (3, 2):
        try:
            sig.bind(*range(n))
        except TypeError:
            continue
        return n
    return None


def _bad(progress: object, why: str = "") -> Exception:
    from distributions.errors import UsageError  # lazily: it loads the distributions

    shown = repr(progress)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return UsageError(
        "progress",
        "{progress} must be 'auto', 'bar', 'lines', 'none' or None, a Reporter, or a callable "
        "fn(done_paths, total_paths[, estimate]){why} (got {shown})",
        why=why,
        shown=shown,
    )


def reporter_for(progress: Any, *, stream: TextIO | None = None) -> Reporter:
    """The :class:`Reporter` for a ``progress`` option.

    ``"auto"``: a bar if ``stream`` is a terminal, else plain lines; ``"bar"``; ``"lines"``;
    ``None`` or ``"none"``: nothing; a Reporter instance: returned as is; a callable: called as
    ``fn(done_paths, total_paths)`` after each chunk, or ``fn(done_paths, total_paths,
    estimate)`` if it accepts three positional arguments. ``stream`` default: ``sys.stderr``
    (looked up now). Anything else: a one-line UsageError listing the valid values.
    """
    stream = stream if stream is not None else sys.stderr
    if progress is None:
        return NullReporter(stream)
    if isinstance(progress, str):
        if progress == "auto":
            return BarReporter(stream) if _is_terminal(stream) else LinesReporter(stream)
        if progress == "bar":
            return BarReporter(stream)
        if progress == "lines":
            return LinesReporter(stream)
        if progress == "none":
            return NullReporter(stream)
        raise _bad(progress)
    if isinstance(progress, (type, bool)):  # a class, or True/False: say what is meant
        raise _bad(progress)
    if isinstance(progress, Reporter):
        return progress
    if callable(progress):
        n = _arity(progress)
        if n is None:
            raise _bad(progress, "; this callable takes neither 2 nor 3 positional arguments")
        return CallbackReporter(progress, with_estimate=n == 3, stream=stream)
    raise _bad(progress)
