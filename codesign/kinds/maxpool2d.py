"""``maxpool2d``: y = max over windows, type unchanged. Engine: rtl/maxpool.sv (no parameters, no lanes)."""
from __future__ import annotations

from ..emulator import maxpool2d_kernel
from .registry import Kind, ModelLayer, register


def hls_twin(layer, x):
    from tensorflow import keras

    return keras.layers.MaxPooling2D(tuple(layer.attrs["pool_size"]), tuple(layer.attrs["strides"]),
                                     name=layer.name)(x)


def rtl_shape(layer) -> dict:
    h, w, cin = layer.input_shape
    oh, ow, cout = layer.output_shape
    ph, pw = layer.attrs["pool_size"]
    return {"kind": "pool", "cin": int(cin), "stream_in": int(h * w * cin), "stream_out": int(oh * ow * cout),
            "h": int(h), "w": int(w), "ph": int(ph), "pw": int(pw)}


def rtl_plan(layer, pe, simd, np_, mp, pp: int = 1):
    from ..rtl.conv import plan_pool

    return plan_pool(layer, pp)


def rtl_unsupported(layer):
    from ..rtl.conv import pool_unsupported

    return pool_unsupported(layer)


def rtl_folding(layer) -> dict:
    """One pixel a beat: PE = SIMD = channels, nothing to choose."""
    c = int(layer.input_shape[-1])
    return {"pe": c, "simd": c}


def keras_layer(a: dict, x, quantized: bool, name: str):
    """``maxpool2d: {pool_size, strides}``."""
    from tensorflow import keras

    return keras.layers.MaxPooling2D(a.get("pool_size", 2), a.get("strides"), name=name)(x)


KIND = register(Kind(
    "maxpool2d", kernel=maxpool2d_kernel, hls_twin=hls_twin, twin="maxpool2d",
    model_layer=ModelLayer(frozenset({"name", "pool_size", "strides"}), keras_layer),
    rtl_image=True, rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=lambda layer, p: {},
    rtl_check=lambda layer, pe, simd, pp=1: rtl_plan(layer, pe, simd, 0, 0, pp), rtl_folding=rtl_folding,
    rtl_unsupported=rtl_unsupported,
))
