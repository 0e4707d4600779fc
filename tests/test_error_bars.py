"""Honest error bars for every sampler (engine.results: ``probability_intervals``).

A scenario with a known answer: starting cash C ~ Uniform(5, 15) and one cost line whose monthly
amount X ~ LogNormal(median 1, sigma 0.5) is drawn once per path, so cash after month t is
C - X (t + 1) and cash runs out before month m iff X m > C:
P = E[P(X > C / m)] = integral of sf_X(c / m) f_C(c) dc, from scipy (independent of the
engine). Over SEEDS runs per sampler, the reported 95% interval must cover P about 95% of the
time (within 4 binomial standard errors of the coverage itself), and for lhs / sobol the
reported standard error must match the spread of the estimates over the seeds.
"""

from __future__ import annotations

import json
import math
import pathlib
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

import engine.runner as runner
from cashflow.parse import load_scenario
from distributions.errors import RunwayWarning
from engine.batch import Grids
from engine.results import MIN_REPLICATES, Z95, BatchMoments, Results, wilson_interval
from engine.rundir import load_run, save_run
from engine.state import RunState

SEEDS = 100
PATHS = 4096 + 32  # 65 batches of 64 paths, the last one of 32 (unequal sizes)
BATCH = 64
QUESTIONS = {"2024-05-01": 4, "2024-11-01": 10}  # question date -> months
COVERAGE_TOL = 4 * math.sqrt(0.95 * 0.05 / SEEDS)  # 4 binomial SEs of the coverage: 0.087

KNOWN = """
name = "error bars"
description = "cash C ~ U(5, 15), a per-path monthly cost X ~ lognormal(1, 0.5)"
unit = "USD million"
start = "2024-01"
horizon_months = 12
starting_cash = {cash}
questions = ["2024-05-01", "2024-11-01"]

[lines.burn]
kind = "cost"
start = {burn}
"""
CASH = '{ dist = "uniform", low = 5, high = 15 }'
BURN = '{ dist = "lognormal", median = 1.0, sigma = 0.5 }'


def exact(months: int) -> float:
    """P(X months > C), X ~ lognormal(median 1, sigma 0.5), C ~ U(5, 15)."""
    x = stats.lognorm(0.5, scale=1.0)
    return integrate.quad(lambda c: x.sf(c / months) / 10.0, 5.0, 15.0, epsabs=1e-13)[0]


def write(directory: pathlib.Path, name: str, cash: str = CASH, burn: str = BURN):
    path = directory / f"{name}.toml"
    path.write_text(KNOWN.format(cash=cash, burn=burn), encoding="utf-8")
    return load_scenario(path)


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    return write(tmp_path_factory.mktemp("known"), "known")


