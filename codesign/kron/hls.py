"""hls4ml Extension API registration of `KronDense` (parser, IR layer, templates, hls/ header).

`register()` is idempotent and called by the hls4ml view before conversion. Precisions come from
the layer's config entry (``a``, ``b``, ``bias``, ``mid``, ``accum``, ``result``), which the view
fills from the design spec; the C++ is ``hls/nnet_kron_matvec.h``.
"""
from __future__ import annotations

from ..paths import ip_dir

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

_registered = False


def register() -> None:
    global _registered
    if _registered:
        return
    import hls4ml
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer
    from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
    from hls4ml.model.types import NamedType

    class HKronDense(hls4ml.model.layers.Layer):
        """IR node: Y = sum_r B_r X A_r^T, weights a (R, m1, n1), b (R, m2, n2), bias (m1*m2)."""

        _expected_attributes = [
            Attribute("n1"), Attribute("n2"), Attribute("m1"), Attribute("m2"), Attribute("rank"),
            WeightAttribute("a"), WeightAttribute("b"), WeightAttribute("bias"),
            TypeAttribute("a"), TypeAttribute("b"), TypeAttribute("bias"), TypeAttribute("mid"),
            TypeAttribute("accum"),
        ]

        def initialize(self):
            self.add_output_variable([self.attributes["m1"] * self.attributes["m2"]])
            for name in ("a", "b", "bias"):
                self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                          data=self.attributes[f"{name}_data"].reshape(-1))
            precision, _ = self.model.config.get_precision(self, var="mid")
            self.set_attr("mid_t", NamedType(f"{self.name}_mid_t", precision))

    class KronConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(HKronDense)
            self.template = config_template

        def format(self, node):
            return self.template.format(**self._default_config_params(node))

    class KronFunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(HKronDense, include_header=[f"nnet_utils/{HEADER}"])
            self.template = function_template

        def format(self, node):
            params = self._default_function_params(node)
            for name in ("a", "b", "bias"):
                params[name] = node.get_weights(name).name
            return self.template.format(**params)

    def parse_kron(keras_layer, input_names, input_shapes, data_reader):
        layer = parse_default_keras_layer(keras_layer, input_names)
        cfg = keras_layer["config"]
        layer["n2"], layer["n1"] = cfg["in_factors"]
        layer["m2"], layer["m1"] = cfg["out_factors"]
        layer["rank"] = cfg["rank"]
        layer["a_data"], layer["b_data"], layer["bias_data"] = get_weights_data(
            data_reader, layer["name"], ["factor_a", "factor_b", "bias"])
        return layer, [input_shapes[0][0], layer["m1"] * layer["m2"]]

    hls4ml.converters.register_keras_v2_layer_handler("KronDense", parse_kron)
    hls4ml.model.layers.register_layer("KronDense", HKronDense)
    for backend_name in ("Vivado", "Vitis"):
        backend = hls4ml.backends.get_backend(backend_name)
        backend.register_template(KronConfigTemplate)
        backend.register_template(KronFunctionTemplate)
        backend.register_source(ip_dir("hls") / HEADER)
    _registered = True
