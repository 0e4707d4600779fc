"""Build a run's PDF risk report: ``build_report(run_dir) -> run_dir / "report.pdf"``.

Reads the finished run directory (never simulates again), draws every page with matplotlib and
writes ``report.pdf`` atomically (a temporary file renamed into place: a failed build leaves any
previous report untouched), and every chart beside it as ``charts/NAME.png`` (and ``.svg`` on
request: ``charts=("png", "svg")``). Metadata, including the creation date, come from the run
itself, so rebuilding a report gives the same content.

The PDF and the chart files are independent jobs drawn on all cores (:mod:`reports.parallel`):
the pages in one process, the charts in the others, each chart drawn once and saved in every
format from that one figure. The files are the same bytes whatever the number of processes.
"""

from __future__ import annotations

import io
import pathlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from distributions.errors import UsageError, did_you_mean
from reports.parallel import Drawing

if TYPE_CHECKING:  # imported when used: the workers start before this process reads the run
    from engine.results import Results
    from reports.data import ReportData

__all__ = ["CHART_FORMATS", "build_report", "chart_formats", "write_report"]

REPORT_NAME = "report.pdf"
CHART_DIR = "charts"
#: The formats a chart can be saved in; PNG alone unless asked.
CHART_FORMATS = ("png", "svg")
PNG_DPI = 150
TIGHT: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.15}  # nothing clipped at the edges
SAVE: dict[str, dict[str, Any]] = {
    "png": {"dpi": PNG_DPI, "metadata": {"Software": "Runway"}},
    "svg": {"metadata": {"Date": None, "Creator": "Runway"}},
}


def build_report(
    run_dir: str | pathlib.Path,
    *,
    charts: str | Iterable[str] = ("png",),
    jobs: int | None = None,
) -> pathlib.Path:
    """Write ``run_dir/report.pdf`` and ``run_dir/charts/NAME.FORMAT`` from a finished run.

    ``charts``: the formats each chart is also saved in, of :data:`CHART_FORMATS` (``()``: no
    chart files; a string is read as a comma-separated list, ``"png,svg"``). ``jobs``:
    processes drawing the report (default: all cores; 1 draws everything here).
    """
    from engine.rundir import load_run

    formats, workers = _report_iv(charts, jobs)
    run_dir = pathlib.Path(run_dir)
    with Drawing(workers) as drawing:  # the workers start while the run is read
        results = load_run(run_dir)
        return _write(results, run_dir, formats, drawing)


def write_report(
    results: Results,
    run_dir: str | pathlib.Path,
    *,
    charts: str | Iterable[str] = ("png",),
    jobs: int | None = None,
) -> pathlib.Path:
    """Write the report of ``results`` into ``run_dir``, where ``results`` was saved (by
    :func:`engine.rundir.save_run`, whose manifest the report reads): either the run just
    simulated, still in memory, or one read back with :func:`engine.rundir.load_run`. Both give
    the same report. ``charts`` and ``jobs``: as for :func:`build_report`."""
    formats, workers = _report_iv(charts, jobs)
    with Drawing(workers) as drawing:
        return _write(results, pathlib.Path(run_dir), formats, drawing)


def _report_iv(charts: str | Iterable[str], jobs: int | None) -> tuple[tuple[str, ...], int]:
    """The chart formats (:func:`chart_formats`) and the number of processes."""
    from engine.pool import workers_for

    return chart_formats(charts), workers_for(jobs)


def chart_formats(charts: str | Iterable[str]) -> tuple[str, ...]:
    """The chart formats asked for, each once in the order given (a string: comma-separated),
    all of :data:`CHART_FORMATS`; else a one-line UsageError (the command line checks them
    before it simulates)."""
    if isinstance(charts, str):
        charts = [c.strip() for c in charts.split(",")] if charts.strip() else []
    try:
        given = list(charts)
    except TypeError:
        raise UsageError(
            "charts",
            "{charts} must be chart formats such as ('png', 'svg') (got {got})",
            got=type(charts).__name__,
        ) from None
    for value in given:
        if value not in CHART_FORMATS:
            raise UsageError(
                "charts",
                "{charts}: unknown chart format '{given}'{hint}",
                given=value,
                hint=did_you_mean(str(value), CHART_FORMATS),
            )
    return tuple(dict.fromkeys(given))


