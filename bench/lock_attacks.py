"""Locks under attack: the naive EdgePro lock and a stronger scheme side by side, on the float MNIST MLP
784-256-128-10 (6,000 train / 2,000 test digits), per seed:

    python bench/lock_attacks.py --seeds 0 1 2 --out bench/results/lock_attacks.json

Each scheme is lock-trained `--epochs` epochs (Adam 1e-3, batch 64, 50/50 locked/unlocked batches); the
same network is trained unlocked the same way (accuracy_unlocked). codesign/lock/attacks.py then runs
no key, 1,000 random keys, fine-tuning the stolen weights on 1% and 10% of the training data against
training from scratch on the same samples (20 epochs, best of lr 3e-4/1e-3/3e-3 each), magnitude
pruning 10-50% + fine-tuning, and the adaptive guess. head_start = fine-tune minus scratch, in points.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from codesign.data import load_dataset
from codesign.lock.attacks import accuracy, attack_suite
from codesign.lock.config import check_lock
from codesign.lock.train import LockTraining
from codesign.models import build_model
from codesign.train import train_model

LAYERS = [{"flatten": {}}, {"dense": {"units": 256}}, {"relu": {"bits": 8, "integer": 3}},
          {"dense": {"units": 128}}, {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10}}]
SCHEMES = {
    # EdgePro as published: 10% of each hidden layer, locking value 0
    "naive": {"layers": "all", "fraction": 0.1, "value": 0.0, "scale": 1.0},
    # half of every hidden layer forced to secret non-zero values x scales
    "strong": {"layers": "all", "fraction": 0.5, "top": 1.0, "value": [1.0, 4.0], "scale": [0.5, 2.0]},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--schemes", nargs="+", default=list(SCHEMES))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--attack-epochs", type=int, default=20)
    ap.add_argument("--random-keys", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("bench/results/lock_attacks.json"))
    a = ap.parse_args()
    results = json.loads(a.out.read_text()) if a.out.exists() else {}
    results["setup"] = {"model": "float MLP 784-256-128-10", "data": "mnist 6000/2000", "epochs": a.epochs,
                        "attack_epochs": a.attack_epochs, "schemes": {s: SCHEMES[s] for s in a.schemes}}
    for seed in a.seeds:
        d = load_dataset({"dataset": "mnist", "train": 6000, "test": 2000}, seed)
        per = results.setdefault("runs", {}).setdefault(str(seed), {})
        if "accuracy_unlocked" not in per:
            twin = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed)
            train_model(twin, d.x_train, d.y_train, epochs=a.epochs, batch_size=64, learning_rate=1e-3, seed=seed)
            per["accuracy_unlocked"] = accuracy(twin, d.x_test, d.y_test)
        for scheme in a.schemes:
            t = time.time()
            cfg = check_lock(dict(SCHEMES[scheme], seed=seed), LAYERS)
            lt = LockTraining(cfg, d.x_train, seed, 64)
            model = lt.wrap(build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed), 10)
            train_model(model, d.x_train, d.y_train, epochs=a.epochs, batch_size=64, learning_rate=1e-3, seed=seed,
                        batch_hook=lt.batch_hook)
            lt.finish()
            r = attack_suite(model, lt.password, cfg, d,
                             lambda: build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed + 100),
                             epochs=a.attack_epochs, n_random=a.random_keys, seed=seed,
                             log=lambda m: print(f"[seed {seed} {scheme}] {m}", flush=True))
            r["seconds"] = round(time.time() - t, 1)
            per[scheme] = r
            a.out.write_text(json.dumps(results, indent=1))
    summary = {}
    for scheme in a.schemes:
        rows = [results["runs"][str(s)][scheme] for s in a.seeds if scheme in results["runs"].get(str(s), {})]
        summary[scheme] = {k: float(np.mean([r[k] for r in rows])) for k in
                           ("accuracy_with_key", "accuracy_without_key", "accuracy_random_key_best", "max_attack_head_start")}
        summary[scheme]["head_start"] = {f: float(np.mean([r["head_start"][f] for r in rows])) for f in rows[0]["head_start"]}
        summary[scheme]["seeds"] = len(rows)
    summary["accuracy_unlocked"] = float(np.mean([results["runs"][str(s)]["accuracy_unlocked"] for s in a.seeds]))
    results["summary"] = summary
    a.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
