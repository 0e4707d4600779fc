"""The PDF risk report: structure, text and rendering checked with poppler-utils, plus the
chart files, atomic writing, rebuilding from a finished run and the plain-text helpers.

One small real run of the default scenario (20,000 paths) is made per session; its report is
written by ``simulate.py run`` itself. Poppler-dependent tests are skipped when pdftotext /
pdftoppm are missing (the CI script installs poppler-utils).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure

import simulate
from reports.text import Money, date_words, headline, month_words, runway_words

POPPLER = all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfinfo"))
needs_poppler = pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")

ROOT = pathlib.Path(simulate.__file__).resolve().parent
#: Pages of the default scenario's report, in order (page title as printed).
PAGES = [
    "Risk summary",
    "Runway: how long the cash lasts",
    "Cash: the balance month by month",
    "Losses: net loss per year",
    "Drivers: what moves the risk",
    "How management reacts",  # the worked example's cost cuts and credit line
    "Assumptions: every input",
    "Assumptions: every input (continued)",  # then the correlations between inputs
    "Method and convergence",
]
CHARTS = [
    "survival",
    "ruin_month",
    "outcomes",
    "cash_fan",
    "net_loss_2024",
    "net_loss_2025",
    "net_loss_2026",
    "drivers",
    "management_timing",
    "credit_revolver",
    "correlation",
    "convergence_2025-01-01",
    "convergence_2026-01-01",
]
COMPARE_PAGE = "What changes the answer"  # with compare.csv, after the management page
COMPARE_CHART = "compare"


def pages_of(run_dir: pathlib.Path) -> list[str]:
    """The expected page titles of a run's report: PAGES, plus the variants page when the run
    directory has compare.csv (the variants compared on common random numbers)."""
    if not (run_dir / "compare.csv").exists():
        return PAGES
    at = PAGES.index("How management reacts") + 1
    return [*PAGES[:at], COMPARE_PAGE, *PAGES[at:]]


def charts_of(run_dir: pathlib.Path) -> list[str]:
    """The expected chart files of a run: CHARTS, plus the variants chart with compare.csv."""
    return [*CHARTS, COMPARE_CHART] if (run_dir / "compare.csv").exists() else CHARTS


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
    argv = [
        "run",
        str(scenario),
        "--paths",
        paths,
        "--seed",
        "11",
        "--jobs",
        "1",
        "--out",
        str(out),
    ]
    assert simulate.main(argv) == 0
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A finished run of the default scenario; ``simulate.py run`` wrote its report."""
    return _run(tmp_path_factory.mktemp("report") / "run", simulate.DEFAULT_SCENARIO, "20000")


