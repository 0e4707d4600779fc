"""Build a run's PDF risk report: ``build_report(run_dir) -> run_dir / "report.pdf"``.

Reads the finished run directory (never simulates again), draws every page with matplotlib and
writes ``report.pdf`` atomically (a temporary file renamed into place: a failed build leaves any
previous report untouched), and every chart beside it as ``charts/NAME.png`` and ``.svg``.
Metadata, including the creation date, come from the run itself, so rebuilding a report gives
the same content.
"""

from __future__ import annotations

import pathlib
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages

from engine.files import atomic_write
from engine.results import Results
from engine.rundir import load_run
from reports import style
from reports.data import ReportData, collect
from reports.figures import Chart, chart_list, standalone
from reports.layout import Page
from reports.pages import build_pages

__all__ = ["build_report", "write_report"]

REPORT_NAME = "report.pdf"
CHART_DIR = "charts"
PNG_DPI = 150
TIGHT: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.15}  # nothing clipped at the edges


def build_report(run_dir: str | pathlib.Path) -> pathlib.Path:
    """Write ``run_dir/report.pdf`` and ``run_dir/charts/*.png|svg`` from a finished run."""
    run_dir = pathlib.Path(run_dir)
    return write_report(load_run(run_dir), run_dir)


def write_report(results: Results, run_dir: str | pathlib.Path) -> pathlib.Path:
    """Write the report of ``results`` into ``run_dir``, where ``results`` was saved (by
    :func:`engine.rundir.save_run`, whose manifest the report reads): either the run just
    simulated, still in memory, or one read back with :func:`engine.rundir.load_run`. Both give
    the same report."""
    run_dir = pathlib.Path(run_dir)
    data = collect(results, run_dir)
    path = run_dir / REPORT_NAME
    with style.style_context():
        charts = chart_list(data)
        pages = build_pages(data, {c.name: c for c in charts})
        if data.comparison is not None:  # compare.csv: "What changes the answer"
            from reports.compare_page import add_compare_page

            pages = add_compare_page(pages, data, {c.name: c for c in charts})
        if data.management is not None:  # "How management reacts", before the compare page
            from reports.management_page import add_management_page

            pages = add_management_page(pages, data, {c.name: c for c in charts})
        atomic_write(path, lambda tmp: _write_pdf(tmp, pages, data))
        for chart in charts:
            _save_chart(run_dir / CHART_DIR, chart)
    return path


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


def _write_pdf(tmp: pathlib.Path, pages: list[Page], data: ReportData) -> None:
    with PdfPages(tmp, metadata=_metadata(data)) as pdf:
        for page in pages:
            pdf.savefig(page.fig)


def _save_chart(directory: pathlib.Path, chart: Chart) -> None:
    fig = standalone(chart)
    atomic_write(
        directory / f"{chart.name}.png",
        lambda tmp: fig.savefig(
            tmp, format="png", dpi=PNG_DPI, metadata={"Software": "Runway"}, **TIGHT
        ),
    )
    atomic_write(
        directory / f"{chart.name}.svg",
        lambda tmp: fig.savefig(
            tmp, format="svg", metadata={"Date": None, "Creator": "Runway"}, **TIGHT
        ),
    )
