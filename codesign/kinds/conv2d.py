"""``conv2d``: dense on k x k windows (NHWC, 'valid'/'same', strides). Engines: rtl/swg.sv + rtl/mvau.sv."""
from __future__ import annotations

from ..emulator import conv2d_kernel
from .dense import weighted_precision, weighted_twin
from .registry import Kind, ModelLayer, register


def macs(layer) -> int:
    kh, kw, cin, cout = layer.params["weight"].shape
    oh, ow, _ = layer.output_shape
    return int(kh * kw * cin * cout * oh * ow)


def keras_conv(layer, w, has_bias: bool):
    from tensorflow import keras

    return keras.layers.Conv2D(w.shape[-1], w.shape[:2], strides=tuple(layer.attrs["strides"]),
                               padding=layer.attrs["padding"], use_bias=has_bias, name=layer.name)


def hls_twin(layer, x):
    return weighted_twin(layer, x, keras_conv)


def rtl_shape(layer) -> dict:
    from ..rtl.conv import conv_geometry

    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    g = conv_geometry(layer)
    return {"kind": "conv", "cin": int(cin), "stream_in": int(h * w * cin), "stream_out": int(oh * ow * cout),
            "n": g["kh"] * g["kw"] * g["cin"], "m": g["cout"], "geometry": g}


def rtl_plan(layer, pe, simd, np_, mp, pp: int = 1, mw: int = 1):
    from ..rtl.conv import plan_conv

    return plan_conv(layer, pe, simd, pp, mw)


def rtl_images(layer, p) -> dict:
    from ..rtl.conv import conv_standin
    from .dense import rtl_images as dense_images

    return dense_images(conv_standin(layer), p)


def keras_layer(a: dict, x, quantized: bool, name: str):
    """``conv2d: {filters, kernel_size, strides, padding, kernel, bias}``: a QConv2D, or Conv2D."""
    from tensorflow import keras

    if len(x.shape) == 3:  # a single-channel image: add the channel axis
        x = keras.layers.Reshape(tuple(x.shape[1:]) + (1,), name=f"{name}_channels")(x)
    common = dict(kernel_size=a["kernel_size"], strides=a.get("strides", 1), padding=a.get("padding", "valid"),
                  name=name)
    if not quantized:
        return keras.layers.Conv2D(a["filters"], **common)(x)
    from qkeras import QConv2D

    from ..models import _quantizer

    return QConv2D(a["filters"], kernel_quantizer=_quantizer(a.get("kernel"), "stochastic_ternary"),
                   bias_quantizer=_quantizer(a.get("bias"), {"bits": 8, "integer": 3}), **common)(x)


KIND = register(Kind(
    "conv2d", kernel=conv2d_kernel, macs=macs, matmul="windows",
    stored_params=("weight", "weight_shift", "bias"), twin="conv2d",
    model_layer=ModelLayer(frozenset({"name", "filters", "kernel_size", "strides", "padding", "kernel", "bias"}),
                           keras_layer, frozenset({"filters", "kernel_size"}), kernel_quantizer=True, neurons=True),
    hls_twin=hls_twin, hls_precision=weighted_precision,
    rtl_image=True, rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=rtl_images,
    rtl_check=lambda layer, pe, simd, pp=1, mw=1: rtl_plan(layer, pe, simd, 0, 0, pp, mw),
))
