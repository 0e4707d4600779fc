"""Progress of a long run: reporter_for picks a bar on a terminal and plain timestamped lines
elsewhere; lines come at most every 60 s or 10% with a last one at close; rates count only the
work done since start; the bar renders on a real pseudo-terminal and never in a pipe."""

from __future__ import annotations

import datetime as dt
import io
import os
import pathlib
import re
import select
import subprocess
import sys
import time

import pytest

from distributions.errors import UsageError
from engine.progress import (
    BarReporter,
    CallbackReporter,
    LinesReporter,
    NullReporter,
    Reporter,
    format_duration,
    format_rate,
    reporter_for,
)
from engine.results import Answer

ROOT = pathlib.Path(__file__).resolve().parent.parent
STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
ESTIMATE = "P(before 2026-01-01) 27.5% (95% CI 27.4–27.6%)"

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")


def answer(paths: int = 1_000_000) -> Answer:
    return Answer(
        before=dt.date(2026, 1, 1),
        months=24,
        probability=0.275,
        std_error=0.0004,
        ci95=(0.274, 0.276),
        paths=paths,
        seed=7,
    )


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Flushes(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class Clock:
    """A fake monotonic clock and the matching local time of day."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 11, 26, 3, 0, 0) + dt.timedelta(seconds=self.t)


def lines_reporter(stream, clock: Clock) -> LinesReporter:
    return LinesReporter(stream, after=0, clock=clock, now=clock.now)


# ----- reporter_for -------------------------------------------------------------------------
def test_auto_gives_lines_off_a_terminal_and_a_bar_on_one():
    assert isinstance(reporter_for("auto", stream=io.StringIO()), LinesReporter)
    assert isinstance(reporter_for("auto", stream=TTY()), BarReporter)
    assert isinstance(reporter_for("bar", stream=io.StringIO()), BarReporter)
    assert isinstance(reporter_for("lines", stream=TTY()), LinesReporter)


def test_auto_looks_up_stderr_when_called(monkeypatch):
    monkeypatch.setattr(sys, "stderr", TTY())
    assert isinstance(reporter_for("auto"), BarReporter)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(reporter_for("auto"), LinesReporter)


@pytest.mark.parametrize("progress", [None, "none"])
def test_none_shows_nothing(progress):
    out = io.StringIO()
    r = reporter_for(progress, stream=out)
    assert isinstance(r, NullReporter)
    r.start(1000)
    r.update(500, answer())
    r.update(1000, answer())
    r.close()
    r.close()
    assert out.getvalue() == ""
    r.note("a worker died; recomputing chunk 12")  # a note is not progress: still shown
    assert out.getvalue() == "runway: a worker died; recomputing chunk 12\n"


def test_a_reporter_is_returned_as_is():
    r = LinesReporter(io.StringIO())
    assert reporter_for(r) is r
    assert isinstance(r, Reporter)


def test_callables_with_two_and_three_arguments():
    two, three, defaulted = [], [], []
    a = answer()
    for fn in (
        lambda done, total: two.append((done, total)),
        lambda done, total, est: three.append((done, total, est)),
        lambda done, total, est=None: defaulted.append((done, total, est)),
    ):
        r = reporter_for(fn)
        assert isinstance(r, CallbackReporter)
        r.start(1000)
        r.update(400, a)
        r.update(1000, a)
        r.close()
    assert two == [(400, 1000), (1000, 1000)]
    assert three == [(400, 1000, a), (1000, 1000, a)]
    assert defaulted == three
    unknown = []
    r = reporter_for(lambda *args: unknown.append(args))
    r.start(None, 200)
    r.update(300, None)
    assert unknown == [(300, None, None)]


@pytest.mark.parametrize("bad", ["tqdm", "", "Auto", True, 3, 0.5, [], LinesReporter, lambda: 0])
def test_anything_else_is_a_one_line_error_listing_the_choices(bad):
    with pytest.raises(UsageError) as err:
        reporter_for(bad)
    message = str(err.value)
    assert "\n" not in message
    for choice in ("'auto'", "'bar'", "'lines'", "'none'", "None", "callable"):
        assert choice in message


# ----- plain lines --------------------------------------------------------------------------
def test_line_format():
    out, clock = Flushes(), Clock()
    r = lines_reporter(out, clock)
    r.start(10_000_000)
    clock.t = 4_194_304 / 1_480_000  # 1,480,000 paths/s; 41.9% done
    r.update(4_194_304, answer(4_194_304))
    text = out.getvalue()
    assert re.fullmatch(
        STAMP + r" runway: 4,194,304 / 10,000,000 paths \(41\.9%\), 1,480,000 paths/s, "
        r"ETA 00:00:04, " + re.escape(ESTIMATE) + "\n",
        text,
    ), text
    assert text.startswith("2026-11-26 03:00:02 runway: ")
    assert out.flushes >= 1


def test_lines_at_most_every_minute_or_ten_percent_and_a_last_one_at_close():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    r.start(1_000_000)
    shown = []
    for t, done in [
        (5, 50_000),  # 5%, 5 s: nothing
        (10, 99_999),  # just under 10%: nothing
        (12, 100_000),  # 10%: a line
        (30, 150_000),  # 5% and 18 s since: nothing
        (71, 190_000),  # 59 s since the last line: nothing
        (72, 195_000),  # 60 s: a line
        (73, 290_000),  # 9.5% since: nothing
        (74, 295_000),  # 10%: a line
        (300, 295_000),  # nothing new: no line however long it has been
        (301, 300_000),  # 227 s: a line
    ]:
        clock.t = t
        before = out.getvalue().count("\n")
        r.update(done, answer(done))
        shown.append(out.getvalue().count("\n") - before)
    assert shown == [0, 0, 1, 0, 0, 1, 0, 1, 0, 1]
    clock.t = 302
    r.update(310_000, answer(310_000))
    clock.t = 303
    r.close()
    r.close()  # idempotent
    lines = out.getvalue().splitlines()
    assert len(lines) == 5
    assert all(re.match(STAMP + " runway: ", line) for line in lines)
    assert [line.split(" runway: ")[1].split(" paths")[0] for line in lines] == [
        "100,000 / 1,000,000",
        "195,000 / 1,000,000",
        "295,000 / 1,000,000",
        "300,000 / 1,000,000",
        "310,000 / 1,000,000",
    ]
    assert lines[0].startswith("2026-11-26 03:00:12 ")
    assert lines[-1].startswith("2026-11-26 03:05:03 ")


def test_no_last_line_when_nothing_new_and_the_end_shows_elapsed():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    r.start(1_000)
    r.close()
    assert out.getvalue() == ""  # no work, no line

    r.start(1_000)
    clock.t = 2
    r.update(1_000, answer(1_000))  # 100%: shown at once
    r.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "1,000 / 1,000 paths (100.0%), 500 paths/s, elapsed 00:00:02, " in lines[0]
    assert "ETA" not in lines[0]


def test_percent_never_rounds_up_to_done():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    r.start(10_000)
    clock.t = 1
    r.update(9_999, None)
    assert "(99.9%)" in out.getvalue()
    assert "P(before" not in out.getvalue()  # no estimate yet: none shown


def test_unknown_total_has_no_percent_and_no_eta():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    r.start(None)
    for t in range(1, 60):  # the 10% rule needs a total; only the minute counts
        clock.t = t
        r.update(t * 100_000, answer(t * 100_000))
    assert out.getvalue() == ""
    clock.t = 60
    r.update(6_000_000, answer(6_000_000))
    line = out.getvalue()
    assert re.fullmatch(
        STAMP + r" runway: 6,000,000 paths, 100,000 paths/s, " + re.escape(ESTIMATE) + "\n",
        line,
    ), line
    assert "%)," not in line.split("P(before")[0]
    assert "ETA" not in line


def test_a_resumed_run_rates_only_the_new_work():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    clock.t = 100
    r.start(10_000_000, 5_000_000)
    clock.t = 110
    r.update(5_500_000, answer())  # 5% of the total since start: nothing yet
    assert out.getvalue() == ""
    clock.t = 120
    r.update(6_000_000, answer())
    line = out.getvalue()
    # 1,000,000 new paths in 20 s: 50,000 paths/s (not 300,000), 4,000,000 to go: 80 s
    assert "6,000,000 / 10,000,000 paths (60.0%), 50,000 paths/s, ETA 00:01:20, " in line


def test_notes_are_timestamped_lines():
    out, clock = io.StringIO(), Clock()
    r = lines_reporter(out, clock)
    r.start(100)
    clock.t = 61
    r.note("a worker died; recomputing chunk 12")
    assert out.getvalue() == "2026-11-26 03:01:01 runway: a worker died; recomputing chunk 12\n"


@pytest.mark.parametrize(
    "rate, text",
    [
        (1_480_123, "1,480,000"),
        (65_536, "65,500"),
        (999.6, "1,000"),
        (123.4, "123"),
        (4.567, "4.57"),
    ],
)
def test_rate_three_significant_figures(rate, text):
    assert format_rate(rate) == text
    assert format_rate(None) == format_rate(0) == "?"


def test_durations():
    assert format_duration(235) == "00:03:55"
    assert format_duration(3 * 86400 + 4 * 3600 + 5 * 60 + 6) == "3d 04:05:06"
    assert format_duration(None) == "?"


# ----- the bar ------------------------------------------------------------------------------
def test_bar_on_a_stream_shows_the_estimate_and_notes_and_ends_with_a_newline():
    out = TTY()
    r = BarReporter(out, mininterval=0)
    r.start(1_000_000)
    r.update(400_000, answer(400_000))
    r.note("a worker died; recomputing chunk 12")
    r.update(1_000_000, answer())
    r.close()
    r.close()  # idempotent
    text = out.getvalue()
    assert "27.5% [27.4–27.6]" in text
    assert "\nrunway: a worker died; recomputing chunk 12\n" in text.replace("\r", "\n")
    assert text.endswith("\n")
    assert "100%|" in text


CHILD = """
import datetime as dt, sys
from engine.progress import reporter_for
from engine.results import Answer

r = reporter_for(sys.argv[1])
if hasattr(r, "mininterval"):
    r.mininterval = 0  # draw every update: no sleeping in a test
total = None if sys.argv[2] == "none" else 10_000_000
r.start(total, 0)
for i in range(1, 6):
    done = 2_000_000 * i
    a = Answer(before=dt.date(2026, 1, 1), months=24, probability=0.275, std_error=0.0004,
               ci95=(0.274, 0.276), paths=done, seed=7)
    if i == 3:
        r.note("a worker died; recomputing chunk 12")
    r.update(done, a)
r.close()
r.close()
"""


def read_all(fd: int, proc: subprocess.Popen, timeout: float = 20) -> str:
    """Everything written to the master side of a pty until the child is gone."""
    chunks, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=5)
    return b"".join(chunks).decode("utf-8", errors="replace")


def screen(raw: str) -> list[str]:
    """What a terminal shows for ``raw``: carriage returns overwrite, escapes removed."""
    rows, row, col = [], [], 0
    for ch in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw):
        if ch == "\r":
            col = 0
        elif ch == "\n":
            rows.append("".join(row).rstrip())
            row, col = [], 0
        else:
            row[col : col + 1] = [ch]
            col += 1
    if row:
        rows.append("".join(row).rstrip())
    return rows


def run_on_pty(args: list[str], columns: int) -> tuple[str, subprocess.CompletedProcess]:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    if columns:  # 0: a terminal that reports no size (a fresh pty, some CI runners)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("COLUMNS", None)
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=ROOT, env=env
        )
        os.close(slave)
        slave = -1
        raw = read_all(master, proc)
        stdout = proc.stdout.read().decode()
        proc.stdout.close()
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return raw, subprocess.CompletedProcess(args, proc.returncode, stdout, raw)


@posix_only
def test_bar_on_a_terminal_that_reports_no_size():
    raw, proc = run_on_pty([sys.executable, "-c", CHILD, "auto", "10M"], columns=0)
    assert proc.returncode == 0, raw
    assert "%|" in raw and "10.0M/10.0M" in raw, raw


@posix_only
@pytest.mark.parametrize("total", ["10M", "none"])
def test_bar_on_a_real_terminal_80_columns(total):
    raw, proc = run_on_pty([sys.executable, "-c", CHILD, "auto", total], columns=80)
    assert proc.returncode == 0, raw
    assert "\r" in raw and "paths" in raw
    shown = screen(raw)
    assert shown[-2] == "runway: a worker died; recomputing chunk 12"
    final = shown[-1]
    assert all(len(row) < 80 for row in shown), shown  # nothing wraps at 80 columns
    assert "27.5% [27.4–27.6]" in final
    assert "2026-01-01" in final
    if total == "none":
        assert final.startswith("10.0M paths [")
        assert "%|" not in raw and "ETA" not in raw
    else:
        assert final.startswith("100%|██████████| 10.0M/10.0M ")
        assert "/s ETA " in final
    assert raw.endswith("\n")  # the cursor is left on a fresh line
    assert not re.search(STAMP, raw)


@posix_only
def test_bar_on_a_wide_terminal_is_the_tqdm_layout_with_the_full_estimate():
    raw, proc = run_on_pty([sys.executable, "-c", CHILD, "auto", "10M"], columns=120)
    assert proc.returncode == 0, raw
    final = screen(raw)[-1]
    assert re.fullmatch(
        r"100%\|█+\| 10\.0M/10\.0M \[\d\d:\d\d<00:00, [0-9.]+[kMG]?paths/s\] "
        r"P\(before 2026-01-01\) 27\.5% \[27\.4–27\.6\]",
        final,
    ), final
    assert len(final) < 120


@posix_only
def test_the_same_child_in_a_pipe_prints_timestamped_lines_and_no_bar():
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, "auto", "10M"],
        cwd=ROOT,
        env={**os.environ, "RUNWAY_PROGRESS_AFTER": "0"},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr
    assert "\r" not in err and "█" not in err and "%|" not in err
    lines = err.splitlines()
    assert lines, err
    assert all(re.match(STAMP + " runway: ", line) for line in lines), err
    assert any(line.endswith("runway: a worker died; recomputing chunk 12") for line in lines)
    assert lines[-1].split(" runway: ")[1].startswith("10,000,000 / 10,000,000 paths (100.0%), ")
    assert lines[-1].endswith(ESTIMATE)


# ----- the command line (once simulate.py run has --quiet) ----------------------------------
def _cli_has_quiet() -> bool:
    """Whether ``simulate.py run`` accepts ``--quiet`` (asked of its parser, in process)."""
    import contextlib

    import simulate

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            simulate.build_parser().parse_args(["run", "scenario.toml", "--quiet"])
    except SystemExit:
        return False
    return True


@posix_only
def test_cli_bar_on_a_terminal_lines_in_a_pipe_nothing_when_quiet(tmp_path):
    if not _cli_has_quiet():
        pytest.skip("simulate.py run has no --quiet yet")
    base = [sys.executable, "simulate.py", "run", "scenarios/bench_runway.toml"]
    base += ["--paths", "20k", "--seed", "1", "--jobs", "1", "--no-report"]

    raw, proc = run_on_pty([*base, "--out", str(tmp_path / "tty")], columns=80)
    assert proc.returncode == 0, raw
    assert "%|" in raw and "27" in screen(raw)[-1]
    assert "Chance cash runs out" in proc.stdout

    piped = subprocess.run(
        [*base, "--out", str(tmp_path / "pipe")], cwd=ROOT, capture_output=True, text=True
    )  # a short run in a log: its answer is all it prints
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    piped = subprocess.run(
        [*base, "--out", str(tmp_path / "pipe2")],
        cwd=ROOT,
        env={**os.environ, "RUNWAY_PROGRESS_AFTER": "0"},
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0, piped.stderr
    assert "\r" not in piped.stderr and "█" not in piped.stderr
    assert re.search(STAMP + r" runway: 20,000 / 20,000 paths \(100\.0%\)", piped.stderr)

    raw, proc = run_on_pty([*base, "--quiet", "--out", str(tmp_path / "quiet")], columns=80)
    assert proc.returncode == 0, raw
    assert "%|" not in raw and "\r" not in raw.replace("\r\n", "\n")
    assert not re.search(STAMP + " runway: .*paths", raw)
