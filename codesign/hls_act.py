"""hls4ml view of the elementwise kinds hls4ml has no exact layer for (``multithreshold``, ``leaky_relu``,
``scale``): a float Keras twin layer each, registered through the Extension API (codesign/hls_ext.py)
with the C++ of ``hls/nnet_codesign_act.h``.

hls4ml's own binary_tanh / ternary_tanh / LeakyReLU differ from QKeras at the edges (binary_tanh at 0 is -1 in
hls4ml but +1 for QKeras' binary(); LeakyReLU has no negative clip and stores the slope in the data type), so
the spec's integers are implemented here instead: thresholds and levels as the layer's weights, the leaky
slope as a constant shift. hls4ml's BatchNormalization recomputes its scale from gamma/sqrt(var + eps) in
float64, so a scale layer (batch norm, per-channel weight scales) is one of these too. Every precision comes from the spec (`precisions`).
"""
from __future__ import annotations

import numpy as np

from .fixed import FixedType, to_real
from .hls_ext import register_extension

HEADER = "nnet_codesign_act.h"
NO_BIAS = FixedType(2, 2)  # the zeros a scale layer without bias adds

mt_config_template = """struct config{index} : nnet::multi_threshold_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_thr = {n_thr};
    typedef {thresholds_t.name} thresholds_t;
    typedef {levels_t.name} levels_t;
}};\n"""

mt_function_template = ("nnet::multi_threshold<{input_t}, {output_t}, {config}>({input}, {output}, "
                        "{thresholds}, {levels});")

leaky_config_template = """struct config{index} : nnet::leaky_relu_q_config {{
    static const unsigned n_in = {n_in};
    static const unsigned slope_shift = {slope_shift};
    typedef {neg_t.name} neg_t;
}};\n"""

scale_config_template = """struct config{index} : nnet::scale_shift_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_chan = {n_chan};
    static const bool relu = {relu};
    typedef {scale_t.name} scale_t;
    typedef {bias_t.name} bias_t;
    typedef {accum_t.name} accum_t;
}};\n"""

scale_function_template = "nnet::scale_shift<{input_t}, {output_t}, {config}>({input}, {output}, {scale}, {bias});"

leaky_function_template = "nnet::leaky_relu_q<{input_t}, {output_t}, {config}>({input}, {output});"

_classes: dict = {}


def twin_classes():
    """The Keras twin layers (float; hls4ml reads their class name, config and weights)."""
    if _classes:
        return _classes
    import tensorflow as tf
    from tensorflow import keras

    class CodesignMultiThreshold(keras.layers.Layer):
        """y = levels[#(thresholds <= x)]: the twin of a multithreshold layer."""

        def __init__(self, n_thr: int, **kw):
            super().__init__(**kw)
            self.n_thr = int(n_thr)

        def build(self, input_shape):
            self.thresholds = self.add_weight(name="thresholds", shape=(self.n_thr,), trainable=False)
            self.levels = self.add_weight(name="levels", shape=(self.n_thr + 1,), trainable=False)

        def call(self, x):
            k = tf.reduce_sum(tf.cast(x[..., None] >= self.thresholds, tf.int32), axis=-1)
            return tf.gather(self.levels, k)

        def get_config(self):
            return {**super().get_config(), "n_thr": self.n_thr}

    class CodesignLeakyReLU(keras.layers.Layer):
        """y = x >= 0 ? x : x * 2**-slope_shift (float; the types do the rounding and clipping in hls4ml)."""

        def __init__(self, slope_shift: int, **kw):
            super().__init__(**kw)
            self.slope_shift = int(slope_shift)

        def call(self, x):
            return tf.where(x >= 0, x, x * 2.0 ** -self.slope_shift)

        def get_config(self):
            return {**super().get_config(), "slope_shift": self.slope_shift}

    class CodesignScale(keras.layers.Layer):
        """y = act(x * scale + bias) per channel (last axis): the twin of a scale layer."""

        def __init__(self, relu: bool = False, **kw):
            super().__init__(**kw)
            self.relu = bool(relu)

        def build(self, input_shape):
            c = int(input_shape[-1])
            self.scale = self.add_weight(name="scale", shape=(c,), trainable=False)
            self.bias = self.add_weight(name="bias", shape=(c,), trainable=False)

        def call(self, x):
            y = x * self.scale + self.bias
            return tf.nn.relu(y) if self.relu else y

        def get_config(self):
            return {**super().get_config(), "relu": self.relu}

    _classes.update(multithreshold=CodesignMultiThreshold, leaky_relu=CodesignLeakyReLU, scale=CodesignScale)
    return _classes


