"""``maxpool2d``: y = max over windows ('valid', or 'same' as TF pads: padding never wins), type unchanged.
Engine: rtl/maxpool.sv (no parameters, no lanes; 'valid' with strides = pool_size)."""
from __future__ import annotations

from ..emulator import maxpool2d_kernel
from .registry import Kind, ModelLayer, register


def hls_twin(layer, x):
    """MaxPooling2D; 'same' on an unsigned input as a ZeroPadding2D (0 never wins over the window's
    cells) then 'valid': hls4ml 1.3 pads max pooling with the type's top bit set, the most negative
    value of a signed type but 2**(W-1) of an unsigned one (nnet_pooling.h pad_val)."""
    from tensorflow import keras

    from ..emulator import _same_padding

    a = layer.attrs
    padding = a.get("padding", "valid")
    if padding == "same" and not layer.in_type.signed:
        (h, w), (ph, pw), (sh, sw) = layer.input_shape[:2], a["pool_size"], a["strides"]
        x = keras.layers.ZeroPadding2D((_same_padding(h, ph, sh), _same_padding(w, pw, sw)),
                                       name=f"{layer.name}_pad")(x)
        padding = "valid"
    x = keras.layers.MaxPooling2D(tuple(a["pool_size"]), tuple(a["strides"]), padding=padding, name=layer.name)(x)
    if len(layer.output_shape) == 1:  # a global pool
        x = keras.layers.Flatten(name=f"{layer.name}_flat")(x)
    return x


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    entry["Precision"] = {"result": layer.out_type.hls()}
    if len(layer.output_shape) == 1:
        names.setdefault(f"{layer.name}_flat", {})["Precision"] = {"result": layer.out_type.hls()}
    if layer.attrs.get("padding", "valid") == "same" and not layer.in_type.signed:
        names.setdefault(f"{layer.name}_pad", {})["Precision"] = {"result": layer.in_type.hls()}


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

    if len(layer.output_shape) == 1:
        return "a global max pool (output (C,)) has no engine yet; use MaxPooling2D + Flatten"
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
    "maxpool2d", kernel=maxpool2d_kernel, hls_twin=hls_twin, hls_precision=hls_precision, twin="maxpool2d",
    model_layer=ModelLayer(frozenset({"name", "pool_size", "strides"}), keras_layer),
    rtl_image=True, rtl_shape=rtl_shape, rtl_plan=rtl_plan, rtl_images=lambda layer, p: {},
    rtl_check=lambda layer, pe, simd, pp=1: rtl_plan(layer, pe, simd, 0, 0, pp), rtl_folding=rtl_folding,
    rtl_unsupported=rtl_unsupported,
))