@pytest.fixture(autouse=True, scope="module")
def small_histograms():
    """The histograms do not enter the ruin counts; small grids keep 100 runs a few seconds."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "HIST_BINS", 16)
        mp.setattr(runner, "FAN_BINS", 16)
        yield


def quick(scenario, **kw) -> Results:
    kw = {"paths": PATHS, "jobs": 1, "batch_size": BATCH, "progress": None, **kw}
    return runner.run(scenario, **kw)


@pytest.fixture(scope="module")
def repeated(known) -> dict[str, dict[str, list]]:
    """For each sampler, over SEEDS seeds: the answers to both questions."""
    out = {}
    for sampler in ("mc", "lhs", "sobol"):
        answers = [quick(known, seed=seed, sampler=sampler).answers() for seed in range(SEEDS)]
        out[sampler] = {b: [a[i] for a in answers] for i, b in enumerate(QUESTIONS)}
    return out


@pytest.mark.parametrize("sampler", ["mc", "lhs", "sobol"])
@pytest.mark.parametrize("before", list(QUESTIONS))
def test_the_95_percent_interval_covers_the_exact_answer(repeated, sampler, before):
    p = exact(QUESTIONS[before])
    answers = repeated[sampler][before]
    coverage = np.mean([a.ci95[0] <= p <= a.ci95[1] for a in answers])
    assert abs(coverage - 0.95) <= COVERAGE_TOL, (sampler, before, coverage)
    want = "binomial" if sampler == "mc" else f"replicates ({math.ceil(PATHS / BATCH)} batches"
    assert all(a.method.startswith(want) for a in answers)


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
@pytest.mark.parametrize("before", list(QUESTIONS))
def test_the_reported_error_matches_the_spread_over_seeds(repeated, sampler, before):
    answers = repeated[sampler][before]
    spread = np.std([a.probability for a in answers], ddof=1)
    reported = np.sqrt(np.mean([a.std_error**2 for a in answers]))
    assert 1 / 1.5 <= reported / spread <= 1.5, (sampler, before, reported, spread)
    # ... and the gain over plain Monte Carlo is visible: far below the binomial error
    binomial = np.mean([math.sqrt(a.probability * (1 - a.probability) / a.paths) for a in answers])
    assert reported < 0.8 * binomial


def test_mc_keeps_the_binomial_error_and_the_wilson_interval(repeated):
    for answers in repeated["mc"].values():
        for a in answers:
            k = round(a.probability * a.paths)
            lo, hi = wilson_interval(k, a.paths)
            assert a.std_error == math.sqrt(a.probability * (1 - a.probability) / a.paths)
            assert a.ci95 == (float(lo), float(hi)) and a.note == "" and a.replicates == 0


def test_the_replicate_formula(known):
    """SE**2 = sum n_b (p_b - p)**2 / ((B - 1) N), interval p +- t(0.975, B - 1) SE."""
    res = quick(known, seed=3, sampler="lhs")
    months = QUESTIONS["2024-11-01"]
    k_b = res.batch_ruin_counts[:, :months].sum(axis=1)
    n_b = res.batch_sizes
    assert n_b[-1] == 32 and len(n_b) == 65
    p = k_b.sum() / n_b.sum()
    se = math.sqrt(np.sum(n_b * (k_b / n_b - p) ** 2) / ((len(n_b) - 1) * n_b.sum()))
    a = res.probability_runs_out_before("2024-11-01")
    assert a.probability == p and a.std_error == pytest.approx(se, rel=1e-9)
    half = stats.t.ppf(0.975, len(n_b) - 1) * se
    assert a.ci95 == pytest.approx((p - half, p + half), rel=1e-9)
    assert a.replicates == 65 and a.method == "replicates (65 batches, Student t)"
    assert "65 batches as replicates" in a.sentence()
    d = a.as_dict()
    assert d["method"] == a.method and d["std_error"] == a.std_error and "note" not in d


def test_convergence_and_funnel_follow_the_reported_interval(known):
    res = quick(known, seed=5, sampler="sobol")
    a = res.probability_runs_out_before("2024-11-01")
    c = res.convergence("2024-11-01")
    last = c.iloc[-1]
    assert (last["low"], last["high"]) == a.ci95  # the same function, to the bit
    # before MIN_REPLICATES batches the band is the Wilson one
    early = c.iloc[MIN_REPLICATES - 2]
    lo, hi = wilson_interval(round(early["probability"] * early["paths"]), early["paths"])
    assert (early["low"], early["high"]) == pytest.approx((float(lo), float(hi)))
    # the funnel: Z95 sqrt(v / n (1 - n / N)), v the replicate variance (SE**2 = v / N)
    n, big = c["paths"].to_numpy(float), res.paths
    v = a.std_error**2 * big
    half = Z95 * np.sqrt(v / n * (1 - n / big))
    np.testing.assert_allclose(c["expected_high"], np.clip(a.probability + half, 0, 1))
    assert last["expected_low"] == last["expected_high"] == a.probability  # closes at N


def test_until_ci_stops_on_the_reported_half_widths(known):
    res = quick(known, seed=2, sampler="lhs", paths=1024, until_ci=0.006, max_paths=40_000)
    assert res.stop["reason"] == "precision reached"
    for a in res.answers():
        assert a.method.startswith("replicates")
        assert res.stop["half_widths"][a.before.isoformat()] == (a.ci95[1] - a.ci95[0]) / 2
    # one chunk (8 batches of 64) fewer would not have met the target
    fewer = quick(known, seed=2, sampler="lhs", paths=res.paths - 8 * BATCH)
    assert max((a.ci95[1] - a.ci95[0]) / 2 for a in fewer.answers()) > 0.006


def test_the_running_moments_equal_the_results(known):
    res = quick(known, seed=4, sampler="lhs")
    whole = BatchMoments.of_batches(res.batch_ruin_counts, res.batch_sizes)
    state = RunState.from_arrays(
        {
            "chunks": np.array(9),
            "seconds": np.array(0.0),
            "batch_ruin_counts": res.batch_ruin_counts,
            "batch_sizes": res.batch_sizes,
            "driver_counts": res.driver_counts,
            "funding_counts": res.funding_counts,
            "sample_cash": np.zeros((0, 12)),
            **{f"hist_{k}": getattr(res.hist, k) for k in ("counts", "sums", "minimum", "maximum")},
            "hist_n": np.array(res.hist.n),
            **{f"fan_{k}": getattr(res.fan, k) for k in ("counts", "sums", "minimum", "maximum")},
            "fan_n": np.array(res.fan.n),
            "grid_lo": res.hist.grid.lo,
            "grid_hi": res.hist.grid.hi,
            "fan_lo": res.fan.grid.lo,
            "fan_hi": res.fan.grid.hi,
        },
        Grids(quantities=res.hist.grid, fan=res.fan.grid),
        12,
        len(res.driver_names),
        len(res.funding_names),
    )
    running = state.moments()
    assert running.paths == whole.paths and running.batches == whole.batches == 65
    np.testing.assert_array_equal(running.ruined, whole.ruined)
    assert running.square_sums.keys() == whole.square_sums.keys() == {32, 64}
    for n in whole.square_sums:
        np.testing.assert_array_equal(running.square_sums[n], whole.square_sums[n])
    np.testing.assert_array_equal(running.mean_square(), whole.mean_square())


# ----- k = 0 and k = n: no standard error of 0 ----------------------------------------------
@pytest.mark.parametrize("sampler", ["mc", "lhs"])
def test_no_path_runs_out_gives_no_standard_error(tmp_path, sampler):
    from reports.text import precision_words

    safe = write(
        tmp_path, "safe", cash="100", burn='{ dist = "lognormal", median = 1, sigma = 0.1 }'
    )
    a = quick(safe, seed=1, sampler=sampler).probability_runs_out_before("2024-11-01")
    lo, hi = wilson_interval(0, PATHS)
    assert a.probability == 0 and a.std_error is None
    assert a.ci95 == (0.0, float(hi)) and lo == 0 and a.method == "binomial"
    text = a.sentence()
    assert f": 0.0% (95% CI 0.0–{100 * hi:.1f}%)" in text and "SE" not in text
    d = json.loads(json.dumps(a.as_dict()))
    assert d["std_error"] is None and d["ci95"] == [0.0, hi]
    words = precision_words(a.probability, a.std_error, a.paths)
    assert "standard error" in words and "0.00" not in words and "upper end" in words
    if sampler == "lhs":
        assert a.note == "no path runs out: Wilson interval" and a.note in text


def test_every_path_runs_out_gives_no_standard_error(tmp_path):
    doomed = write(
        tmp_path, "doomed", cash="1", burn='{ dist = "lognormal", median = 5, sigma = 0.1 }'
    )
    res = quick(doomed, seed=1, sampler="sobol")
    a = res.probability_runs_out_before("2024-05-01")
    assert a.probability == 1 and a.std_error is None and a.ci95[1] == 1.0
    assert a.ci95[0] == float(wilson_interval(PATHS, PATHS)[0])
    assert a.note == "every path runs out: Wilson interval"
    assert res.convergence("2024-05-01")["low"].iloc[-1] == a.ci95[0]


# ----- fewer than 30 batches: the binomial interval, with a note ----------------------------
@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
def test_fewer_than_30_batches_falls_back_with_a_note(known, sampler):
    res = quick(known, seed=7, sampler=sampler, paths=29 * BATCH)
    a = res.probability_runs_out_before("2024-11-01")
    k = round(a.probability * a.paths)
    lo, hi = wilson_interval(k, a.paths)
    assert a.method == "binomial" and a.ci95 == (float(lo), float(hi)) and a.replicates == 0
    assert a.std_error == math.sqrt(a.probability * (1 - a.probability) / a.paths)
    assert a.note.startswith("fewer than 30 batches (29): plain Monte Carlo interval")
    assert a.note.endswith("conservative for lhs" if sampler == "lhs" else "conservative for sobol")
    assert a.note in a.sentence() and a.as_dict()["note"] == a.note
    # with 30 the replicates take over
    assert quick(known, seed=7, sampler=sampler, paths=30 * BATCH).answers()[0].replicates == 30


# ----- a sampler with nothing to act on -----------------------------------------------------
def test_a_sampler_with_nothing_to_act_on_warns_once_and_the_manifest_says_so(tmp_path, known):
    monthly = write(
        tmp_path,
        "monthly",
        cash="10",
        burn='{ dist = "lognormal", median = 1.0, sigma = 0.5, vary = "month" }',
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = quick(monthly, seed=1, sampler="lhs")
    told = [w for w in caught if issubclass(w.category, RunwayWarning)]
    assert len(told) == 1
    message = str(told[0].message)
    assert message == (
        "sampler 'lhs' has nothing to act on in this scenario (no uncertain input drawn once "
        "per path): the run is plain Monte Carlo"
    )
    assert "\n" not in message
    mc = quick(monthly, seed=1, sampler="mc")
    np.testing.assert_array_equal(res.batch_ruin_counts, mc.batch_ruin_counts)
    a, b = res.answers()[-1], mc.answers()[-1]
    assert (a.probability, a.std_error, a.ci95, a.method) == (
        b.probability,
        b.std_error,
        b.ci95,
        b.method,
    )
    assert a.note.startswith("sampler 'lhs' had nothing to act on")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stratified = quick(known, seed=1, sampler="lhs")
        quick(known, seed=1, sampler="mc")
    assert not [w for w in caught if issubclass(w.category, RunwayWarning)]

    for results, want in ((res, []), (stratified, ["starting_cash", "burn.start"]), (mc, [])):
        out = save_run(results, tmp_path / f"run-{results.sampler}-{len(want)}")
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["sampler_inputs"] == want
        again = load_run(out)  # the reader accepts the new field
        assert again.answers()[-1] == results.answers()[-1]


def test_report_words_name_the_method():
    from reports.text import convergence_caption, interval_words, method_words

    words = interval_words("lhs", 65, replicates=True)
    assert "65 batches" in words and "Student t" in words and "64 degrees of freedom" in words
    words = interval_words("mc", 65, replicates=False)
    assert "Wilson" in words and "binomial" in words and "Student" not in words
    note = "fewer than 30 batches (12): plain Monte Carlo interval, conservative for lhs"
    words = interval_words("lhs", 12, replicates=False, notes=[note, note], bounded=True)
    assert words.count("Fewer than 30 batches (12)") == 1 and "far end bounds" in words
    assert "finite-sample correction" in convergence_caption(False)
    assert "replicates" in convergence_caption(True)
    text = method_words(
        start="2024-01",
        horizon_months=12,
        unit="USD million",
        floor="$0",
        paths=4128,
        seed=1,
        sampler="lhs",
        bins=16,
        intervals=interval_words("lhs", 65, replicates=True),
    )
    assert "Student t" in text and "comes from the number of paths" not in text


def test_the_batch_size_leaves_lhs_and_sobol_30_replicates() -> None:
    import pathlib

    from cashflow.parse import load_scenario
    from engine.runner import MAX_BATCH, batch_size_for

    root = pathlib.Path(__file__).resolve().parent.parent
    s = load_scenario(root / "scenarios" / "bench_runway.toml")
    assert batch_size_for(s, paths=100_000) == MAX_BATCH  # mc: the memory rule alone
    for sampler in ("lhs", "sobol"):
        size = batch_size_for(s, sampler=sampler, paths=100_000)
        assert 100_000 // size >= 30 and 100_000 // (2 * size) < 30  # the largest that gives 30
        assert batch_size_for(s, sampler=sampler, paths=10**8) == MAX_BATCH


def test_a_tiny_replicated_run_keeps_a_full_pilot_grid() -> None:
    """lhs at 10 paths runs 10 batches of 1 path; the histogram grid still comes from a pilot
    of the memory rule's size, so no quantile falls outside it (that warned 98 times)."""
    import pathlib
    import warnings

    from cashflow.parse import load_scenario
    from distributions.errors import RunwayWarning
    from engine.runner import run

    root = pathlib.Path(__file__).resolve().parent.parent
    s = load_scenario(root / "scenarios" / "bench_runway.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunwayWarning)
        results = run(s, paths=10, seed=1, jobs=1, sampler="lhs", progress=None)
        results.years()
    assert results.batch_size == 1 and results.paths == 10


# ----- compare: the paired difference of two variants, lhs / sobol ------------------------
VARIANT = """
[variants.dearer]
description = "the monthly cost's median 20% higher"
lines.burn.start = { dist = "lognormal", median = 1.2, sigma = 0.5 }
"""


def exact_dearer(months: int) -> float:
    """P(X months > C) for the variant: X ~ lognormal(median 1.2, sigma 0.5)."""
    x = stats.lognorm(0.5, scale=1.2)
    return integrate.quad(lambda c: x.sf(c / months) / 10.0, 5.0, 15.0, epsabs=1e-13)[0]


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> dict[str, list]:
    """For lhs and sobol, over SEEDS seeds: the comparison of the base with its variant."""
    from engine import compare as compare_module

    path = tmp_path_factory.mktemp("compared") / "known.toml"
    path.write_text(KNOWN.format(cash=CASH, burn=BURN) + VARIANT, encoding="utf-8")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(compare_module, "COMPARE_BINS", 16)
        for sampler in ("lhs", "sobol"):
            out[sampler] = [
                compare_module.compare(
                    path, paths=PATHS, seed=seed, jobs=1, sampler=sampler, batch_size=BATCH
                )
                for seed in range(SEEDS)
            ]
    return out


@pytest.mark.parametrize("sampler", ["lhs", "sobol"])
@pytest.mark.parametrize("question", [0, 1])
def test_compare_intervals_come_from_the_batches_and_cover(compared, sampler, question):
    months = list(QUESTIONS.values())[question]
    want = {"base": exact(months), "dearer": exact_dearer(months)}
    answers = [(c.answer(0, question), c.answer(1, question)) for c in compared[sampler]]
    batches = math.ceil(PATHS / BATCH)
    assert all(b["replicates"] == batches and v["replicates"] == batches for b, v in answers)
    difference = want["dearer"] - want["base"]
    for name, got in (
        ("base", [(b["probability"], b["ci95"]) for b, _ in answers]),
        ("dearer", [(v["probability"], v["ci95"]) for _, v in answers]),
        ("difference", [(v["difference"], v["difference_ci95"]) for _, v in answers]),
    ):
        truth = difference if name == "difference" else want[name]
        coverage = np.mean([lo <= truth <= hi for _, (lo, hi) in got])
        assert abs(coverage - 0.95) <= COVERAGE_TOL, (sampler, name, coverage)
    # the reported error of the difference matches its spread over the seeds
    d = [v["difference"] for _, v in answers]
    half = [(v["difference_ci95"][1] - v["difference_ci95"][0]) / 2 for _, v in answers]
    t = stats.t.ppf(0.975, batches - 1)
    reported = np.sqrt(np.mean(np.square(half))) / t
    assert 1 / 1.5 <= reported / np.std(d, ddof=1) <= 1.5, (sampler, reported, np.std(d, ddof=1))


def test_compare_with_mc_keeps_the_paired_binomial_interval(tmp_path):
    from engine.compare import compare, paired_difference

    path = tmp_path / "known.toml"
    path.write_text(KNOWN.format(cash=CASH, burn=BURN) + VARIANT, encoding="utf-8")
    c = compare(path, paths=PATHS, seed=1, jobs=1, sampler="mc", batch_size=BATCH)
    v = c.variants[1]
    for q in range(len(QUESTIONS)):
        a = c.answer(1, q)
        assert a["replicates"] == 0
        assert a["difference_ci95"] == paired_difference(int(v.n10[q]), int(v.n01[q]), PATHS)[1]
        k = int(v.ruin_counts[: c.months[q]].sum())
        assert a["ci95"] == pytest.approx([float(x) for x in wilson_interval(k, PATHS)], abs=1e-15)
