"""The lock schemes side by side over seeds (one table, generated from the bench results):

    python bench/lock_table.py --out bench/results/lock_table.json

Rows: the naive EdgePro lock and the strong epilogue lock (bench/results/lock_attacks_v2.json, from
bench/lock_attacks.py) and the input-permutation lock (bench/results/lock_input_perm.json, from
bench/lock_input_perm.py: the product's harden.lock scheme input_perm, its LockTraining with decoys and
codesign.techniques.lock.attacks.attack_suite), each on the float MNIST MLP with the same data, seeds
and attack protocol.
Columns (mean over seeds, and per seed): with key, with key minus the same network trained unlocked
(points), no key, best of 1,000 random keys, head start H at 1% and 10% by plain fine-tuning and the
worst over every attack run at that fraction (points).
"""
import argparse
import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def row(runs: dict, unlocked: dict, with_key, without, random_best, h_ft, h_worst) -> dict:
    seeds = {}
    for s, r in sorted(runs.items()):
        seeds[s] = {"accuracy_with_key": with_key(r), "with_key_minus_unlocked_points": round(100 * (with_key(r) - unlocked[s]), 2),
                    "accuracy_without_key": without(r), "accuracy_random_key_best": random_best(r),
                    "head_start_finetune": h_ft(r), "head_start_worst": h_worst(r)}
    mean = lambda k: round(float(np.mean([v[k] for v in seeds.values()])), 4)  # noqa: E731
    fmean = lambda k: {f: round(float(np.mean([v[k][f] for v in seeds.values()])), 2) for f in ("0.01", "0.1")}  # noqa: E731
    return {"seeds": sorted(seeds), "mean": {"accuracy_with_key": mean("accuracy_with_key"),
                                             "with_key_minus_unlocked_points": round(mean("with_key_minus_unlocked_points"), 2),
                                             "accuracy_without_key": mean("accuracy_without_key"),
                                             "accuracy_random_key_best": mean("accuracy_random_key_best"),
                                             "head_start_finetune": fmean("head_start_finetune"),
                                             "head_start_worst": fmean("head_start_worst")}, "by_seed": seeds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=RESULTS / "lock_table.json")
    a = ap.parse_args()
    att = json.loads((RESULTS / "lock_attacks_v2.json").read_text())
    perm = json.loads((RESULTS / "lock_input_perm.json").read_text())
    unlocked = {s: r["unlocked"]["accuracy"] for s, r in att["runs"].items() if "unlocked" in r}
    table = {"model": att["setup"]["model"], "data": att["setup"]["data"],
             "sources": ["bench/results/lock_attacks_v2.json", "bench/results/lock_input_perm.json"],
             "accuracy_unlocked": unlocked, "schemes": {}, "input_perm_setup": perm["setup"]}
    for scheme in ("naive", "strong"):
        runs = {s: r[scheme] for s, r in att["runs"].items() if scheme in r}
        table["schemes"][scheme] = row(runs, unlocked, lambda r: r["accuracy_with_key"], lambda r: r["accuracy_without_key"],
                                       lambda r: r["accuracy_random_key_best"], lambda r: r["head_start"],
                                       lambda r: r["head_start_worst"])
    table["schemes"]["input_perm"] = row(perm["runs"], unlocked, lambda r: r["accuracy_with_key"],
                                         lambda r: r["accuracy_without_key"], lambda r: r["accuracy_random_key_best"],
                                         lambda r: r["head_start"], lambda r: r["head_start_worst"])
    a.out.write_text(json.dumps(table, indent=1) + "\n")
    for name, r in table["schemes"].items():
        print(name, json.dumps(r["mean"]))


if __name__ == "__main__":
    main()
