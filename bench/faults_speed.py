"""Fault-campaign throughput: the incremental engine vs naive re-inference, side by side in one run,
and the wall time of an exhaustive campaign (every stored bit) through `codesign faults`.

Both paths score single-bit faults on the run's whole test split (2,000 MNIST digits for the MLP
example) and must give the same rows (checked here on the naive sample). The naive path copies the
spec, flips one integer and runs the whole emulator; it is timed on --naive faults of the same
random set.

    codesign flow examples/mnist_mlp.yaml --out /tmp/faults_runs/mlp --no-rtl
    CODESIGN_DATA=/work/shared/data python bench/faults_speed.py /tmp/faults_runs/mlp --exhaustive
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--faults", type=int, default=20000, help="random single-bit faults timed on the engine")
    ap.add_argument("--naive", type=int, default=20, help="of those, timed on the naive path")
    ap.add_argument("--exhaustive", action="store_true", help="also time `codesign faults --campaign exhaustive`")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults_speed.json"))
    args = ap.parse_args()

    from codesign.faults.campaign import load_run, run_campaign
    from codesign.faults.engine import Engine

    _, spec, x, y, _ = load_run(args.run_dir)
    t = time.perf_counter()
    eng = Engine(spec, x, y)
    build_s = time.perf_counter() - t
    rng = np.random.default_rng(0)
    faults = [(int(s),) for s in rng.choice(eng.sites.total, args.faults, replace=False)]
    t, c = time.perf_counter(), time.process_time()
    fast = eng.run(faults)
    fast_s, fast_cpu = time.perf_counter() - t, time.process_time() - c
    sample = faults[:args.naive]
    t, c = time.perf_counter(), time.process_time()
    naive = eng.naive(sample)
    naive_s, naive_cpu = time.perf_counter() - t, time.process_time() - c
    for k in naive:
        if not np.array_equal(naive[k], fast[k][:len(sample)]):
            raise SystemExit(f"engine and naive path disagree on {k}: a bug")
    res = {"spec": spec.name, "samples": int(eng.n), "stored_bits": int(eng.sites.total), "cpus": os.cpu_count(),
           "load_avg_1min": os.getloadavg()[0],
           "engine_build_s": build_s, "random_faults": len(faults), "engine_s": fast_s,
           "faults_per_s": len(faults) / fast_s, "naive_faults": len(sample), "naive_s": naive_s,
           "naive_faults_per_s": len(sample) / naive_s,
           "speedup": (len(faults) / fast_s) / (len(sample) / naive_s),
           # CPU seconds of this process (all its threads): what the wall figures would be on an idle machine
           "engine_cpu_s": fast_cpu, "naive_cpu_s": naive_cpu, "faults_per_cpu_s": len(faults) / fast_cpu,
           "naive_faults_per_cpu_s": len(sample) / naive_cpu,
           "harmful_fraction": float(np.mean((eng.clean_correct - fast["correct"]) / eng.n >= 0.005))}
    print(json.dumps(res, indent=1), flush=True)
    if args.exhaustive:
        t, c = time.perf_counter(), time.process_time()
        sec = run_campaign(args.run_dir, "exhaustive", fresh=True, workers=args.workers, log=lambda m: None)
        res["exhaustive"] = {"faults": sec["faults"], "wall_s": time.perf_counter() - t,
                             "cpu_s_this_process": time.process_time() - c, "load_avg_1min": os.getloadavg()[0],
                             "campaign_s": sec["seconds"], "faults_per_s": sec["faults_per_s"],
                             "workers": args.workers, "accuracy_drop": sec["accuracy_drop"]}
        print(json.dumps(res["exhaustive"], indent=1), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
