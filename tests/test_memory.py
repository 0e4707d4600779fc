"""The memory budget (engine/memory.py): the batch's working set counted from the scenario, the
batch size it gives, ``parse_memory``, and one measured peak RSS of a 200-line scenario."""

from __future__ import annotations

import functools
import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from cashflow.parse import load_scenario
from cashflow.scenario import Line, Scenario
from distributions import parse_spec
from engine import memory
from engine.runner import FAN_BINS, HIST_BINS, MAX_BATCH, batch_size_for, chunk_batches, run

ROOT = pathlib.Path(__file__).resolve().parent.parent
MiB = 2**20


def line(i: int) -> Line:
    name = f"l{i}"
    return Line(
        name=name,
        kind="revenue" if i % 2 == 0 else "cost",
        start=parse_spec("0.8 to 1.2", f"lines.{name}.start"),
        growth=parse_spec({"dist": "normal", "mean": 0.02, "sd": 0.01}, f"lines.{name}.growth"),
        volatility=parse_spec({"dist": "uniform", "low": 0.02, "high": 0.08}, "v"),
    )


@functools.cache  # building 1500 specs takes a second
def scenario(lines: int, horizon: int = 36) -> Scenario:
    return Scenario(
        name="memory",
        description="",
        unit="USD million",
        start_year=2024,
        start_month=1,
        horizon_months=horizon,
        starting_cash=parse_spec({"dist": "normal", "mean": 5000, "sd": 500}, "starting_cash"),
        lines=tuple(line(i) for i in range(lines)),
    )


def scenario_toml(lines: int) -> str:
    out = ['name = "memory"', 'unit = "USD million"', 'start = "2024-01"', "horizon_months = 36"]
    out.append('starting_cash = { dist = "normal", mean = 5000, sd = 500 }')
    for i in range(lines):
        out += [
            f"[lines.l{i}]",
            f'kind = "{"revenue" if i % 2 == 0 else "cost"}"',
            'start = { dist = "lognormal", median = 1.0, sigma = 0.2 }',
            'growth = { dist = "normal", mean = 0.02, sd = 0.01 }',
            'volatility = { dist = "uniform", low = 0.02, high = 0.08 }',
        ]
    return "\n".join(out) + "\n"


def test_working_set_grows_with_lines_and_the_batch_shrinks():
    counts = (1, 10, 50, 200, 500)
    per_path = [memory.path_bytes(scenario(n)) for n in counts]
    sizes = [batch_size_for(scenario(n)) for n in counts]
    assert per_path == sorted(per_path) and len(set(per_path)) == len(per_path)
    # Each line adds its volatility noise, a (n, H) float64 array: at least 8 * H bytes a path.
    assert per_path[-1] - per_path[0] >= 499 * 8 * 36
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] == MAX_BATCH
    for n, size in zip(counts, sizes, strict=True):
        s = scenario(n)
        fixed = memory.fixed_bytes(s, hist_bins=2**16, fan_bins=2**13, max_chunk=8)
        assert memory.working_set_bytes(s, size, fixed=fixed) <= memory.DEFAULT_BUDGET_BYTES
        assert memory.working_set_bytes(s, 2 * size, fixed=fixed) > memory.DEFAULT_BUDGET_BYTES
    # a larger budget never gives a smaller batch; the default is 512 MiB
    assert batch_size_for(scenario(200), 2**31) >= batch_size_for(scenario(200))
    assert batch_size_for(scenario(200)) == batch_size_for(scenario(200), 512 * MiB)


@pytest.mark.parametrize("lines", [1, 7, 50, 500])
@pytest.mark.parametrize("budget", [64 * MiB, 200 * MiB, 512 * MiB, 4 * 2**30])
def test_batch_size_is_a_power_of_two_in_range(lines, budget):
    size = batch_size_for(scenario(lines), budget)
    assert 1 <= size <= MAX_BATCH and size & (size - 1) == 0


