"""The flow with the PCA + permutation + SVR fit in place of training the generator from scratch.

Trains the config's network with each `wings_dense` replaced by an 8-bit dense layer (--pretrain
epochs), fits the generator to that layer (codesign.wings.fit), fine-tunes the whole network around it
(--finetune epochs), then runs the flow's own spec / emulator / hls steps and writes report.json, so
the fitted design gets the same Keras-vs-emulator and emulator-vs-C-sim checks as `codesign flow`.
(`codesign flow` itself trains the generator in the loop: the flow's train step belongs to the spine.)

    CODESIGN_DATA=/work/shared/data python bench/wings_fit_flow.py examples/mnist_mlp_wings.yaml --out runs/wings_fit
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--out", required=True)
    ap.add_argument("--pretrain", type=int, default=30)
    ap.add_argument("--finetune", type=int, default=30)
    ap.add_argument("--no-permute", action="store_true")
    args = ap.parse_args()

    from codesign.config import dump_config, load_config
    from codesign.flow import Run, step_data, step_emulator, step_hls, step_spec, write_report
    from codesign.models import build_model, save_model
    from codesign.train import keras_accuracy, train_model
    from codesign.wings.fit import fit_generator, wings_model_from_dense

    cfg = load_config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    run = Run(cfg, out)
    t0 = time.time()
    step_data(run)
    d = run.data
    layers = copy.deepcopy(cfg["model"]["layers"])
    wings = {}
    for i, entry in enumerate(layers):
        if "wings_dense" in entry:
            a = entry["wings_dense"]
            name = a.get("name", f"dense_{1 + sum('dense' in e for e in layers[:i])}")
            wings[name] = {k: v for k, v in a.items() if k not in ("units", "name")}
            layers[i] = {"dense": {"units": a["units"], "name": name, "kernel": {"bits": 8, "integer": 0},
                                   "bias": {"bits": 8, "integer": 3}}}
    t = cfg["train"]
    kw = dict(batch_size=t["batch_size"], learning_rate=t["learning_rate"], seed=cfg["seed"], stochastic=False)
    dense = build_model(layers, d.input_shape, d.num_classes, seed=cfg["seed"], name=cfg["name"])
    train_model(dense, d.x_train, d.y_train, epochs=args.pretrain, **kw)
    acc = run.section("accuracy")
    acc["dense_pretrained"] = keras_accuracy(dense, d.x_test, d.y_test)
    model, info = dense, {}
    for name, wargs in wings.items():
        fit_args = {k: v for k, v in wargs.items() if k in ("components", "centres", "coef_sigma", "basis_grid", "in_hw",
                                                             "pixel_sigma", "types")}
        fit = fit_generator(model.get_layer(name).kernel.numpy(), permute=not args.no_permute, **fit_args)
        model = wings_model_from_dense(model, name, fit, wargs)
        info[name] = {"pca_explained_variance": fit["explained_variance"], "svr_curve_r2": fit["curve_r2"]}
    acc["wings_before_finetune"] = keras_accuracy(model, d.x_test, d.y_test)
    train_model(model, d.x_train, d.y_train, epochs=args.finetune, **kw)
    run.model = model
    save_model(model, out / "model")
    acc["keras"] = keras_accuracy(model, d.x_test, d.y_test)
    run.report["wings_fit"] = {"pretrain_epochs": args.pretrain, "finetune_epochs": args.finetune,
                               "permute": not args.no_permute, "layers": info}
    run.timing["fit_and_train"] = round(time.time() - t0, 2)
    for name, step in (("spec", step_spec), ("emulator", step_emulator), ("hls", step_hls)):
        t1 = time.time()
        step(run)
        run.timing[name] = round(time.time() - t1, 2)
    write_report(run)
    print({k: run.report[k] for k in ("accuracy", "bit_exact") if k in run.report})
    print({k: v for k, v in run.report["compression"].items() if k != "layers"})


if __name__ == "__main__":
    main()
