"""Read a line's monthly plan from a CSV or XLSX file (``plan = { csv = ..., column = ... }``).

A plan file is a table with a header row: one column of months and one of amounts (any other
columns are ignored). A month is ``"YYYY-MM"``, an ISO date ``"YYYY-MM-DD"`` (its month) or,
in a spreadsheet, a date cell. A row with an empty amount is a month left out of the plan; a
row with neither month nor amount is skipped. Files are bounded like every file a scenario
reads: a regular file of at most 100 MB and 1,000,000 rows.

Each reader returns ``{(year, month): amount}`` or raises a :class:`ScenarioError` with one
problem naming the key to fix (``lines.cloud.plan.column``...). XLSX files need the optional
``openpyxl`` package (``pip install 'runway-risk[excel]'``).
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distributions._require import fail, finite, show
from distributions.errors import ScenarioError, did_you_mean
from distributions.families import Context
from distributions.finite import MAX_OBSERVATIONS, _csv_text, data_file_bytes

from .calendar import MIN_YEAR

__all__ = ["MAX_PLAN_ROWS", "PlanFile", "plan_rows", "read_plan"]

MAX_PLAN_ROWS = MAX_OBSERVATIONS  # rows of a plan file (the limit of an empirical column)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")

Month = tuple[int, int]


class PlanFile:
    """Where one plan is read: the file (``kind`` ``"csv"`` or ``"xlsx"``) as written and where
    it was looked for, its columns and sheet, and the key path of the ``plan`` table."""

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        file: Path,
        column: str,
        month_column: str,
        sheet: str | None,
        path: str,
    ) -> None:
        self.kind, self.name, self.file = kind, name, file
        self.column, self.month_column, self.sheet = column, month_column, sheet
        self.path = path
        self.where = f"{kind} file '{name}'"

    def key(self, key: str) -> str:
        return f"{self.path}.{key}"


def read_plan(plan: PlanFile, rows: list[tuple[Any, ...]] | None = None) -> dict[Month, float]:
    """The plan's amounts by ``(year, month)``, from ``rows`` (:func:`plan_rows` of its file,
    read once for every line that uses the file) or read now; a ScenarioError for anything
    wrong."""
    rows = plan_rows(plan) if rows is None else rows
    first = rows[0] if rows else None
    if first is None:
        fail(plan.key(plan.kind), f"{plan.where} is empty")
    header = [_header(cell) for cell in first]
    col = _column(plan, header, plan.column, "column")
    month_col = _column(plan, header, plan.month_column, "month_column")
    out: dict[Month, float] = {}
    seen: dict[Month, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if line - 1 > MAX_PLAN_ROWS:
            fail(
                plan.key(plan.kind),
                f"{plan.where} has more than {MAX_PLAN_ROWS:,} rows; at most "
                f"{MAX_PLAN_ROWS:,} are supported",
            )
        cells = list(row)
        month_cell = cells[month_col] if month_col < len(cells) else None
        amount_cell = cells[col] if col < len(cells) else None
        if _blank(month_cell) and _blank(amount_cell):
            continue
        at = f"{plan.where} line {line}"
        if _blank(month_cell):
            fail(plan.key("month_column"), f"{at} has an amount but no month")
        month = _month(month_cell)
        if month is None:
            fail(
                plan.key("month_column"),
                f"{at}: {show(month_cell)} in column '{plan.month_column}' is not a month "
                '(write "YYYY-MM" or a date)',
            )
        if month in seen:
            fail(
                plan.key("month_column"),
                f"{plan.where}: month {month[0]:04d}-{month[1]:02d} is given twice "
                f"(lines {seen[month]} and {line})",
            )
        seen[month] = line
        if _blank(amount_cell):
            continue  # a month left out of the plan
        amount = _number(amount_cell)
        if amount is None:
            fail(
                plan.key("column"),
                f"{at} column '{plan.column}' is not a finite number (got {show(amount_cell)})",
            )
        if amount < 0:  # as for an amount written in the scenario
            fail(
                plan.key("column"),
                f"{at} column '{plan.column}' must be >= 0 (got {show(amount_cell)})",
            )
        out[month] = amount
    return out


def _header(cell: Any) -> str:
    return "" if cell is None else str(cell).strip()


def _column(plan: PlanFile, header: list[str], name: str, key: str) -> int:
    """The index of column ``name`` in the header, else a problem at the plan's ``key``."""
    if name not in header:
        names = [h for h in header if h]
        fail(plan.key(key), f"{plan.where} has no column '{name}'{did_you_mean(name, names)}")
    return header.index(name)


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _month(cell: Any) -> Month | None:
    """``(year, month)`` of a month cell: a date, or ``"YYYY-MM"`` / ``"YYYY-MM-DD"`` text."""
    if isinstance(cell, dt.date):  # datetime too
        return cell.year, cell.month
    if not isinstance(cell, str):
        return None
    match = _MONTH.fullmatch(cell.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < MIN_YEAR:
        return None
    if match[3] is not None:
        try:
            dt.date(year, month, int(match[3]))
        except ValueError:
            return None
    return year, month


def _number(cell: Any) -> float | None:
    """A finite number from a cell (a number, or text that reads as one), else None."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int | float):
        return finite(cell)
    if isinstance(cell, str):
        try:
            return finite(float(cell.strip()))
        except ValueError:
            return None
    return None


def plan_rows(plan: PlanFile) -> list[tuple[Any, ...]]:
    """The rows of the plan's file (its sheet), the header first, as cell values: at most one
    past the row limit (a larger table is then refused by :func:`read_plan`)."""
    if plan.kind == "csv":
        text = _csv_text(plan.file, plan.where, Context(plan.key("csv"), "plan"))
        try:
            reader = csv.reader(io.StringIO(text, newline=""))
            return [tuple(row) for row in itertools.islice(reader, MAX_PLAN_ROWS + 2)]
        except csv.Error as error:
            fail(plan.key("csv"), f"cannot read {plan.where}: {error}")
    return list(_xlsx_rows(plan))


# -- XLSX ---------------------------------------------------------------------------------------


def _xlsx_rows(plan: PlanFile) -> Iterator[tuple[Any, ...]]:
    """The rows of the plan's sheet (its first sheet when none is named), as cell values: at
    most one past the row limit, so that a larger sheet is refused without reading it all."""
    data = _file_bytes(plan)
    try:
        openpyxl: Any = importlib.import_module("openpyxl")
    except ImportError:
        fail(
            plan.key("xlsx"),
            f"reading {plan.where} needs the openpyxl package: pip install 'runway-risk[excel]' "
            "(or save the plan as CSV: plan = { csv = ... })",
        )
    try:  # a damaged workbook may fail in openpyxl or its XML parser, opening or reading
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:
        fail(plan.key("xlsx"), f"cannot read {plan.where} as an Excel workbook ({error})")
    try:
        names = [str(n) for n in book.sheetnames]
        sheet = plan.sheet if plan.sheet is not None else (names[0] if names else "")
        if sheet not in names:
            hint = did_you_mean(sheet, names)
            fail(plan.key("sheet"), f"{plan.where} has no sheet '{sheet}'{hint}")
        rows = book[sheet].iter_rows(values_only=True)
        kept = list(itertools.islice(rows, MAX_PLAN_ROWS + 2))
    except ScenarioError:
        raise
    except Exception as error:
        fail(plan.key("xlsx"), f"cannot read {plan.where} as an Excel workbook ({error})")
    finally:
        book.close()
    return iter(kept)


def _file_bytes(plan: PlanFile) -> bytes:
    """The bytes of the plan's file (:func:`distributions.finite.data_file_bytes`)."""
    return data_file_bytes(plan.file, plan.where, plan.key(plan.kind))
