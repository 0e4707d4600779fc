"""Parsing a company's own plan: ``from`` / ``until``, ``plan`` (inline, CSV, XLSX) with
``after_plan``, ``plan_scale`` and ``plan_delay``, ``steps``, ``seasonality``, ``collection`` and
``payment`` (docs/scenario-format.md).

A full example parses into the expected dataclasses and inputs; every mistake is one line
naming its key path, also through ``simulate.py validate`` (exit code 2, no traceback).
"""

from __future__ import annotations

import datetime as dt
import pathlib
import subprocess
import sys

import pytest

import simulate
from cashflow.parse import load_scenario
from cashflow.scenario import Delay, Plan, Scenario, Window
from distributions.errors import ScenarioError

try:
    import openpyxl
except ImportError:  # the [excel] extra (in the dev extra too): its tests skip without it
    openpyxl = None
needs_openpyxl = pytest.mark.skipif(openpyxl is None, reason="openpyxl is not installed")

ROOT = pathlib.Path(__file__).resolve().parents[1]

BASE = """
name = "t"
unit = "USD thousand"
start = "2024-01"
horizon_months = 24
starting_cash = 500

[lines.sales]
kind = "revenue"
start = 50

[lines.staff]
kind = "cost"
start = 30
"""

CSV = "month,payroll,cloud\n" + "".join(
    f"{2024 + k // 12}-{k % 12 + 1:02d},{40 + k},{5 + k / 2}\n" for k in range(24)
)


def write_xlsx(path: pathlib.Path, months: int = 24, sheet: str = "Plan") -> None:
    """A workbook whose sheet ``sheet`` has a date column ``Month`` and a ``Payroll`` column."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(["Month", "Payroll", "Notes"])
    for k in range(months):
        ws.append([dt.datetime(2024 + k // 12, k % 12 + 1, 1), 40 + k, "plan"])
    book.create_sheet("Actuals").append(["Month", "Payroll"])
    book.save(path)


def write(text: str, tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "budget.csv").write_text(CSV)
    if openpyxl is not None:
        write_xlsx(tmp_path / "budget.xlsx")
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def load(text: str, tmp_path: pathlib.Path) -> Scenario:
    return load_scenario(write(text, tmp_path))


def errors(text: str, tmp_path: pathlib.Path) -> list[str]:
    path = write(text, tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert all(line.startswith(f"{path}: ") for line in lines)
    return [line.removeprefix(f"{path}: ") for line in lines]


FULL = (
    BASE
    + """
[lines.launch]
kind = "revenue"
plan = { "2024-06" = 5, "2024-07" = 8, "2024-08" = 12 }
from = { dist = "discrete", values = ["2024-06", "2024-08"] }
until = "2025-09"
after_plan = "growth"
growth = 0.05
plan_scale = { dist = "pert", min = 0.5, mode = 0.9, max = 1.1 }
plan_delay = { dist = "discrete", values = [0, 2], probs = [0.7, 0.3] }
seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2]
collection = { delay_months = { dist = "discrete", values = [1, 2] }, bad_debt = 0.02 }
source = "sales plan"

[lines.payroll]
kind = "cost"
plan = { csv = "budget.csv", column = "payroll" }
steps = [
  { month = "2024-04", add = 36 },
  { month = "2024-09", add = "20 to 30", probability = 0.7 },
]
payment = { delay_months = 1 }

