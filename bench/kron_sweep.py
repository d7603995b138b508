"""Separable Kronecker FC on the MNIST MLP: compression vs clean and PGD accuracy, and penalty ablation.

    python bench/kron_sweep.py [--epochs 20] [--jr 0.1] [--out bench_out/kron]   (CODESIGN_DATA set offline)

Every model is the examples/mnist_mlp_kron.yaml network trained the same way (same seed, epochs,
optimizer); the reference is the same network with the first layer as a dense 784x256 layer with
8-bit weights (the dense layer at the same bit width). For each: stored bits of the first layer
(from the design spec), compression ratio against that dense layer, clean accuracy of the integer
emulator on the 2,000 test digits, and ART PGD (L-inf, eps=0.1, 20 steps of eps/4) accuracy of the
Keras model on the first 500. Prints a table, writes results.json and a plot.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((ROOT / "examples" / "mnist_mlp_kron.yaml").read_text())

SWEEP = [  # (label, rank, out_factors, sparsity, condition[, bias])
    ("R=1 16x16 no bias", 1, [16, 16], 1e-4, 1e-3, False),
    ("R=1 16x16", 1, [16, 16], 1e-4, 1e-3),
    ("R=1 8x32", 1, [8, 32], 1e-4, 1e-3),
    ("R=2 16x16", 2, [16, 16], 1e-4, 1e-3),
    ("R=4 16x16", 4, [16, 16], 1e-4, 1e-3),
    ("R=8 16x16", 8, [16, 16], 1e-4, 1e-3),
]
ABLATION = [
    ("R=2 no penalties", 2, [16, 16], 0.0, 0.0),
    ("R=2 sparsity only", 2, [16, 16], 1e-4, 0.0),
    ("R=2 condition only", 2, [16, 16], 0.0, 1e-3),
]


def layers_for(rank, out_factors, sparsity, condition, bias=True):
    layers = copy.deepcopy(BASE["model"]["layers"])
    if rank is None:  # the dense reference at the factors' bit width
        layers[1] = {"dense": {"units": 256, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}
        return layers
    kron = layers[1]["kron_dense"]
    kron.update(rank=rank, out_factors=out_factors, sparsity=sparsity, condition=condition)
    if not bias:  # and the reference it is compared with is then the dense layer without bias
        kron["bias"] = None
    return layers


def evaluate(label, layers, data, epochs, pgd_samples, jr=0.0):
    from codesign.compression import compression_report
    from codesign.emulator import Emulator
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.robustness import DEFAULTS, classifier, keras_classes, run_attack
    from codesign.data import to_model_input
    from codesign.harden import make_regularizer
    from codesign.train import train_model

    t0 = time.time()
    model = build_model(layers, data.input_shape, 10, seed=0)
    reg = make_regularizer({"jr": {"layers": {"logits": jr}, "projections": 1}}) if jr else None
    train_model(model, data.x_train, data.y_train, epochs=epochs, seed=0, regularizer=reg)
    spec = extract_spec(model)
    emu = Emulator(spec)
    clean = float(np.mean(np.argmax(emu.run_int(emu.quantize_input(data.x_test)), -1) == data.y_test))
    x, y = to_model_input(data.x_test[:pgd_samples]), data.y_test[:pgd_samples]
    adv = run_attack("pgd", classifier(model), x, y, 0.1, DEFAULTS)
    pgd = float(np.mean(keras_classes(model, adv) == y))
    first = spec.layers[1]
    comp = compression_report(spec)
    row = {"label": label, "layer_bits": comp["layers"][first.name]["weight_bits"], "clean": clean, "pgd_0.1": pgd,
           "seconds": round(time.time() - t0, 1)}
    if first.kind == "kron_dense":
        row["ratio"] = comp["layers"][first.name]["ratio"]
        row["params"] = int(first.params["a"].size + first.params["b"].size)
    print(f"{label:22s} bits {row['layer_bits']:>9d}  ratio {row.get('ratio', 1.0):7.1f}x  clean {clean:.4f}"
          f"  PGD0.1 {pgd:.4f}  ({row['seconds']} s)", flush=True)
    return row


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = rows[0]
    sweep = [r for r in rows[1:] if "ratio" in r and r["label"] in {s[0] for s in SWEEP}]
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [r["ratio"] for r in sweep]
    ax.plot(xs, [r["clean"] for r in sweep], "o-", label="clean (emulator)")
    ax.plot(xs, [r["pgd_0.1"] for r in sweep], "s-", label="PGD eps=0.1")
    ax.axhline(ref["clean"], ls="--", c="C0", lw=0.8, label="dense clean")
    ax.axhline(ref["pgd_0.1"], ls="--", c="C1", lw=0.8, label="dense PGD")
    for r in sweep:
        ax.annotate(r["label"], (r["ratio"], r["clean"]), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("compression of the first layer vs 8-bit dense (x)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--pgd-samples", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("bench_out/kron"))
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--jr", type=float, default=0.0, help="input-to-logits Jacobian regularization lambda for all")
    args = ap.parse_args()
    from codesign.data import load_dataset

    data = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = [evaluate("dense 8-bit", layers_for(None, None, 0, 0), data, args.epochs, args.pgd_samples, args.jr)]
    for label, *setting in SWEEP + ([] if args.no_ablation else ABLATION):
        rows.append(evaluate(label, layers_for(*setting), data, args.epochs, args.pgd_samples, args.jr))
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    plot(rows, args.out / "kron_sweep.png")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'kron_sweep.png'}")


if __name__ == "__main__":
    main()