def pdftotext(pdf: pathlib.Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    done = subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def pdfinfo(pdf: pathlib.Path) -> dict[str, str]:
    done = subprocess.run(["pdfinfo", "-isodates", str(pdf)], capture_output=True, check=True)
    lines = done.stdout.decode("utf-8").splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def words(text: str) -> str:
    """Whitespace collapsed (a sentence may wrap across lines in the PDF)."""
    return " ".join(text.split())


# ----- the report of a real run ------------------------------------------------------------
def test_run_writes_the_report_and_no_temporary_file(run_dir: pathlib.Path) -> None:
    assert (run_dir / "report.pdf").stat().st_size > 10_000
    assert not [p.name for p in run_dir.rglob("*.tmp")]


@needs_poppler
def test_page_count_and_titles(run_dir: pathlib.Path) -> None:
    pdf = run_dir / "report.pdf"
    pages = pages_of(run_dir)
    assert int(pdfinfo(pdf)["Pages"]) == len(pages)
    for number, title in enumerate(pages, start=1):
        text = words(pdftotext(pdf, number))
        assert text.startswith(title), (number, text[:80])
        assert "OpenAI 2024" in text  # every page names the scenario
        assert f"Page {number} of {len(pages)}" in text


@needs_poppler
def test_headline_sentence_has_the_probability_of_summary_json(run_dir: pathlib.Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    first_page = words(pdftotext(run_dir / "report.pdf", 1))
    assert summary["questions"]
    for q in summary["questions"]:
        p, (lo, hi) = q["probability"], q["ci95"]
        before = dt.date.fromisoformat(q["before"])
        expected = (
            f"{100 * p:.1f}% chance (95% CI {100 * lo:.1f}–{100 * hi:.1f}%) that cash runs out "
            f"before {before.day} {before:%B} {before.year}."
        )
        assert expected in first_page
        assert headline(before, p, (lo, hi)) in first_page


@needs_poppler
def test_every_page_renders_and_none_is_blank(
    run_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    from matplotlib.image import imread

    subprocess.run(
        ["pdftoppm", "-png", "-r", "30", str(run_dir / "report.pdf"), str(tmp_path / "page")],
        check=True,
    )
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(pages_of(run_dir))
    for image in images:
        gray = imread(image)[..., :3].mean(axis=2)
        # A blank page has variance 0; a page with a title, a rule and a footer only ~1e-3.
        assert gray.var() > 5e-3, image.name
        assert (gray < 0.5).mean() > 0.002, image.name  # some dark ink


@needs_poppler
def test_pdf_metadata_come_from_the_run(run_dir: pathlib.Path) -> None:
    info = pdfinfo(run_dir / "report.pdf")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert info["Title"] == "Runway risk report: OpenAI 2024"
    assert info["Author"] == "Runway"
    assert "20,000 paths" in info["Subject"]
    finished = dt.datetime.fromisoformat(manifest["finished"]).replace(microsecond=0)
    created = dt.datetime.fromisoformat(info["CreationDate"].replace("Z", "+00:00"))
    assert created == finished


def test_every_chart_is_saved_as_png_and_svg_only_on_request(run_dir: pathlib.Path) -> None:
    charts = run_dir / "charts"
    assert sorted(p.name for p in charts.iterdir()) == sorted(
        f"{n}.png" for n in charts_of(run_dir)
    )
    for name in charts_of(run_dir):
        assert (charts / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


@needs_poppler
def test_report_command_rebuilds_the_same_content_without_simulating(
    run_dir: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import engine.runner

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must not simulate again")

    monkeypatch.setattr(engine.runner, "run", no_simulation)
    before = pdftotext(run_dir / "report.pdf")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert simulate.main(["report", str(run_dir)]) == 0
    assert not [w for w in caught if "report layout" in str(w.message)]  # everything fits
    assert "report.pdf" in capsys.readouterr().out
    assert pdftotext(run_dir / "report.pdf") == before
    assert not [p.name for p in run_dir.rglob("*.tmp")]


def test_a_failed_build_leaves_the_previous_report_intact(
    run_dir: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.backends.backend_pdf import PdfPages

    from reports.pdf import build_report

    copy = shutil.copytree(run_dir, tmp_path / "run")
    previous = (copy / "report.pdf").read_bytes()
    calls = []
    original = PdfPages.savefig

    def fail_on_third_page(self: PdfPages, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        original(self, *args, **kwargs)

    monkeypatch.setattr(PdfPages, "savefig", fail_on_third_page)
    with pytest.raises(RuntimeError, match="disk full"):
        build_report(copy, jobs=1)  # drawn here, where PdfPages is patched
    assert (copy / "report.pdf").read_bytes() == previous
    assert not [p.name for p in copy.rglob("*.tmp")]


def test_importing_the_engine_does_not_import_matplotlib() -> None:
    code = (
        "import simulate, engine.runner, engine.rundir, cashflow.model, distributions; "
        "import sys; assert 'matplotlib' not in sys.modules, 'matplotlib was imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# ----- a scenario where nothing goes wrong ---------------------------------------------------
@needs_poppler
def test_a_scenario_where_no_path_runs_out(tmp_path: pathlib.Path) -> None:
    """No questions, no events, no correlations, a start in July: the report says so."""
    scenario = tmp_path / "steady.toml"
    scenario.write_text(STEADY)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = _run(tmp_path / "run", scenario, "2000")
    assert not [w for w in caught if "report layout" in str(w.message)]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["never_runs_out_within_horizon"] == 1.0
    text = words(pdftotext(run / "report.pdf"))
    assert "No simulated path runs out of cash within the horizon." in text
    assert (
        "There is a 0.0% chance (95% CI 0.0–0.2%) that cash runs out before 1 January 2027." in text
    )
    assert "Median runway: beyond the horizon." in text
    assert "2025 (Jul–Dec)" in text
    assert "€" in text


# ----- words from numbers ------------------------------------------------------------------
def test_dates_in_words() -> None:
    assert date_words(dt.date(2026, 1, 1)) == "1 January 2026"
    assert date_words(dt.date(2025, 11, 30)) == "30 November 2025"
    assert month_words("2024-10") == "October 2024"


def test_headline_sentence() -> None:
    d = dt.date(2026, 1, 1)
    assert headline(d, 0.2345, (0.2331, 0.2359)) == (
        "There is a 23.4% chance (95% CI 23.3–23.6%) that cash runs out before 1 January 2026."
    )
    assert headline(d, 0.086, (0.084, 0.088)).startswith("There is an 8.6% chance")
    assert headline(d, 0.112, (0.11, 0.114)).startswith("There is an 11.2% chance")
    assert headline(d, 0.02, (0.01, 0.03)).startswith("There is a 2.0% chance")


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        ("USD billion", 3.72, "$3.7B"),
        ("USD billion", -0.62, "−$0.6B"),
        ("USD billion", 0.042, "$0.04B"),
        ("USD billion", 0.0, "$0"),
        ("USD billion", 1234.5, "$1,234B"),
        ("EUR million", 12.25, "€12.2M"),
        ("CHF million", 3.2, "CHF 3.2M"),
        ("tonnes", 3.2, "3.2 tonnes"),
        ("USD billion", 999e9, "$999,000,000,000B"),
        ("USD billion", 1e300, "$1e300B"),  # not 301 digits wrapped over a page
        ("USD billion", -2.5e15, "−$2.5e15B"),
    ],
)
def test_money(unit: str, value: float, text: str) -> None:
    assert Money(unit)(value) == text


def test_money_ticks_of_huge_amounts() -> None:
    assert Money("USD billion").tick(1e300) == "$1e300B"
    assert Money("USD billion").tick(2.5) == "$2.5B"


def test_runway_never_reached_is_not_the_horizon() -> None:
    assert runway_words("beyond the horizon") == "beyond the horizon"
    assert runway_words(18, "2025-06") == "18 months (cash runs out in June 2025)"
    assert runway_words(1) == "1 month"


def test_loss_density_integrates_to_the_covered_share() -> None:
    from scipy import stats

    from reports.data import loss_density

    levels = np.linspace(0.005, 0.995, 397)
    edges, density = loss_density(stats.norm(5, 1).ppf(levels), levels)
    assert np.sum(density * np.diff(edges)) == pytest.approx(0.99)
    centre = (edges[:-1] + edges[1:]) / 2
    assert centre[np.argmax(density)] == pytest.approx(5, abs=0.15)


def test_ruin_chart_says_so_when_no_path_runs_out() -> None:
    import pandas as pd

    from reports import charts

    ruin = pd.DataFrame({"month": np.arange(12), "probability": np.zeros(12)})
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    ax = charts.ruin_month_bars(Figure().add_subplot(), ruin, labels)
    assert not ax.patches  # no empty histogram
    assert any("No simulated path runs out" in t.get_text() for t in ax.texts)


# ----- intervals, helpers and the report of a run still in memory ---------------------------
@needs_poppler
def test_summary_and_method_pages_give_wilson_intervals(run_dir: pathlib.Path) -> None:
    from engine.results import wilson_interval

    summary = json.loads((run_dir / "summary.json").read_text())
    never, paths = summary["never_runs_out_within_horizon"], summary["paths"]
    lo, hi = wilson_interval(round(never * paths), paths)
    first_page = words(pdftotext(run_dir / "report.pdf", 1))
    assert f"{100 * never:.1f}% (95% CI {100 * lo:.1f}–{100 * hi:.1f}%)" in first_page
    method = words(pdftotext(run_dir / "report.pdf", len(pages_of(run_dir))))
    for q in summary["questions"]:
        p, (lo, hi) = q["probability"], q["ci95"]
        assert f"{100 * p:.1f}%, 95% CI {100 * lo:.1f}–{100 * hi:.1f}%" in method
    assert "±" not in method.split("How the model works")[0].replace("±1.96", "")


def test_report_data_comes_from_the_results(run_dir: pathlib.Path) -> None:
    from engine.rundir import load_run
    from reports.data import TORNADO_INPUTS, collect
    from reports.figures import outcome_segments

    results = load_run(run_dir)
    data = collect(results, run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert data.never_runs_out == results.never_runs_out
    lo, hi = data.never_runs_out_ci
    assert lo <= data.never_runs_out <= hi
    assert (data.hist_bins, data.fan_paths) == (manifest["hist_bins"], manifest["fan_paths"])
    row = data.figure(2025, "net_loss")
    assert (row.year, row.quantity) == (2025, "net_loss")
    risk = data.risk_at(2025)
    assert (risk.year, risk.level) == (2025, 0.95)
    assert data.risk_at(2025, 0.99)["var"] >= risk["var"]
    assert len(data.top_drivers) <= TORNADO_INPUTS
    assert list(data.top_drivers["input"]) == list(data.drivers["input"][: len(data.top_drivers)])
    assert data.month_labels[0] == "2024-01" and len(data.month_labels) == data.horizon_months + 1
    assert list(data.year_of_month[:13]) == [2024] * 12 + [2025]
    shares = [share for _, share, _ in outcome_segments(data)]
    assert min(shares) >= 0 and sum(shares) == pytest.approx(1.0)
    for a, conv, funnel in zip(data.answers, data.convergence, data.funnels, strict=True):
        assert funnel["paths"].iloc[-1] == pytest.approx(conv["paths"].iloc[-1])
        assert funnel["expected_low"].iloc[-1] == pytest.approx(conv["expected_low"].iloc[-1])
        assert funnel["expected_low"].iloc[-1] <= a.probability <= funnel["expected_high"].iloc[-1]


def test_convergence_chart_draws_the_given_funnel() -> None:
    import pandas as pd

    from reports import charts

    df = pd.DataFrame(
        {
            "paths": [1000.0, 2000.0],
            "probability": [0.30, 0.28],
            "low": [0.27, 0.26],
            "high": [0.33, 0.30],
            "expected_low": [0.25, 0.26],
            "expected_high": [0.31, 0.30],
        }
    )
    funnel = pd.DataFrame(
        {"paths": [250.0, 1000.0, 2000.0], "expected_low": [0.2, 0.25, 0.26]}
        | {"expected_high": [0.36, 0.31, 0.30]}
    )
    ax = charts.convergence(Figure().add_subplot(), df, funnel)
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert sorted(list(line.get_ydata()) for line in dotted) == [
        [0.2, 0.25, 0.26],
        [0.36, 0.31, 0.3],
    ]
    ax = charts.convergence(Figure().add_subplot(), df)  # default: the rows' own range
    dotted = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert sorted(list(line.get_xdata()) for line in dotted) == [[1000.0, 2000.0]] * 2


def test_runway_words_short_for_a_table_cell() -> None:
    assert runway_words(18, "2025-06", short=True) == "18 months (Jun 2025)"
    assert runway_words("beyond the horizon", None, short=True) == "beyond the horizon"


@needs_poppler
def test_write_report_of_a_run_in_memory_matches_its_rebuild(tmp_path: pathlib.Path) -> None:
    """The report written from the Results just simulated (scenario.file: the original file)
    is the report rebuilt from the run directory."""
    from engine.rundir import save_run
    from reports.pdf import build_report, write_report

    results = simulate.run(simulate.DEFAULT_SCENARIO, paths=5000, seed=4, jobs=1)
    out = tmp_path / "run"
    save_run(results, out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = pdftotext(write_report(results, str(out), charts=("png", "svg")))
    assert not [w for w in caught if "report layout" in str(w.message)]
    assert b"<svg" in (out / "charts" / "survival.svg").read_bytes()[:2000]
    assert first == pdftotext(build_report(out))
