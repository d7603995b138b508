"""STQ's layers: stochastic ternary kernels on the dense/conv2d layers `harden.stq` names.

Stochastic ternary quantization is QKeras' ``stochastic_ternary`` kernel quantizer on an ordinary
QDense/QConv2D (codesign/models.py builds them): no layer class of its own, so this module rewrites
the config's layer list. Training samples the ternary weights (codesign/train.py runs each step in
the learning phase); inference, extraction and every hardware view see the deterministic ternary
kernel, an ordinary narrow-integer dense/conv2d layer of the spec.
"""
from __future__ import annotations

import copy

from ...models import layer_names, model_layers, stq_kinds

WEIGHTED = stq_kinds()  # config layers with a kernel quantizer: dense, conv2d (codesign/kinds)


def weighted_names(layers: list) -> list[str]:
    """Names of the layers a stq/jr setting can name (dense/conv2d, as `build_model` names them)."""
    return [n for n, e in zip(layer_names(layers), layers) if next(iter(e)) in WEIGHTED]


def apply_stq(layers: list, stq) -> list:
    """The layer list with stochastic_ternary kernels on the layers `harden.stq.layers` names.

    ``stq: null`` leaves the list as written; ``stq: {layers: all}`` makes every dense/conv kernel
    stochastic ternary except the last layer's; ``stq: {layers: [dense_1, ...]}`` names them.
    """
    if not stq:
        return layers
    out = copy.deepcopy(layers)
    names = layer_names(out)
    weighted = weighted_names(out)
    chosen = stq.get("layers", "all")
    chosen = weighted[:-1] if chosen == "all" else list(chosen)
    for entry, name in zip(out, names):
        (kind, args), = entry.items()
        if name in chosen:
            args["kernel"] = "stochastic_ternary"
    return out


def to_q8(layers: list, bits: int = 8) -> list:
    """The 8-bit twin of a layer list: every ternary or narrower kernel becomes quantized_bits(8, 0)
    (a kernel already 8 bits wide keeps its integer bits), so `q8` is the all-8-bit network."""
    out = copy.deepcopy(layers)
    for entry in out:
        (kind, args), = entry.items()
        kernel = args.get("kernel", "stochastic_ternary")
        config_layer = model_layers().get(kind)
        if config_layer and config_layer.kernel_quantizer and (kernel in ("stochastic_ternary", "ternary") or kernel.get("bits", bits) < bits):
            args["kernel"] = {"bits": bits, "integer": 0}
    return out
