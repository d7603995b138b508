"""The CNN lock schemes side by side over seeds (one table from the merged bench/lock_cnn.py results):

    python bench/lock_table_cnn.py --scheme naive=bench/results/lock_cnn_naive.json \
        --scheme near=bench/results/lock_cnn_near.json --scheme hidden=bench/results/lock_cnn_hidden.json \
        --out bench/results/lock_table_cnn.json

Each --scheme NAME=FILE is a `bench/lock_cnn.py --merge` table of examples/mnist_cnn_stq_jr_lock.yaml under
some harden.lock overrides (listed per row). Columns per seed and in mean: with key, with key minus the same
network trained unlocked (points), no key, best of the random keys tried (and how many), and for the seeds
whose attacks ran (bench/lock_cnn.py --attacks, or `codesign lock attacks RUN_DIR`, and/or the adaptive
thief's ranked guesses, bench/lock_cnn.py --guesses) the head start H at 1% and 10% of the training data: by
plain fine-tuning, the worst over every attack run at that fraction (attacks_run says which), and each
attack's own H (attack accuracy minus training from scratch on the same samples, points).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np


def attack_heads(att: dict) -> dict:
    """Per fraction: each attack's head start over training from scratch (points)."""
    out = {}
    for f, scratch in att["attack_scratch"].items():
        tail = f"_{f}"
        names = [k for k in att["attacks"] if k.endswith(tail)]
        if f == max(att["attack_scratch"], key=float):
            names += [k for k in att["attacks"] if k.startswith("prune_")]
        out[f] = {k: round(100 * (att["attacks"][k] - scratch), 2) for k in names}
    return out


def scheme_row(table: dict) -> dict:
    seeds = {}
    attacked = table.get("attacks_after", {})
    for r in table["by_seed"]:
        row = {"accuracy_with_key": r["accuracy_with_key"], "accuracy_unlocked": r["accuracy_unlocked"],
               "with_key_minus_unlocked_points": r["with_key_minus_unlocked_points"],
               "accuracy_without_key": r["accuracy_without_key"],
               "accuracy_random_key_best": r.get("accuracy_random_key_best_all", r["accuracy_random_key_best"]),
               "random_keys": r.get("random_keys_all", r["random_keys"])}
        att = attacked.get(f"seed{r['seed']}")
        if att:
            row.update(head_start_finetune=att["head_start"], head_start_worst=dict(att["head_start_worst"]),
                       head_start_by_attack=attack_heads(att), attack_epochs=att.get("epochs", 20))
        guessed = table.get("ranked_guesses", {}).get(f"seed{r['seed']}_guesses")
        if guessed:  # bench/lock_cnn.py --guesses: the best ranked guess, without fine-tuning, is an attack too
            worst, by = row.setdefault("head_start_worst", {}), row.setdefault("head_start_by_attack", {})
            for f, g in guessed["by_fraction"].items():
                by.setdefault(f, {})[f"ranked_guess_{g['best_guess']}"] = g["head_start_best_guess"]
                worst[f] = max(worst.get(f, g["head_start_best_guess"]), g["head_start_best_guess"])
            row["attacks_run"] = ("suite + " if att else "") + "ranked guesses"
        seeds[str(r["seed"])] = row
    mean = {k: round(float(np.mean([v[k] for v in seeds.values()])), 4)
            for k in ("accuracy_with_key", "with_key_minus_unlocked_points", "accuracy_without_key",
                      "accuracy_random_key_best")}
    hit = [v for v in seeds.values() if "head_start_worst" in v]
    for k in ("head_start_finetune", "head_start_worst"):
        fs = sorted({f for v in hit if k in v for f in v[k]}, key=float)  # seeds may be attacked at fewer fractions
        if fs:
            mean[k] = {f: round(float(np.mean([v[k][f] for v in hit if f in v.get(k, {})])), 2) for f in fs}
            mean[f"{k}_seeds"] = {f: sum(f in v.get(k, {}) for v in hit) for f in fs}
    if hit:
        fs = sorted({f for v in hit for f in v["head_start_worst"]}, key=float)
        mean["head_start_worst_max"] = {f: max(v["head_start_worst"][f] for v in hit if f in v["head_start_worst"])
                                        for f in fs}
    return {"overrides": table["overrides"], "seeds": sorted(seeds, key=int), "attacked_seeds": len(hit),
            "mean": mean, "by_seed": seeds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scheme", action="append", required=True, metavar="NAME=FILE")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    table = {"model": "examples/mnist_cnn_stq_jr_lock.yaml (STQ + JR CNN, MNIST 6000/2000)", "schemes": {},
             "sources": {}}
    for item in a.scheme:
        name, _, path = item.partition("=")
        if not name or not Path(path).is_file():
            print(f"lock_table_cnn: --scheme {item!r}: give NAME=FILE with FILE a bench/lock_cnn.py --merge table",
                  file=sys.stderr)
            sys.exit(2)
        table["sources"][name] = path
        table["schemes"][name] = scheme_row(json.loads(Path(path).read_text()))
    a.out.write_text(json.dumps(table, indent=1) + "\n")
    for name, r in table["schemes"].items():
        print(name, json.dumps(r["mean"]))


if __name__ == "__main__":
    main()
