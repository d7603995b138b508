"""One hls4ml Extension-API registration for every custom codesign layer (KronDense, WingsDense, ...).

A custom layer needs the same five pieces each time: a Keras parser, an IR layer whose weights come
from the parser's ``<name>_data`` entries and whose internal types come from the layer's Precision
config, a config template, a function-call template naming those weights, and its ``hls/`` header
registered as source with the Vivado and Vitis backends. `register_extension` builds them from data,
so a layer module states only what differs: its attributes, weights, templates and parser.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .paths import ip_dir

_registered: set[str] = set()


def register_extension(keras_class: str, *, attributes: Sequence[str], weights: Sequence[str] = (),
                       internal_types: Sequence[str] = (), output_units: Callable[[dict], int] | None = None,
                       config_template: str, function_template: str, header: str, parse: Callable,
                       header_dir: Path | None = None, accum: bool = True,
                       output_shape: Callable | None = None, call_params: Callable | None = None) -> None:
    """Register `keras_class` with hls4ml once (idempotent).

    attributes: integer attributes the parser sets (also usable in the templates);
    weights: weight names, each filled from the parser's ``<name>_data`` and given a precision ``<name>``;
    internal_types: extra type names ``<name>_t`` taken from the layer's Precision entry ``<name>``;
    output_units: the flat output size from the IR layer's attributes (or `output_shape(ir_layer)`: the
    output variable's shape, e.g. the input's for an elementwise layer);
    parse: ``parse(keras_layer, input_names, input_shapes, data_reader) -> (layer dict, output shape)``;
    header_dir: the folder holding `header` (default: the package's ``hls/``; a kind defined outside
    codesign brings its own);
    accum: whether the layer has an ``accum`` type (a layer that sums; the lock unit does not);
    call_params: ``call_params(node, params)`` adds template fields of further inputs (multi-input layers).
    """
    if keras_class in _registered:
        return
    import hls4ml
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.model.attributes import Attribute, TypeAttribute, WeightAttribute
    from hls4ml.model.types import NamedType

    def initialize(self):
        self.add_output_variable(output_shape(self) if output_shape else [output_units(self.attributes)])
        for name in weights:
            self.add_weights_variable(name=name, var_name=f"{name}{{index}}",
                                      data=np.asarray(self.attributes[f"{name}_data"]).reshape(-1))
        for name in internal_types:
            prec, _ = self.model.config.get_precision(self, var=name)
            self.set_attr(f"{name}_t", NamedType(f"{self.name}_{name}_t", prec))

    ir_layer = type(f"H{keras_class}", (hls4ml.model.layers.Layer,), {
        "_expected_attributes": ([Attribute(a) for a in attributes] + [WeightAttribute(w) for w in weights]
                                 + [TypeAttribute(w) for w in weights] + ([TypeAttribute("accum")] if accum else [])),
        "initialize": initialize,
        "__doc__": f"hls4ml IR node of {keras_class} (C++ in hls/{header}).",
    })

    class ConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(ir_layer)
            self.template = config_template

        def format(self, node):
            return self.template.format(**self._default_config_params(node))

    class FunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(ir_layer, include_header=[f"nnet_utils/{header}"])
            self.template = function_template

        def format(self, node):
            params = self._default_function_params(node)
            for name in weights:
                params[name] = node.get_weights(name).name
            if call_params:
                call_params(node, params)
            return self.template.format(**params)

    hls4ml.converters.register_keras_v2_layer_handler(keras_class, parse)
    hls4ml.model.layers.register_layer(keras_class, ir_layer)
    for backend_name in ("Vivado", "Vitis"):
        backend = hls4ml.backends.get_backend(backend_name)
        backend.register_template(ConfigTemplate)
        backend.register_template(FunctionTemplate)
        backend.register_source(Path(header_dir or ip_dir("hls")) / header)
    _registered.add(keras_class)
