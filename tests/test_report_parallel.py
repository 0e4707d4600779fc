"""The report drawn on several cores: the same bytes as drawn in one process, every chart file
written once per format asked for (SVG only on request), a bad format refused in one line, a
worker that dies costing only time, and Ctrl-C while drawing stopping everything in one line.

One small compared run of the default scenario (its report not written) is made per module;
each test draws its report into a copy.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from sessions import poll, session_processes

import engine.files
import engine.pool
import reports.figures
import simulate
from distributions.errors import RunwayWarning, UsageError
from reports.parallel import Drawing
from reports.pdf import build_report

ROOT = pathlib.Path(simulate.__file__).resolve().parent
linux_only = pytest.mark.skipif(
    not pathlib.Path("/proc/self/stat").exists(), reason="reads processes from /proc"
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A finished run of the default scenario with compare.csv (every page), no report."""
    out = tmp_path_factory.mktemp("parallel") / "run"
    argv = ["run", str(simulate.DEFAULT_SCENARIO), "--paths", "5000", "--seed", "3"]
    argv += ["--jobs", "1", "--compare", "--no-report", "--quiet", "--out", str(out)]
    assert simulate.main(argv) == 0
    return out


@pytest.fixture
def cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Up to four processes draw the report even on a smaller machine (the same files)."""
    monkeypatch.setattr(engine.pool, "available_cores", lambda: 4)


def copy_of(run_dir: pathlib.Path, to: pathlib.Path) -> pathlib.Path:
    return shutil.copytree(run_dir, to)


def files_of(run: pathlib.Path) -> dict[str, bytes]:
    """The report's files: report.pdf and charts/*, by path relative to the run."""
    found = [run / "report.pdf", *sorted((run / "charts").glob("*"))]
    return {str(p.relative_to(run)): p.read_bytes() for p in found if p.exists()}


def chart_names(run: pathlib.Path) -> list[str]:
    from engine.rundir import load_run
    from reports.data import collect

    return [c.name for c in reports.figures.chart_list(collect(load_run(run), run))]


# ----- the same files, whoever draws them ----------------------------------------------------
@pytest.mark.usefixtures("cores")
@pytest.mark.parametrize("jobs", [2, 3])  # the PDF on the pool; the charts here (and there)
def test_parallel_and_serial_drawing_give_the_same_bytes(
    run_dir: pathlib.Path, tmp_path: pathlib.Path, jobs: int
) -> None:
    run = copy_of(run_dir, tmp_path / "run")  # one directory: the summary page names it
    build_report(run, charts=("png", "svg"), jobs=1)
    one = files_of(run)
    (run / "report.pdf").unlink()
    shutil.rmtree(run / "charts")
    build_report(run, charts=("png", "svg"), jobs=jobs)
    two = files_of(run)
    assert len(one) == 1 + 2 * len(chart_names(run_dir))
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []  # the PDF included


def test_a_job_submitted_runs_in_a_worker_and_one_process_runs_it_here() -> None:
    with Drawing(2) as drawing:
        there = drawing.submit(os.getpid)
        here = drawing.here(os.getpid)
        pid_there, pid_here = drawing.results([there, here])
    assert pid_here == os.getpid() != pid_there
    with Drawing(1) as drawing:
        assert drawing.executor is None
        assert drawing.results([drawing.submit(os.getpid)]) == [os.getpid()]


def warns_twice(text: str) -> str:
    import warnings

    warnings.warn(f"{text} one", RunwayWarning, stacklevel=1)
    warnings.warn(f"{text} two", RunwayWarning, stacklevel=1)
    return text


@pytest.mark.parametrize("workers", [1, 2])
def test_warnings_of_a_job_are_raised_here_in_order(workers: int) -> None:
    with Drawing(workers) as drawing, pytest.warns(RunwayWarning) as caught:
        jobs = [drawing.submit(warns_twice, "a"), drawing.here(warns_twice, "b")]
        assert drawing.results(jobs) == ["a", "b"]
    assert [str(w.message) for w in caught] == ["a one", "a two", "b one", "b two"]


