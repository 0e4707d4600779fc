"""engine.heap: batches reuse the memory the previous batch freed, and a finished run gives it
back to the system (a notebook or a test session must not keep a run's batches)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from engine import heap

ROOT = pathlib.Path(__file__).resolve().parent.parent

CHILD = """
import json, resource
from cashflow.parse import load_scenario
from engine.runner import run

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

scenario = load_scenario("scenarios/bench_runway.toml")
before = rss_mib()
run(scenario, paths=600_000, seed=1, jobs=1)
after = rss_mib()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before": before, "after": after, "peak": peak}))
"""


@pytest.mark.skipif(
    heap._glibc() is None or not pathlib.Path("/proc/self/statm").exists(),
    reason="glibc's malloc on Linux only",
)
def test_a_finished_run_gives_its_batches_memory_back():
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=ROOT
    )
    m = json.loads(out.stdout.strip().splitlines()[-1])
    grew = m["peak"] - m["before"]
    assert grew > 50, m  # the batches did take memory (65,536 x 36 arrays)
    assert m["after"] - m["before"] < 0.5 * grew, m  # and most of it is back


def test_keeping_and_releasing_are_safe_to_call_again():
    heap.keep_freed_memory()
    heap.keep_freed_memory()  # once per process: the second call does nothing
    heap.release_freed_memory()
    heap.release_freed_memory()