def _write(
    results: Results, run_dir: pathlib.Path, formats: tuple[str, ...], drawing: Drawing
) -> pathlib.Path:
    """Draw the report's files (the PDF on the pool; the charts here and on the rest of the
    pool) and write them, the PDF first, then the charts in page order."""
    from reports.data import collect

    data = collect(results, run_dir)
    jobs = [drawing.submit(pdf_file, data)]
    names: list[str] = []
    if formats:
        from reports.figures import chart_list

        names = [c.name for c in chart_list(data)]
        k = max(1, drawing.processes - 1)  # the PDF takes about as long as all the charts
        groups = [names[i::k] for i in range(k)]
        there = [drawing.submit(chart_files, data, group, formats) for group in groups[1:]]
        jobs += [drawing.here(chart_files, data, groups[0], formats), *there]
    files: dict[str, bytes] = {}
    for part in drawing.results(jobs):
        files |= part
    path = run_dir / REPORT_NAME
    _save(path, files[REPORT_NAME])
    for name in names:
        for fmt in formats:
            chart = f"{CHART_DIR}/{name}.{fmt}"
            _save(run_dir / chart, files[chart])
    return path


def _save(path: pathlib.Path, content: bytes) -> None:
    from engine.files import atomic_write

    atomic_write(path, lambda tmp: tmp.write_bytes(content))


def pdf_file(data: ReportData) -> dict[str, bytes]:
    """The job drawing the PDF: every page, in order; ``{"report.pdf": bytes}``."""
    from matplotlib.backends.backend_pdf import PdfPages

    from reports import style
    from reports.figures import chart_list
    from reports.pages import build_pages

    with style.style_context():
        charts = {c.name: c for c in chart_list(data)}
        pages = build_pages(data, charts)
        if data.comparison is not None:  # compare.csv: "What changes the answer"
            from reports.compare_page import add_compare_page

            pages = add_compare_page(pages, data, charts)
        if data.management is not None:  # "How management reacts", before the compare page
            from reports.management_page import add_management_page

            pages = add_management_page(pages, data, charts)
        buffer = io.BytesIO()
        with PdfPages(buffer, metadata=_metadata(data)) as pdf:
            for page in pages:
                pdf.savefig(page.fig)
    return {REPORT_NAME: buffer.getvalue()}


def chart_files(data: ReportData, names: list[str], formats: tuple[str, ...]) -> dict[str, bytes]:
    """The job drawing the charts ``names``: each once, on its own figure, saved in every one
    of ``formats``; ``{"charts/NAME.FORMAT": bytes}``."""
    from reports import style
    from reports.figures import chart_list, standalone

    out = {}
    with style.style_context():
        for chart in chart_list(data):
            if chart.name not in names:
                continue
            fig = standalone(chart)
            for fmt in formats:
                buffer = io.BytesIO()
                fig.savefig(buffer, format=fmt, **SAVE[fmt], **TIGHT)
                out[f"{CHART_DIR}/{chart.name}.{fmt}"] = buffer.getvalue()
    return out


def _metadata(data: ReportData) -> dict:
    questions = ", ".join(a.before.isoformat() for a in data.answers)
    return {
        "Title": f"Runway risk report: {data.name}",
        "Author": "Runway",
        "Subject": f"Chance that cash runs out (before {questions}); {data.paths:,} paths, "
        f"seed {data.seed}",
        "Keywords": "Monte Carlo, cash runway, risk report",
        "Creator": "Runway",
        "CreationDate": data.finished,
        "ModDate": data.finished,
    }
