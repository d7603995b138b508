"""Stored-bit accounting for report.json `compression`.

Without a compression step (only quantization) the baseline is the float32 model of the same shape.
With one (e.g. `kron_dense` replacing a dense layer), the baseline is the same model with each
replaced layer stored as the dense layer it stands for, at the same weight bit width; `ratio`
covers the replaced layers only, `model_ratio` the whole model.
"""
from __future__ import annotations

from .spec import DesignSpec, Layer

COMPRESSED_KINDS = ("kron_dense", "wings_dense")


def stored_bits(layer: Layer) -> int:
    return int(sum(a.size * layer.types[k].width for k, a in layer.params.items()))


def dense_equivalent_bits(layer: Layer) -> int:
    """Bits of the dense layer a compressed layer replaces, weights at the factors' width."""
    if layer.kind == "wings_dense":  # the generated weights' width (WINGs: codesign/wings)
        n = layer.input_shape[-1] * layer.output_shape[-1]
        bias = layer.params["bias"].size * layer.types["bias"].width if "bias" in layer.params else 0
        return n * layer.types["weight"].width + bias
    at = layer.attrs
    width = max(layer.types["a"].width, layer.types["b"].width)
    bias = layer.params["bias"].size * layer.types["bias"].width if "bias" in layer.params else 0
    return at["n1"] * at["n2"] * at["m1"] * at["m2"] * width + bias


def compression_report(spec: DesignSpec) -> dict:
    # float32_bits: the layer's parameters as float32 (a wings_dense layer: the dense layer it generates, below)
    layers = {l.name: {"kind": l.kind, "weight_bits": stored_bits(l),
                       "float32_bits": 32 * sum(a.size for k, a in l.params.items() if k != "weight_shift")}
              for l in spec.layers if l.params}
    total = sum(v["weight_bits"] for v in layers.values())
    replaced = [l for l in spec.layers if l.kind in COMPRESSED_KINDS]
    if not replaced:
        n_params = sum(a.size for l in spec.layers for k, a in l.params.items() if k != "weight_shift")
        base = 32 * n_params
        return {"weight_bits": total, "baseline_weight_bits": base, "ratio": base / total,
                "model_ratio": base / total, "baseline": "float32", "layers": layers}
    for l in replaced:
        layers[l.name]["dense_equivalent_bits"] = dense_equivalent_bits(l)
        layers[l.name]["ratio"] = layers[l.name]["dense_equivalent_bits"] / layers[l.name]["weight_bits"]
        if l.kind == "wings_dense":  # also against the float32 dense layer (weights + bias at 32 bits)
            n_out = l.output_shape[-1]
            layers[l.name]["float32_bits"] = 32 * (l.input_shape[-1] * n_out + (n_out if "bias" in l.params else 0))
            layers[l.name]["ratio_float32"] = layers[l.name]["float32_bits"] / layers[l.name]["weight_bits"]
            layers[l.name]["param_bits"] = {k: int(a.size * l.types[k].width) for k, a in l.params.items()}
    rep_bits = sum(layers[l.name]["weight_bits"] for l in replaced)
    rep_base = sum(layers[l.name]["dense_equivalent_bits"] for l in replaced)
    base = total - rep_bits + rep_base
    return {"weight_bits": total, "baseline_weight_bits": base, "ratio": rep_base / rep_bits,
            "model_ratio": base / total, "baseline": "quantized dense layers at the same bit width",
            "layers": layers}
