"""EdgePro's choice of authorization neurons: rank a layer's neurons by mean activation on a few
hundred training inputs, draw `fraction` of the layer by rank-weighted roulette among the top `top`
(weight of rank r among c candidates: c - r), without replacement."""
from __future__ import annotations

import numpy as np


def choose_neurons(mean_activation: np.ndarray, fraction: float, top: float, rng: np.random.Generator) -> np.ndarray:
    n = mean_activation.size
    k = max(1, int(round(fraction * n)))
    c = max(k, int(round(top * n)))
    ranked = np.argsort(-mean_activation, kind="stable")[:c]
    weights = np.arange(c, 0, -1, dtype=np.float64)
    return np.sort(rng.choice(ranked, k, replace=False, p=weights / weights.sum()))


def mean_activations(model, layer_names: list, x) -> dict:
    """Mean activation per neuron (channel for conv) of each named layer's activation output."""
    outs = {}
    for name in layer_names:
        stop = activation_after(model, name).name
        parts = []
        for i in range(0, len(x), 256):  # eager, layer by layer: layers may be shared by several chains
            h = x[i:i + 256]
            for layer in model.layers[1:]:
                h = layer(h, training=False)
                if layer.name == stop:
                    break
            parts.append(np.asarray(h))
        a = np.concatenate(parts)
        outs[name] = a.reshape(-1, a.shape[-1]).mean(axis=0)
    return outs


def activation_after(model, name: str):
    """The activation layer right after the named layer of a chain model."""
    layers = model.layers
    i = [l.name for l in layers].index(name)
    return layers[i + 1]
