"""The input-permutation lock (harden.lock.scheme input_perm) through the product's own path on the float
MNIST MLP of bench/lock_attacks.py (same data, epochs, seeds and attack protocol, so bench/lock_table.py
puts it beside the naive and strong epilogue locks):

    nice -n 10 python bench/lock_input_perm.py --seeds 0 1 2 --out bench/results/lock_input_perm.json

Per seed: codesign.techniques.lock.train.LockTraining with scheme input_perm (a secret permutation of the
784 pixels; every batch `mix` permuted with true labels, the rest with random labels, `wrong` of them
under a random decoy permutation, the others unpermuted), then codesign.techniques.lock.attacks.attack_suite:
accuracy with the key, without it (identity), 1,000 random permutations; the thief's attacks at 1% / 10%
of the training data against training from scratch (best of lr 3e-4/1e-3/3e-3, 20 epochs): fine-tuning
the stolen model, zero biases, the first kernel alone, the stolen hidden + output layers under a fresh
first layer, magnitude pruning 10-50% then fine-tuning, and the adaptive thief who guesses the
permutation (kernel row norms matched to pixel intensity, then 2,000 greedy swaps) and fine-tunes from
its guess. Why the first layer: every epilogue lock leaves the first layer's kernel usable, and that
kernel alone is worth more than the H <= 2 goal (first_kernel_finetune in lock_attacks_v2.json).
"""
import argparse
import json
import os
import resource
import time
from pathlib import Path

from lock_attacks import (  # the same MLP and protocol as the other lock rows
    LAYERS,
    train_and_attack,
)

from codesign.data import load_dataset
from codesign.techniques.lock.attacks import LEARNING_RATES
from codesign.techniques.lock.config import check_lock


def run_seed(seed: int, a) -> dict:
    d = load_dataset({"dataset": "mnist", "train": a.train, "test": 2000}, seed)
    cfg = check_lock({"scheme": "input_perm", "mix": a.mix, "wrong": a.wrong, "seed": seed + 7,
                      "random_keys": a.random_keys}, LAYERS)
    t, c = time.time(), resource.getrusage(resource.RUSAGE_SELF).ru_utime
    out, lt = train_and_attack(cfg, d, seed, a, f"seed {seed}")
    out["key_bits"] = lt.password.key_bits()
    out["seconds"] = round(time.time() - t, 1)
    out["cpu_seconds"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_utime - c, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--attack-epochs", type=int, default=20)
    ap.add_argument("--random-keys", type=int, default=1000)
    ap.add_argument("--mix", type=float, default=0.5)
    ap.add_argument("--wrong", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=Path("bench/results/lock_input_perm.json"))
    a = ap.parse_args()
    res = {"setup": {"model": "float MLP 784-256-128-10", "data": f"mnist {a.train}/2000", "epochs": a.epochs,
                     "attack_epochs": a.attack_epochs, "learning_rates": list(LEARNING_RATES),
                     "random_keys": a.random_keys, "mix": a.mix, "wrong": a.wrong,
                     "path": "codesign.techniques.lock LockTraining (scheme input_perm) + attacks.attack_suite",
                     "load_avg_1min_start": os.getloadavg()[0]}, "runs": {}}
    for seed in a.seeds:
        res["runs"][str(seed)] = run_seed(seed, a)
        a.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({s: {k: r[k] for k in ("accuracy_with_key", "accuracy_without_key", "accuracy_random_key_best",
                                            "head_start", "head_start_worst")} for s, r in res["runs"].items()},
                     indent=1))


if __name__ == "__main__":
    main()
