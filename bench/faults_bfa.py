"""BFA vs random flips on one or more built runs (one curve each, e.g. 8-bit, STQ, STQ + JR MLPs),
with detection rates; optionally the RTL cross-check of a run built with RTL.

For each RUN_DIR: `codesign faults RUN_DIR --campaign bfa --seeds S --detect` (resumes any rows
already there), the flips each seed needed to bring test accuracy to <= 11 %, the random baseline's
accuracy after as many flips, and the detection section. A joint plot shows accuracy vs flips,
BFA solid and random dashed, one colour per run (hardening variant): the mean over seeds with a
band of one standard deviation (a seed whose attack already reached the target keeps its last
accuracy: the attacker stops flipping).

    CODESIGN_DATA=/work/shared/data python bench/faults_bfa.py RUN_A RUN_B --labels "8-bit" "STQ" --seeds 5
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
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-flips", type=int, default=150)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rtl-faults", type=int, default=0, help="> 0: RTL cross-check of that many stratified faults")
    ap.add_argument("--rtl-samples", type=int, default=2)
    ap.add_argument("--labels", nargs="*", help="curve label per run (default: the run folder's name)")
    ap.add_argument("--fresh", action="store_true", help="discard the runs' earlier bfa rows")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults_bfa.json"))
    args = ap.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from codesign.faults.campaign import run_campaign
    from codesign.faults.store import RowStore

    labels = args.labels or [Path(r).name for r in args.runs]
    if len(labels) != len(args.runs):
        raise SystemExit(f"--labels: give one label per run ({len(args.runs)}), got {len(labels)}")
    res = {"load_avg_1min_start": os.getloadavg()[0], "cpus": os.cpu_count(), "runs": {}}
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, run in enumerate(args.runs):
        t = time.perf_counter()
        sec = run_campaign(run, "bfa", seeds=args.seeds, max_flips=args.max_flips, workers=args.workers, detect=True,
                           rtl=args.rtl_faults > 0, rtl_faults=args.rtl_faults, rtl_samples=args.rtl_samples,
                           fresh=args.fresh, log=lambda m: print(m, flush=True))
        sec.update(label=labels[k], wall_s=round(time.perf_counter() - t, 1), load_avg_1min_end=os.getloadavg()[0])
        res["runs"][run] = sec
        print(run, json.dumps(sec), flush=True)
        folder = Path(run) / "faults" / "bfa"
        rows = RowStore(folder, json.loads((folder / "plan.json").read_text())).read()
        color = f"C{k}"
        for method, style in (("bfa", "-"), ("random", "--")):
            sel = rows["method"] == method
            steps = int(rows["step"][sel].max())
            seeds = sorted(set(rows["seed"][sel].tolist()))
            curve = np.full((len(seeds), steps + 1), np.nan)
            for i, s in enumerate(seeds):
                m = sel & (rows["seed"] == s)
                curve[i, 0] = rows["clean_accuracy"][m][0]
                curve[i, rows["step"][m]] = rows["accuracy"][m]
                for j in range(1, steps + 1):  # stopped (target reached): the accuracy stays
                    if np.isnan(curve[i, j]):
                        curve[i, j] = curve[i, j - 1]
            mean, sd = curve.mean(axis=0), curve.std(axis=0)
            x = np.arange(steps + 1)
            ax.plot(x, mean, style, color=color, label=f"{labels[k]} {method}")
            ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.15 if method == "bfa" else 0.07, lw=0)
    ax.set_xlabel("bit flips")
    ax.set_ylabel("test accuracy (integer emulator)")
    ax.set_title(f"bit-flip attack vs random flips, mean \u00b1 sd over {args.seeds} seeds", fontsize=9)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(args.out).with_suffix(".png"), dpi=120)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
