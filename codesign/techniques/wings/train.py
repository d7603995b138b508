"""The `harden.wings` step: start every generated layer from a PCA + SVR fit of a trained dense layer.

Without it, `codesign flow` trains each `wings_dense` generator in the loop from its initialisation.
With ``harden: {wings: {pretrain_epochs: N, permute: true}}`` the flow instead

1. trains the same network with every `wings_dense` replaced by an 8-bit dense layer of the same
   name (N epochs, the config's batch size and learning rate, deterministic quantizers),
2. fits each generator to that layer's weights (codesign/techniques/wings/fit.py: PCA, neuron order, one RBF
   SVR per component, basis grid) and swaps it in, permuting the next layer's inputs to the order,
3. then trains the whole network with the config's `train:` recipe as usual (the fine-tune).

The accuracies before and after the swap and the fit quality go to report.json `wings_fit`.
"""
from __future__ import annotations

import copy

FIT_ARGS = ("components", "centres", "coef_sigma", "basis_grid", "in_hw", "pixel_sigma", "types")


def dense_twin_layers(layers: list) -> tuple[list, dict]:
    """The layer list with each wings_dense as a same-named 8-bit dense layer, and {name: wings args}."""
    from ...models import layer_names

    out = copy.deepcopy(layers)
    wings = {}
    for i, (entry, name) in enumerate(zip(out, layer_names(layers))):
        if "wings_dense" in entry:
            args = entry["wings_dense"]
            wings[name] = {k: v for k, v in args.items() if k not in ("units", "name")}
            out[i] = {"dense": {"units": args["units"], "name": name, "kernel": {"bits": 8, "integer": 0},
                                "bias": {"bits": 8, "integer": 3}}}
    return out, wings


def fitted_wings_model(cfg: dict, data, layers: list, log=print):
    """(model with fitted generators, report section): steps 1 and 2 of the module docstring.

    `layers` is the run's layer list after the other hardening rewrites (e.g. STQ kernels)."""
    from ...models import build_model
    from ...train import keras_accuracy, train_model
    from .fit import fit_generator, wings_model_from_dense

    w = cfg["harden"]["wings"]
    t = cfg["train"]
    layers, wings = dense_twin_layers(layers)
    model = build_model(layers, data.input_shape, data.num_classes, seed=cfg["seed"], name=cfg["name"])
    log(f"train: wings pretrain of the dense twin, {w['pretrain_epochs']} epochs")
    train_model(model, data.x_train, data.y_train, epochs=w["pretrain_epochs"], batch_size=t["batch_size"],
                learning_rate=t["learning_rate"], seed=cfg["seed"], stochastic=False)
    section = {"pretrain_epochs": w["pretrain_epochs"], "permute": w["permute"],
               "dense_accuracy": keras_accuracy(model, data.x_test, data.y_test), "layers": {}}
    for name, args in wings.items():
        fit = fit_generator(model.get_layer(name).kernel.numpy(), permute=w["permute"],
                            **{k: v for k, v in args.items() if k in FIT_ARGS})
        model = wings_model_from_dense(model, name, fit, args)
        section["layers"][name] = {"pca_explained_variance": fit["explained_variance"], "svr_curve_r2": fit["curve_r2"]}
    section["fitted_accuracy"] = keras_accuracy(model, data.x_test, data.y_test)
    log(f"train: wings fit: dense {section['dense_accuracy']:.4f} -> fitted generator "
        f"{section['fitted_accuracy']:.4f} before fine-tune")
    return model, section
