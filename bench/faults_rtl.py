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
parameter: the written component's curve or basis rows, a table's all of them, then the weight words
they changed;
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


def wings_phases(run, spec, count: int, seed: int, harnesses: int) -> dict | None:
    """Where a WINGs design's regenerating faults spend their cycles, by generator phase (select, curve,
    basis, weight; WingsPlan.regen_phases), each fault's load-port command as the campaign sends it
    (the previous fault's undo with this one's flip: the union of what both make stale, the change from
    the previous faulty design to this one), the weight phase as the RTL runs it (only the weight words
    whose curve column or basis word changed) and as it ran before (every weight word). Checked against
    the simulation: each fault's simulated cycles minus its modelled regeneration is the same for every
    fault (the streamed samples); `model_exact` is the fraction for which it is."""
    import numpy as np

    from codesign.faults.model import SiteMap, apply
    from codesign.faults.rtl import stratified
    from codesign.faults.store import RowStore
    from codesign.rtl.generate import read_meta
    from codesign.rtl.harness import _engines

    meta = read_meta(Path(run) / "rtl", "model_top")
    eng = [(plan, layer) for _, plan, layer in _engines(spec, meta) if plan.kind == "wings"]
    if len(eng) != 1:
        return None
    plan, layer = eng[0]
    li, g = spec.layers.index(layer), plan.gen
    sm = SiteMap(spec)
    fl = stratified(sm, count, seed)
    d = sm.decode([f[0] for f in fl])
    folder = Path(run) / "faults" / "rtl"
    measured = np.asarray(RowStore(folder, json.loads((folder / "plan.json").read_text())).read()["cycles"])
    per = {"alpha": g["S"], "sv": g["S"], "beta": 1, "z": g["GR"] * g["GC"]}

    if not plan.grid:  # a stored basis word rewrites every row without a comparison: not modelled here
        return None

    def parts(k):  # (curve components, basis components) fault k's words make stale
        blk = sm.blocks[d["block"][k]]
        if blk.layer != li or plan.stale(blk.param) == (0, 0):
            return set(), set()
        c, b = plan.stale(blk.param)
        comp = {int(d["index"][k]) // per[blk.param]} if blk.param in per else set(range(g["K"]))
        return (comp if c else set()), (comp if b else set())

    rows, spare = [], []
    for share in (list(range(i, len(fl), harnesses)) for i in range(harnesses)):
        prev, prev_parts = layer, (set(), set())
        for n, k in enumerate(share):
            cur = apply(spec, fl[k], sm).layers[li]
            c, b = parts(k)
            # a direct fault's own word written after the previous fault's generator undo: one cycle
            # of that regeneration runs during the write command
            late = int(not (c or b) and bool(prev_parts[0] or prev_parts[1]))
            c, b = c | prev_parts[0], b | prev_parts[1]
            if n == 0:  # the process's first run: the generation after reset, restarted by the write
                now = was = plan.regen_phases(g["K"], g["K"])
                rows.append((k, now, was, 0))
            elif c or b:
                now = plan.regen_phases(len(c), len(b), *plan.changed(prev, cur))
                was = plan.regen_phases(len(c), len(b))
                rows.append((k, now, was, late))
            else:
                spare.append(int(measured[k]))
            prev, prev_parts = cur, parts(k)
    base = int(np.median(spare)) if spare else 0  # no regeneration: the samples' cycles alone
    exact = [int(measured[k]) == base + sum(now.values()) - late for k, now, _, late in rows]
    def mean(i):
        return {ph: round(float(np.mean([r[i][ph] for r in rows])), 1) for ph in rows[0][i]}

    return {"regenerating_faults": len(rows), "streaming_cycles": base,
            "cycles_by_phase": mean(1), "cycles_by_phase_every_weight": mean(2),
            "model_exact": float(np.mean(exact)) if exact else None}


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
            phases = wings_phases(run, spec, count, args.seed, args.harnesses)
            if phases:
                sec["wings_phases"] = phases
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
