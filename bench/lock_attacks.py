"""Locks under attack: the naive EdgePro lock and a stronger scheme side by side, on the float MNIST MLP
784-256-128-10 (6,000 train / 2,000 test digits), per seed:

    nice -n 10 python bench/lock_attacks.py --seeds 0 1 2 --jobs 9 --out bench/results/lock_attacks.json
    nice -n 10 python bench/lock_attacks.py --seeds 0 --schemes decoy --out bench/results/lock_attacks_decoy.json

`--jobs N` runs the (seed, scheme) pairs as N parallel processes (each writes OUT.<seed>.<scheme>.json,
merged into OUT at the end; pairs already in OUT are kept, not rerun).

Each scheme is lock-trained `--epochs` epochs (Adam 1e-3, batch 64, 50/50 locked/unlocked batches); the
same network is trained unlocked the same way (accuracy_unlocked). codesign/techniques/lock/attacks.py then runs
no key, 1,000 random keys, fine-tuning the stolen weights on 1% and 10% of the training data against
training from scratch on the same samples (20 epochs, best of lr 3e-4/1e-3/3e-3 each), magnitude
pruning 10/30/50% + fine-tuning, the adaptive guess, and two adaptive thieves who know the key acts in
the epilogues (biases zeroed; only the first layer's kernel kept). head_start = fine-tune minus scratch,
head_start_worst = the best attack at that fraction minus scratch, in points.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from codesign.data import load_dataset
from codesign.models import build_model
from codesign.techniques.lock.attacks import accuracy, attack_suite
from codesign.techniques.lock.config import check_lock
from codesign.techniques.lock.train import LockTraining
from codesign.train import train_model

LAYERS = [{"flatten": {}}, {"dense": {"units": 256}}, {"relu": {"bits": 8, "integer": 3}},
          {"dense": {"units": 128}}, {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10}}]
PRUNE = (0.1, 0.3, 0.5)  # magnitude pruning levels, each then fine-tuned
SCHEMES = {
    # EdgePro as published: 10% of each hidden layer, locking value 0
    "naive": {"layers": "all", "fraction": 0.1, "value": 0.0, "scale": 1.0},
    # half of every hidden layer forced to secret non-zero values x scales (examples/mnist_mlp_lock.yaml)
    "strong": {"layers": "all", "fraction": 0.5, "top": 1.0, "value": [1.0, 4.0], "scale": [0.5, 2.0]},
    # the same, and a quarter of every batch runs under a fresh random wrong key (decoy) with random labels
    "decoy": {"layers": "all", "fraction": 0.5, "top": 1.0, "value": [1.0, 4.0], "scale": [0.5, 2.0], "wrong": 0.5},
}


def train_and_attack(cfg: dict, d, seed: int, a, tag: str, **attack_kw) -> tuple[dict, LockTraining]:
    """The float MLP lock-trained under `cfg` (a.epochs), then every attack of attack_suite on it
    (a.attack_epochs, a.random_keys; a from-scratch twin seeded seed + 100): (results, the training with
    its password). Shared with bench/lock_input_perm.py, so both tables follow one protocol."""
    lt = LockTraining(cfg, d.x_train, seed, 64)
    model = lt.wrap(build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed), 10)
    train_model(model, d.x_train, d.y_train, epochs=a.epochs, batch_size=64, learning_rate=1e-3, seed=seed,
                batch_hook=lt.batch_hook)
    lt.finish()
    out = attack_suite(model, lt.password, cfg, d,
                       lambda: build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed + 100),
                       epochs=a.attack_epochs, n_random=a.random_keys, seed=seed,
                       log=lambda m: print(f"[{tag}] {m}", flush=True), **attack_kw)
    return out, lt


def run_pair(seed: int, scheme: str, a) -> dict:
    """One (seed, scheme): `unlocked` trains the network plainly; a scheme lock-trains it and attacks it."""
    d = load_dataset({"dataset": "mnist", "train": 6000, "test": 2000}, seed)
    t = time.time()
    if scheme == "unlocked":
        twin = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed)
        train_model(twin, d.x_train, d.y_train, epochs=a.epochs, batch_size=64, learning_rate=1e-3, seed=seed)
        return {"accuracy": accuracy(twin, d.x_test, d.y_test), "seconds": round(time.time() - t, 1)}
    cfg = check_lock(dict(SCHEMES[scheme], seed=seed), LAYERS)
    r, _ = train_and_attack(cfg, d, seed, a, f"seed {seed} {scheme}", prune=PRUNE)
    r["seconds"] = round(time.time() - t, 1)
    return r


def summarize(results: dict, seeds: list, schemes: list) -> dict:
    """Mean over seeds of the table's columns, per scheme (and the unlocked network's accuracy)."""
    runs = results["runs"]
    done = [s for s in seeds if "unlocked" in runs.get(str(s), {})]
    summary = {"accuracy_unlocked": float(np.mean([runs[str(s)]["unlocked"]["accuracy"] for s in done])) if done else None}
    for scheme in schemes:
        rows = [(runs[str(s)][scheme], runs[str(s)].get("unlocked")) for s in seeds if scheme in runs.get(str(s), {})]
        if not rows:
            continue
        def mean(of, rows=rows):
            return round(float(np.mean([of(r, u) for r, u in rows])), 4)

        first = rows[0][0]
        summary[scheme] = {
            "seeds": len(rows),
            "accuracy_with_key": mean(lambda r, u: r["accuracy_with_key"]),
            "with_key_minus_unlocked_points": mean(lambda r, u: 100 * (r["accuracy_with_key"] - u["accuracy"]))
            if all(u for _, u in rows) else None,
            "accuracy_without_key": mean(lambda r, u: r["accuracy_without_key"]),
            "accuracy_random_key_best": mean(lambda r, u: r["accuracy_random_key_best"]),
            "accuracy_random_key_mean": mean(lambda r, u: r["accuracy_random_key_mean"]),
            "head_start_finetune": {f: mean(lambda r, u, f=f: r["head_start"][f]) for f in first["head_start"]},
            "head_start_worst": {f: mean(lambda r, u, f=f: r["head_start_worst"][f]) for f in first["head_start_worst"]},
            "by_seed": {str(s): {"accuracy_with_key": runs[str(s)][scheme]["accuracy_with_key"],
                                 "accuracy_unlocked": runs[str(s)].get("unlocked", {}).get("accuracy"),
                                 "accuracy_without_key": runs[str(s)][scheme]["accuracy_without_key"],
                                 "accuracy_random_key_best": runs[str(s)][scheme]["accuracy_random_key_best"],
                                 "head_start_finetune": runs[str(s)][scheme]["head_start"],
                                 "head_start_worst": runs[str(s)][scheme]["head_start_worst"]}
                        for s in seeds if scheme in runs.get(str(s), {})},
        }
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--schemes", nargs="+", default=list(SCHEMES))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--attack-epochs", type=int, default=20)
    ap.add_argument("--random-keys", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--one", nargs=2, metavar=("SEED", "SCHEME"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=Path("bench/results/lock_attacks.json"))
    a = ap.parse_args()
    if a.one:
        seed, scheme = int(a.one[0]), a.one[1]
        Path(f"{a.out}.{seed}.{scheme}.json").write_text(json.dumps(run_pair(seed, scheme, a), indent=1))
        return
    results = json.loads(a.out.read_text()) if a.out.exists() else {}
    results["setup"] = {"model": "float MLP 784-256-128-10", "data": "mnist 6000/2000", "epochs": a.epochs,
                        "attack_epochs": a.attack_epochs, "prune": list(PRUNE), "random_keys": a.random_keys,
                        "schemes": {s: SCHEMES[s] for s in a.schemes}}
    runs = results.setdefault("runs", {})
    for seed in a.seeds:  # pairs an interrupted run finished (their part files) are merged, not rerun
        for scheme in ["unlocked"] + a.schemes:
            part = Path(f"{a.out}.{seed}.{scheme}.json")
            if part.exists() and scheme not in runs.get(str(seed), {}):
                runs.setdefault(str(seed), {})[scheme] = json.loads(part.read_text())
                part.unlink()
    todo = [(s, k) for s in a.seeds for k in ["unlocked"] + a.schemes if k not in runs.get(str(s), {})]
    argv = [sys.executable, __file__, "--epochs", str(a.epochs), "--attack-epochs", str(a.attack_epochs),
            "--random-keys", str(a.random_keys), "--out", str(a.out)]
    running = []
    while todo or running:
        while todo and len(running) < a.jobs:
            seed, scheme = todo.pop(0)
            running.append((seed, scheme, subprocess.Popen(argv + ["--one", str(seed), scheme])))
        time.sleep(2)
        for job in list(running):
            seed, scheme, proc = job
            if proc.poll() is None:
                continue
            running.remove(job)
            part = Path(f"{a.out}.{seed}.{scheme}.json")
            if proc.returncode != 0 or not part.exists():
                print(f"seed {seed} {scheme} failed ({proc.returncode})", flush=True)
                continue
            runs.setdefault(str(seed), {})[scheme] = json.loads(part.read_text())
            part.unlink()
            results["summary"] = summarize(results, a.seeds, a.schemes)
            a.out.write_text(json.dumps(results, indent=1))
    results["summary"] = summarize(results, a.seeds, a.schemes)
    a.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results["summary"], indent=1))


if __name__ == "__main__":
    main()
