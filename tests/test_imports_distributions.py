"""What distributions/ imports: nothing heavy to parse a scenario, only scipy.special to sample.

Each check runs in a fresh interpreter (``sys.modules`` of this one has everything). Importing
scipy.special costs about 0.25 s and scipy.stats about 0.6 s more; the CLI's budget for
importing and loading a scenario is 0.4 s (issue 12).
"""

from __future__ import annotations

import json
import pathlib
import pickle
import subprocess
import sys

import numpy as np

from distributions import parse_spec

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAVY = ("scipy.stats", "scipy.special", "scipy.optimize", "pandas", "matplotlib")
BUILT_IN = sorted((ROOT / "scenarios").glob("*.toml"))


def loaded_after(code: str, stdin: bytes = b"") -> list[str]:
    """The modules of HEAVY that a fresh interpreter has imported after running ``code``."""
    report = f"import json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    script = f"{code}\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", script], input=stdin, capture_output=True, check=True, cwd=ROOT
    )
    loaded: list[str] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    return loaded


def test_importing_distributions_imports_nothing_heavy():
    modules = ", ".join(
        f"distributions.{m}"
        for m in (
            "correlation",
            "families",
            "finite",
            "kernels",
            "parse",
            "percentiles",
            "samplers",
            "seeding",
            "spec",
            "truncation",
        )
    )
    assert loaded_after(f"import distributions, {modules}") == []


def test_loading_every_built_in_scenario_imports_nothing_heavy():
    assert BUILT_IN
    code = (
        "from cashflow.parse import load_scenario\n"
        f"for path in {[str(p) for p in BUILT_IN]!r}:\n"
        "    scenario = load_scenario(path)\n"
        "    for name in scenario.variants:\n"
        "        load_scenario(path, variant=name)\n"
    )
    assert loaded_after(code) == []


def test_parsing_closed_form_families_imports_nothing_heavy():
    tables = [
        "'3.3 to 4.1'",
        "'-1 to 2'",
        "{'dist': 'normal', 'p10': 1, 'p90': 3}",
        "{'dist': 'lognormal', 'mean': 2, 'sd': 1}",
        "{'dist': 'pert', 'min': 0, 'mode': 1, 'max': 3, 'lambda': 6}",
        "{'dist': 'beta', 'a': 2, 'b': 5, 'low': 1, 'high': 2}",
        "{'dist': 'triangular', 'min': 0, 'mode': 1, 'max': 3}",
        "{'dist': 'uniform', 'p5': 0, 'p95': 1}",
        "{'dist': 'weibull', 'p10': 1, 'p90': 3}",
        "{'dist': 'exponential', 'p90': 3}",
        "{'dist': 'discrete', 'values': [1, 2], 'probs': [0.5, 0.5]}",
        "{'dist': 'empirical', 'data': [1, 2, 2, 5]}",
        "{'dist': 'bernoulli', 'p': 0.3}",
    ]
    code = "from distributions import parse_spec\n" + "\n".join(
        f"parse_spec({t}, 'x').mean()" for t in tables
    )
    assert loaded_after(code) == []


def test_a_fit_that_needs_a_root_finder_imports_scipy_then_but_not_stats():
    loaded = loaded_after(
        "from distributions import parse_spec\n"
        "parse_spec({'dist': 'gamma', 'p10': 1, 'p90': 5}, 'x')"
    )
    assert "scipy.optimize" in loaded and "scipy.special" in loaded
    assert "scipy.stats" not in loaded


def test_sampling_unpickled_truncated_and_empirical_inputs_needs_only_scipy_special():
    """What a worker process does with the inputs it is sent: truncated inputs of every
    continuous family and an empirical one sample through scipy.special, not scipy.stats."""
    tables = [
        {"dist": "normal", "mean": 6, "sd": 1, "truncate": [3, 9]},
        {"dist": "lognormal", "median": 1, "sigma": 1, "truncate": [2, float("inf")]},
        {"dist": "uniform", "low": 0, "high": 1, "truncate": [0.2, 0.3]},
        {"dist": "triangular", "min": 0, "mode": 1, "max": 3, "truncate": [2, 3]},
        {"dist": "pert", "min": 0, "mode": 1, "max": 5, "truncate": [0.5, 2]},
        {"dist": "beta", "a": 2, "b": 3, "truncate": [0.9, 1]},
        {"dist": "gamma", "shape": 0.8, "scale": 2, "truncate": [1, float("inf")]},
        {"dist": "weibull", "shape": 1.5, "scale": 2, "truncate": [0, 1]},
        {"dist": "student_t", "df": 4, "truncate": [float("-inf"), -1]},
        {"dist": "exponential", "mean": 2, "truncate": [5, 6]},
        {"dist": "empirical", "data": np.arange(5000.0).tolist()},
    ]
    specs = [parse_spec(t, "x") for t in tables]
    code = (
        "import pickle, sys\nimport numpy as np\n"
        "u = np.random.default_rng(0).random((5000, 1))\n"
        "for spec in pickle.loads(sys.stdin.buffer.read()):\n"
        "    assert np.isfinite(spec.ppf(u)).all()\n"
    )
    loaded = loaded_after(code, stdin=pickle.dumps(specs))
    assert loaded == ["scipy.special"]


def test_a_worker_simulates_a_scenario_with_truncated_and_empirical_inputs_without_stats(
    tmp_path,
):
    text = (ROOT / "scenarios" / "bench_runway.toml").read_text()
    text = text.replace(
        'starting_cash = { dist = "normal", mean = 6.0, sd = 1.0,',
        'starting_cash = { dist = "normal", mean = 6.0, sd = 1.0, truncate = [3, 9],',
    )
    text = text.replace(
        'start = { dist = "lognormal", median = 0.25, sigma = 0.2 }',
        'start = { dist = "empirical", csv = "revenue.csv", column = "start" }',
    )
    values = np.random.default_rng(4).lognormal(np.log(0.25), 0.2, 10_000)
    (tmp_path / "revenue.csv").write_text("start\n" + "\n".join(f"{v:.6f}" for v in values))
    (tmp_path / "variant.toml").write_text(text)
    from cashflow.parse import load_scenario

    scenario = load_scenario(tmp_path / "variant.toml")
    inputs = scenario.inputs()
    assert inputs["starting_cash"].truncate == (3.0, 9.0)
    assert inputs["revenue.start"].family == "empirical"
    code = (
        "import pickle, sys\nimport engine.batch as b\n"
        "s = pickle.loads(sys.stdin.buffer.read())\n"
        "b.simulate_batch(b.BatchTask(s, 1, 0, 100, 'mc'))\n"
    )
    assert "scipy.stats" not in loaded_after(code, stdin=pickle.dumps(scenario))
