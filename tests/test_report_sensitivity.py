"""Sobol indices on the report's drivers page: a run directory with ``sensitivity.csv`` (as
``simulate.py sensitivity ... --out RUN_DIR`` writes it) gets the Sobol chart beside the tornado
and ``charts/sensitivity.png``; a damaged file is left out with a warning; without the file the
report is exactly as before.

One small real run of the default scenario is made per module; the indices are written with
:meth:`engine.sensitivity.SensitivityResult.write_csv` from made-up numbers (the analysis itself
is tested in test_sensitivity.py).
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

import simulate
from distributions.errors import RunwayWarning
from engine.sensitivity import SensitivityResult
from reports.data import read_sensitivity
from reports.pdf import build_report

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")

DRIVERS_PAGE = 5  # "Drivers: what moves the risk" in the default scenario's report

STEADY = """\
name = "Steady shop"
description = "A profitable small shop with a large cash pile: no path should run out."
unit = "EUR million"
start = "2025-07"
horizon_months = 18
starting_cash = 50

[lines.sales]
kind = "revenue"
start = "2 to 3"

[lines.rent]
kind = "cost"
start = 1.5
"""


def _run(out: pathlib.Path, scenario: pathlib.Path | str, paths: str) -> pathlib.Path:
    argv = ["run", str(scenario), "--paths", paths, "--seed", "11", "--jobs", "1"]
    assert simulate.main([*argv, "--out", str(out)]) == 0
    return out


def pdftotext(pdf: pathlib.Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    done = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def page_count(pdf: pathlib.Path) -> int:
    done = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, check=True)
    for line in done.stdout.decode("utf-8").splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise AssertionError("pdfinfo gave no page count")


def words(text: str) -> str:
    return " ".join(text.split())


def _result(inputs: list[str], output: str = "before 2026-01-01") -> SensitivityResult:
    """Sobol indices of ``inputs``, the first with the largest total index."""
    d = len(inputs)
    total = np.linspace(0.6, 0.02, d)
    first = total * 0.5
    return SensitivityResult(
        scenario="test",
        output=output,
        description=f"chance cash runs out {output}",
        inputs=tuple(inputs),
        first_order=first,
        first_low=first - 0.03,
        first_high=first + 0.03,
        total=total,
        total_low=total - 0.02,
        total_high=total + 0.02,
        confidence_level=0.95,
        n_resamples=200,
        mean=0.3,
        std=0.45,
        rows=1024,
        evaluations=1024 * (d + 2),
        seed=1,
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A finished run of the default scenario with its report (no sensitivity.csv)."""
    return _run(tmp_path_factory.mktemp("sobol") / "run", simulate.DEFAULT_SCENARIO, "20000")


def _copy(base: pathlib.Path, to: pathlib.Path) -> tuple[pathlib.Path, list[str]]:
    """A copy of the run at ``to``, its report rebuilt there without sensitivity.csv, and the
    text of that report's pages (the reference: the summary names the run directory)."""
    shutil.copytree(base, to)
    shutil.rmtree(to / "charts")
    (to / "report.pdf").unlink()
    build_report(to)
    pdf = to / "report.pdf"
    pages = [pdftotext(pdf, n) for n in range(1, page_count(pdf) + 1)]
    shutil.rmtree(to / "charts")
    return to, pages


def _inputs(run: pathlib.Path) -> list[str]:
    """The run's uncertain inputs, as named in drivers.csv (the tornado's names)."""
    return list(pd.read_csv(run / "drivers.csv")["input"])


def _build(run: pathlib.Path, charts: tuple[str, ...] = ("png",)) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_report(run, charts=charts)
    return caught


# ----- reading the file ---------------------------------------------------------------------
def test_write_csv_carries_the_output_and_evaluations(tmp_path: pathlib.Path) -> None:
    res = _result(["a", "b", "c"])
    res.write_csv(tmp_path)
    back = read_sensitivity(tmp_path)
    assert list(back["input"]) == ["a", "b", "c"]
    assert set(back["output"]) == {"before 2026-01-01"}
    assert set(back["description"]) == {"chance cash runs out before 2026-01-01"}
    assert set(back["evaluations"]) == {res.evaluations}
    np.testing.assert_allclose(back["total"], res.total, rtol=1e-5)


