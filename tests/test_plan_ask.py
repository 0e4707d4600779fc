"""Hand-computed cases of a company's own plan, answered by ``simulate.py ask`` on the exact
ruin month: every input is fixed, so each path runs out in the same month m, and "runs out
before" is 0% for the first day of month m and 100% for the first day of month m + 1.

Each docstring computes the cash balance by hand (start 2024-01: month t of 2024 is
``2024-{t + 1:02d}``); nothing is taken from the model.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil

import pytest

import simulate
from cashflow.calendar import month_start_date

try:
    import openpyxl
except ImportError:  # the [excel] extra (in the dev extra too): its tests skip without it
    openpyxl = None
needs_openpyxl = pytest.mark.skipif(openpyxl is None, reason="openpyxl is not installed")


def header(cash: float, horizon: int = 24) -> str:
    return (
        f'name = "hand"\nunit = "USD thousand"\nstart = "2024-01"\nhorizon_months = {horizon}\n'
        f"starting_cash = {cash}\n"
    )


def ask(capsys, scenario: pathlib.Path | str, before: dt.date, *extra: str) -> float:
    code = simulate.main(
        ["ask", str(scenario), "--before", before.isoformat(), "--json", "--quiet", *extra]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return float(json.loads(out)["probability"])


def ruin_month(capsys, scenario: pathlib.Path | str, month: int, *extra: str) -> None:
    """Every path runs out in month ``month`` (an index from 2024-01), exactly."""
    options = ("--paths", "64", "--seed", "1", "--jobs", "1", *extra)
    if month > 0:  # "before 2024-01-01" is not a question
        assert ask(capsys, scenario, month_start_date(2024, 1, month), *options) == 0.0
    assert ask(capsys, scenario, month_start_date(2024, 1, month + 1), *options) == 1.0


def write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_from_until_and_growth_from_the_first_month(tmp_path, capsys) -> None:
    """Costs 10 a month, and a project from 2024-04 (t = 3) until 2024-06 (t = 5) of 20
    growing 10% a month from its first month: 20, 22, 24.2. From 150: 140, 130, 120 (t = 2),
    90, 58, 23.8 (t = 5), then 13.8, 3.8, -6.2: ruin in month 8 (2024-09). Growth from month 0
    would give 26.62 in month 3; without until, 23.8 - 36.62 < 0 in month 6."""
    text = (
        header(150)
        + '[lines.base]\nkind = "cost"\nstart = 10\n'
        + '[lines.project]\nkind = "cost"\nstart = 20\ngrowth = 0.1\n'
        + 'from = "2024-04"\nuntil = "2024-06"\n'
    )
    ruin_month(capsys, write(tmp_path, text), 8)
    ruin_month(capsys, write(tmp_path, text.replace('until = "2024-06"\n', "")), 6)


def test_a_step_with_probability_1(tmp_path, capsys) -> None:
    """Costs 10 a month plus a step of 15 from 2024-05 (t = 4): from 100, 90, 80, 70, 60
    (t = 3), 35, 10, -15: ruin in month 6. Without it: 100 - 10 (t + 1) < 0 first at t = 10."""
    text = header(100) + '[lines.staff]\nkind = "cost"\nstart = 10\n'
    ruin_month(capsys, write(tmp_path, text), 10)
    step = 'steps = [{ month = "2024-05", add = 15, probability = 1 }]\n'
    ruin_month(capsys, write(tmp_path, text + step), 6)


def test_seasonality(tmp_path, capsys) -> None:
    """Revenue 10 a month with January twice the other months: factors [2, 1, ..., 1] become
    24/13 and 12/13 (mean 1). Costs 12. Cash from 5: 5 + 240/13 - 12 = 84/13 + 5 in January,
    then 36/13 less each month: cash_t = (149 - 36 t) / 13: 5/13 at t = 4, -31/13 at t = 5.
    Without seasonality: 5 - 2 (t + 1) < 0 first at t = 2."""
    text = header(5) + '[lines.sales]\nkind = "revenue"\nstart = 10\n'
    text += '[lines.costs]\nkind = "cost"\nstart = 12\n'
    ruin_month(capsys, write(tmp_path, text), 2)
    season = "seasonality = [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    ruin_month(capsys, write(tmp_path, text.replace("start = 10\n", "start = 10\n" + season)), 5)


BUDGET = [10, 10, 20, 30, 40, 50, 60, 60, 60, 60, 60, 60]  # 2024-01 to 2024-12


def test_a_plan_from_csv(tmp_path, capsys) -> None:
    """Costs as planned: 10, 10, 20, 30, 40: spent 10, 20, 40, 70, 110 by month 4: from 100,
    cash is -10 in month 4 (2024-05)."""
    rows = "".join(f"2024-{k + 1:02d},{x},1\n" for k, x in enumerate(BUDGET))
    (tmp_path / "budget.csv").write_text("month,opex,other\n" + rows)
    text = header(100, horizon=12) + '[lines.opex]\nkind = "cost"\n'
    text += 'plan = { csv = "budget.csv", column = "opex" }\n'
    ruin_month(capsys, write(tmp_path, text), 4)


@needs_openpyxl
def test_a_plan_from_xlsx(tmp_path, capsys) -> None:
    """The same plan from a workbook (date cells, a sheet that is not the first): month 4."""
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Budget")
    sheet.append(["Month", "Opex"])
    for k, x in enumerate(BUDGET):
        sheet.append([dt.datetime(2024, k + 1, 1), x])
    book.save(tmp_path / "budget.xlsx")
    text = header(100, horizon=12) + '[lines.opex]\nkind = "cost"\n'
    text += 'plan = { xlsx = "budget.xlsx", sheet = "Budget", column = "Opex", '
    text += 'month_column = "Month" }\n'
    ruin_month(capsys, write(tmp_path, text), 4)


def test_a_two_month_collection_delay_moves_the_ruin_month(tmp_path, capsys) -> None:
    """Revenue 10 and costs 12 a month from 100: cash_t = 100 - 2 (t + 1), below 0 first at
    t = 50. Collected two months late, the first two months bring nothing, and every later
    month collects the revenue of two months before: cash_t = 80 - 2 (t + 1) from t = 1 on,
    below 0 first at t = 40: 20 (two months of revenue) / 2 (the burn) = 10 months earlier."""
    text = header(100, horizon=60) + '[lines.sales]\nkind = "revenue"\nstart = 10\n'
    text += '[lines.costs]\nkind = "cost"\nstart = 12\n'
    ruin_month(capsys, write(tmp_path, text), 50)
    late = text.replace("start = 10\n", "start = 10\ncollection = { delay_months = 2 }\n")
    ruin_month(capsys, write(tmp_path, late), 40)
    # paid a month late, the costs of month 0 leave in month 1: 12 more in hand from t = 0
    # until the end, cash_t = 92 - 2 (t + 1): below 0 first at t = 46
    both = late.replace("start = 12\n", "start = 12\npayment = { delay_months = 1 }\n")
    ruin_month(capsys, write(tmp_path, both), 46)


@needs_openpyxl
def test_a_run_keeps_its_plan_files(tmp_path, capsys) -> None:
    """Plan files are copied into the run directory: ``ask RUN_DIR`` answers after the
    originals are gone, and a variant naming another file is copied too."""
    data = tmp_path / "data"
    data.mkdir()
    rows = "".join(f"2024-{k + 1:02d},{x}\n" for k, x in enumerate(BUDGET))
    (data / "budget.csv").write_text("month,opex\n" + rows)
    (data / "lean.csv").write_text("month,opex\n" + rows.replace(",60\n", ",5\n"))
    book = openpyxl.Workbook()
    book.active.append(["month", "rent"])
    for k in range(12):
        book.active.append([f"2024-{k + 1:02d}", 0])
    book.save(data / "rent.xlsx")
    text = header(100, horizon=12)
    text += '[lines.opex]\nkind = "cost"\nplan = { csv = "data/budget.csv", column = "opex" }\n'
    text += '[lines.rent]\nkind = "cost"\nplan = { xlsx = "data/rent.xlsx", column = "rent" }\n'
    text += '[variants.lean]\nlines.opex.plan = { csv = "data/lean.csv" }\n'
    scenario = write(tmp_path, text)
    run_dir = tmp_path / "run"
    code = simulate.main(
        ["run", str(scenario), "--paths", "64", "--seed", "1", "--jobs", "1", "--out",
         str(run_dir), "--no-report", "--quiet"]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert sorted(manifest["inputs"]) == ["data/budget.csv", "data/lean.csv", "data/rent.xlsx"]
    shutil.rmtree(data)
    assert ask(capsys, run_dir, dt.date(2024, 5, 1)) == 0.0
    assert ask(capsys, run_dir, dt.date(2024, 6, 1)) == 1.0