def test_batch_size_independent_of_jobs_and_set_by_memory_bytes():
    s = scenario(50)
    expected = batch_size_for(s)
    assert run(s, paths=500, seed=1, jobs=1).batch_size == expected
    assert run(s, paths=500, seed=1, jobs=2).batch_size == expected
    small = run(s, paths=500, seed=1, jobs=1, memory_bytes=300 * MiB).batch_size
    assert small == batch_size_for(s, 300 * MiB) < expected
    assert run(s, paths=500, seed=1, jobs=1, batch_size=64).batch_size == 64  # explicit wins


def test_builtin_scenarios_keep_full_batches():
    assert batch_size_for(load_scenario(ROOT / "scenarios" / "bench_runway.toml")) == MAX_BATCH
    openai = ROOT / "scenarios" / "openai_2024.toml"
    assert batch_size_for(load_scenario(openai, variant="unmanaged")) == MAX_BATCH
    # management keeps the planned amounts of the lines it cuts and each credit line's balance
    # and interest per month: half the batch of the unmanaged model, within the same budget
    assert batch_size_for(load_scenario(openai)) == MAX_BATCH // 2


def test_long_horizon_gets_smaller_batches():
    assert batch_size_for(scenario(2, horizon=600)) < batch_size_for(scenario(2, horizon=36))


@pytest.mark.parametrize(
    "text, value",
    [
        ("512M", 512 * MiB),
        ("512MiB", 512 * MiB),
        ("512 MB", 512 * MiB),
        ("1G", 2**30),
        ("1.5GiB", 3 * 2**29),
        ("2g", 2**31),
        ("800000000", 800_000_000),
        ("262144K", 256 * MiB),
    ],
)
def test_parse_memory_accepts(text, value):
    assert memory.parse_memory(text) == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("255M", "under the minimum of 256 MiB"),
        ("96M", "about 160 MiB before any path"),
        ("1000", "under the minimum of 256 MiB"),
        ("0", "under the minimum"),
        ("lots", "is not a memory size"),
        ("", "is not a memory size"),
        ("512X", "is not a memory size"),
        ("-1G", "is not a memory size"),
        ("1e9", "is not a memory size"),
    ],
)
def test_parse_memory_refuses(text, message):
    with pytest.raises(ValueError, match=message) as err:
        memory.parse_memory(text)
    assert "\n" not in str(err.value)


CHILD = """
import json, sys, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore")
from cashflow.parse import load_scenario
from engine.runner import batch_size_for, run
s = load_scenario({path!r})
size = batch_size_for(s)
res = run(s, paths=4 * size, seed=3, jobs=1)
hwm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({{"batch_size": res.batch_size, "batches": len(res.batch_sizes), "hwm": hwm[0]}}))
"""


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="needs /proc")
def test_200_lines_peak_rss_under_default_budget(tmp_path):
    path = tmp_path / "lines_200.toml"
    path.write_text(scenario_toml(200))
    code = CHILD.format(root=str(ROOT), path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["batches"] == 4 and out["batch_size"] < MAX_BATCH
    assert out["hwm"] < memory.DEFAULT_BUDGET_BYTES, out["hwm"] / MiB


THREADS_CHILD = """
import json, sys, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore")
from cashflow.parse import load_scenario
from engine.runner import batch_size_for, run
s = load_scenario({path!r})
size = batch_size_for(s)
res = run(s, paths=12 * size, seed=3, jobs=2, backend="threads")
hwm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({{"batch_size": res.batch_size, "hwm": hwm[0]}}))
"""


@pytest.mark.skipif(not pathlib.Path("/proc/self/status").exists(), reason="needs /proc")
@pytest.mark.parametrize("name", ["bench_runway", "saas_startup"])
def test_threads_peak_rss_within_their_estimate(name):
    """The process of a --jobs 2 run on threads (two batches at once, with their chunks'
    histograms) stays under memory.threads_bytes, the estimate --backend auto decides by."""
    path = ROOT / "scenarios" / f"{name}.toml"
    code = THREADS_CHILD.format(root=str(ROOT), path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    size = out["batch_size"]
    estimate = memory.threads_bytes(
        load_scenario(path),
        size,
        workers=2,
        per_chunk=chunk_batches(size),
        hist_bins=HIST_BINS,
        fan_bins=FAN_BINS,
    )
    assert out["hwm"] < estimate <= memory.DEFAULT_BUDGET_BYTES, (out["hwm"] / MiB, estimate / MiB)
