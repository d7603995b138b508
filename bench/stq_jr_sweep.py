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
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent

RECIPES = {  # name: (jr lambdas, epochs, deterministic fine-tune epochs, fine-tune learning rate[, relu override])
    "base": ({"logits": 0.1}, 20, 0, None),
    "l0.2": ({"logits": 0.2}, 20, 0, None),
    "l0.1_ft5": ({"logits": 0.1}, 20, 5, 3e-4),
    "l0.1_e40": ({"logits": 0.1}, 40, 0, None),
    "l0.1_layers": ({"logits": 0.1, "dense_1": 0.01, "dense_2": 0.01}, 20, 0, None),
    "l0.2_e40_ft5": ({"logits": 0.2}, 40, 5, 3e-4),
    "l0.1_e40_ft5": ({"logits": 0.1}, 40, 5, 3e-4),
    "l0.15_e40_ft5": ({"logits": 0.15}, 40, 5, 3e-4),
    "l0.1_e60_ft10": ({"logits": 0.1}, 60, 10, 3e-4),
    "l0.05_e40": ({"logits": 0.05}, 40, 0, None),
    "l0.1_tiny_layers_e40": ({"logits": 0.1, "dense_1": 0.0005, "dense_2": 0.0005}, 40, 0, None),
    "l0.1_e40_relu_i2": ({"logits": 0.1}, 40, 0, None, {"bits": 8, "integer": 2}),
    "l0.1_e40_relu_b10": ({"logits": 0.1}, 40, 0, None, {"bits": 10, "integer": 3}),
}


def train_recipe(variant, cfg, data, lambdas, epochs, finetune, ft_lr, relu=None):
    from codesign.harden import make_regularizer
    from codesign.robustness import variant_layers
    from codesign.models import build_model
    from codesign.train import train_from_config

    layers = [{"relu": dict(relu)} if relu and "relu" in e else e for e in cfg["model"]["layers"]]
    layers, quantized, _ = variant_layers(variant, layers, cfg["harden"])
    t = dict(cfg["train"], epochs=epochs, finetune={"epochs": finetune, "learning_rate": ft_lr} if finetune else None)
    reg = make_regularizer({"jr": {"layers": lambdas, "projections": cfg["harden"]["jr"]["projections"]}})
    model = build_model(layers, data.input_shape, data.num_classes, quantized=quantized, seed=cfg["seed"])
    train_from_config(model, data.x_train, data.y_train, t, cfg["seed"], stochastic=quantized, regularizer=reg)
    return model


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
    ap.add_argument("--variants", nargs="+", default=["stq_jr", "float_jr"])
    ap.add_argument("--pgd-samples", type=int, default=500)
    ap.add_argument("--out", type=Path, default=Path("bench_out/stq_jr_sweep"))
    args = ap.parse_args()

    from codesign.config import check_config
    from codesign.data import load_dataset

    cfg = check_config(yaml.safe_load(Path(args.config).read_text()), args.config)
    data = load_dataset(cfg["data"], cfg["seed"])
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.recipes:
        lambdas, epochs, finetune, ft_lr, *relu = RECIPES[name]
        for variant in args.variants:
            t0 = time.time()
            model = train_recipe(variant, cfg, data, lambdas, epochs, finetune, ft_lr, *relu)
            clean, pgd = measure(model, data, cfg, args.pgd_samples)
            row = dict(recipe=name, variant=variant, lambdas=lambdas, epochs=epochs, finetune=finetune,
                       clean=clean, pgd_0_1=pgd, seconds=round(time.time() - t0, 1))
            rows.append(row)
            print(f"{name:14s} {variant:9s} clean {clean:.4f}  PGD0.1 {pgd:.4f}  ({row['seconds']} s)", flush=True)
            (args.out / "results.json").write_text(json.dumps({"config": args.config, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
