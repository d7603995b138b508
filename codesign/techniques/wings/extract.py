"""Design-spec layer (kind ``wings_dense``) of a trained `WingsDense`: generator integers and every type.

The generator types are the layer's declared ones (the layer rounds to them while training); the
dense part's accumulator is exact for every input the input type allows, computed from the
generated integer weights, so the dense product rounds only in its final cast to ``output``.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedLayerError
from ...qtypes import accum_type, relu_type, type_for_range
from ...fixed import FixedType
from ...spec import Layer
from .gen import generate_int


def _unsigned_for(q: np.ndarray) -> FixedType:
    w = max(1, int(np.max(q, initial=0)).bit_length())
    return FixedType(w, w, signed=False)


def _mag(t: FixedType) -> int:
    return max(abs(t.qmin), t.qmax)


def sum_types(types: dict, p: dict) -> dict:
    """Exact types of the generator's sums (no view may round before the declared casts):
    ``curve_acc`` (stage 1), ``basis_mid`` / ``basis_acc`` (stage 2, separable: columns then rows),
    ``weight_acc`` (stage 3). Worst case over any parameter values of their types."""
    a, lt, b, c = types["alpha"], types["lut"], types["basis"], types["curve"]
    k, s = p["alpha"].shape
    frac1 = max(a.frac + lt.frac, types["beta"].frac)
    hi1 = (s * _mag(a) * lt.qmax << (frac1 - a.frac - lt.frac)) + (_mag(types["beta"]) << (frac1 - types["beta"].frac))
    out = {"curve_acc": type_for_range(-hi1, hi1, frac1)}
    if "z" in p:
        z = types["z"]
        gr, gc = p["z"].shape[1:]
        hi2 = gc * _mag(z) * lt.qmax
        out["basis_mid"] = type_for_range(-hi2, hi2, z.frac + lt.frac)
        out["basis_acc"] = type_for_range(-gr * hi2 * lt.qmax, gr * hi2 * lt.qmax, z.frac + 2 * lt.frac)
    hi3 = k * _mag(b) * _mag(c)
    out["weight_acc"] = type_for_range(-hi3, hi3, b.frac + c.frac)
    return out


def wings_layer_spec(layer, in_shape, in_t: FixedType, out_shape, relu_layer) -> Layer:
    if len(in_shape) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r} (WingsDense) takes a 1-D input; put a Flatten before it")
    p = layer.integer_params()
    t = layer.t
    types = {k: t[k] for k in ("alpha", "beta", "lut", "curve", "basis", "weight")}
    types["klut"] = types["plut"] = t["lut"]
    types["sv"] = _unsigned_for(p["sv"])
    if layer.basis_grid:
        types["z"] = t["z"]
        types["prow"], types["pcol"] = _unsigned_for(p["prow"]), _unsigned_for(p["pcol"])
    else:
        del types["plut"]
    if "bias" in p:
        types["bias"] = t["bias"]
    types["input"] = in_t
    wt = t["weight"]
    types["product"] = FixedType(in_t.width + wt.width, in_t.integer + wt.integer, signed=True)
    attrs = {"activation": "relu" if relu_layer is not None else "linear", "units": layer.units,
             "components": layer.components, "centres": layer.centres, "in_hw": list(layer.in_hw),
             "coef_sigma": layer.coef_sigma, "pixel_sigma": layer.pixel_sigma,
             "basis_grid": list(layer.basis_grid) if layer.basis_grid else None}
    types.update(sum_types(types, p))
    spec_layer = Layer(layer.name, "wings_dense", tuple(in_shape), tuple(out_shape), attrs, types, p)
    w = generate_int(spec_layer)
    bias = p.get("bias")
    types["accum"], _ = accum_type(in_t, w, None, bias, types["product"].frac, t["bias"].frac)
    types["output"] = relu_type(relu_layer) if relu_layer is not None else types["accum"]
    return spec_layer
