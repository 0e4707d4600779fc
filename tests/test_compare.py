"""Comparing variants on common random numbers (engine/compare.py): paired differences from the
discordant paths, exact zeros for a variant that changes nothing, a closed-form check of the
paired CI and of how much narrower it is than two independent runs', jobs-invariance, the JSON
shape and compare.csv."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

from distributions.errors import ScenarioError
from engine.compare import (
    COMPARE_FILE,
    compare,
    paired_difference,
    read_comparison,
    write_comparison,
)
from engine.results import Z95

ROOT = pathlib.Path(__file__).resolve().parent.parent

UNCERTAIN = """\
name = "Uncertain shop"
unit = "EUR million"
start = "2025-01"
horizon_months = 24
starting_cash = { dist = "uniform", low = 10, high = 30 }
questions = ["2025-07-01", "2026-01-01", "2027-01-01"]

[lines.sales]
kind = "revenue"
start = "1 to 3"
volatility = 0.1

[lines.rent]
kind = "cost"
start = { dist = "normal", mean = 2.5, sd = 0.3 }

[events.round]
kind = "funding"
probability = 0.5
amount = 20
month = { dist = "discrete", values = ["2025-05", "2025-08"], probs = [0.5, 0.5] }

[variants.same]
description = "Only a description: nothing changes"

[variants.same_value]
description = "Sets the rent to what it already is"
lines.rent.start = { dist = "normal", mean = 2.5, sd = 0.3 }

[variants.richer]
description = "More starting cash"
starting_cash = { dist = "uniform", low = 15, high = 35 }
"""

# Deterministic burn: 10 in the bank, 1 a month out, nothing in. Without funding cash goes
# below 0 at the end of month 10 (2025-11). A round of 100 in 2025-02 closes with probability
# P_BASE (variant: P_VARIANT) and then lasts the whole horizon. So, exactly:
# P(runs out before 2025-06-01) = 0 for both; P(before 2026-01-01) = 1 - p.
P_BASE, P_VARIANT = 0.50, 0.52
CLOSED_FORM = f"""\
name = "Deterministic burn"
unit = "USD million"
start = "2025-01"
horizon_months = 24
starting_cash = 10
questions = ["2025-06-01", "2026-01-01"]

[lines.burn]
kind = "cost"
start = 1

[events.round]
kind = "funding"
probability = {P_BASE}
amount = 100
month = "2025-02"

