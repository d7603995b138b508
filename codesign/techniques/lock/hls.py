"""hls4ml view of a lock unit: a `LockUnit` twin layer with the key as top-level inputs (after a dense
layer, or a conv2d layer whose channels it keys at every pixel); an input-permutation lock an
`InputPerm` twin with the permutation as a top-level input ``<flatten>_key_perm`` (hls/nnet_input_perm.h).

Each lock unit adds two inputs to the hls4ml top function, ``<layer>_key_mask`` (ufixed<1,1>) and
``<layer>_key_value`` (the layer's output type), read by ``nnet::lock_unit`` (hls/nnet_lock.h) after
the layer's ReLU. The project holds no secret: the C-sim takes the key per call (`key_inputs`).
"""
from __future__ import annotations

import numpy as np

from ...fixed import FixedType, to_real
from ...hls_ext import register_extension

HEADER = "nnet_lock.h"
PERM_HEADER = "nnet_input_perm.h"
MASK_TYPE = FixedType(1, 1, signed=False)


def perm_type(n: int) -> FixedType:
    """Unsigned integers 0..n-1: an input-permutation key's entries."""
    b = max(1, (n - 1).bit_length())
    return FixedType(b, b, signed=False)


def _scheme(layer) -> str | None:
    return layer.attrs["lock"].get("scheme")

config_template = """struct config{index} : nnet::lock_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_pix = {n_pix};
}};\n"""

function_template = "nnet::lock_unit<{input_t}, {mask_t}, {value_t}, {output_t}, {config}>({input}, {mask}, {value}, {output});"

perm_config_template = """struct config{index} : nnet::input_perm_config {{
    static const unsigned n_in = {n_in};
}};\n"""

perm_function_template = "nnet::input_perm<{input_t}, {perm_t}, {output_t}, {config}>({input}, {perm}, {output});"


def _twin_class():
    import tensorflow as tf
    from tensorflow import keras

    class LockUnit(keras.layers.Layer):
        """y = where(mask, value, x): the hls4ml twin of a lock unit (inputs [x, mask, value])."""

        def call(self, inputs):
            x, mask, value = inputs
            shape = tf.concat([tf.shape(mask)[:1], tf.ones([tf.rank(x) - 2], tf.int32), tf.shape(mask)[1:]], 0)
            mask, value = tf.reshape(mask, shape), tf.reshape(value, shape)  # a conv2d's channels: every pixel
            return tf.where(mask > 0, value, x)

    class InputPerm(keras.layers.Layer):
        """y = x[perm]: the hls4ml twin of an input-permutation lock (inputs [x, perm])."""

        def call(self, inputs):
            x, perm = inputs
            return tf.gather(x, tf.cast(perm, tf.int32), axis=1, batch_dims=1)

    return LockUnit, InputPerm


def key_input_names(layer) -> tuple[str, ...]:
    if _scheme(layer) == "input_perm":
        return (f"{layer.name}_key_perm",)
    return f"{layer.name}_key_mask", f"{layer.name}_key_value"


def twin(layer, x, inputs: list):
    """Apply a LockUnit (InputPerm) twin to x, its key inputs appended to `inputs`."""
    from tensorflow import keras

    n = int(layer.attrs["lock"]["units"])
    keys = [keras.Input((n,), name=name) for name in key_input_names(layer)]
    inputs += keys
    unit = _twin_class()[1 if _scheme(layer) == "input_perm" else 0]
    if _scheme(layer) == "input_perm":
        x = keras.layers.Reshape((n,), name=f"{layer.name}_flat")(x) if len(x.shape) != 2 else x
    return unit(name=f"{layer.name}_lock")([x] + keys)


def precisions(layer, names: dict) -> None:
    """Per-layer precision entries of the key inputs and the unit (the layer's output type)."""
    if _scheme(layer) == "input_perm":
        n = int(layer.attrs["lock"]["units"])
        names.setdefault(key_input_names(layer)[0], {})["Precision"] = {"result": perm_type(n).hls()}
        names.setdefault(f"{layer.name}_lock", {})["Precision"] = {"result": layer.out_type.hls()}
        return
    mask_name, value_name = key_input_names(layer)
    names.setdefault(mask_name, {})["Precision"] = {"result": MASK_TYPE.hls()}
    names.setdefault(value_name, {})["Precision"] = {"result": layer.out_type.hls()}
    names.setdefault(f"{layer.name}_lock", {})["Precision"] = {"result": layer.out_type.hls()}


def key_inputs(spec, key, samples: int) -> list:
    """The C-sim's key arrays (mask, value per lock unit, in input order) for `samples` samples."""
    out = []
    for layer in spec.layers:
        if layer.attrs.get("lock") and _scheme(layer) == "input_perm":
            perm = key.perms[layer.name]
            out.append(np.ascontiguousarray(np.broadcast_to(perm.astype(np.float64), (samples, perm.size))))
        elif layer.attrs.get("lock"):
            mask, value = key.layers[layer.name]
            for arr, t in ((mask, MASK_TYPE), (value, layer.out_type)):
                out.append(np.ascontiguousarray(np.broadcast_to(to_real(arr, t), (samples, arr.size)), np.float64))
    return out


def _parse(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = int(input_shapes[0][-1])
    layer["n_pix"] = int(np.prod(input_shapes[0][1:-1], dtype=np.int64))  # 1 for a dense layer
    return layer, list(input_shapes[0])


def _call_params(node, params: dict) -> None:
    """The key inputs' variables and types in the function call."""
    mask, value = (node.get_input_variable(node.inputs[i]) for i in (1, 2))
    params.update(mask=mask.name, mask_t=mask.type.name, value=value.name, value_t=value.type.name)


def _parse_perm(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = int(input_shapes[0][-1])
    return layer, list(input_shapes[0])


def _call_params_perm(node, params: dict) -> None:
    perm = node.get_input_variable(node.inputs[1])
    params.update(perm=perm.name, perm_t=perm.type.name)


def register() -> None:
    """hls4ml IR nodes `LockUnit` with three inputs (x, mask, value) and `InputPerm` with two (x, perm);
    idempotent."""
    register_extension("LockUnit", attributes=("n_in", "n_pix"), accum=False,
                       output_shape=lambda node: list(node.get_input_variable(node.inputs[0]).shape),
                       config_template=config_template, function_template=function_template, header=HEADER,
                       parse=_parse, call_params=_call_params)
    register_extension("InputPerm", attributes=("n_in",), accum=False,
                       output_shape=lambda node: list(node.get_input_variable(node.inputs[0]).shape),
                       config_template=perm_config_template, function_template=perm_function_template,
                       header=PERM_HEADER, parse=_parse_perm, call_params=_call_params_perm)
