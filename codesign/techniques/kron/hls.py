"""hls4ml Extension API registration of `KronDense` (parser, IR layer, templates, hls/ header).

`register()` is idempotent and called by the hls4ml view before conversion. Precisions come from
the layer's config entry (``a``, ``b``, ``bias``, ``mid``, ``accum``, ``result``), which the view
fills from the design spec; the C++ is ``hls/nnet_kron_matvec.h``.
"""
from __future__ import annotations

from ...hls_ext import register_extension

HEADER = "nnet_kron_matvec.h"

config_template = """struct config{index} : nnet::kron_config {{
    static const unsigned n1 = {n1};
    static const unsigned n2 = {n2};
    static const unsigned m1 = {m1};
    static const unsigned m2 = {m2};
    static const unsigned rank = {rank};
    static const unsigned reuse_factor = {reuse};
    typedef {a_t.name} a_t;
    typedef {b_t.name} b_t;
    typedef {bias_t.name} bias_t;
    typedef {mid_t.name} mid_t;
    typedef {accum_t.name} accum_t;
}};\n"""

function_template = "nnet::kron_matvec<{input_t}, {output_t}, {config}>({input}, {output}, {a}, {b}, {bias});"

def _parse(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    cfg = keras_layer["config"]
    layer["n2"], layer["n1"] = cfg["in_factors"]
    layer["m2"], layer["m1"] = cfg["out_factors"]
    layer["rank"] = cfg["rank"]
    layer["a_data"], layer["b_data"], layer["bias_data"] = get_weights_data(
        data_reader, layer["name"], ["factor_a", "factor_b", "bias"])
    return layer, [input_shapes[0][0], layer["m1"] * layer["m2"]]


def register() -> None:
    """IR node: Y = sum_r B_r X A_r^T, weights a (R, m1, n1), b (R, m2, n2), bias (m1*m2)."""
    register_extension("KronDense", attributes=("n1", "n2", "m1", "m2", "rank"), weights=("a", "b", "bias"),
                       internal_types=("mid",), output_units=lambda a: a["m1"] * a["m2"],
                       config_template=config_template, function_template=function_template, header=HEADER,
                       parse=_parse)