def multithreshold_twin(layer, x):
    cls = twin_classes()["multithreshold"]
    t = layer.params["thresholds"]
    k = cls(len(t), name=layer.name)
    y = k(x)
    k.set_weights([to_real(t, layer.types["thresholds"]).astype(np.float32),
                   to_real(layer.params["levels"], layer.types["levels"]).astype(np.float32)])
    return y


def leaky_relu_twin(layer, x):
    return twin_classes()["leaky_relu"](layer.attrs["slope_shift"], name=layer.name)(x)


def scale_twin(layer, x):
    k = twin_classes()["scale"](layer.attrs.get("activation") == "relu", name=layer.name)
    y = k(x)
    bias = layer.params.get("bias", np.zeros(layer.params["scale"].shape, np.int64))  # no bias: zeros
    k.set_weights([to_real(layer.params["scale"], layer.types["scale"]).astype(np.float64),
                   to_real(bias, layer.types.get("bias", NO_BIAS)).astype(np.float64)])
    return y


def precisions(layer, entry: dict, names: dict, model: dict) -> None:
    """result: the output type; the layer's other spec types (thresholds, levels, negative) by name."""
    entry["Precision"] = {"result": layer.out_type.hls()}
    if "scale" in layer.types:
        entry["Precision"]["bias"] = NO_BIAS.hls()  # replaced below by the layer's own bias type, if it has one
    for name, key in (("thresholds", "thresholds"), ("levels", "levels"), ("neg", "negative"), ("scale", "scale"),
                      ("bias", "bias"), ("accum", "accum")):
        if key in layer.types:
            entry["Precision"][name] = layer.types[key].hls()


def _n_in(shape) -> int:
    return int(np.prod([d for d in shape[1:]], dtype=np.int64))


def _parse_mt(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = _n_in(input_shapes[0])
    layer["n_thr"] = int(keras_layer["config"]["n_thr"])
    layer["thresholds_data"], layer["levels_data"] = get_weights_data(data_reader, layer["name"],
                                                                      ["thresholds", "levels"])
    return layer, list(input_shapes[0])


def _parse_leaky(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = _n_in(input_shapes[0])
    layer["slope_shift"] = int(keras_layer["config"]["slope_shift"])
    return layer, list(input_shapes[0])


def _parse_scale(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n_in"] = _n_in(input_shapes[0])
    layer["n_chan"] = int(input_shapes[0][-1])
    layer["relu"] = int(bool(keras_layer["config"]["relu"]))
    layer["scale_data"], layer["bias_data"] = get_weights_data(data_reader, layer["name"], ["scale", "bias"])
    return layer, list(input_shapes[0])


def register() -> None:
    """hls4ml IR nodes `CodesignMultiThreshold` (weights thresholds, levels) and `CodesignLeakyReLU`
    (internal type neg); idempotent."""
    same_shape = lambda node: list(node.get_input_variable(node.inputs[0]).shape)  # noqa: E731
    register_extension("CodesignMultiThreshold", attributes=("n_in", "n_thr"), weights=("thresholds", "levels"),
                       accum=False, output_shape=same_shape, config_template=mt_config_template,
                       function_template=mt_function_template, header=HEADER, parse=_parse_mt)
    register_extension("CodesignScale", attributes=("n_in", "n_chan", "relu"), weights=("scale", "bias"),
                       output_shape=same_shape, config_template=scale_config_template,
                       function_template=scale_function_template, header=HEADER, parse=_parse_scale)
    register_extension("CodesignLeakyReLU", attributes=("n_in", "slope_shift"), internal_types=("neg",),
                       accum=False, output_shape=same_shape, config_template=leaky_config_template,
                       function_template=leaky_function_template, header=HEADER, parse=_parse_leaky)
