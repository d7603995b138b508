"""RTL fault engine: stratified single-bit faults (every layer, parameter and bit position) on the
verilated RTL of built runs, through one Verilator build and the load port, cross-checked against
the integer emulator on every output integer; throughput in faults per second.

For each RUN_DIR (built with RTL): `codesign faults RUN --views emulator,rtl` does the same inside a
campaign; here the cross-check runs alone so its figures are not mixed with a campaign's. The
machine's load is recorded beside the wall-clock rate, and the CPU seconds of the Python process and
of the harness process (they overlap: the harness simulates one fault while Python prepares the
next), whose larger one bounds the rate on an unshared 2-core machine.

    CODESIGN_DATA=/work/shared/data python bench/faults_rtl.py RUN_MLP RUN_KRON RUN_WINGS --faults 2000
    ... RUN_MLP --samples 1 2 --merge     # digits a fault side by side, added to the JSON

Each run's `by_cost` splits the faults whose RTL run re-ran a weight generation (a WINGs generator
parameter: the written component's curve or basis rows, a table's all of them, then every weight;
the full generation after reset is rtl_meta.json generation_cycles, ~418k cycles on the MNIST example)
from the direct ones, with their simulated cycles and simulation CPU-seconds: on a WINGs design the
former set the rate; `covered` has the cycles a fault per parameter.
`--harnesses 2` simulates two faults at once (only worth it with two free cores).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--faults", type=int, default=2000)
    ap.add_argument("--samples", type=int, nargs="+", default=[2],
                    help="test digits streamed per fault (several: each run once per value, side by side; the "
                         "streamed digits are those the fault changes first, so 1 sees every fault 2 sees)")
    ap.add_argument("--pool", type=int, default=32, help="digits the emulator runs per fault (streamed ones chosen from them)")
    ap.add_argument("--faults-per-run", nargs="*", type=int,
                    help="faults for each run in order (default --faults for all), e.g. fewer for WINGs: "
                         "each generator-parameter fault costs one weight regeneration in RTL")
    ap.add_argument("--seed", type=int, default=0, help="the stratified draw's seed (another seed: other elements)")
    ap.add_argument("--harnesses", type=int, default=1,
                    help="harness processes simulating at once (each a thread's interleaved share of the faults)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults_rtl.json"))
    ap.add_argument("--merge", action="store_true",
                    help="keep the other runs already in --out (a long run measured apart, when the load is known)")
    args = ap.parse_args()

    from codesign.faults.context import load_run
    from codesign.faults.rtl import crosscheck

    res = {"cpus": os.cpu_count(), "runs": {}}
    if args.merge and Path(args.out).exists():
        res["runs"] = json.loads(Path(args.out).read_text())["runs"]
    counts = args.faults_per_run or [args.faults] * len(args.runs)
    if len(counts) != len(args.runs):
        raise SystemExit(f"--faults-per-run: give one count per run ({len(args.runs)})")
    for run, count in zip(args.runs, counts):
        _, spec, x, _, _ = load_run(run)
        for samples in args.samples:
            load0, t = os.getloadavg()[0], time.perf_counter()
            sec = crosscheck(run, spec, x, faults=count, samples=samples, pool=args.pool,
                             log=lambda m: print(m, flush=True), harnesses=args.harnesses, seed=args.seed)
            sec.update(command=" ".join(["python", "bench/faults_rtl.py", run, "--faults", str(count), "--samples",
                                         str(samples), "--pool", str(args.pool), "--harnesses", str(args.harnesses)]
                                        + (["--seed", str(args.seed)] if args.seed else [])),
                       spec=spec.name, kinds=sorted({l.kind for l in spec.layers}), wall_s=round(time.perf_counter() - t, 1),
                       load_avg_1min_start=load0, load_avg_1min_end=os.getloadavg()[0])
            name = run if len(args.samples) == 1 else f"{run} ({samples} digits a fault)"
            name += f" (seed {args.seed})" if args.seed else ""
            res["runs"][name] = sec
            print(name, json.dumps(sec), flush=True)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(res, indent=1) + "\n")  # after every run: a long one can be stopped
            if sec["equal_fraction"] != 1.0 or not sec["restored_design_equal"]:
                raise SystemExit(f"{run}: RTL and emulator differ under faults (equal_fraction {sec['equal_fraction']}): a bug")

if __name__ == "__main__":
    main()