[variants.likelier]
description = "The round is a little likelier to close"
events.round.probability = {P_VARIANT}
"""

PATHS = 40_000


def _write(tmp_path: pathlib.Path, text: str, name: str = "s.toml") -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def uncertain(tmp_path_factory: pytest.TempPathFactory):
    path = _write(tmp_path_factory.mktemp("compare"), UNCERTAIN)
    return path, compare(path, paths=PATHS, seed=5, jobs=1, batch_size=4096)


def test_paired_difference_arithmetic() -> None:
    assert paired_difference(0, 0, 100) == (0.0, (0.0, 0.0))
    d, (lo, hi) = paired_difference(10, 30, 1000)
    assert d == pytest.approx(0.02)
    var = (0.01 + 0.03 - (0.01 - 0.03) ** 2) / 1000
    assert hi - d == pytest.approx(Z95 * math.sqrt(var))
    assert d - lo == pytest.approx(Z95 * math.sqrt(var))
    assert paired_difference(0, 1000, 1000) == (1.0, (1.0, 1.0))  # every path differs


def test_a_variant_that_changes_nothing_differs_by_exactly_zero(uncertain) -> None:
    _, c = uncertain
    q = c.questions()
    assert list(q["variant"].unique()) == ["base", "same", "same_value", "richer"]
    for name in ("base", "same", "same_value"):
        rows = q[q.variant == name]
        assert len(rows) == 3
        assert (rows["difference"] == 0.0).all()
        assert (rows["diff_low"] == 0.0).all() and (rows["diff_high"] == 0.0).all()
        base = q[q.variant == "base"]
        assert rows["probability"].to_list() == base["probability"].to_list()
    # the probabilities are not trivial: the zero is not from 0% or 100% answers
    assert 0.05 < q[q.variant == "base"]["probability"].iloc[-1] < 0.95
    richer = q[(q.variant == "richer")]
    assert (richer["difference"] < 0).all()  # more cash: less risk, on every path
    assert (richer["diff_high"] < 0).all()
    # the difference is exactly the difference of the two probabilities
    base = q[q.variant == "base"]["probability"].to_numpy()
    assert np.allclose(richer["difference"].to_numpy(), richer["probability"].to_numpy() - base)


def test_closed_form_paired_ci_covers_the_exact_difference_and_is_narrow(
    tmp_path: pathlib.Path,
) -> None:
    path = _write(tmp_path, CLOSED_FORM)
    n = 100_000
    c = compare(path, paths=n, seed=2024, jobs=1)
    q = c.questions().set_index(["variant", "before"])
    early = q.xs("2025-06-01", level="before")
    assert (early["probability"] == 0.0).all()
    assert early.loc["likelier", ["difference", "diff_low", "diff_high"]].to_list() == [0, 0, 0]
    late = q.xs("2026-01-01", level="before")
    exact = (1 - P_VARIANT) - (1 - P_BASE)  # = P_BASE - P_VARIANT < 0: likelier, less ruin
    row = late.loc["likelier"]
    assert row["diff_low"] <= exact <= row["diff_high"]
    for name, p in (("base", P_BASE), ("likelier", P_VARIANT)):
        lo, hi = late.loc[name, ["ci_low", "ci_high"]]
        assert lo <= 1 - p <= hi
    paired_width = row["diff_high"] - row["diff_low"]
    # two independent runs (different seeds) would add the two binomial variances
    pb, pv = 1 - P_BASE, 1 - P_VARIANT
    independent_width = 2 * Z95 * math.sqrt(pb * (1 - pb) / n + pv * (1 - pv) / n)
    ratio = independent_width / paired_width
    # exact: sqrt(pb(1-pb) + pv(1-pv)) / sqrt(d(1-d)), d = P_VARIANT - P_BASE = 0.02 -> 5.05
    print(f"independent / paired 95% CI width: {ratio:.2f}")
    assert ratio > 4.5


def test_result_is_the_same_whatever_the_jobs(uncertain) -> None:
    path, one = uncertain
    two = compare(path, paths=PATHS, seed=5, jobs=2, batch_size=4096)
    pd.testing.assert_frame_equal(one.questions(), two.questions())
    pd.testing.assert_frame_equal(one.summary(), two.summary())
    assert one.as_dict() == two.as_dict()


def test_as_dict_shape(uncertain) -> None:
    _, c = uncertain
    d = json.loads(json.dumps(c.as_dict()))
    assert set(d) == {"scenario", "paths", "seed", "variants"}
    assert d["paths"] == PATHS and d["seed"] == 5
    assert [v["name"] for v in d["variants"]] == ["base", "same", "same_value", "richer"]
    for v in d["variants"]:
        assert set(v) == {
            "name",
            "kind",
            "description",
            "median_runway_months",
            "net_loss",
            "questions",
        }
        assert set(v["net_loss"]) == {"2025", "2026"}
        assert set(v["net_loss"]["2025"]) == {"p50", "p95"}
        assert [q["before"] for q in v["questions"]] == ["2025-07-01", "2026-01-01", "2027-01-01"]
        for q in v["questions"]:
            keys = {"before", "probability", "ci95", "difference", "difference_ci95", "replicates"}
            assert set(q) == keys and q["replicates"] == 0  # plain Monte Carlo
            assert len(q["ci95"]) == 2 and len(q["difference_ci95"]) == 2
    assert all(q["difference"] == 0 for q in d["variants"][0]["questions"])
    assert d["variants"][3]["description"] == "More starting cash"


def test_text_table(uncertain) -> None:
    _, c = uncertain
    text = c.text()
    assert "Chance cash runs out before 2026-01-01:" in text
    assert "+0.0 pts (+0.0 to +0.0)" in text
    assert "(reference)" in text
    assert "median runway" in text


def test_compare_csv_written_and_read_back(uncertain, tmp_path: pathlib.Path) -> None:
    _, c = uncertain
    path = write_comparison(c, tmp_path)
    assert path == tmp_path / COMPARE_FILE
    assert not list(tmp_path.glob("*.tmp"))
    back = read_comparison(tmp_path)
    assert back is not None
    expected = c.questions()
    assert list(back.columns) == [*expected.columns, "median_runway_months"]
    pd.testing.assert_frame_equal(back[expected.columns], expected, check_exact=False, rtol=1e-12)
    assert read_comparison(tmp_path / "nowhere") is None


def test_all_variants_by_default_and_named_ones_in_order(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, UNCERTAIN)
    c = compare(path, ["richer", "same"], paths=2000, seed=1, jobs=1)
    assert [v.name for v in c.variants] == ["base", "richer", "same"]


def test_unknown_variant_is_one_line(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, UNCERTAIN)
    with pytest.raises(ScenarioError) as info:
        compare(path, ["richr"], paths=1000, seed=1, jobs=1)
    message = str(info.value)
    assert "\n" not in message
    assert "unknown variant 'richr'" in message and "richer" in message
    assert str(path) in message


def test_a_file_without_variants_is_one_line(tmp_path: pathlib.Path) -> None:
    text = UNCERTAIN.split("[variants.same]")[0]
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        compare(path, paths=1000, seed=1, jobs=1)
    assert "\n" not in str(info.value) and "no variants" in str(info.value)


def test_openai_variants() -> None:
    c = compare(ROOT / "scenarios" / "openai_2024.toml", paths=20_000, seed=3, jobs=1)
    q = c.questions()
    assert list(q["variant"].unique()) == [
        "base",
        "no_raise",
        "unmanaged",
        "compute_plus_30",
        "without cut_costs",  # each management lever switched off, on the same paths
        "without revolver",
    ]
    late = q[q.before == "2026-01-01"].set_index("variant")
    assert late.loc["no_raise", "diff_low"] > 0.1  # without the raise: much likelier
    for lever in ("unmanaged", "without cut_costs", "without revolver"):
        assert late.loc[lever, "diff_low"] > 0  # every lever lowers the risk
    assert late.loc["unmanaged", "difference"] > late.loc["without revolver", "difference"]
    s = c.summary().set_index("variant")
    # unmanaged, the raise is funding, not loss: the net loss is the same on every path
    u = compare(
        ROOT / "scenarios" / "openai_2024.toml",
        paths=20_000,
        seed=3,
        jobs=1,
        sets=[("actions.cut_costs.enabled", False), ("credit.revolver.enabled", False)],
    ).summary()
    u = u.set_index("variant")
    assert u.loc["no_raise", "net_loss_p50_2025"] == u.loc["base", "net_loss_p50_2025"]
    # managed, losing the raise sets off more cuts: a smaller loss
    assert s.loc["no_raise", "net_loss_p50_2025"] < s.loc["base", "net_loss_p50_2025"]
    assert s.loc["compute_plus_30", "net_loss_p50_2024"] > s.loc["base", "net_loss_p50_2024"]


def test_report_gains_the_variants_page_with_compare_csv(tmp_path: pathlib.Path) -> None:
    import shutil
    import subprocess

    import simulate
    from reports import build_report

    out = tmp_path / "run"
    argv = ["run", str(ROOT / "scenarios" / "openai_2024.toml"), "--paths", "20000"]
    assert simulate.main([*argv, "--seed", "11", "--jobs", "1", "--out", str(out)]) == 0
    c = compare(ROOT / "scenarios" / "openai_2024.toml", paths=20_000, seed=11, jobs=1)
    write_comparison(c, out)
    build_report(out, charts=("png", "svg"))  # as `report RUN_DIR`: compare.csv read back
    assert (out / "charts" / "compare.png").stat().st_size > 1000
    assert (out / "charts" / "compare.svg").exists()
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils is not installed")
    text = subprocess.run(
        ["pdftotext", str(out / "report.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    pages = text.split("\f")
    titles = [next(iter(p.strip().splitlines()), "") for p in pages if p.strip()]
    at = titles.index("What changes the answer")
    assert titles[at - 1] == "How management reacts"  # the levers, then what changes the answer
    assert f"Page {at + 1} of {len(titles)}" in pages[at]
    assert "compute_plus_30" in pages[at] and "reference" in pages[at]
