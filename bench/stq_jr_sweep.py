"""Which STQ + JR training recipe makes the ternary MLP robust: lambdas, per-layer terms, epochs.

    CODESIGN_DATA=/work/shared/data python bench/stq_jr_sweep.py [--config examples/mnist_mlp_stq_jr.yaml]
        [--recipes NAME ...] [--out bench_out/stq_jr_sweep]

Every recipe trains the config's network (seed 0, its data split) as the `stq_jr` variant and, for
reference, the `float_jr` variant with the same recipe, then measures clean accuracy of the Keras model
on the whole test split (equal to the integer emulator's: tests/test_flow_mlp.py) and ART PGD
(L-inf eps=0.1, 20 steps of eps/4, random init) on the first 500 test digits. A recipe is a set of
`harden.jr.layers` lambdas plus training epochs and an optional final phase of deterministic
(non-stochastic) ternary training: the attacked model is the deterministic one, so the last epochs
regularize exactly that network. Prints one line per model and writes OUT/results.json.

A row is reproducible for its seed *and* TensorFlow thread count: the same recipe and seed at
TF_NUM_INTRAOP_THREADS=1 follows another training trajectory than at the default thread count
(MLP l0.1_e40, seed 0, STQ + JR PGD 0.736 at the default, 0.652 at one thread; each setting repeats
itself exactly), so each row records the setting.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent

def _jr(lambdas: str) -> str:
    return f"harden.jr.layers={lambdas}"


def _ft(epochs: int, lr: float = 3e-4) -> str:
    return f"train.finetune={{epochs: {epochs}, learning_rate: {lr}}}"


# name: config overrides (dotted key=YAML value, as `codesign flow --set`) applied to --config.
# The first rows were measured on the 20-epoch version of examples/mnist_mlp_stq_jr.yaml.
RECIPES = {
    "base": ["train.epochs=20"],
    "l0.2": ["train.epochs=20", _jr("{logits: 0.2}")],
    "l0.1_ft5": ["train.epochs=20", _ft(5)],
    "l0.1_e40": ["train.epochs=40"],
    "l0.1_layers": ["train.epochs=20", _jr("{logits: 0.1, dense_1: 0.01, dense_2: 0.01}")],
    "l0.2_e40_ft5": ["train.epochs=40", _jr("{logits: 0.2}"), _ft(5)],
    "l0.1_e40_ft5": ["train.epochs=40", _ft(5)],
    "l0.15_e40_ft5": ["train.epochs=40", _jr("{logits: 0.15}"), _ft(5)],
    "l0.1_e60_ft10": ["train.epochs=60", _ft(10)],
    "l0.05_e40": ["train.epochs=40", _jr("{logits: 0.05}")],
    "cnn": [],  # the --config as written (e.g. examples/mnist_cnn_stq_jr.yaml)
    "l0.1_tiny_layers_e40": ["train.epochs=40", _jr("{logits: 0.1, dense_1: 0.0005, dense_2: 0.0005}")],
}


def train_recipe(variant, cfg, data, trained):
    """`variant` trained, or taken from `trained` (a distillation teacher already is)."""
    from codesign.variants import train_variant

    if variant not in trained:
        trained[variant] = train_variant(variant, cfg, data, log=lambda m: None, trained=trained)
    return trained[variant]


def measure(model, data, cfg, pgd_samples):
    from codesign.data import to_model_input
    from codesign.robustness import DEFAULTS, classifier, image_model, keras_classes, run_attack
    from codesign.train import keras_accuracy

    clean = keras_accuracy(model, data.x_test, data.y_test)
    m = image_model(model)
    n = pgd_samples
    x = to_model_input(data.x_test[:n]).reshape((n,) + tuple(m.input_shape[1:]))
    y = np.asarray(data.y_test[:n], dtype=np.int64)
    r = copy.deepcopy(DEFAULTS)
    r.update(cfg["robustness"])
    adv = run_attack("pgd", classifier(m), x, y, 0.1, r)
    return clean, float(np.mean(keras_classes(m, adv) == y))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=str(ROOT / "examples" / "mnist_mlp_stq_jr.yaml"))
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES))
    ap.add_argument("--set", action="append", default=[],
                    help="extra override key=value for every recipe (dotted key, YAML value)")
    ap.add_argument("--label", default="", help="suffix for the recipe names of this run (with --set)")
    ap.add_argument("--variants", nargs="+", default=["stq_jr", "float_jr"])
    ap.add_argument("--pgd-samples", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("bench_out/stq_jr_sweep"))
    args = ap.parse_args()

    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.variants import model_size, variant_layers

    unknown = [r for r in args.recipes if r not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipe {unknown[0]!r}; known: {', '.join(RECIPES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.recipes:
        overrides = RECIPES[name] + args.set
        cfg = load_config(args.config, overrides)
        data = load_dataset(cfg["data"], cfg["seed"])
        trained = {}
        for variant in args.variants:
            t0 = time.time()
            model = train_recipe(variant, cfg, data, trained)
            clean, pgd = measure(model, data, cfg, args.pgd_samples)
            bits, _ = model_size(model, variant_layers(variant, cfg["model"]["layers"], cfg["harden"])[1])
            row = dict(recipe=name + args.label, variant=variant, overrides=overrides, clean=clean, pgd_0_1=pgd,
                       kbytes=round(bits / 8192, 2), seconds=round(time.time() - t0, 1),
                       tf_intra_op_threads=os.environ.get("TF_NUM_INTRAOP_THREADS", "default"))
            rows.append(row)
            print(f"{row['recipe']:14s} {variant:9s} {row['kbytes']:7.2f} KB clean {clean:.4f}  PGD0.1 {pgd:.4f}  ({row['seconds']} s)", flush=True)
            (args.out / "results.json").write_text(json.dumps({"config": args.config, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
