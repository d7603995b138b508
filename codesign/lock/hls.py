"""hls4ml view of a lock unit: a `LockUnit` twin layer with the key as top-level inputs.

Each lock unit adds two inputs to the hls4ml top function, ``<layer>_key_mask`` (ufixed<1,1>) and
``<layer>_key_value`` (the layer's output type), read by ``nnet::lock_unit`` (hls/nnet_lock.h) after
the layer's ReLU. The project holds no secret: the C-sim takes the key per call (`key_inputs`).
"""
from __future__ import annotations

import numpy as np

from ..fixed import FixedType, to_real

HEADER = "nnet_lock.h"
MASK_TYPE = FixedType(1, 1, signed=False)
_registered = False

config_template = """struct config{index} : nnet::lock_config {{
    static const unsigned n_in = {n_in};
}};\n"""

function_template = "nnet::lock_unit<{input_t}, {mask_t}, {value_t}, {output_t}, {config}>({input}, {mask}, {value}, {output});"


def _twin_class():
    import tensorflow as tf
    from tensorflow import keras

    class LockUnit(keras.layers.Layer):
        """y = where(mask, value, x): the hls4ml twin of a lock unit (inputs [x, mask, value])."""

        def call(self, inputs):
            x, mask, value = inputs
            return tf.where(mask > 0, value, x)

    return LockUnit


def key_input_names(layer) -> tuple[str, str]:
    return f"{layer.name}_key_mask", f"{layer.name}_key_value"


def twin(layer, x, inputs: list):
    """Apply a LockUnit twin to x, its two key inputs appended to `inputs`."""
    from tensorflow import keras

    n = int(layer.attrs["lock"]["units"])
    mask, value = (keras.Input((n,), name=name) for name in key_input_names(layer))
    inputs += [mask, value]
    return _twin_class()(name=f"{layer.name}_lock")([x, mask, value])


def precisions(layer, names: dict) -> None:
    """Per-layer precision entries of the key inputs and the unit (the layer's output type)."""
    mask_name, value_name = key_input_names(layer)
    names.setdefault(mask_name, {})["Precision"] = {"result": MASK_TYPE.hls()}
    names.setdefault(value_name, {})["Precision"] = {"result": layer.out_type.hls()}
    names.setdefault(f"{layer.name}_lock", {})["Precision"] = {"result": layer.out_type.hls()}


def key_inputs(spec, key, samples: int) -> list:
    """The C-sim's key arrays (mask, value per lock unit, in input order) for `samples` samples."""
    out = []
    for layer in spec.layers:
        if layer.attrs.get("lock"):
            mask, value = key.layers[layer.name]
            for arr, t in ((mask, MASK_TYPE), (value, layer.out_type)):
                out.append(np.ascontiguousarray(np.broadcast_to(to_real(arr, t), (samples, arr.size)), np.float64))
    return out


def _parse(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = int(input_shapes[0][-1])
    return layer, list(input_shapes[0])


def register() -> None:
    """hls4ml IR node `LockUnit` with three inputs (x, mask, value); idempotent."""
    global _registered
    if _registered:
        return
    import hls4ml
    from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
    from hls4ml.model.attributes import Attribute

    from ..paths import ip_dir

    class HLockUnit(hls4ml.model.layers.Layer):
        _expected_attributes = [Attribute("n_in")]

        def initialize(self):
            self.add_output_variable(list(self.get_input_variable(self.inputs[0]).shape))

    class ConfigTemplate(LayerConfigTemplate):
        def __init__(self):
            super().__init__(HLockUnit)
            self.template = config_template

        def format(self, node):
            return self.template.format(**self._default_config_params(node))

    class FunctionTemplate(FunctionCallTemplate):
        def __init__(self):
            super().__init__(HLockUnit, include_header=[f"nnet_utils/{HEADER}"])
            self.template = function_template

        def format(self, node):
            params = self._default_function_params(node)
            mask, value = (node.get_input_variable(node.inputs[i]) for i in (1, 2))
            params.update(mask=mask.name, mask_t=mask.type.name, value=value.name, value_t=value.type.name)
            return self.template.format(**params)

    hls4ml.converters.register_keras_v2_layer_handler("LockUnit", _parse)
    hls4ml.model.layers.register_layer("LockUnit", HLockUnit)
    for backend_name in ("Vivado", "Vitis"):
        backend = hls4ml.backends.get_backend(backend_name)
        backend.register_template(ConfigTemplate)
        backend.register_template(FunctionTemplate)
        backend.register_source(ip_dir("hls") / HEADER)
    _registered = True
