"""The report's page "How management reacts": a small managed scenario (an action, a bridge
round and a credit line) run once per module with --compare, its page checked against
management.csv and compare.csv, its charts saved; the page left out of an unmanaged scenario's
report, whose Limitations say so; the method and limitations words.

PDF text is read with pdftotext (poppler-utils); those tests are skipped without it.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import subprocess
import warnings

import pandas as pd
import pytest

import simulate
from engine.compare import pts
from reports.text import (
    LIMITATIONS,
    limitations,
    management_method_words,
    month_short,
    pct,
    pct_in,
    pct_range,
)

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdftoppm"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")

TITLE = "How management reacts"
COMPARE_TITLE = "What changes the answer"

MANAGED = """\
name = "Managed shop"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = 10
questions = ["2025-01-01", "2026-01-01"]

[lines.rev]
kind = "revenue"
start = 1
growth = { dist = "normal", mean = 0.02, sd = 0.02 }

[lines.staff]
kind = "cost"
start = 2

[actions.cut]
when = "runway < 6"
lines = ["staff"]
factor = { dist = "uniform", low = 0.7, high = 0.9 }
source = "assumption: the board cuts staff costs when the runway is short"

[events.bridge]
kind = "funding"
when = "cash < 2"
probability = 0.5
amount = 3
delay_months = 2
source = "assumption: insiders bridge half the time"

[credit.rcf]
limit = 2
interest = 0.1
available_from = "2024-03"
source = "bank facility, undrawn at signing"
"""

UNMANAGED = """\
name = "Plain shop"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = 10
questions = ["2026-01-01"]

[lines.rev]
kind = "revenue"
start = 1
growth = { dist = "normal", mean = 0.02, sd = 0.02 }

[lines.staff]
kind = "cost"
start = 2
"""


def _run(tmp: pathlib.Path, text: str, *extra: str, paths: str = "20000") -> pathlib.Path:
    scenario = tmp / "scenario.toml"
    scenario.write_text(text, encoding="utf-8")
    out = tmp / "run"
    argv = ["run", str(scenario), "--paths", paths, "--seed", "1", "--jobs", "1"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert simulate.main([*argv, "--out", str(out), *extra]) == 0
    layout = [str(w.message) for w in caught if "report layout" in str(w.message)]
    assert not layout, layout  # everything fits its page
    return out


@pytest.fixture(scope="module")
def managed(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A finished, compared run of the managed scenario (its report written by the run)."""
    return _run(tmp_path_factory.mktemp("managed"), MANAGED, "--compare")


