"""A lock on the input side: a secret pixel permutation applied before the first layer (in hardware an
address-translation table on the input buffer's write port), so the public first-layer kernel is stored in
a secret basis. Why: every epilogue lock (bench/lock_attacks.py) leaves the first layer's kernel usable,
and that kernel alone is worth more than the H <= 2 goal (first_kernel_finetune, lock_floor_seed0.json).
An exploration on the float MNIST MLP of bench/lock_attacks.py (same data, epochs, attack protocol):

    nice -n 10 python bench/lock_input_perm.py --seeds 0 --out bench/results/lock_input_perm.json

Per seed: accuracy with the key (inputs permuted) and without (identity), 1,000 random permutations, and
the thief's attacks at 1% / 10% of the training data against training from scratch (best of lr
3e-4/1e-3/3e-3, 20 epochs, as codesign/techniques/lock/attacks.py): fine-tuning the stolen model; the stolen hidden
and output layers under a fresh first layer (what the rest of the model is worth); an adaptive thief
who knows the scheme and guesses the permutation by matching the stolen kernel's column norms to the
pixels' mean intensity on its data, then improves the guess by a greedy swap search on its labelled
samples (keep a swap if the loss drops), and fine-tunes from it. Not a view of the design: no RTL,
hls4ml or emulator unit exists for it (measurement only).
"""
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from codesign.data import load_dataset, to_model_input
from codesign.models import build_model
from codesign.techniques.lock.attacks import (
    LEARNING_RATES,
    _clone,
    accuracy,
    best_finetune,
)
from codesign.train import train_model

LAYERS = [{"flatten": {}}, {"dense": {"units": 256}}, {"relu": {"bits": 8, "integer": 3}},
          {"dense": {"units": 128}}, {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10}}]