def test_read_sensitivity_without_a_file_is_none(tmp_path: pathlib.Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_sensitivity(tmp_path) is None


def test_an_older_file_without_the_output_columns_is_read(tmp_path: pathlib.Path) -> None:
    _result(["a", "b"]).table().to_csv(tmp_path / "sensitivity.csv", index=False)
    back = read_sensitivity(tmp_path)
    assert back is not None and list(back["input"]) == ["a", "b"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"input,first_order\na,0.5\n",
        b"input,first_order,first_low,first_high,total,total_low,total_high\n"
        b"a,abc,0,1,0.5,0.4,0.6\n",
        b"input,first_order,first_low,first_high,total,total_low,total_high\n",
        b"\x00\xff\xfe garbage \x00\n\x01,\x02\n",
        b'input,first_order\n"a,0.5\n',
    ],
)
def test_a_damaged_file_is_none_with_a_warning(tmp_path: pathlib.Path, content: bytes) -> None:
    (tmp_path / "sensitivity.csv").write_bytes(content)
    with pytest.warns(RunwayWarning, match="sensitivity"):
        assert read_sensitivity(tmp_path) is None


# ----- the report ---------------------------------------------------------------------------
@needs_poppler
def test_sobol_chart_on_the_drivers_page(base: pathlib.Path, tmp_path: pathlib.Path) -> None:
    run, before = _copy(base, tmp_path / "run")
    inputs = _inputs(run)
    top = inputs[-1]  # not the tornado's top input: the name must come from the Sobol chart
    res = _result([top, *inputs[:-1]])
    res.write_csv(run)
    caught = _build(run, charts=("png", "svg"))
    assert not [w for w in caught if "report layout" in str(w.message)]
    pdf = run / "report.pdf"
    assert page_count(pdf) == len(before)  # no page added
    page = words(pdftotext(pdf, DRIVERS_PAGE))
    assert page.startswith("Drivers: what moves the risk")
    assert "Sobol indices: chance cash runs out before 1 January 2026" in page
    assert top in page
    assert "first-order index" in page and "total index" in page
    assert "95% bootstrap confidence intervals" in page
    assert f"{res.evaluations:,} model evaluations" in page
    # the tornado is still there, with its caption and the text below
    assert "What moves the chance that cash runs out" in page
    assert "at or below its 10th percentile" in page
    assert "The input that moves the risk most" in page
    for ext in ("png", "svg"):
        assert (run / "charts" / f"sensitivity.{ext}").stat().st_size > 1000
    # the other pages are unchanged
    for number in range(1, page_count(pdf) + 1):
        if number != DRIVERS_PAGE:
            assert pdftotext(pdf, number) == before[number - 1]


@needs_poppler
def test_a_damaged_file_gives_the_report_without_it(
    base: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    run, before = _copy(base, tmp_path / "run")
    (run / "sensitivity.csv").write_text("input,first_order\nstarting_cash,not a number\n")
    caught = _build(run)
    assert [
        w
        for w in caught
        if issubclass(w.category, RunwayWarning) and "sensitivity" in str(w.message)
    ]
    pdf = run / "report.pdf"
    assert [pdftotext(pdf, n) for n in range(1, len(before) + 1)] == before
    assert page_count(pdf) == len(before)
    assert not (run / "charts" / "sensitivity.png").exists()


@needs_poppler
def test_without_the_file_the_report_is_unchanged(
    base: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    run, before = _copy(base, tmp_path / "run")
    caught = _build(run)
    assert not [w for w in caught if "sensitivity" in str(w.message)]
    pdf = run / "report.pdf"
    assert page_count(pdf) == len(before)
    page = pdftotext(pdf, DRIVERS_PAGE)
    assert page == before[DRIVERS_PAGE - 1]
    assert "Sobol" not in page
    assert not (run / "charts" / "sensitivity.png").exists()


@needs_poppler
def test_sobol_chart_without_a_tornado(tmp_path: pathlib.Path) -> None:
    """No path runs out, so no tornado: the Sobol chart goes under the page's text."""
    scenario = tmp_path / "steady.toml"
    scenario.write_text(STEADY)
    run = _run(tmp_path / "run", scenario, "2000")
    _result(["sales.start"], output="before 2027-01-01").write_csv(run)
    caught = _build(run)
    assert not [w for w in caught if "report layout" in str(w.message)]
    pdf = run / "report.pdf"
    titles = [words(pdftotext(pdf, n)) for n in range(1, page_count(pdf) + 1)]
    (page,) = [t for t in titles if t.startswith("Drivers: what moves the risk")]
    assert "Sobol indices: chance cash runs out before 1 January 2027" in page
    assert "sales.start" in page
    assert (run / "charts" / "sensitivity.png").exists()
