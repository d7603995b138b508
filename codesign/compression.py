"""Stored-bit accounting for report.json `compression`.

Without a compression step (only quantization) the baseline is the float32 model of the same shape.
With one (e.g. `kron_dense` replacing a dense layer: a kind with `dense_equivalent_bits`,
codesign/kinds), the baseline is the same model with each replaced layer stored as the dense layer it
stands for, at the same weight bit width; `ratio` covers the replaced layers only, `model_ratio` the
whole model.
"""
from __future__ import annotations

from .kinds import registry as kinds
from .spec import DesignSpec, Layer



def stored_bits(layer: Layer) -> int:
    return int(sum(a.size * layer.types[k].width for k, a in layer.params.items()))


def dense_equivalent_bits(layer: Layer) -> int:
    """Bits of the dense layer a compressed layer replaces (its kind says how: codesign/kinds)."""
    return kinds.get(layer.kind).dense_equivalent_bits(layer)


def compression_report(spec: DesignSpec) -> dict:
    # float32_bits: the layer's parameters as float32 (a wings_dense layer: the dense layer it generates)
    layers = {l.name: {"kind": l.kind, "weight_bits": stored_bits(l),
                       "float32_bits": 32 * sum(a.size for k, a in l.params.items() if k != "weight_shift")}
              for l in spec.layers if l.params}
    total = sum(v["weight_bits"] for v in layers.values())
    replaced = [l for l in spec.layers if kinds.get(l.kind).dense_equivalent_bits]
    if not replaced:
        n_params = sum(a.size for l in spec.layers for k, a in l.params.items() if k != "weight_shift")
        base = 32 * n_params
        return {"weight_bits": total, "baseline_weight_bits": base, "ratio": base / total,
                "model_ratio": base / total, "baseline": "float32", "layers": layers}
    for l in replaced:
        entry = layers[l.name]
        entry["dense_equivalent_bits"] = dense_equivalent_bits(l)
        entry["ratio"] = entry["dense_equivalent_bits"] / entry["weight_bits"]
        if kinds.get(l.kind).compression_extra:
            kinds.get(l.kind).compression_extra(l, entry)
    rep_bits = sum(layers[l.name]["weight_bits"] for l in replaced)
    rep_base = sum(layers[l.name]["dense_equivalent_bits"] for l in replaced)
    base = total - rep_bits + rep_base
    return {"weight_bits": total, "baseline_weight_bits": base, "ratio": rep_base / rep_bits,
            "model_ratio": base / total, "baseline": "quantized dense layers at the same bit width",
            "layers": layers}