def permute(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Pixel j of the permuted image is pixel perm[j] of the original."""
    flat = x.reshape(len(x), -1)
    return flat[:, perm].reshape(x.shape)


def kernels(model) -> list:
    return [l for l in model.layers if getattr(l, "kernel", None) is not None]


def loss_of(model, x_uint8, y) -> float:
    import tensorflow as tf

    x = to_model_input(x_uint8).reshape((len(x_uint8),) + tuple(model.input_shape[1:]))
    logits = model(x, training=False)
    return float(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)))


def norm_matching_guess(stolen, x_attacker: np.ndarray) -> np.ndarray:
    """perm guess: the stolen kernel's columns ranked by norm, mapped onto the pixels ranked by mean intensity."""
    w1 = kernels(stolen)[0].kernel.numpy()  # (784, 256): row j = permuted pixel j
    col_rank = np.argsort(-np.linalg.norm(w1, axis=1), kind="stable")
    pix_rank = np.argsort(-x_attacker.reshape(len(x_attacker), -1).astype(np.float64).mean(0), kind="stable")
    guess = np.empty_like(col_rank)
    guess[col_rank] = pix_rank
    return guess


def greedy_swaps(stolen, guess, xs, ys, steps: int, rng) -> tuple[np.ndarray, int]:
    """Swap two entries of the guess among the active pixels, keep the swap if the thief's loss drops."""
    active = np.flatnonzero(xs.reshape(len(xs), -1).mean(0) > 0)
    pos = np.flatnonzero(np.isin(guess, active))
    best = loss_of(stolen, permute(xs, guess), ys)
    kept = 0
    for _ in range(steps):
        i, j = rng.choice(pos, 2, replace=False)
        guess[[i, j]] = guess[[j, i]]
        loss = loss_of(stolen, permute(xs, guess), ys)
        if loss < best:
            best, kept = loss, kept + 1
        else:
            guess[[i, j]] = guess[[j, i]]
    return guess, kept


def run_seed(seed: int, a) -> dict:
    d = load_dataset({"dataset": "mnist", "train": 6000, "test": 2000}, seed)
    rng = np.random.default_rng(seed + 7)
    n = int(np.prod(d.x_train.shape[1:]))
    perm = rng.permutation(n)  # the secret
    t = time.time()
    model = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed)
    train_model(model, permute(d.x_train, perm), d.y_train, epochs=a.epochs, batch_size=64, learning_rate=1e-3, seed=seed)
    out = {"accuracy_with_key": accuracy(model, permute(d.x_test, perm), d.y_test),
           "accuracy_without_key": accuracy(model, d.x_test, d.y_test)}
    racc = [accuracy(model, permute(d.x_test, rng.permutation(n)), d.y_test) for _ in range(a.random_keys)]
    out.update(accuracy_random_key_best=max(racc), accuracy_random_key_mean=float(np.mean(racc)),
               random_keys=a.random_keys, key_bits=round(float(sum(np.log2(np.arange(1, n + 1)))), 1))
    print(f"[seed {seed}] key {out['accuracy_with_key']:.4f} no key {out['accuracy_without_key']:.4f} "
          f"random best {max(racc):.4f}", flush=True)
    stolen = model
    make_scratch = lambda: build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed + 100)  # noqa: E731

    def head_only():
        fresh = make_scratch()
        for src, dst in list(zip(kernels(stolen), kernels(fresh)))[1:]:
            dst.set_weights(src.get_weights())
        return fresh

    order = np.random.default_rng(seed + 1).permutation(len(d.x_train))  # codesign/techniques/lock/attacks.py's split
    out["scratch"], out["attacks"], out["head_start"], out["head_start_worst"] = {}, {}, {}, {}
    for f in (0.01, 0.1):
        idx = order[:int(round(f * len(d.x_train)))]
        xs, ys = d.x_train[idx], d.y_train[idx]
        ft = lambda make: best_finetune(make, xs, ys, d.x_test, d.y_test, a.attack_epochs, seed)["best"]  # noqa: E731
        sc = ft(make_scratch)
        att = {"finetune": ft(lambda: _clone(stolen)), "stolen_head_finetune": ft(head_only)}
        guess = norm_matching_guess(stolen, xs)
        att["norm_guess"] = accuracy(stolen, permute(d.x_test, guess), d.y_test)
        guess, kept = greedy_swaps(stolen, guess.copy(), xs, ys, a.swaps, np.random.default_rng(seed + 3))
        att["greedy_swap_guess"] = accuracy(stolen, permute(d.x_test, guess), d.y_test)
        att["greedy_swap_guess_hits"] = int(np.sum(guess == perm))
        xs_g, xt_g = permute(xs, guess), permute(d.x_test, guess)
        att["greedy_swap_guess_finetune"] = best_finetune(lambda: _clone(stolen), xs_g, ys, xt_g, d.y_test,
                                                          a.attack_epochs, seed)["best"]
        out["scratch"][str(f)] = sc
        out["attacks"][str(f)] = att
        out["head_start"][str(f)] = round(100 * (att["finetune"] - sc), 2)
        out["head_start_worst"][str(f)] = round(100 * (max(v for k, v in att.items() if not k.endswith("hits")) - sc), 2)
        print(f"[seed {seed}] f={f}: scratch {sc:.4f} {att} kept swaps {kept}", flush=True)
    out["seconds"] = round(time.time() - t, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--attack-epochs", type=int, default=20)
    ap.add_argument("--random-keys", type=int, default=1000)
    ap.add_argument("--swaps", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=Path("bench/results/lock_input_perm.json"))
    a = ap.parse_args()
    res = json.loads(a.out.read_text()) if a.out.exists() else {}
    res["setup"] = {"model": "float MLP 784-256-128-10", "data": "mnist 6000/2000", "epochs": a.epochs,
                    "attack_epochs": a.attack_epochs, "learning_rates": list(LEARNING_RATES),
                    "random_keys": a.random_keys, "swaps": a.swaps, "load_avg_1min_start": os.getloadavg()[0]}
    runs = res.setdefault("runs", {})
    for seed in a.seeds:
        runs[str(seed)] = run_seed(seed, a)
        a.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({s: {k: r[k] for k in ("accuracy_with_key", "accuracy_without_key", "accuracy_random_key_best",
                                            "head_start", "head_start_worst")} for s, r in runs.items()}, indent=1))


if __name__ == "__main__":
    main()
