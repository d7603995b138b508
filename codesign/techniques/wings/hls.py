"""hls4ml view of a ``wings_dense`` spec layer: Keras twin, per-layer precisions, Extension API registration.

The twin is a `WingsDense` holding the spec's exact parameter values (its fixed-point rounding is then
the identity); hls4ml parses it with `parse_wings`, and the generated C++ calls
``nnet::wings_gen`` from ``hls/nnet_wings_gen.h`` with every type (parameters, exact sums, the three
casts, accumulator) taken from the spec. Only the ``basis_grid`` form is mapped.
"""
from __future__ import annotations

import numpy as np

from ...fixed import to_real
from ...hls_ext import register_extension

HEADER = "nnet_wings_gen.h"
PARAMS = ("alpha", "beta", "sv", "klut", "z", "plut", "prow", "pcol", "bias")
# spec type name -> hls4ml precision key (the "weight" cast is "gw": hls4ml reserves weight_t)
TYPE_KEYS = {"alpha": "alpha", "beta": "beta", "sv": "sv", "klut": "klut", "z": "z", "plut": "plut", "prow": "prow",
             "pcol": "pcol", "bias": "bias", "curve_acc": "curve_acc", "curve": "curve", "basis_mid": "basis_mid",
             "basis_acc": "basis_acc", "basis": "basis", "weight_acc": "weight_acc", "weight": "gw", "accum": "accum"}
INTERNAL = ("curve_acc", "curve", "basis_mid", "basis_acc", "basis", "weight_acc", "gw")

config_template = """struct config{index} : nnet::wings_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
    static const unsigned n_comp = {n_comp};
    static const unsigned n_sv = {n_sv};
    static const unsigned klut_len = {klut_len};
    static const unsigned plut_len = {plut_len};
    static const unsigned height = {height};
    static const unsigned width = {width};
    static const unsigned grid_rows = {grid_rows};
    static const unsigned grid_cols = {grid_cols};
    static const unsigned reuse_factor = {reuse};
    typedef {alpha_t.name} alpha_t;
    typedef {beta_t.name} beta_t;
    typedef {sv_t.name} sv_t;
    typedef {klut_t.name} klut_t;
    typedef {z_t.name} z_t;
    typedef {plut_t.name} plut_t;
    typedef {prow_t.name} prow_t;
    typedef {pcol_t.name} pcol_t;
    typedef {bias_t.name} bias_t;
    typedef {curve_acc_t.name} curve_acc_t;
    typedef {curve_t.name} curve_t;
    typedef {basis_mid_t.name} basis_mid_t;
    typedef {basis_acc_t.name} basis_acc_t;
    typedef {basis_t.name} basis_t;
    typedef {weight_acc_t.name} weight_acc_t;
    typedef {gw_t.name} gw_t;
    typedef {accum_t.name} accum_t;
}};\n"""

function_template = ("nnet::wings_gen<{input_t}, {output_t}, {config}>({input}, {output}, {alpha}, {beta}, {sv}, "
                     "{klut}, {z}, {plut}, {prow}, {pcol}, {bias});")


def twin(layer, x):
    """A WingsDense with the spec layer's exact values (+ a separate ReLU), applied to x."""
    from tensorflow import keras

    from .layer import WingsDense

    at, t, p = layer.attrs, layer.types, layer.params
    if not at.get("basis_grid"):
        raise ValueError(f"hls4ml view: layer {layer.name!r} (wings_dense) stores its basis directly; "
                         "nnet_wings_gen.h maps only the basis_grid form")
    types = {k: [t[k].width, t[k].integer] for k in ("alpha", "beta", "z", "basis", "curve", "weight", "lut")}
    if "bias" in t:
        types["bias"] = [t["bias"].width, t["bias"].integer]
    k = WingsDense(at["units"], components=at["components"], centres=at["centres"], coef_sigma=at["coef_sigma"],
                   basis_grid=at["basis_grid"], in_hw=at["in_hw"], pixel_sigma=at["pixel_sigma"], types=types,
                   use_bias="bias" in p, name=layer.name)
    x = k(x)
    values = {"sv": p["sv"], "klut": p["klut"], "plut": p["plut"], "prow": p["prow"], "pcol": p["pcol"],
              "alpha": to_real(p["alpha"], t["alpha"]), "beta": to_real(p["beta"], t["beta"]),
              "z": to_real(p["z"], t["z"])}
    if "bias" in p:
        values["bias"] = to_real(p["bias"], t["bias"])
    k.set_weights([np.asarray(values[v.name.split("/")[-1].split(":")[0]], np.float32) for v in k.weights])
    if at.get("activation") == "relu":
        x = keras.layers.Activation("relu", name=f"{layer.name}_relu")(x)
    return x


def precision(layer) -> dict:
    """hls4ml Precision entry of the layer: every parameter, sum and cast type from the spec."""
    t = dict(layer.types)
    t["klut"] = t["plut"] = t["lut"]
    prec = {key: t[name].hls() for name, key in TYPE_KEYS.items() if name in t}
    prec["result"] = t["accum"].hls()
    return prec


def _parse(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    from .layer import fixed_types

    layer = parse_default_keras_layer(keras_layer, input_names)
    cfg = keras_layer["config"]
    lut_scale = 2.0 ** fixed_types(cfg.get("types"))["lut"].frac  # the Keras layer keeps tables as integers
    data = dict(zip(PARAMS, get_weights_data(data_reader, layer["name"], list(PARAMS))))
    data["klut"], data["plut"] = data["klut"] / lut_scale, data["plut"] / lut_scale
    for name in PARAMS:
        layer[f"{name}_data"] = data[name]
    layer["n_in"], layer["n_out"] = input_shapes[0][-1], cfg["units"]
    layer["n_comp"], layer["n_sv"] = cfg["components"], cfg["centres"]
    layer["klut_len"], layer["plut_len"] = len(data["klut"]), len(data["plut"])
    layer["height"], layer["width"] = cfg["in_hw"]
    layer["grid_rows"], layer["grid_cols"] = cfg["basis_grid"]
    return layer, [input_shapes[0][0], cfg["units"]]


def register() -> None:
    """IR node: y = x @ w + bias, w generated by the WINGs generator (codesign/techniques/wings/gen.py)."""
    register_extension("WingsDense", attributes=("n_in", "n_out", "n_comp", "n_sv", "klut_len", "plut_len", "height",
                                                 "width", "grid_rows", "grid_cols"),
                       weights=PARAMS, internal_types=INTERNAL, output_units=lambda a: a["n_out"],
                       config_template=config_template, function_template=function_template, header=HEADER,
                       parse=_parse)
