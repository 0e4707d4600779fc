"""Management levers through the engine: run directories, checkpoints, jobs, compare, the CLI.

The model's own numbers are tested against hand computations and a per-path reference in
tests/test_management_model.py; here, what a run keeps of them (lever counts, credit balances,
management.csv) is checked against figures computed by hand, and a managed run against the
same guarantees as any run (bit-identical across jobs and after a kill and resume).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

import simulate
from cashflow.parse import load_scenario, parse_scenario
from engine import checkpoint
from engine.compare import compare
from engine.readback import load_run
from engine.runner import run

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPENAI = ROOT / "scenarios" / "openai_2024.toml"

# Revenue 1, costs 2.5 a month from 20.25: cash_t = 18.75 - 1.5 t. "cash < 10" holds first at
# t = 6 (cash 9.75); from t = 7 staff costs 0.75 * 2 = 1.5: cash_t = 9.75 - 1.0 (t - 6).
# Then cash < 0 in month 16 (-0.25): the credit line (limit 2, no interest) draws 0.25, then
# 1.0 a month; month 17 draws 1.0 (1.25), month 18 (2.25) is beyond the limit: 0.75 drawn and
# cash -0.25 (runs out in month 18, 2025-07).
DETERMINISTIC = """
name = "deterministic"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = 20.25
questions = ["2025-06-01", "2025-08-01"]
[lines.revenue]
kind = "revenue"
start = 1
[lines.staff]
kind = "cost"
start = 2
[lines.rent]
kind = "cost"
start = 0.5
[actions.cut]
when = "cash < 10"
lines = ["staff"]
factor = 0.75
[credit.rcf]
limit = 2
interest = 0
"""

STOCHASTIC = """
name = "stochastic"
unit = "USD million"
start = "2024-01"
horizon_months = 24
starting_cash = { dist = "lognormal", median = 12, sigma = 0.3 }
questions = ["2025-01-01", "2026-01-01"]
[lines.revenue]
kind = "revenue"
start = 1
growth = { dist = "normal", mean = 0.02, sd = 0.02 }
volatility = 0.1
[lines.staff]
kind = "cost"
start = 2
[actions.cut]
when = "runway < 6"
lines = ["staff"]
factor = { dist = "uniform", low = 0.7, high = 0.9 }
lag_months = { dist = "discrete", values = [1, 2], probs = [0.5, 0.5] }
[events.bridge]
kind = "funding"
when = "cash < 2"
probability = 0.5
amount = 3
delay_months = 2
[credit.rcf]
limit = { dist = "uniform", low = 1, high = 3 }
interest = 0.1
"""


def scenario_file(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_a_deterministic_run_keeps_the_months_computed_by_hand(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "run"
    argv = ["run", str(scenario_file(tmp_path, DETERMINISTIC)), "--paths", "1000", "--seed", "1"]
    assert simulate.main([*argv, "--no-report", "--quiet", "--out", str(out)]) == 0
    results = load_run(out)
    table = pd.read_csv(out / "management.csv", keep_default_na=False).set_index("name")
    assert table.loc["cut", "paths"] == 1000 and table.loc["cut", "share"] == 1.0
    assert table.loc["cut", "month_p10"] == table.loc["cut", "month_p90"] == "2024-07"  # t = 6
    assert table.loc["rcf", "month_p50"] == "2025-05"  # first drawn in month 16
    assert (results.ruin_counts[18], results.ruin_counts.sum()) == (1000, 1000)
    answers = [a.probability for a in results.answers()]
    assert answers == [0.0, 1.0]  # runs out in 2025-07: after June 1st, before August 1st
    balance = pd.read_csv(out / "credit_balance.csv")
    by_month = dict(zip(balance.month, balance.p50, strict=True))
    expected = {15: 0.0, 16: 0.25, 17: 1.25, 18: 2.0, 23: 2.0}
    for t, value in expected.items():  # percentiles of a constant: within a bin of the grid
        assert by_month[t] == pytest.approx(value, abs=2e-3), t
    summary = json.loads((out / "summary.json").read_text())
    assert [row["name"] for row in summary["management"]] == ["cut", "rcf"]


def test_managed_runs_are_identical_across_jobs(tmp_path: pathlib.Path) -> None:
    scenario = load_scenario(scenario_file(tmp_path, STOCHASTIC))
    a = run(scenario, paths=40_000, seed=5, jobs=1, batch_size=4096)
    b = run(scenario, paths=40_000, seed=5, jobs=2, batch_size=4096)
    assert np.array_equal(a.lever_counts, b.lever_counts)
    assert np.array_equal(a.fan.counts, b.fan.counts) and np.array_equal(a.fan.sums, b.fan.sums)
    assert np.array_equal(a.ruin_counts, b.ruin_counts)
    assert a.management().equals(b.management())


def test_lever_counts_agree_with_the_model_per_path(tmp_path: pathlib.Path) -> None:
    """The engine's reduction of a batch equals counting the model's per-path months."""
    from cashflow.draws import draw_batch
    from cashflow.model import simulate_flows
    from distributions.seeding import batch_seed

    scenario = load_scenario(scenario_file(tmp_path, STOCHASTIC))
    results = run(scenario, paths=3000, seed=9, jobs=1, batch_size=3000)
    flows = simulate_flows(scenario, draw_batch(scenario, 3000, batch_seed(9, 0)))
    done = flows.management
    h = scenario.horizon_months
    drawn = (done.balance["rcf"] > 0).any(axis=1)
    counts = {
        ("cut", "fired"): int((done.fired["cut"] < h).sum()),
        ("bridge", "triggered"): int((done.triggered["bridge"] < h).sum()),
        ("bridge", "arrived"): int((done.arrived["bridge"] < h).sum()),
        ("rcf", "drew"): int(drawn.sum()),
    }
    table = results.management()
    for row in table.itertuples():
        assert row.paths == counts[(row.name, row.event)]
    assert 0 < counts[("bridge", "arrived")] < counts[("bridge", "triggered")]


def test_kill_and_resume_of_a_managed_run_is_identical(tmp_path: pathlib.Path) -> None:
    path = scenario_file(tmp_path, STOCHASTIC)
    env = {**os.environ, "RUNWAY_CHECKPOINT_SECONDS": "0"}
    base = [sys.executable, str(ROOT / "simulate.py")]
    # 16 batches of 65,536 paths in 8 chunks, a checkpoint after each
    argv = ["run", str(path), "--paths", str(16 * 65536), "--seed", "3", "--jobs", "1"]
    argv += ["--no-report", "--quiet"]
    ref, out = tmp_path / "ref", tmp_path / "run"
    done = subprocess.run([*base, *argv, "--out", str(ref)], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    command = [*base, *argv, "--out", str(out)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(2400):
            index = checkpoint.read_index(out)
            if (index and index["chunks"] >= 2) or proc.poll() is not None:
                break
            subprocess.run(["sleep", "0.05"])
    finally:
        proc.kill()
        proc.wait()
    resumed = subprocess.run([*base, "resume", str(out), "--quiet"], env=env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr
    for name in ("results.npz", "management.csv", "credit_balance.csv", "summary.json"):
        assert (ref / name).read_bytes() == (out / name).read_bytes(), name


def test_compare_switches_each_lever_off_on_the_same_paths(tmp_path: pathlib.Path) -> None:
    path = scenario_file(tmp_path, STOCHASTIC)
    c = compare(path, paths=20_000, seed=2, jobs=1)
    q = c.questions()
    names = list(q["variant"].unique())
    assert names == ["base", "without cut", "without bridge", "without rcf"]
    kinds = dict(zip(q["variant"], q["kind"], strict=True))
    assert kinds == {"base": "base", **{n: "lever" for n in names[1:]}}
    # The same as running the scenario with the lever switched off (common random numbers:
    # the very same paths), computed separately.
    switches = (("without cut", "actions.cut.enabled"), ("without rcf", "credit.rcf.enabled"))
    for name, key in switches:
        off = load_scenario(path, sets=[(key, False)])
        alone = run(off, paths=20_000, seed=2, jobs=1, batch_size=c.batch_size)
        row = q[(q.variant == name) & (q.before == "2026-01-01")].iloc[0]
        assert row.probability == alone.probability_runs_out_before("2026-01-01").probability
        assert row.difference > 0  # the lever lowers the risk on these paths


def test_an_unmanaged_scenario_keeps_its_numbers() -> None:
    """Switching the worked example's levers off gives the model as it was before them:
    27.5% before 2026 (README, seed 2024, 1M paths) is checked here at 20,000 paths against
    the unmanaged variant's own answer, which management must not change."""
    doc = tomllib.loads(OPENAI.read_text())
    plain = parse_scenario(doc, file=str(OPENAI), base_dir=OPENAI.parent, variant="unmanaged")
    assert not plain.managed
    for sec in ("actions", "credit"):
        doc.pop(sec)
    doc["variants"].pop("unmanaged")
    stripped = parse_scenario(doc, file=str(OPENAI), base_dir=OPENAI.parent)
    a = run(plain, paths=20_000, seed=4, jobs=1)
    b = run(stripped, paths=20_000, seed=4, jobs=1)
    assert np.array_equal(a.ruin_counts, b.ruin_counts)
    assert a.lever_counts.shape == (0, plain.horizon_months + 1)


