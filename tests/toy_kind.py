"""A toy layer kind defined in ONE module, outside codesign: an elementwise integer scale,
y[i] = cast(x[i] * scale[i], output). It shows what adding a kind takes (issue #17): a `Kind` with the
emulator kernel, MACs, the hls4ml binding (a Keras twin + Extension-API registration of
toy_hls/nnet_toy_scale.h) and the RTL plan + memory images, registered by name, and the scales as the fault campaigns' stored
integers (`stored_params`). No view's code knows it: tests/test_kinds.py runs it through the emulator, hls4ml C-sim and RTL bit-exact.

Its RTL engine is the existing mvau (rtl/mvau.sv) with the scales on the diagonal of its weight
memory, so the toy needs no SystemVerilog of its own; a real kind would bring its engine like kron_dense.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.emulator import epilogue
from codesign.fixed import FixedType, to_real
from codesign.hls_ext import register_extension
from codesign.kinds import Kind, register
from codesign.spec import Layer

NAME = "toy_scale"
HLS_DIR = Path(__file__).resolve().parent / "toy_hls"


def toy_layer(name: str, n: int, tin: FixedType, scale: np.ndarray, tscale: FixedType, tout: FixedType) -> Layer:
    """A toy_scale spec layer: product and accumulator exact (input x scale), output `tout`."""
    tprod = FixedType(tin.width + tscale.width, tin.integer + tscale.integer, signed=True)
    return Layer(name, NAME, (n,), (n,), {"activation": "linear"},
                 {"input": tin, "scale": tscale, "product": tprod, "accum": tprod, "output": tout},
                 {"scale": np.asarray(scale, np.int64)})


def kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    return epilogue(x.astype(np.int64) * layer.params["scale"].astype(np.int64), layer)


# ------------------------------------------------------------------ hls4ml
CONFIG = """struct config{index} : nnet::toy_scale_config {{
    static const unsigned n = {n};
    typedef {scale_t.name} scale_t;
    typedef {accum_t.name} accum_t;
}};\n"""
CALL = "nnet::toy_scale<{input_t}, {output_t}, {config}>({input}, {output}, {scale});"


def _keras_class():
    import tensorflow as tf

    class ToyScale(tf.keras.layers.Layer):
        """y = x * scale (float twin of the toy kind)."""

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(int(input_shape[-1]),), initializer="ones")

        def call(self, x):
            return x * self.scale

    return ToyScale


def hls_twin(layer: Layer, x):
    k = _keras_class()(name=layer.name)
    x = k(x)
    k.set_weights([to_real(layer.params["scale"], layer.types["scale"]).astype(np.float32)])
    return x


def hls_precision(layer: Layer, entry: dict, names: dict, model: dict) -> None:
    t = layer.types
    entry["Precision"] = {"scale": t["scale"].hls(), "accum": t["accum"].hls(), "result": t["output"].hls()}


def _parse(keras_layer, input_names, input_shapes, data_reader):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data, parse_default_keras_layer

    layer = parse_default_keras_layer(keras_layer, input_names)
    layer["n"] = int(input_shapes[0][-1])
    layer["scale_data"] = get_weights_data(data_reader, layer["name"], "scale")
    return layer, [input_shapes[0][0], layer["n"]]


def hls_register() -> None:
    register_extension("ToyScale", attributes=("n",), weights=("scale",), internal_types=(),
                       output_units=lambda a: a["n"], config_template=CONFIG, function_template=CALL,
                       header="nnet_toy_scale.h", parse=_parse, header_dir=HLS_DIR)


# ------------------------------------------------------------------ RTL: an mvau with a diagonal weight matrix
def _standin(layer: Layer) -> Layer:
    t = layer.types
    return Layer(layer.name, "dense", layer.input_shape, layer.output_shape, dict(layer.attrs),
                 {"input": t["input"], "weight": t["scale"], "product": t["product"], "accum": t["accum"],
                  "output": t["output"]},
                 {"weight": np.diag(layer.params["scale"].astype(np.int64))})


def rtl_plan(layer, pe, simd, np_, mp):
    from codesign.rtl.plan import plan_layer

    return plan_layer(_standin(layer), pe, simd, np_, mp)


def rtl_images(layer, p) -> dict:
    from codesign.rtl.plan import param_words, weight_words

    s = _standin(layer)
    return {"w": (weight_words(s, p), p.w_word), "p": (param_words(s, p), p.p_word)}


# stored_params: its scales are stored integers, so fault campaigns address their bits (codesign/faults);
# no `twin`: the bit-flip attack's float twin has no gradient for it and ranks only the layers after it
KIND = Kind(NAME, kernel=kernel, macs=lambda layer: int(layer.params["scale"].size), stored_params=("scale",),
            hls_twin=hls_twin, hls_precision=hls_precision, hls_register=hls_register,
            rtl_shape=lambda layer: (layer.input_shape[-1], layer.output_shape[-1]),
            rtl_plan=rtl_plan, rtl_images=rtl_images)
register(KIND, replace=True)
