#!/usr/bin/env python3
"""Benchmark: Runway's engine against the hand-written reference, measured in the same run.

    python benchmarks/bench_runway.py [--paths 1e6 1e7] [--big 1e8] [--repeat 3] [--reference PATH]

Runs scenarios/bench_runway.toml through the engine and ../shared/bench/reference_runway.py,
each configuration in a fresh subprocess (so peak RSS is its own), with --jobs 1 and 2, each
--repeat times interleaved (median time reported), and prints paths per second, peak RSS and the
ratios the engine issue sets as targets:

- engine --jobs 1 time within 1.5x of the reference's single-process time;
- engine --jobs 2 speed-up >= 95% of the reference's own --jobs 2 speed-up;
- engine peak RSS under 1 GiB at 10M and 100M paths (memory flat in paths);
- every figure of the reference's JSON matched within Monte Carlo error (|z| <= 4).

This is a benchmark, not a test: absolute times on a shared machine mean little; ratios
measured in the same run do.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = ROOT.parent / "shared" / "bench" / "reference_runway.py"
SCENARIO = ROOT / "scenarios" / "bench_runway.toml"

ENGINE_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from cashflow.parse import load_scenario
from engine.runner import run
scenario = load_scenario({scenario!r})
start = time.perf_counter()
res = run(scenario, paths={paths}, seed={seed}, jobs={jobs})
summary = res.summary()
seconds = time.perf_counter() - start
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
          resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
q = {{a.before.isoformat(): [a.probability, a.std_error] for a in res.answers()}}
years = res.years()
risk = res.risk()
def row(year, what):
    return years[(years.year == year) & (years.quantity == what)].iloc[0]
def pct(r):
    return {{f"p{{p}}": float(r[f"p{{p}}"]) for p in (5, 50, 95)}}
loss = row(2024, "net_loss")
r24 = risk[(risk.year == 2024) & (risk.level == 0.95)].iloc[0]
print(json.dumps({{
    "seconds": seconds, "peak_rss_mib": rss, "questions": q,
    "cash_2024_12": pct(row(2024, "cash_end")),
    "cash_2026_12": pct(row(2026, "cash_end")),
    "loss_2024": {{"mean": float(loss["mean"]), **pct(loss),
                  "var95": float(r24["var"]), "cvar95": float(r24["cvar"])}},
}}))
"""


def engine(paths: int, jobs: int, seed: int) -> dict:
    code = ENGINE_CHILD.format(
        root=str(ROOT), scenario=str(SCENARIO), paths=paths, seed=seed, jobs=jobs
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def reference(path: pathlib.Path, paths: int, jobs: int, seed: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(path),
            "--paths",
            str(paths),
            "--seed",
            str(seed),
            "--jobs",
            str(jobs),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def agreement(
    eng: dict, ref: dict, n_eng: int, n_ref: int
) -> list[tuple[str, float, float, float]]:
    """(figure, engine, reference, z) for every figure of the reference JSON."""
    rows = []
    for name in ("2025-01-01", "2026-01-01", "within_horizon"):
        key = "2027-01-01" if name == "within_horizon" else name
        if key not in eng["questions"]:
            continue
        p, se = eng["questions"][key]
        r = ref["runs_out_before"][name]
        rows.append(
            (
                f"P(runs out before {key})",
                p,
                r["probability"],
                # se is None when no path or every path runs out: the reference's alone
                (p - r["probability"]) / (math.hypot(se or 0.0, r["std_error"]) or math.inf),
            )
        )
    # Quantile and tail figures: standard errors from the reference's spread (normal approx.).
    for block in ("cash_2024_12", "cash_2026_12", "loss_2024"):
        ref_block, eng_block = ref[block], eng[block]
        spread = (ref_block["p95"] - ref_block["p5"]) / (2 * 1.6449)
        for stat, rv in ref_block.items():
            ev = eng_block[stat]
            # SE of a quantile ~ sqrt(q(1-q)/n)/f(x) <= ~2.1 sd/sqrt(n) for q in [5%, 95%];
            # the mean's SE is sd/sqrt(n); CVaR95's is ~ sd * 2.5 / sqrt(0.05 n).
            k = {"mean": 1.0, "cvar95": 2.5 / math.sqrt(0.05)}.get(stat, 2.1)
            se = k * spread * math.sqrt(1 / n_eng + 1 / n_ref)
            rows.append((f"{block}.{stat}", ev, rv, (ev - rv) / se))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", nargs="+", default=["1e6", "1e7"])
    ap.add_argument("--big", default="1e8", help="paths for the memory-only check ('0' skips)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per configuration, interleaved; the median time is reported",
    )
    ap.add_argument("--reference", type=pathlib.Path, default=DEFAULT_REFERENCE)
    args = ap.parse_args()
    if not args.reference.exists():
        print(f"reference implementation not found: {args.reference}", file=sys.stderr)
        return 2
    ok = True
    print(
        f"{'paths':>12} {'impl':<10} {'jobs':>4} {'seconds':>9} {'paths/s':>12} "
        f"{'peak RSS MiB':>13}"
    )
    for text in args.paths:
        n = int(float(text))
        res = {}
        for jobs in (1, 2):
            runs = {"ref": [], "eng": []}
            for _ in range(args.repeat):  # interleaved, so machine load hits both alike
                runs["ref"].append(reference(args.reference, n, jobs, args.seed))
                runs["eng"].append(engine(n, jobs, args.seed))
            for impl, rs in runs.items():
                res[impl, jobs] = sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2]
            for impl in ("ref", "eng"):
                r = res[impl, jobs]
                name = "reference" if impl == "ref" else "runway"
                print(
                    f"{n:>12,} {name:<10} {jobs:>4} {r['seconds']:>9.2f} "
                    f"{n / r['seconds']:>12,.0f} {r['peak_rss_mib']:>13.0f}"
                )
        ratio1 = res["eng", 1]["seconds"] / res["ref", 1]["seconds"]
        ref_speedup = res["ref", 1]["seconds"] / res["ref", 2]["seconds"]
        eng_speedup = res["eng", 1]["seconds"] / res["eng", 2]["seconds"]
        rel = eng_speedup / ref_speedup
        print(
            f"  {n:,} paths: engine/reference time (--jobs 1) = {ratio1:.2f} (target <= 1.5); "
            f"speed-up --jobs 2: engine {eng_speedup:.2f}x, reference {ref_speedup:.2f}x, "
            f"ratio {rel:.2f} (target >= 0.95)"
        )
        ok &= ratio1 <= 1.5 and rel >= 0.95
        rss = res["eng", 2]["peak_rss_mib"]
        if n >= 10_000_000:
            ok &= rss < 1024
        rows = agreement(res["eng", 1], res["ref", 1], n, n)
        worst = max(abs(z) for *_, z in rows)
        print(
            f"  agreement with the reference: {len(rows)} figures, "
            f"max |z| = {worst:.2f} (target <= 4)"
        )
        for name, ev, rv, z in rows:
            print(f"    {name:<32} runway {ev:>10.4f}  reference {rv:>10.4f}  z {z:+.2f}")
        ok &= worst <= 4
    big = int(float(args.big))
    if big:
        r = engine(big, 2, args.seed)
        print(
            f"{big:>12,} {'runway':<10} {2:>4} {r['seconds']:>9.2f} {big / r['seconds']:>12,.0f} "
            f"{r['peak_rss_mib']:>13.0f}   (memory check: target < 1024 MiB)"
        )
        ok &= r["peak_rss_mib"] < 1024
    print("all targets met" if ok else "SOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
