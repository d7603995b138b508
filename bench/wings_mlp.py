"""WINGs on the MNIST MLP 784-N-128-10: accuracy and compression of the generated first layer.

Variants, all on the same 6,000/2,000 split and the same layer list (hidden layers 8-bit QDense,
quantized_relu(8, 3)):
  float32      the network in float32 (the "uncompressed" reference)
  q8           the network with 8-bit weights (QKeras quantized_bits(8, 0)): the quantized baseline
  wings_loop   first layer = WingsDense trained from scratch with everything else (generator in the loop)
  wings_fit    PCA + neuron permutation + SVR fit of q8's first layer, then the whole network fine-tuned
               around the generator (`--finetune` epochs); also reported before the fine-tune
Compression of the first layer: generator stored bits vs the float32 dense layer (weights + bias at 32
bits) and vs the 8-bit dense layer (the quantized baseline).

    CODESIGN_DATA=/work/shared/data python bench/wings_mlp.py --epochs 30 --components 12 16 --out bench/wings_mlp.json
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def layers_for(first: dict, units: int) -> list:
    q8 = {"bits": 8, "integer": 0}
    b8 = {"bits": 8, "integer": 3}
    return [{"flatten": {}}, first, {"relu": {"bits": 8, "integer": 3}},
            {"dense": {"units": 128, "kernel": q8, "bias": b8}}, {"relu": {"bits": 8, "integer": 3}},
            {"dense": {"units": 10, "kernel": q8, "bias": b8}}]


def emulate(model, d):
    from codesign.compression import compression_report
    from codesign.emulator import Emulator
    from codesign.extract import extract_spec

    spec = extract_spec(model, "bench")
    acc = float(np.mean(Emulator(spec).predict_classes(d.x_test) == d.y_test))
    return acc, compression_report(spec), spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--finetune", type=int, default=15)
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--components", type=int, nargs="+", default=[16])
    ap.add_argument("--centres", type=int, default=32)
    ap.add_argument("--coef-sigma", type=float, default=4.0)
    ap.add_argument("--grid", type=int, nargs=2, default=[14, 14])
    ap.add_argument("--pixel-sigma", type=float, default=1.0)
    ap.add_argument("--skip-fit", action="store_true")
    ap.add_argument("--perm-only", action="store_true")
    ap.add_argument("--seed", type=int, default=0, help="model init and batch order (the data split stays seed 0)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from codesign.data import load_dataset
    from codesign.models import build_model
    from codesign.train import keras_accuracy, train_model
    from codesign.techniques.wings.fit import fit_generator, wings_model_from_dense

    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    n = args.units
    res = {"network": f"MLP 784-{n}-128-10, hidden/out 8-bit QDense", "epochs": args.epochs, "seed": args.seed,
           "runs": {}}

    def train(model, epochs):
        t = time.time()
        train_model(model, d.x_train, d.y_train, epochs=epochs, stochastic=False, seed=args.seed)
        return time.time() - t

    dense = {"dense": {"units": n, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}
    f32 = build_model(layers_for(dense, n), d.input_shape, d.num_classes, quantized=False, seed=args.seed)
    train(f32, args.epochs)
    res["runs"]["float32"] = {"keras": keras_accuracy(f32, d.x_test, d.y_test)}
    q8 = build_model(layers_for(dense, n), d.input_shape, d.num_classes, seed=args.seed)
    train(q8, args.epochs)
    acc, comp, _ = emulate(q8, d)
    res["runs"]["q8"] = {"keras": keras_accuracy(q8, d.x_test, d.y_test), "emulator": acc,
                         "first_layer_bits": comp["layers"]["dense_1"]["weight_bits"]}
    print(json.dumps(res["runs"], indent=1), flush=True)
    f32_bits = 32 * (784 * n + n)
    for k in args.components:
        wargs = {"units": n, "components": k, "centres": args.centres, "coef_sigma": args.coef_sigma,
                 "basis_grid": args.grid, "pixel_sigma": args.pixel_sigma}
        m = build_model(layers_for({"wings_dense": wargs}, n), d.input_shape, d.num_classes, seed=args.seed)
        secs = train(m, args.epochs)
        acc, comp, _ = emulate(m, d)
        lay = comp["layers"]["wings_dense_1"]
        res["runs"][f"wings_loop_k{k}"] = {
            "keras": keras_accuracy(m, d.x_test, d.y_test), "emulator": acc, "train_s": round(secs, 1),
            "generator_bits": lay["weight_bits"], "ratio_vs_float32": f32_bits / lay["weight_bits"],
            "ratio_vs_q8": lay["dense_equivalent_bits"] / lay["weight_bits"], "param_bits": lay["param_bits"]}
        print(k, json.dumps(res["runs"][f"wings_loop_k{k}"]), flush=True)
        if args.skip_fit:
            continue
        w = q8.get_layer("dense_1").kernel.numpy()
        wa = {kk: v for kk, v in wargs.items() if kk != "units"}
        for permute in (True, False)[:1 if args.perm_only else 2]:
            fit = fit_generator(w, components=k, centres=args.centres, coef_sigma=args.coef_sigma, permute=permute,
                                basis_grid=args.grid, pixel_sigma=args.pixel_sigma)
            fm = wings_model_from_dense(q8, "dense_1", fit, wa)
            before = keras_accuracy(fm, d.x_test, d.y_test)
            secs = train(fm, args.finetune)
            acc, comp, _ = emulate(fm, d)
            res["runs"][f"wings_fit_k{k}_{'perm' if permute else 'noperm'}"] = {
                "pca_explained_variance": fit["explained_variance"], "svr_curve_r2": fit["curve_r2"],
                "support_vectors": int((np.abs(fit["alpha"]) > 0).sum()),
                "keras_before_finetune": before, "keras": keras_accuracy(fm, d.x_test, d.y_test), "emulator": acc,
                "finetune_epochs": args.finetune, "finetune_s": round(secs, 1),
                "ratio_vs_float32": f32_bits / comp["layers"]["dense_1"]["weight_bits"],
                "ratio_vs_q8": comp["layers"]["dense_1"]["ratio"]}
            print(k, permute, json.dumps(res["runs"][f"wings_fit_k{k}_{'perm' if permute else 'noperm'}"]), flush=True)
    print(json.dumps(res, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
