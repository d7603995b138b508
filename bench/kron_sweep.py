"""Separable Kronecker FC on the MNIST MLP: compression vs clean and PGD accuracy, and penalty ablation.

    python bench/kron_sweep.py [--epochs 20] [--jr 0.1] [--adv [--adv-eps 0.1 --adv-steps 7 --adv-step-ratio 0.25 --adv-mix 0.5
                               --adv-warmup 0]] [--only LABEL ...] [--out bench_out/kron]   (CODESIGN_DATA set offline)

Every model is the examples/mnist_mlp_kron.yaml network trained the same way (same seed, epochs,
optimizer); the reference is the same network with the first layer as a dense 784x256 layer with
8-bit weights (the dense layer at the same bit width). For each: stored bits of the first layer
(from the design spec), compression ratio against that dense layer, clean accuracy of the integer
emulator on the 2,000 test digits, and ART PGD (L-inf, eps=0.1, 20 steps of eps/4) accuracy of the
Keras model on the first 500. Prints a table, writes results.json (rows + the recipe) and a plot.

`--adv` trains every model, the dense reference included, with PGD adversarial training
(`train.adversarial` of codesign/train.py: random start, `--adv-steps` steps of `--adv-step-ratio`
* eps, loss (1 - mix) * clean + mix * adversarial cross-entropy); `--jr` adds input-to-logits
Jacobian regularization on top. `--sparsity` / `--condition` set the penalty weights of every
Kronecker point that has the penalty on (the ablation's switched-off penalties stay 0).
`--only LABEL ...` runs just those models (the reference only if listed), so one sweep can be split
over processes and joined with `--merge part1/results.json part2/results.json --out DIR`.
"""
from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((ROOT / "examples" / "mnist_mlp_kron.yaml").read_text())

REFERENCE = "dense 8-bit"
SWEEP = [  # (label, rank, out_factors, sparsity, condition[, bias])
    ("R=1 16x16 no bias", 1, [16, 16], 1e-4, 1e-3, False),
    ("R=1 16x16", 1, [16, 16], 1e-4, 1e-3),
    ("R=1 8x32", 1, [8, 32], 1e-4, 1e-3),
    ("R=2 16x16 no bias", 2, [16, 16], 1e-4, 1e-3, False),
    ("R=2 16x16", 2, [16, 16], 1e-4, 1e-3),
    ("R=4 16x16", 4, [16, 16], 1e-4, 1e-3),
    ("R=8 16x16", 8, [16, 16], 1e-4, 1e-3),
]
ABLATION = [  # (suffix, sparsity on?, condition on?) for the sweep point --ablation-of (both on: that point)
    ("no penalties", 0.0, 0.0),
    ("sparsity only", 1e-4, 0.0),
    ("condition only", 0.0, 1e-3),
]


def ablation(point):
    """The ablation runs of one sweep point: its rank, shapes and bias with the penalties switched."""
    label, rank, out_factors, _, _, *bias = next(s for s in SWEEP if s[0] == point)
    return [(f"{label}: {suffix}", rank, out_factors, sp, cond, *bias) for suffix, sp, cond in ABLATION]


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