@pytest.fixture(scope="module")
def unmanaged(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return _run(tmp_path_factory.mktemp("unmanaged"), UNMANAGED, paths="4000")


def pdftotext(pdf: pathlib.Path) -> list[str]:
    """The text of every page, whitespace collapsed (sentences and cells wrap in the PDF)."""
    done = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    pages = done.stdout.decode("utf-8").split("\f")
    return [" ".join(p.split()) for p in pages if p.strip()]


def titles(pages: list[str]) -> list[str]:
    known = [
        "Risk summary",
        "Runway: how long the cash lasts",
        "Cash: the balance month by month",
        "Losses: net loss per year",
        "Drivers: what moves the risk",
        TITLE,
        COMPARE_TITLE,
        "Assumptions",
        "Method and convergence",
    ]
    return [next((k for k in known if p.startswith(k)), p[:40]) for p in pages]


def management_page(run: pathlib.Path) -> str:
    pages = pdftotext(run / "report.pdf")
    found = [p for p in pages if p.startswith(TITLE)]
    assert len(found) == 1
    return found[0]


def _month(label: str) -> str:
    return month_short(label)


def _when(row: pd.Series) -> str:
    """The first-month cell as the page writes it: "Jul 2024 (Jun–Sep 2024)"."""
    p10, p50, p90 = (_month(row[c]) for c in ("month_p10", "month_p50", "month_p90"))
    if p10 == p90:
        return p50
    same_year = p10.split()[1] == p90.split()[1]
    return f"{p50} ({p10.split()[0] if same_year else p10}–{p90})"


# ----- the managed scenario's page -----------------------------------------------------------
@needs_poppler
def test_the_page_comes_after_drivers_and_before_the_variants(managed: pathlib.Path) -> None:
    pages = pdftotext(managed / "report.pdf")
    names = titles(pages)
    at = names.index(TITLE)
    assert names[at - 1] == "Drivers: what moves the risk"
    assert names[at + 1] == COMPARE_TITLE
    assert names.count(TITLE) == 1  # three levers fit one page
    for number, text in enumerate(pages, start=1):
        assert text.endswith(f"Page {number} of {len(pages)}")


@needs_poppler
def test_the_table_has_the_numbers_of_management_csv(managed: pathlib.Path) -> None:
    page = management_page(managed)
    table = pd.read_csv(managed / "management.csv", keep_default_na=False)
    assert list(table["event"]) == ["fired", "triggered", "arrived", "drew"]
    words = {"fired": "fired", "triggered": "condition met", "arrived": "money arrived"}
    for _, row in table.iterrows():
        lo, hi = row.share_lo, row.share_hi
        share = f"{pct_in(row.share, lo, hi)} ({pct_range(lo, hi)})"
        assert f"{words.get(row.event, 'drawn')}: {share}" in page, row.to_dict()
        assert row.month_p50, row.to_dict()  # every lever acts on some paths here
        assert _when(row) in page, (_when(row), row.to_dict())
    for text in (
        "When runway below 6 months: staff to 71–89% of plan, from 1 month later.",
        "When cash below $2.0M: a round of $3.0M is raised (once), closes with 50% chance, "
        "money 2 months later.",
        "Limit $2.0M at 10% a year from Mar 2024; drawn automatically to keep cash at the floor",
        "Sources. cut: assumption: the board cuts staff costs when the runway is short; "
        "bridge: assumption: insiders bridge half the time; rcf: bank facility, undrawn at "
        "signing.",
    ):
        assert text in page


@needs_poppler
def test_the_effects_are_the_without_rows_of_compare_csv(managed: pathlib.Path) -> None:
    page = management_page(managed)
    df = pd.read_csv(managed / "compare.csv", keep_default_na=False)
    last = df[df.before == "2026-01-01"].set_index("variant")
    assert f"before 1 Jan 2026 (as written {pct(last.loc['base', 'probability'])})" in page
    for name, lead in (
        ("cut", "without it"),
        ("bridge", "if it never closes"),
        ("rcf", "without it"),
    ):
        r = last.loc[f"without {name}"]
        assert r.diff_low > 0  # every lever lowers the risk in this scenario
        cell = (
            f"{lead}: {pct(r.probability)} ({pts(r.difference)} points, 95% CI "
            f"{pts(r.diff_low)} to {pts(r.diff_high)})"
        )
        assert cell in page, cell
    # the lead names the lever that matters most
    top = max(("cut", "bridge", "rcf"), key=lambda n: last.loc[f"without {n}", "difference"])
    assert f"the lever that holds it down most is {top}" in page
    assert "As written, the chance that cash runs out before 1 January 2026 is" in page


def test_both_charts_are_saved_as_files(managed: pathlib.Path) -> None:
    for name in ("management_timing", "credit_rcf"):
        png = managed / "charts" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert not (managed / "charts" / f"{name}.svg").exists(), name  # SVG: on request


@needs_poppler
def test_the_managed_method_page_says_what_is_modelled(managed: pathlib.Path) -> None:
    method = pdftotext(managed / "report.pdf")[-1]
    assert method.startswith("Method and convergence")
    assert limitations(["cut"], ["bridge"], ["rcf"]) in method
    assert management_method_words(["cut"], ["bridge"], ["rcf"]) in method
    assert (
        'With a credit line, "runs out" means cash below the floor with the line fully drawn'
        in (method)
    )
    assert "models no management reaction" not in method


@needs_poppler
def test_the_page_renders(managed: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from matplotlib.image import imread

    names = titles(pdftotext(managed / "report.pdf"))
    number = names.index(TITLE) + 1
    pdf = managed / "report.pdf"
    args = ["-png", "-r", "30", "-f", str(number), "-l", str(number)]
    subprocess.run(["pdftoppm", *args, str(pdf), str(tmp_path / "page")], check=True)
    (image,) = tmp_path.glob("page-*.png")
    gray = imread(image)[..., :3].mean(axis=2)
    assert gray.var() > 5e-3
    assert (gray < 0.5).mean() > 0.002


@needs_poppler
def test_without_compare_csv_the_effects_say_how_to_get_them(
    managed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    from reports.pdf import build_report

    copy = shutil.copytree(managed, tmp_path / "run")
    (copy / "compare.csv").unlink()
    build_report(copy)
    pages = pdftotext(copy / "report.pdf")
    names = titles(pages)
    assert COMPARE_TITLE not in names
    assert names[names.index(TITLE) - 1] == "Drivers: what moves the risk"
    page = management_page(copy)
    assert page.count("not compared (run with --compare)") == 3
    assert "run with --compare to simulate the scenario with each lever switched off" in page


@needs_poppler
def test_the_report_command_rebuilds_the_same_page(
    managed: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """The run directory read back (results.npz, compare.csv) gives the page of the run."""
    copy = shutil.copytree(managed, tmp_path / "run")
    (copy / "report.pdf").unlink()
    assert simulate.main(["report", str(copy)]) == 0
    before, after = pdftotext(managed / "report.pdf"), pdftotext(copy / "report.pdf")
    assert titles(after) == titles(before)
    assert management_page(copy) == management_page(managed)
    assert after[-1] == before[-1]  # the method page


# ----- an unmanaged scenario -----------------------------------------------------------------
@needs_poppler
def test_an_unmanaged_report_has_no_such_page_and_says_so(unmanaged: pathlib.Path) -> None:
    pages = pdftotext(unmanaged / "report.pdf")
    assert not [p for p in pages if p.startswith(TITLE)]
    assert not (unmanaged / "charts" / "management_timing.png").exists()
    method = pages[-1]
    assert method.startswith("Method and convergence")
    assert (
        "This scenario models no management reaction (no actions, bridge rounds or credit "
        "lines), so spending continues as planned however low cash gets; the scenario format "
        "supports all three." in method
    )
    assert LIMITATIONS in method
    assert "Management reacts" not in method


# ----- words --------------------------------------------------------------------------------
def test_limitations_name_the_levers_and_what_is_not_modelled() -> None:
    text = limitations(["cut", "freeze"], [], ["rcf"])
    assert "Management reacts only as the scenario describes (2 actions (cut, freeze) and the " in (
        text
    )
    assert "credit line rcf)" in text
    assert "costs are never cut part-way through a month" in text
    assert "reacting to anything else" in text and "negotiating" in text
    assert '"runs out" means cash below the floor with the line fully drawn' in text
    no_credit = limitations(["cut"])
    assert '"runs out" means' not in no_credit
    assert limitations() == LIMITATIONS
    assert "models no management reaction" in LIMITATIONS
    assert management_method_words() == ""
    assert "a bridge round is raised the first time its condition holds" in (
        management_method_words(bridges=["b"])
    )


def test_the_effect_date_falls_back_to_the_last_compared_date() -> None:
    from reports.data import _lever_effects

    df = pd.DataFrame(
        {
            "variant": ["base", "without cut", "base", "without cut"],
            "before": ["2025-01-01", "2025-01-01", "2025-07-01", "2025-07-01"],
            "probability": [0.1, 0.2, 0.3, 0.4],
        }
    )
    effects, at = _lever_effects(df, ["cut", "rcf"], "2025-07-01")
    assert at == "2025-07-01" and list(effects) == ["cut"]
    assert effects["cut"]["probability"] == 0.4
    effects, at = _lever_effects(df, ["cut"], dt.date(2026, 1, 1).isoformat())
    assert at == "2025-07-01"
    assert _lever_effects(None, ["cut"], "2025-07-01") == (None, None)
    assert _lever_effects(df[df.variant == "base"], ["cut"], "2025-07-01") == ({}, None)
