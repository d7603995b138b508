"""Design-spec layer (kind ``wings_dense``) of a trained `WingsDense`: generator integers and every type.

The generator types are the layer's declared ones (the layer rounds to them while training); the
dense part's accumulator is exact for every input the input type allows, computed from the
generated integer weights, so the dense product rounds only in its final cast to ``output``.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedLayerError
from ..extract import _accum_type, relu_type
from ..fixed import FixedType
from ..spec import Layer
from .gen import generate_int


def _unsigned_for(q: np.ndarray) -> FixedType:
    w = max(1, int(np.max(q, initial=0)).bit_length())
    return FixedType(w, w, signed=False)


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
    spec_layer = Layer(layer.name, "wings_dense", tuple(in_shape), tuple(out_shape), attrs, types, p)
    w = generate_int(spec_layer)
    bias = p.get("bias")
    types["accum"], _ = _accum_type(in_t, w, None, bias, types["product"].frac, t["bias"].frac)
    types["output"] = relu_type(relu_layer) if relu_layer is not None else types["accum"]
    return spec_layer