def evaluate(label, layers, data, epochs, pgd_samples, jr=0.0, adversarial=None, learning_rate=1e-3, seed=0):
    from codesign.compression import compression_report
    from codesign.emulator import Emulator
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.robustness import DEFAULTS, classifier, keras_classes, run_attack
    from codesign.data import to_model_input
    from codesign.techniques.stq_jr.train import make_regularizer
    from codesign.train import train_model

    t0 = time.time()
    model = build_model(layers, data.input_shape, 10, seed=seed)
    reg = make_regularizer({"jr": {"layers": {"logits": jr}, "projections": 1}}) if jr else None
    train_model(model, data.x_train, data.y_train, epochs=epochs, seed=seed, regularizer=reg, adversarial=adversarial,
                learning_rate=learning_rate)
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
    print(f"{label:32s} bits {row['layer_bits']:>9d}  ratio {row.get('ratio', 1.0):7.1f}x  clean {clean:.4f}"
          f"  PGD0.1 {pgd:.4f}  ({row['seconds']} s)", flush=True)
    return row


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = next(r for r in rows if r["label"] == REFERENCE)
    sweep = sorted((r for r in rows if "ratio" in r and r["label"] in {s[0] for s in SWEEP}), key=lambda r: r["ratio"])
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
    ap.add_argument("--ablation-of", default="R=2 16x16", choices=[s[0] for s in SWEEP],
                    help="sweep point whose penalties the ablation switches off")
    ap.add_argument("--jr", type=float, default=0.0, help="input-to-logits Jacobian regularization lambda for all")
    ap.add_argument("--adv", action="store_true", help="PGD adversarial training for every model")
    ap.add_argument("--adv-eps", type=float, default=0.1)
    ap.add_argument("--adv-steps", type=int, default=7)
    ap.add_argument("--adv-step-ratio", type=float, default=0.25, help="PGD step as a fraction of eps")
    ap.add_argument("--adv-mix", type=float, default=0.5)
    ap.add_argument("--adv-warmup", type=int, default=0, help="epochs of linear epsilon warm-up")
    ap.add_argument("--sparsity", type=float, default=1e-4, help="L1 penalty weight of every penalized point")
    ap.add_argument("--condition", type=float, default=1e-3, help="condition penalty weight of every penalized point")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate for every model")
    ap.add_argument("--seed", type=int, default=0, help="initialisation and training seed (the data split stays seed 0)")
    ap.add_argument("--only", nargs="+", default=None,
                    help="labels of the models to run (the reference only when its label is listed)")
    ap.add_argument("--merge", nargs="+", type=Path, default=None,
                    help="results.json files of parts of one sweep (same recipe) to join into --out")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        return merge(args.merge, args.out)
    from codesign.config_schema import Adversarial, validate_block

    adv = validate_block(Adversarial, {"epsilon": args.adv_eps, "steps": args.adv_steps, "step_ratio": args.adv_step_ratio,
                                       "mix": args.adv_mix, "warmup": args.adv_warmup}, "train.adversarial") if args.adv else None
    recipe = {"command": "python bench/kron_sweep.py " + " ".join(map(shlex.quote, sys.argv[1:])),
              "epochs": args.epochs, "learning_rate": args.lr, "jr": args.jr, "adversarial": adv,
              "pgd_samples": args.pgd_samples, "sparsity": args.sparsity, "condition": args.condition,
              "seed": args.seed}
    print(f"recipe: {recipe}", flush=True)
    from codesign.data import load_dataset

    data = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    kw = dict(jr=args.jr, adversarial=adv, learning_rate=args.lr, seed=args.seed)
    runs = [(REFERENCE, None, None, 0, 0)] + SWEEP + ([] if args.no_ablation else ablation(args.ablation_of))
    if args.only:
        unknown = set(args.only) - {r[0] for r in runs}
        if unknown:
            ap.error(f"--only {sorted(unknown)}: known labels {[r[0] for r in runs]}")
        runs = [r for r in runs if r[0] in args.only]
    # the penalty weights of the points that have them (the ablation's switched-off ones stay 0)
    runs = [(label, rank, out, args.sparsity if sp else 0.0, args.condition if cond else 0.0, *bias)
            for label, rank, out, sp, cond, *bias in runs]
    rows = []
    for label, *setting in runs:
        rows.append(evaluate(label, layers_for(*setting), data, args.epochs, args.pgd_samples, **kw))
        write(args.out, recipe, rows)  # after every model: a long sweep keeps what it measured


def write(out, recipe, rows):
    (out / "results.json").write_text(json.dumps({"recipe": recipe, "rows": rows}, indent=1))
    if any(r["label"] == REFERENCE for r in rows) and any(r["label"] in {s[0] for s in SWEEP} for r in rows):
        plot(rows, out / "kron_sweep.png")
    print(f"wrote {out / 'results.json'}" + (f" and {out / 'kron_sweep.png'}" if (out / "kron_sweep.png").exists() else ""))


def merge(files, out):
    """One results.json (and plot) from parts of one sweep run as separate processes with one recipe."""
    parts = [json.loads(Path(f).read_text()) for f in files]
    recipe = {k: v for k, v in parts[0]["recipe"].items() if k != "command"}
    for f, p in zip(files, parts):
        other = {k: v for k, v in p["recipe"].items() if k != "command"}
        if other != recipe:
            raise SystemExit(f"{f}: recipe {other} differs from {files[0]}: {recipe}")
    recipe["commands"] = [p["recipe"]["command"] for p in parts]
    order = [REFERENCE] + [s[0] for s in SWEEP]
    rows = sorted((r for p in parts for r in p["rows"]), key=lambda r: order.index(r["label"]) if r["label"] in order
                  else len(order))
    write(out, recipe, rows)


if __name__ == "__main__":
    main()
