"""A company's own plan through the whole engine: the chance of running out against closed forms
(each scenario runs out in a known month for each value of one uncertain input, so the answer
is that input's distribution), within 4 Monte Carlo standard errors of the estimate; and the
built-in scenario ``saas_startup``.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import shutil
import subprocess
import tomllib

import pytest

import simulate
from cashflow.calendar import month_start_date

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATHS = 20_000
K = 4.0  # standard errors


def header(cash: float, horizon: int) -> str:
    return (
        f'name = "closed form"\nunit = "USD thousand"\nstart = "2024-01"\n'
        f"horizon_months = {horizon}\nstarting_cash = {cash}\n"
    )


def chance(tmp_path: pathlib.Path, text: str, month: int, seed: int) -> float:
    """The estimated chance of running out before month ``month`` (from 2024-01), checked
    against nothing yet; the caller compares it with its closed form."""
    path = tmp_path / "s.toml"
    path.write_text(text)
    results = simulate.run(path, paths=PATHS, seed=seed, jobs=1, progress=None)
    return results.probability_runs_out_before(month_start_date(2024, 1, month)).probability


def close(estimate: float, exact: float) -> None:
    se = math.sqrt(max(exact * (1 - exact), 1e-12) / PATHS)
    assert abs(estimate - exact) <= K * se, (estimate, exact, se)


def test_collection_delay_drawn_per_path(tmp_path) -> None:
    """Revenue 10, costs 12, cash 100; collected d months late, cash_t = 100 - 10 d -
    2 (t + 1) once t >= d: below 0 first at t = 50 - 5 d (50, 45, 40, 35 for d = 0..3).
    So P(before month 41) = P(d >= 2) = 0.7 and P(before month 46) = P(d >= 1) = 0.9."""
    text = header(100, 60) + '[lines.sales]\nkind = "revenue"\nstart = 10\n'
    text += 'collection = { delay_months = { dist = "discrete", values = [0, 1, 2, 3], '
    text += "probs = [0.1, 0.2, 0.3, 0.4] } }\n"
    text += '[lines.costs]\nkind = "cost"\nstart = 12\n'
    close(chance(tmp_path, text, 41, seed=1), 0.7)
    close(chance(tmp_path, text, 46, seed=2), 0.9)
    assert chance(tmp_path, text, 35, seed=3) == 0.0 and chance(tmp_path, text, 51, seed=3) == 1


def test_a_step_that_may_happen(tmp_path) -> None:
    """Costs 10 a month from 100 run out in month 10 (100 - 10 (t + 1) < 0 first at t = 10).
    A step of a = 5 to 8 from 2024-03 (t = 2), with probability 0.3, makes the cash
    100 - 10 (t + 1) - a (t - 1): below 0 first at t = 7 (a = 5) or t = 6 (a = 8). So
    P(before month 8) = 0.3 exactly."""
    text = header(100, 24) + '[lines.costs]\nkind = "cost"\nstart = 10\n'
    text += 'steps = [{ month = "2024-03", add = { dist = "uniform", low = 5, high = 8 }, '
    text += "probability = 0.3 }]\n"
    close(chance(tmp_path, text, 8, seed=4), 0.3)


def test_plan_scale_and_plan_delay(tmp_path) -> None:
    """A cost plan of 10 a month, times plan_scale ~ uniform(0.5, 1.5), against revenue 9 a
    month: the cash (12) falls only when the scale is above 0.9, by 10 s - 9 a month, and
    runs out within 12 months exactly when 12 (10 s - 9) > 12, s > 1: P = 0.5. Slipped by
    plan_delay in {0, 6} (half each), the plan costs nothing in its first 6 months on half
    the paths, which run out within 12 months only when 6 (10 s - 9) > 12 + 54, s > 2:
    never. So P(before month 12) = 0.5 * 0.5 = 0.25."""
    plan = ", ".join(f'"2024-{m:02d}" = 10' for m in range(1, 13))
    text = header(12, 12) + '[lines.sales]\nkind = "revenue"\nstart = 9\n'
    text += f'[lines.costs]\nkind = "cost"\nplan = {{ {plan} }}\n'
    text += 'plan_scale = { dist = "uniform", low = 0.5, high = 1.5 }\n'
    close(chance(tmp_path, text, 12, seed=5), 0.5)
    text += 'plan_delay = { dist = "discrete", values = [0, 6] }\n'
    close(chance(tmp_path, text, 12, seed=6), 0.25)


# -- the built-in scenario --------------------------------------------------------------------

SAAS = ROOT / "scenarios" / "saas_startup.toml"


def test_saas_startup_reads_its_budget_and_marks_assumptions() -> None:
    from cashflow.parse import load_scenario

    s = load_scenario(SAAS)
    assert s.unit == "USD thousand" and s.horizon_months == 24
    budget = (ROOT / "scenarios" / "saas_startup_budget.csv").read_text().splitlines()
    assert budget[0] == "month,revenue,payroll,cloud,rent" and len(budget) == 25
    plans = {line.name: line.plan for line in s.lines if line.plan is not None}
    assert {"recurring", "payroll", "cloud", "rent", "enterprise"} == set(plans)
    assert all(len(plans[n].amounts) in (18, 24) for n in ("recurring", "payroll", "cloud"))
    lines = {line.name: line for line in s.lines}
    assert lines["payroll"].steps is not None and len(lines["payroll"].steps) == 2
    assert lines["services"].seasonality is not None
    assert lines["recurring"].collection is not None and lines["cloud"].payment is not None
    assert set(s.variants) == {"no_extension", "late_launch"}
    for name, spec in s.inputs().items():  # every number not from the budget is an assumption
        assert spec.source and ("assumption" in spec.source), name
    doc = tomllib.loads(SAAS.read_text())
    assert doc["description"] and "assumption" in doc["source"]


def test_saas_startup_variants_on_the_same_paths() -> None:
    """Without the extension the company runs out more often; a late launch too, less so."""
    from engine.compare import compare

    c = compare(simulate.resolve_scenario("saas_startup"), paths=20_000, seed=7, jobs=1)
    table = c.questions()
    end = table[table["before"] == "2027-01-01"].set_index("variant")
    base = end.loc["base", "probability"]
    assert 0.05 < base < 0.8
    assert end.loc["no_extension", "diff_low"] > 0.2
    assert end.loc["late_launch", "diff_low"] > 0


@pytest.mark.parametrize("name", ["saas_startup", "saas_startup.toml"])
def test_saas_startup_by_name_from_another_folder(capsys, tmp_path, monkeypatch, name) -> None:
    monkeypatch.chdir(tmp_path)
    code = simulate.main(["validate", name])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("SaaS startup 2025 (") and "plan of payroll: csv file" in out


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler's pdftotext is not installed")
def test_saas_startup_report_says_when_cash_moves(tmp_path, capsys) -> None:
    """The report of a scenario with late cash states the accrual and cash views in one
    sentence on its method page; one without late cash does not."""
    from engine.readback import load_run
    from reports.data import collect
    from reports.method_page import _method_texts

    run_dir = tmp_path / "run"
    argv = ["run", "saas_startup", "--paths", "4000", "--seed", "1", "--jobs", "1"]
    assert simulate.main([*argv, "--out", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    pages = subprocess.run(
        ["pdftotext", str(run_dir / "report.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    text = " ".join(pages.split())
    sentence = (
        "Revenue, costs and the yearly figures count each amount in the month it is earned or "
        "incurred (accrual), while the cash balance, and so the month cash runs out, counts it "
        "in the month the money arrives or leaves, after the scenario's collection and payment "
        "delays."
    )
    assert sentence in text.replace("- ", "-")
    data = collect(load_run(run_dir), run_dir)
    assert sentence in _method_texts(data)[0]
    on_time = data.inputs[~data.inputs["name"].str.contains("delay_months")]
    assert sentence not in _method_texts(dataclasses.replace(data, inputs=on_time))[0]
