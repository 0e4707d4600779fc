"""Results -> charts and the PDF risk report (the only package that imports matplotlib).

``build_report(run_dir)`` reads a finished run directory (never simulating again) and writes
``report.pdf`` beside it, with every chart as ``charts/NAME.png`` (and ``charts/NAME.svg`` with
``charts=("png", "svg")``), drawn on all cores (:mod:`reports.parallel`).

Modules, in the order data flows: :mod:`reports.data` (the numbers, from ``Results``),
:mod:`reports.text` (words from numbers), :mod:`reports.charts` (chart functions drawing on an
``Axes``), :mod:`reports.figures` (the report's charts wired to the numbers),
:mod:`reports.layout` and :mod:`reports.style` (page geometry and the one look),
:mod:`reports.pages` (the pages, in order; the drivers, assumptions and method pages in
:mod:`reports.drivers_page`, :mod:`reports.assumptions_page` and :mod:`reports.method_page`)
and :mod:`reports.pdf`.
"""

from reports.pdf import build_report

__all__ = ["build_report"]
