#!/usr/bin/env python3
"""Benchmark: what management that reacts costs, measured in the same run.

    python benchmarks/bench_management.py [--paths 1e6] [--repeat 3] [--jobs 1]

Runs the worked example (scenarios/openai_2024.toml: one cost-cutting action and a credit line)
and its variant ``unmanaged`` (both switched off: the plain model, same draws otherwise) through
the engine, each in a fresh subprocess, interleaved ``--repeat`` times; prints the median
engine time of each and their ratio. Issue 10's target: managed / unmanaged <= 1.5.

A benchmark, not a test: absolute times on a shared machine mean little; the ratio of times
measured in the same run does.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "openai_2024.toml"

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
from cashflow.parse import load_scenario
from engine.runner import run
scenario = load_scenario({scenario!r}, variant={variant!r})
start = time.perf_counter()
res = run(scenario, paths={paths}, seed=1, jobs={jobs})
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "p": [a.probability for a in res.answers()]}}))
"""


def measure(variant: str | None, paths: int, jobs: int) -> dict:
    code = CHILD.format(
        root=str(ROOT), scenario=str(SCENARIO), variant=variant, paths=paths, jobs=jobs
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", default="1e6")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args()
    paths = int(float(args.paths))
    times: dict[str, list[float]] = {"managed": [], "unmanaged": []}
    answers: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, variant in (("managed", None), ("unmanaged", "unmanaged")):
            result = measure(variant, paths, args.jobs)
            times[name].append(result["seconds"])
            answers[name] = result["p"]
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"paths {paths:,}, --jobs {args.jobs}, {args.repeat} runs each (median seconds)")
    for name in times:
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        chances = ", ".join(f"{p:.2%}" for p in answers[name])
        print(f"  {name:10s} {med[name]:7.2f} s  (runs: {runs})  answers: {chances}")
    ratio = med["managed"] / med["unmanaged"]
    print(f"managed / unmanaged: {ratio:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
