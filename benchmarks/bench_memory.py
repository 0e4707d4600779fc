#!/usr/bin/env python3
"""Benchmark: peak RSS per process against the number of lines (issue 7: memory budget).

    python benchmarks/bench_memory.py [--paths 1e6] [--lines 1 50 200 500] [--horizon 36]
                                      [--memory 512M] [--jobs2 50] [--cli 200]

For each number of lines, writes a synthetic scenario (lines alternately revenue and cost, each
with a lognormal start, normal growth and uniform volatility; one funding round) to a temporary
directory and runs it in a fresh Python process through ``simulate.run`` with ``--jobs 1``
(``memory_bytes`` = the budget). The child prints its own peak RSS (VmHWM of
/proc/self/status) and the batch size used; with ``--jobs2 L`` the L-line scenario is also run
with 2 jobs and each worker's VmHWM is read (the metric is per process, never a sum). ``--cli L``
also runs ``simulate.py run ... --jobs 1 --no-report`` on the L-line scenario and reads its peak
RSS from wait4. Prints a table and PASS / FAIL against the budget.

This is a benchmark, not a test (see tests/test_memory.py for the fast check).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.memory import DEFAULT_BUDGET_BYTES, parse_memory  # noqa: E402

CHILD = r"""
import json, os, sys, time, warnings
sys.path.insert(0, {root!r})
warnings.simplefilter("ignore")
import simulate
from cashflow.parse import load_scenario
from engine import memory
from engine.runner import FAN_BINS, HIST_BINS, MAX_CHUNK, batch_size_for

def hwm(pid="self"):
    try:
        with open(f"/proc/{{pid}}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None

def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in os.listdir(f"/proc/{{p}}/task"):
            try:
                with open(f"/proc/{{p}}/task/{{task}}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out

scenario = load_scenario({path!r})
size = batch_size_for(scenario, {budget})
fixed = memory.fixed_bytes(scenario, hist_bins=HIST_BINS, fan_bins=FAN_BINS, max_chunk=MAX_CHUNK)
start = time.perf_counter()
res = simulate.run(scenario, paths={paths}, seed=7, jobs={jobs}, memory_bytes={budget})
seconds = time.perf_counter() - start
workers = [h for h in (hwm(p) for p in descendants(os.getpid())) if h]
print(json.dumps({{
    "batch_size": res.batch_size, "expected_batch_size": size, "seconds": seconds,
    "self_hwm": hwm(), "worker_hwm": workers,
    "estimate": memory.working_set_bytes(scenario, size, fixed=fixed),
}}))
"""


def scenario_toml(lines: int, horizon: int) -> str:
    """A synthetic scenario with ``lines`` uncertain lines and one funding round."""
    out = [
        f'name = "memory-{lines}"',
        'unit = "USD million"',
        'start = "2024-01"',
        f"horizon_months = {horizon}",
        'starting_cash = { dist = "normal", mean = 5000, sd = 500 }',
        "",
    ]
    for i in range(lines):
        out += [
            f"[lines.l{i}]",
            f'kind = "{"revenue" if i % 2 == 0 else "cost"}"',
            'start = { dist = "lognormal", median = 1.0, sigma = 0.2 }',
            'growth = { dist = "normal", mean = 0.02, sd = 0.01 }',
            'volatility = { dist = "uniform", low = 0.02, high = 0.08 }',
            "",
        ]
    out += [
        "[events.raise]",
        'kind = "funding"',
        "probability = 0.8",
        "amount = 100",
        'month = "2024-10"',
    ]
    return "\n".join(out) + "\n"


def run_child(path: pathlib.Path, paths: int, jobs: int, budget: int) -> dict:
    code = CHILD.format(root=str(ROOT), path=str(path), paths=paths, jobs=jobs, budget=budget)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed for {path.name}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cli(path: pathlib.Path, paths: int, budget: int, out: pathlib.Path) -> int:
    """Peak RSS (bytes) of ``simulate.py run ... --jobs 1 --no-report`` from wait4."""
    del budget  # the CLI uses the default budget until --memory is wired
    cmd = [sys.executable, str(ROOT / "simulate.py"), "run", str(path), "--paths", str(paths)]
    cmd += ["--jobs", "1", "--no-report", "--seed", "7", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"CLI failed for {path.name}: {proc.stderr.read().decode()}")
    return usage.ru_maxrss * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paths", type=float, default=1e6)
    ap.add_argument("--lines", type=int, nargs="+", default=[1, 50, 200, 500])
    ap.add_argument("--horizon", type=int, default=36)
    ap.add_argument("--memory", type=parse_memory, default=DEFAULT_BUDGET_BYTES)
    ap.add_argument("--jobs2", type=int, nargs="*", default=[50], help="lines run with 2 jobs")
    ap.add_argument("--cli", type=int, nargs="*", default=[], help="lines run through the CLI")
    args = ap.parse_args()
    paths, budget, mib = int(args.paths), args.memory, 2**20

    print(f"budget {budget / mib:.0f} MiB per process, {paths:,} paths, {args.horizon} months")
    header = f"{'lines':>6} {'jobs':>4} {'process':>8} {'batch':>6} {'est MiB':>8} "
    print(header + f"{'peak RSS MiB':>13} {'seconds':>8}  result")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(n, 1) for n in args.lines] + [(n, 2) for n in args.jobs2]
        for lines, jobs in cases:
            path = pathlib.Path(tmp) / f"lines_{lines}.toml"
            path.write_text(scenario_toml(lines, args.horizon))
            r = run_child(path, paths, jobs, budget)
            assert r["batch_size"] == r["expected_batch_size"], r
            workers = [(f"child{i}", h) for i, h in enumerate(r["worker_hwm"])]
            rows = [("main", r["self_hwm"]), *workers]
            for who, peak in rows:
                ok = peak <= budget
                failed |= not ok
                print(
                    f"{lines:>6} {jobs:>4} {who:>8} {r['batch_size']:>6} "
                    f"{r['estimate'] / mib:>8.0f} {peak / mib:>13.0f} {r['seconds']:>8.1f}  "
                    f"{'PASS' if ok else 'FAIL'}"
                )
        for lines in args.cli:
            path = pathlib.Path(tmp) / f"lines_{lines}.toml"
            path.write_text(scenario_toml(lines, args.horizon))
            peak = run_cli(path, paths, budget, pathlib.Path(tmp) / f"run_{lines}")
            ok = peak <= budget
            failed |= not ok
            print(
                f"{lines:>6} {1:>4} {'CLI':>8} {'':>6} {'':>8} {peak / mib:>13.0f} {'':>8}  "
                f"{'PASS' if ok else 'FAIL'}"
            )
    print("FAIL" if failed else "PASS: every process under the budget")


if __name__ == "__main__":
    main()