def test_the_cli_prints_one_line_per_lever(tmp_path: pathlib.Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["run", str(scenario_file(tmp_path, DETERMINISTIC)), "--paths", "100", "--seed", "1"]
    assert simulate.main([*argv, "--no-report", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Action cut fired on 100.0% of paths" in text
    assert "Credit line rcf drawn on 100.0% of paths" in text and "first in 2025-05" in text


def test_runs_are_identical_whatever_the_hash_seed(tmp_path: pathlib.Path) -> None:
    """Each process salts str hashes differently: nothing may iterate a set of names while
    adding floats (the worked example's action cuts three lines)."""
    outs = []
    # Salts under which a set of those three names iterates in three different orders.
    for salt in ("1", "4", "6"):
        out = tmp_path / f"run{salt}"
        argv = ["run", str(OPENAI), "--paths", "20000", "--seed", "5", "--jobs", "1"]
        argv += ["--no-report", "--quiet", "--out", str(out)]
        env = {**os.environ, "PYTHONHASHSEED": salt}
        done = subprocess.run([sys.executable, str(ROOT / "simulate.py"), *argv], env=env)
        assert done.returncode == 0
        outs.append(out)
    for name in ("results.npz", "summary.json", "management.csv", "credit_balance.csv"):
        for other in outs[1:]:
            assert (outs[0] / name).read_bytes() == (other / name).read_bytes(), name


def test_compare_csv_says_what_kind_each_row_is(tmp_path: pathlib.Path) -> None:
    """compare.csv's kind column: the base, the file's own variants, then the levers switched
    off (tools need not parse "without NAME"); the report's lever effects read the levers'."""
    from engine.compare import read_comparison, write_comparison
    from reports.data import _lever_effects

    text = STOCHASTIC + '\n[variants.richer]\ndescription = "more cash"\nstarting_cash = 90\n'
    c = compare(scenario_file(tmp_path, text), paths=8_000, seed=2, jobs=1)
    write_comparison(c, tmp_path)
    q = read_comparison(tmp_path)
    assert q is not None
    kinds = dict(zip(q["variant"], q["kind"], strict=False))
    assert kinds == {
        "base": "base",
        "richer": "variant",
        "without cut": "lever",
        "without bridge": "lever",
        "without rcf": "lever",
    }
    assert [v["kind"] for v in c.as_dict()["variants"]] == list(kinds.values())
    effects, at = _lever_effects(q, ["cut", "rcf"], "2026-01-01")
    assert at == "2026-01-01" and effects is not None
    assert {n: e["kind"] for n, e in effects.items()} == {"cut": "lever", "rcf": "lever"}
