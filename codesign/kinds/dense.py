"""``dense``: acc = (x @ W) << weight_shift + bias; y = cast(act(acc), output). Engine: rtl/mvau.sv.

Also the weighted-layer pieces ``conv2d`` shares (its hls4ml twin and precisions)."""
from __future__ import annotations

import numpy as np

from ..emulator import dense_kernel
from .registry import Kind, ModelLayer, register


def macs(layer) -> int:
    return int(np.prod(layer.params["weight"].shape))


def keras_dense(layer, w: np.ndarray, has_bias: bool):
    from tensorflow import keras

    return keras.layers.Dense(w.shape[-1], use_bias=has_bias, name=layer.name)


def weighted_twin(layer, x, make=keras_dense):
    """A Keras Dense (or `make`'s layer, e.g. a Conv2D) with the spec's exact weights as reals (+ a ReLU,
    or a linear cast layer)."""
    from tensorflow import keras

    from ..fixed import to_real
    from ..hls_view import effective_weights

    w, wt = effective_weights(layer)
    has_bias = "bias" in layer.params
    k = make(layer, w, has_bias)
    x = k(x)
    values = [to_real(w, wt).astype(np.float32)]
    if has_bias:
        values.append(to_real(layer.params["bias"], layer.types["bias"]).astype(np.float32))
    k.set_weights(values)
    if layer.attrs.get("activation") == "relu":
        x = keras.layers.Activation("relu", name=f"{layer.name}_relu")(x)
    elif not layer.out_type.same_values(layer.types["accum"]):  # a quantized_bits activation: a cast
        x = keras.layers.Activation("linear", name=f"{layer.name}_cast")(x)
    return x


def weighted_precision(layer, entry: dict, names: dict, model: dict) -> None:
    """Weight/bias/accum precisions of a Dense/Conv2D twin and of its linear, ReLU or cast layer."""
    from ..hls_view import effective_weights

    _, wt = effective_weights(layer)
    acc = layer.types["accum"].hls()
    entry["Precision"] = {"weight": wt.hls(), "accum": acc, "result": acc}
    if "bias" in layer.params:
        entry["Precision"]["bias"] = layer.types["bias"].hls()
    entry["Strategy"] = model["Strategy"]
    entry["ReuseFactor"] = model["ReuseFactor"]
    # hls4ml gives a Dense/Conv2D without activation a "linear" layer of its own: keep it exact
    names.setdefault(f"{layer.name}_linear", {})["Precision"] = {"result": acc}
    if layer.attrs.get("activation") == "relu":
        names.setdefault(f"{layer.name}_relu", {})["Precision"] = {"result": layer.out_type.hls()}
    elif not layer.out_type.same_values(layer.types["accum"]):
        names.setdefault(f"{layer.name}_cast", {})["Precision"] = {"result": layer.out_type.hls()}


def relu_precision(layer, names: dict) -> None:
    """The precision of a twin's separate ReLU layer (custom layers: the ReLU after their accumulator)."""
    if layer.attrs.get("activation") == "relu":
        names.setdefault(f"{layer.name}_relu", {})["Precision"] = {"result": layer.out_type.hls()}


def rtl_shape(layer):
    return tuple(layer.params["weight"].shape)


def rtl_plan(layer, pe, simd, np_, mp):
    from ..rtl.plan import plan_layer

    return plan_layer(layer, pe, simd, np_, mp)


def rtl_images(layer, p) -> dict:
    from ..rtl.plan import param_words, weight_words

    return {"w": (weight_words(layer, p), p.w_word), "p": (param_words(layer, p), p.p_word)}


def keras_layer(a: dict, x, quantized: bool, name: str):
    """``dense: {units, kernel, bias}``: a QDense (kernel default stochastic_ternary, bias 8 bits), or Dense."""
    from tensorflow import keras

    has_bias = not ("bias" in a and a["bias"] is None)
    if not quantized:
        return keras.layers.Dense(a["units"], use_bias=has_bias, name=name)(x)
    from qkeras import QDense

    from ..models import _quantizer

    return QDense(a["units"], kernel_quantizer=_quantizer(a.get("kernel"), "stochastic_ternary"),
                  bias_quantizer=_quantizer(a.get("bias"), {"bits": 8, "integer": 3}) if has_bias else None,
                  use_bias=has_bias, name=name)(x)


KIND = register(Kind(
    "dense", kernel=dense_kernel, macs=macs, matmul="vector",
    stored_params=("weight", "weight_shift", "bias"), twin="dense",
    model_layer=ModelLayer(frozenset({"name", "units", "kernel", "bias"}), keras_layer, frozenset({"units"}),
                           kernel_quantizer=True, neurons=True),
    hls_twin=weighted_twin, hls_precision=weighted_precision,
    rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=rtl_images,
))
