"""WINGs on an MNIST CNN: sensitivity table of every weighted layer, the chooser, and the chosen FC layer
replaced by a generator (trained in the loop), against the same CNN uncompressed.

CNN (8-bit weights): conv 3x3x16 - pool - conv 3x3x16 - pool - flatten (5x5x16) - FC 128 - FC 10.
The FC 128's input is laid out as a 25 x 16 (position x channel) image for the basis grid.

    CODESIGN_DATA=/work/shared/data python bench/wings_cnn.py --epochs 10 --out bench/results/wings_cnn.json
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def cnn_layers(fc: dict) -> list:
    q8, b8, r = {"bits": 8, "integer": 0}, {"bits": 8, "integer": 3}, {"relu": {"bits": 8, "integer": 3}}
    return [{"conv2d": {"filters": 16, "kernel_size": 3, "kernel": q8, "bias": b8}}, r, {"maxpool2d": {"pool_size": 2}},
            {"conv2d": {"filters": 16, "kernel_size": 3, "kernel": q8, "bias": b8}}, r, {"maxpool2d": {"pool_size": 2}},
            {"flatten": {}}, fc, r, {"dense": {"units": 10, "kernel": q8, "bias": b8}}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-drop", type=float, default=0.02)
    ap.add_argument("--components", type=int, nargs="+", default=[6, 10])
    ap.add_argument("--force", action="store_true", help="replace FC 128 even when the chooser does not pick it")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from codesign.compression import compression_report
    from codesign.data import load_dataset
    from codesign.emulator import Emulator
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.train import keras_accuracy, train_model
    from codesign.techniques.wings.sensitivity import choose_layers, layer_sensitivity

    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    res = {"network": "CNN conv16-pool-conv16-pool-FC128-FC10, 8-bit weights", "epochs": args.epochs}
    dense = {"dense": {"units": 128, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}
    f32 = build_model(cnn_layers(dense), d.input_shape, d.num_classes, quantized=False)
    train_model(f32, d.x_train, d.y_train, epochs=args.epochs, stochastic=False)
    res["float32"] = keras_accuracy(f32, d.x_test, d.y_test)
    q8 = build_model(cnn_layers(dense), d.input_shape, d.num_classes)
    train_model(q8, d.x_train, d.y_train, epochs=args.epochs, stochastic=False)
    res["q8"] = keras_accuracy(q8, d.x_test, d.y_test)
    rows = layer_sensitivity(f32, d.x_test, d.y_test, ks=(1, 2, 4, 8))
    res["sensitivity"] = rows
    res["chosen"] = choose_layers(rows, args.k, args.max_drop)
    print("| layer | params | " + " | ".join(f"drop k={k}" for k in rows[0]["drop"]) + " |")
    for r in rows:
        print(f"| {r['layer']} | {r['params']} | " + " | ".join(f"{v * 100:+.1f}" for v in r["drop"].values()) + " |")
    print("chosen:", res["chosen"], flush=True)
    q8_bits = compression_report(extract_spec(q8, "q8"))["weight_bits"]
    names = [l.name for l in f32.layers if getattr(l, "kernel", None) is not None]
    if "dense_1" in res["chosen"] or args.force:
        for comp in args.components:
            wargs = {"units": 128, "components": comp, "centres": 16, "coef_sigma": 3.0, "basis_grid": [13, 8],
                     "in_hw": [25, 16], "pixel_sigma": 1.0}
            m = build_model(cnn_layers({"wings_dense": wargs}), d.input_shape, d.num_classes)
            train_model(m, d.x_train, d.y_train, epochs=args.epochs, stochastic=False)
            spec = extract_spec(m, "wcnn")
            comp_rep = compression_report(spec)
            emu = float(np.mean(Emulator(spec).predict_classes(d.x_test) == d.y_test))
            lay = comp_rep["layers"]["wings_dense_1"]
            res[f"wings_k{comp}"] = {
                "keras": keras_accuracy(m, d.x_test, d.y_test), "emulator": emu,
                "fc_ratio_vs_8bit": lay["ratio"], "fc_ratio_vs_float32": lay["ratio_float32"],
                "model_bits": comp_rep["weight_bits"], "q8_model_bits": q8_bits,
                "model_ratio_vs_q8": q8_bits / comp_rep["weight_bits"],
                "model_ratio_vs_float32": 32 * sum(int(np.prod(l.kernel.shape)) + int(np.prod(l.bias.shape))
                                                   for l in f32.layers if getattr(l, "kernel", None) is not None)
                / comp_rep["weight_bits"]}
            print(comp, json.dumps(res[f"wings_k{comp}"]), flush=True)
    res["weighted_layers"] = names
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()