# ----- each file once, SVG on request ---------------------------------------------------------
@pytest.mark.usefixtures("cores")
@pytest.mark.parametrize("jobs", [1, 3])
def test_each_chart_is_drawn_once_and_written_once_per_format(
    run_dir: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    run = copy_of(run_dir, tmp_path / "run")
    written: collections.Counter[str] = collections.Counter()
    drawn: collections.Counter[str] = collections.Counter()
    save, standalone = engine.files.atomic_write, reports.figures.standalone

    def counting_save(path: pathlib.Path, write: Callable[[pathlib.Path], object]) -> None:
        written[str(path.relative_to(run))] += 1
        save(path, write)

    def counting_standalone(chart: reports.figures.Chart) -> object:
        drawn[chart.name] += 1
        return standalone(chart)

    monkeypatch.setattr(engine.files, "atomic_write", counting_save)
    monkeypatch.setattr(reports.figures, "standalone", counting_standalone)
    build_report(run, charts=("svg", "png", "svg"), jobs=jobs)  # a format repeated: once
    names = chart_names(run)
    expected = ["report.pdf"] + [f"charts/{n}.{f}" for n in names for f in ("svg", "png")]
    assert list(written) == expected  # the PDF first, then the charts in page order
    assert set(written.values()) == {1}
    assert sorted(files_of(run)) == sorted(expected)
    if jobs == 1:  # drawn here, where standalone is counted: once for both formats
        assert drawn == dict.fromkeys(names, 1)


def test_svg_only_on_request(run_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    run = copy_of(run_dir, tmp_path / "run")
    build_report(run)
    names = chart_names(run)
    assert sorted(p.name for p in (run / "charts").iterdir()) == sorted(f"{n}.png" for n in names)
    bare = copy_of(run_dir, tmp_path / "bare")
    build_report(bare, charts=(), jobs=1)
    assert (bare / "report.pdf").stat().st_size > 10_000
    assert not (bare / "charts").exists()
    listed = copy_of(run_dir, tmp_path / "listed")
    build_report(listed, charts="svg, png", jobs=1)  # as a command line gives it
    assert len(list((listed / "charts").glob("*.svg"))) == len(names)


@pytest.mark.parametrize(
    ("charts", "message"),
    [
        (("png", "pdf"), "charts: unknown chart format 'pdf'; valid: png, svg"),
        ("pgn", "charts: unknown chart format 'pgn'; did you mean 'png'?"),
        ("png,", "charts: unknown chart format ''; valid: png, svg"),
        (3, "charts must be chart formats such as ('png', 'svg') (got int)"),
    ],
)
def test_a_bad_chart_format_is_one_line_before_anything_is_read(
    tmp_path: pathlib.Path, charts: object, message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        build_report(tmp_path / "no run here", charts=charts)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert caught.value.param == "charts"
    assert "\n" not in caught.value.line({"charts": "--charts"})
    assert not (tmp_path / "no run here").exists()


def test_jobs_are_checked_like_a_run(tmp_path: pathlib.Path) -> None:
    with pytest.raises(UsageError, match="jobs 0 leaves no worker"):
        build_report(tmp_path / "no run here", jobs=0)


# ----- failures --------------------------------------------------------------------------------
def dies_in_a_worker(main_pid: int) -> str:
    """Kills the process it runs in, unless that is the main process (then returns)."""
    if os.getpid() != main_pid:
        os.kill(os.getpid(), signal.SIGKILL)
    return "drawn"


@linux_only
def test_a_worker_that_dies_costs_only_time() -> None:
    with Drawing(2) as drawing:
        jobs = [drawing.submit(dies_in_a_worker, os.getpid()), drawing.here(os.getpid)]
        with pytest.warns(RunwayWarning, match="a worker process died"):
            assert drawing.results(jobs) == ["drawn", os.getpid()]
        after = drawing.submit(dies_in_a_worker, os.getpid())  # the pool is gone: here
        assert drawing.results([after]) == ["drawn"]


def fails(text: str) -> None:
    raise ValueError(text)


def test_an_error_in_a_job_is_raised_here_as_it_is() -> None:
    with pytest.raises(ValueError, match="a bug"), Drawing(2) as drawing:
        drawing.results([drawing.submit(fails, "a bug")])


@linux_only
def test_ctrl_c_while_drawing_is_one_line_and_no_worker_is_left(
    run_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    run = copy_of(run_dir, tmp_path / "run")
    err = tmp_path / "stderr"
    with open(err, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "simulate.py", "report", str(run)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        # the pool started (a worker and loky's resource tracker), the run being read
        assert poll(lambda: len(session_processes(proc.pid)) >= 3, timeout=30), "no pool"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGINT)  # the main process alone; the terminal's goes to all
        code = proc.wait(timeout=30)
        left = poll(lambda: not session_processes(proc.pid), timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group outlives its leader
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    text = err.read_text()
    if code == 0:
        pytest.skip("the report was finished before Ctrl-C (a fast machine)")
    assert code == 130, text
    assert text.strip() == "runway: interrupted", text  # no traceback, no "leaked" warning
    assert left, session_processes(proc.pid)
    assert not (run / "report.pdf").exists()


def test_missing_glyph_warnings_become_one_line():
    # A scenario named in Japanese: matplotlib warned once per character ("runway:
    # UserWarning: Glyph 21517 (...) missing from font(s) DejaVu Sans."), five lines and more.
    import warnings

    from distributions.errors import RunwayWarning
    from reports.parallel import recorded

    def draw() -> str:
        for code in (21517, 21069, 12486):
            text = f"Glyph {code} (\\N{{X}}) missing from font(s) DejaVu Sans."
            warnings.warn(text, UserWarning, stacklevel=2)
        warnings.warn("something else", RunwayWarning, stacklevel=2)
        return "drawn"

    result, caught = recorded(draw)
    assert result == "drawn"
    assert caught == [
        (
            "report: the font (DejaVu Sans) has no glyph for some characters of the scenario's "
            "text; they show as empty boxes",
            RunwayWarning,
        ),
        ("something else", RunwayWarning),
    ]