[lines.payroll_xlsx]
kind = "cost"
plan = { xlsx = "budget.xlsx", sheet = "Plan", column = "Payroll", month_column = "Month" }
"""
)


@needs_openpyxl
def test_full_example_parses_into_the_dataclasses(tmp_path):
    s = load(FULL, tmp_path)
    launch, payroll, xlsx = s.lines[2:]
    assert launch.plan == Plan(first=5, amounts=(5.0, 8.0, 12.0), growth_after=True)
    assert isinstance(launch.window, Window) and launch.window.last == 20
    assert launch.window.first is not None and launch.window.first.is_month
    assert launch.seasonality is not None and sum(launch.seasonality) == pytest.approx(12)
    assert launch.seasonality[10] == pytest.approx(2 * 12 / 14)
    assert isinstance(launch.collection, Delay) and launch.payment is None
    assert launch.cash_delay is launch.collection
    assert payroll.plan is not None and payroll.plan.amounts == tuple(40.0 + k for k in range(24))
    assert payroll.plan.where == "csv file 'budget.csv' column 'payroll'"
    assert [step.month.mean() for step in payroll.steps] == [3, 8]
    assert payroll.steps[1].probability.mean() == pytest.approx(0.7)
    assert xlsx.plan is not None and xlsx.plan.amounts == payroll.plan.amounts
    assert xlsx.plan.where == "xlsx file 'budget.xlsx' column 'Payroll'"


@needs_openpyxl
def test_the_inputs_are_named_and_listed(tmp_path):
    s = load(FULL, tmp_path)
    names = [n for n in s.inputs() if n.split(".")[0] in ("launch", "payroll")]
    assert names == [
        "launch.growth",
        "launch.plan_scale",
        "launch.plan_delay",
        "launch.from",
        "launch.collection.delay_months",
        "launch.collection.bad_debt",
        "payroll.steps[0].month",
        "payroll.steps[0].add",
        "payroll.steps[0].probability",
        "payroll.steps[1].month",
        "payroll.steps[1].add",
        "payroll.steps[1].probability",
        "payroll.payment.delay_months",
    ]
    assert s.inputs()["launch.plan_scale"].source == "sales plan"  # inherited


def test_a_plan_line_continues_with_growth_only_when_asked(tmp_path):
    """Without after_plan, the plan must cover every month the line runs; the line may begin
    later (from) and end earlier (until) than the horizon."""
    s = load(
        BASE + '[lines.x]\nkind = "cost"\nfrom = "2025-11"\nuntil = "2025-12"\n'
        'plan = { "2025-11" = 1, "2025-12" = 2 }\n',
        tmp_path,
    )
    assert s.lines[2].plan == Plan(first=22, amounts=(1.0, 2.0))
    s = load(  # months outside the horizon are ignored
        BASE + '[lines.x]\nkind = "cost"\nplan = { csv = "budget.csv", column = "cloud" }\n'
        'until = "2024-03"\n',
        tmp_path,
    )
    assert s.lines[2].plan is not None and s.lines[2].plan.amounts == (5.0, 5.5, 6.0)


# -- one clear line per mistake ---------------------------------------------------------------

PLAN = '[lines.p]\nkind = "cost"\n'
HORIZON = "valid months are 2024-01 to 2025-12"
NEEDS = "it needs every month the line runs within the horizon"

BAD = [
    # plans: months
    (
        PLAN + 'plan = { "2024-01" = 1, "2024-02" = 1 }\n',
        f"lines.p.plan: the plan has no amount for 2024-03: {NEEDS}, 2024-01 to 2025-12; or set "
        'after_plan = "growth" to continue from its last month',
    ),
    (
        PLAN + 'plan = { "2024-01" = 1, "2024-03" = 1 }\nafter_plan = "growth"\n',
        f"lines.p.plan: the plan has no amount for 2024-02: {NEEDS}, 2024-01 to 2025-12",
    ),
    (
        PLAN + 'from = "2024-06"\nplan = { "2024-07" = 1 }\nafter_plan = "growth"\n',
        f"lines.p.plan: the plan has no amount for 2024-06: {NEEDS}, 2024-06 to 2025-12",
    ),
    (
        PLAN + 'plan = { csv = "short.csv", column = "a" }\n',
        "lines.p.plan: csv file 'short.csv' column 'a' has no amount for 2024-03: "
        f'{NEEDS}, 2024-01 to 2025-12; or set after_plan = "growth" to continue from its last '
        "month",
    ),
    (
        PLAN + 'plan = { "2024-1" = 1 }\n',
        "lines.p.plan.2024-1: '2024-1' is not a month (write months like \"2024-01\")",
    ),
    (PLAN + 'plan = { "2024-01" = -1 }\n', "lines.p.plan.2024-01: must be >= 0 (got -1)"),
    (
        PLAN + 'plan = { "2024-01" = "1 to 2" }\n',
        "lines.p.plan.2024-01: must be a fixed number (a distribution is not allowed here), got a "
        "string ('1 to 2')",
    ),
    (
        PLAN + "plan = 5\n",
        'lines.p.plan: must be a table of months and amounts, e.g. { "2024-01" = 0.3, '
        '"2024-02" = 0.32 }, or a file, e.g. { csv = "budget.csv", column = "cloud" }, got an '
        "integer (5)",
    ),
    # plans: files
    (
        PLAN + 'plan = { csv = "nope.csv", column = "a" }\n',
        "lines.p.plan.csv: cannot read csv file 'nope.csv' (looked for {dir}/nope.csv): No such "
        "file or directory",
    ),
    (
        PLAN + 'plan = { csv = "big.csv", column = "a" }\n',
        "lines.p.plan.csv: csv file 'big.csv' is 2.0 GB; at most 100 MB is supported",
    ),
    (
        PLAN + 'plan = { xlsx = "big.csv", column = "a" }\n',
        "lines.p.plan.xlsx: xlsx file 'big.csv' is 2.0 GB; at most 100 MB is supported",
    ),
    (
        PLAN + 'plan = { csv = "latin1.csv", column = "a" }\n',
        "lines.p.plan.csv: csv file 'latin1.csv' is not UTF-8 text (bad byte at line 2); save "
        "it as UTF-8",
    ),
    pytest.param(
        PLAN + 'plan = { xlsx = "budget.csv", column = "a" }\n',
        "lines.p.plan.xlsx: cannot read xlsx file 'budget.csv' as an Excel workbook (File is not "
        "a zip file)",
        marks=needs_openpyxl,
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payrol" }\n',
        "lines.p.plan.column: csv file 'budget.csv' has no column 'payrol'; did you mean "
        "'payroll'?",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payroll", month_column = "Month" }\n',
        "lines.p.plan.month_column: csv file 'budget.csv' has no column 'Month'; did you mean "
        "'month'?",
    ),
    pytest.param(
        PLAN + 'plan = { xlsx = "budget.xlsx", sheet = "Plna", column = "Payroll" }\n',
        "lines.p.plan.sheet: xlsx file 'budget.xlsx' has no sheet 'Plna'; did you mean 'Plan'?",
        marks=needs_openpyxl,
    ),
    pytest.param(
        PLAN + 'plan = { xlsx = "budget.xlsx", column = "Payrol", month_column = "Month" }\n',
        "lines.p.plan.column: xlsx file 'budget.xlsx' has no column 'Payrol'; did you mean "
        "'Payroll'?",
        marks=needs_openpyxl,
    ),
    (
        PLAN + 'plan = { csv = "dup.csv", column = "a" }\n',
        "lines.p.plan.month_column: csv file 'dup.csv': month 2024-02 is given twice (lines 3 "
        "and 4)",
    ),
    (
        PLAN + 'plan = { csv = "text.csv", column = "a" }\n',
        "lines.p.plan.column: csv file 'text.csv' line 3 column 'a' is not a finite number (got "
        "'1,5')",
    ),
    (
        PLAN + 'plan = { csv = "negative.csv", column = "a" }\n',
        "lines.p.plan.column: csv file 'negative.csv' line 3 column 'a' must be >= 0 (got '-3')",
    ),
    (
        PLAN + 'plan = { csv = "nomonth.csv", column = "a" }\n',
        "lines.p.plan.month_column: csv file 'nomonth.csv' line 3: 'Feb 2024' in column 'month' "
        'is not a month (write "YYYY-MM" or a date)',
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", xlsx = "budget.xlsx", column = "a" }\n',
        "lines.p.plan: give either csv or xlsx, not both",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", colum = "payroll" }\n',
        "lines.p.plan: unknown key 'colum'; did you mean 'column'?",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv" }\n',
        "lines.p.plan: missing required key 'column'",
    ),
    (
        PLAN + 'plan = { column = "payroll" }\n',
        "lines.p.plan.column: 'column' is not a month (write months like \"2024-01\"); a file "
        "needs csv or xlsx",
    ),
    # plans: the keys that go with them
    (
        PLAN + 'start = 1\nplan = { "2024-01" = 1 }\n',
        "lines.p: needs exactly one of start, schedule, share_of or plan (got start and plan)",
    ),
    (
        PLAN + "start = 1\nplan_scale = 1.1\n",
        "lines.p.plan_scale: only goes with plan (this line uses start)",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payroll" }\ngrowth = 0.1\n',
        'lines.p.growth: only goes with start, or with plan and after_plan = "growth" (this line '
        "uses plan)",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payroll" }\nafter_plan = "grow"\n',
        "lines.p.after_plan: unknown value 'grow'; did you mean 'growth'?",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payroll" }\nplan_delay = -1\n',
        "lines.p.plan_delay: must be at least 0 months (got -1)",
    ),
    (
        PLAN + 'plan = { csv = "budget.csv", column = "payroll" }\n'
        'plan_scale = { dist = "uniform", low = 0.8, high = 1, vary = "month" }\n',
        "lines.p.plan_scale: must vary per path (got vary = 'month')",
    ),
    # windows
    (
        PLAN + 'start = 1\nfrom = "2023-12"\n',
        f"lines.p.from: 2023-12 is outside the horizon; {HORIZON}",
    ),
    (
        PLAN + 'start = 1\nfrom = { dist = "discrete", values = ["2025-06", "2026-02"] }\n',
        f"lines.p.from: months from 2025-06 to 2026-02 reach outside the horizon; {HORIZON}",
    ),
    (
        PLAN + 'start = 1\nfrom = "2025-03"\nuntil = "2025-01"\n',
        "lines.p.until: 2025-01 is before from (2025-03); until must be the same month as from "
        "or later",
    ),
    (
        PLAN + 'start = 1\nuntil = "2023-06"\n',
        "lines.p.until: 2023-06 is before the start (2024-01)",
    ),
    (
        PLAN + "start = 1\nuntil = 2025\n",
        'lines.p.until: must be a month "YYYY-MM", got an integer (2025)',
    ),
    # steps
    (
        PLAN + 'start = 1\nsteps = [{ month = "2026-01", add = 1 }]\n',
        f"lines.p.steps[0].month: 2026-01 is outside the horizon; {HORIZON}",
    ),
    (
        PLAN + 'start = 1\nsteps = [{ month = "2024-05" }]\n',
        "lines.p.steps[0]: missing required key 'add'",
    ),
    (
        PLAN + 'start = 1\nsteps = [{ month = "2024-05", add = 1, probability = 1.5 }]\n',
        "lines.p.steps[0].probability: a probability must lie within [0, 1] (got 1.5)",
    ),
    (
        PLAN + 'start = 1\nsteps = [{ month = "2024-05", ad = 1 }]\n',
        "lines.p.steps[0]: unknown key 'ad'; did you mean 'add'?",
    ),
    (
        PLAN + 'start = 1\nsteps = { month = "2024-05", add = 1 }\n',
        'lines.p.steps: must be an array of steps such as [{ month = "2025-04", add = 0.05 }], '
        "got a table",
    ),
    # seasonality
    (
        PLAN + "start = 1\nseasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n",
        "lines.p.seasonality: needs 12 factors, January first, e.g. [0.9, 0.9, 1.0, ..., 1.3]; "
        "got 11",
    ),
    (
        PLAN + "start = 1\nseasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1]\n",
        "lines.p.seasonality[11]: a factor must be >= 0 (got -1)",
    ),
    (
        PLAN + "start = 1\nseasonality = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n",
        "lines.p.seasonality: the factors are all 0; at least one must be above 0",
    ),
    # late cash
    (
        PLAN + "start = 1\npayment = { delay_months = -1 }\n",
        "lines.p.payment.delay_months: must be at least 0 months (got -1)",
    ),
    (
        '[lines.r]\nkind = "revenue"\nstart = 1\n'
        'collection = { delay_months = { dist = "discrete", values = [-1, 0, 1] } }\n',
        "lines.r.collection.delay_months: discrete(values=[-1, 0, 1], probs=[0.3333, 0.3333, "
        "0.3333]): its smallest value -1 is below 0 months; every value must be >= 0 and < 24 "
        "(use discrete, uniform, pert or truncate)",
    ),
    (
        PLAN + "start = 1\npayment = { delay_months = 24 }\n",
        "lines.p.payment.delay_months: 24 months leaves the horizon (24 months); must be less",
    ),
    (
        PLAN + "start = 1\ncollection = { delay_months = 1 }\n",
        "lines.p.collection: only goes with kind = 'revenue' (a cost line: payment)",
    ),
    (
        '[lines.r]\nkind = "revenue"\nstart = 1\ncollection = { delay_months = 1, bad_debt = 2 }\n',
        "lines.r.collection.bad_debt: a share must lie within [0, 1] (got 2)",
    ),
    (
        PLAN + "start = 1\npayment = { delay_months = 1, bad_debt = 0.1 }\n",
        "lines.p.payment: unknown key 'bad_debt'; valid: delay_months",
    ),
    (PLAN + "start = 1\npayment = {}\n", "lines.p.payment: missing required key 'delay_months'"),
    # late cash with an action on the line
    (
        PLAN + 'start = 1\npayment = { delay_months = 1 }\n[lines.q]\nkind = "cost"\n'
        'share_of = "p"\nratio = 0.5\n'
        '[actions.cut]\nwhen = "runway < 6"\nlines = ["p"]\nfactor = 0.8\n',
        "lines.p.payment: cannot go with actions.cut.lines, which changes this line (directly): "
        "an action's effect on a line whose cash moves later is not modelled; remove payment "
        "here or the line from the action",
    ),
]


def _id(case: object) -> str:
    """The key path a case names (the start of its message)."""
    values = case.values if hasattr(case, "values") else case
    return str(values[1]).split(":")[0]


def _files(tmp_path: pathlib.Path) -> None:
    """The bad plan files the cases read."""
    (tmp_path / "short.csv").write_text("month,a\n2024-01,1\n2024-02,1\n")
    with open(tmp_path / "big.csv", "wb") as handle:
        handle.truncate(2 * 2**30)  # sparse: 2 GB that take no room
    (tmp_path / "latin1.csv").write_bytes("month,a\n2024-01,caf\u00e9\n".encode("latin-1"))
    (tmp_path / "dup.csv").write_text("month,a\n2024-01,1\n2024-02,1\n2024-02,2\n")
    (tmp_path / "text.csv").write_text('month,a\n2024-01,1\n2024-02,"1,5"\n')
    (tmp_path / "nomonth.csv").write_text("month,a\n2024-01,1\nFeb 2024,1\n")
    (tmp_path / "negative.csv").write_text("month,a\n2024-01,1\n2024-02,-3\n")


@pytest.mark.parametrize(("snippet", "message"), BAD, ids=[_id(case) for case in BAD])
def test_each_mistake_is_one_line(tmp_path, snippet, message):
    _files(tmp_path)
    assert errors(BASE + snippet, tmp_path) == [message.replace("{dir}", str(tmp_path))]


def test_a_share_of_a_cut_line_cannot_have_late_cash(tmp_path):
    found = errors(
        BASE + '[lines.q]\nkind = "cost"\nshare_of = "staff"\nratio = 0.5\n'
        "payment = { delay_months = 2 }\n"
        '[actions.cut]\nwhen = "runway < 6"\nstop = ["staff"]\n',
        tmp_path,
    )
    assert found == [
        "lines.q.payment: cannot go with actions.cut.stop, which changes this line (as a share "
        "of a line it names): an action's effect on a line whose cash moves later is not "
        "modelled; remove payment here or the line from the action"
    ]
    # Bridge rounds and credit lines act on the cash alone: late cash goes with them.
    load(
        BASE + '[lines.q]\nkind = "cost"\nstart = 1\npayment = { delay_months = 2 }\n'
        "[credit.rcf]\nlimit = 10\ninterest = 0.05\n",
        tmp_path,
    )


def test_xlsx_plans_need_openpyxl(tmp_path, monkeypatch):
    """Without the [excel] extra, an xlsx plan says what to install (one line)."""
    import importlib

    real = importlib.import_module

    def no_openpyxl(name: str, *args, **kwargs):
        if name == "openpyxl":
            raise ImportError("No module named 'openpyxl'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", no_openpyxl)
    (tmp_path / "any.xlsx").write_bytes(b"PK")  # read before openpyxl is asked for
    found = errors(
        BASE + PLAN + 'plan = { xlsx = "any.xlsx", column = "Payroll", month_column = "Month" }\n',
        tmp_path,
    )
    assert found == [
        "lines.p.plan.xlsx: reading xlsx file 'any.xlsx' needs the openpyxl package: pip "
        "install 'runway-risk[excel]' (or save the plan as CSV: plan = { csv = ... })"
    ]


@needs_openpyxl
def test_an_xlsx_plan_reads_dates_text_months_and_blank_rows(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["when", "amount"])
    ws.append([dt.date(2024, 1, 31), 1.5])  # a month-end date: its month
    ws.append(["2024-02", "2.5"])  # text
    ws.append([None, None])  # an empty row
    ws.append(["2024-03-01", 3])
    book.save(tmp_path / "plan.xlsx")
    s = load(
        BASE.replace("horizon_months = 24", "horizon_months = 3")
        + PLAN
        + 'plan = { xlsx = "plan.xlsx", column = "amount", month_column = "when" }\n',
        tmp_path,
    )
    assert s.lines[2].plan == Plan(
        first=0, amounts=(1.5, 2.5, 3.0), where="xlsx file 'plan.xlsx' column 'amount'"
    )


# -- through the command line -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        (PLAN + 'plan = { "2024-01" = 1 }\n', "lines.p.plan: the plan has no amount for 2024-02"),
        pytest.param(
            PLAN + 'plan = { xlsx = "budget.xlsx", sheet = "plan", column = "Payroll" }\n',
            "lines.p.plan.sheet: xlsx file 'budget.xlsx' has no sheet 'plan'; did you mean 'Plan'?",
            marks=needs_openpyxl,
        ),
        (PLAN + "start = 1\nseasonality = [1, 1]\n", "lines.p.seasonality: needs 12 factors"),
        (
            PLAN + 'start = 1\nfrom = "2025-03"\nuntil = "2025-01"\n',
            "lines.p.until: 2025-01 is before from (2025-03)",
        ),
    ],
)
def test_validate_gives_one_line_and_exit_2(tmp_path, capsys, snippet, message):
    path = write(BASE + snippet, tmp_path)
    code = simulate.main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.splitlines() == [err.strip()] and err.startswith(f"{path}: {message}")


@needs_openpyxl
def test_validate_lists_every_new_input_with_its_percentiles(tmp_path):
    path = write(FULL, tmp_path)
    done = subprocess.run(
        [sys.executable, str(ROOT / "simulate.py"), "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {}  # input -> its p5, p50, p95 and mean (after its vary, "path")
    for line in done.stdout.splitlines():
        words = line.split()
        if "path" in words:
            rows[words[0]] = words[words.index("path") + 1 : words.index("path") + 5]
    assert list(rows) == list(load(FULL, tmp_path).inputs())
    # months as months, delays and shares as numbers
    assert rows["launch.from"] == ["2024-06", "2024-06", "2024-08", "2024-07"]
    assert rows["launch.plan_delay"] == ["0", "0", "2", "0.6"]
    assert rows["launch.collection.bad_debt"] == ["0.02"] * 4
    assert rows["payroll.steps[1].month"] == ["2024-09"] * 4
    assert rows["payroll.steps[1].probability"] == ["0.7"] * 4
    assert [float(x) for x in rows["payroll.steps[1].add"]] == pytest.approx(
        [20, 24.49, 30, 24.68], abs=0.01
    )
    assert (
        "plan of launch: written in the scenario, 2024-06 to 2024-08, then growth\n" in done.stdout
    )
    assert "plan of payroll: csv file 'budget.csv' column 'payroll', 2024-01 to 2025-12\n" in (
        done.stdout
    )


def test_the_docs_examples_of_this_section_are_valid(tmp_path):
    """The example at the head of the docs' section on a company's own plan parses (with a
    budget.csv that has its column)."""
    doc = (ROOT / "docs" / "scenario-format.md").read_text()
    section = doc.split("## A company's own plan", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    header = BASE.replace('start = "2024-01"', 'start = "2025-01"')
    (tmp_path / "budget.csv").write_text(
        "month,cloud\n" + "".join(f"{2025 + k // 12}-{k % 12 + 1:02d},10\n" for k in range(24))
    )
    path = tmp_path / "s.toml"
    path.write_text(header + example)
    s = load_scenario(path)
    names = [line.name for line in s.lines]
    assert names == ["sales", "staff", "cloud", "enterprise", "payroll", "rent", "services"]


def test_until_may_lie_beyond_the_horizon(tmp_path):
    s = load(BASE + PLAN + 'start = 1\nuntil = "2030-01"\n', tmp_path)
    assert s.lines[2].window == Window(first=None, last=72)


def test_a_plan_file_that_cannot_be_read_is_told_once(tmp_path):
    """Two lines (and a variant) plan from the same missing file: one problem, named at the
    first line that reads it, not one per line and per variant."""
    text = (
        BASE
        + PLAN
        + 'plan = { csv = "gone.csv", column = "a" }\n'
        + '[lines.q]\nkind = "cost"\nplan = { csv = "gone.csv", column = "b" }\n'
        + "[variants.v]\nstarting_cash = 600\n"
    )
    problems = errors(text, tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith("lines.p.plan.csv: cannot read csv file 'gone.csv'")
