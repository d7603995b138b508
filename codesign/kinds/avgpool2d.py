"""``avgpool2d``: y = mean over each window's image cells, exact (AveragePooling1D/2D, GlobalAveragePooling1D/2D).

The pool area is a power of two 2**k, and so is every window's count of image cells ('same' padding
leaves padding out of the mean, as TF does), so the mean is the window sum at k more fraction bits:
no rounding anywhere. Types: ``accum`` holds the sum at the output's fraction (hls4ml's accum_t,
divided in place by the count), ``output`` is the input type widened by k fraction bits. A global
pool is one window over the whole image with output shape (C,). No RTL engine: the RTL view skips a
spec holding one, naming it.
"""
from __future__ import annotations

from ..emulator import avgpool2d_kernel
from .registry import Kind, register


def hls_twin(layer, x):
    """AveragePooling2D (hls4ml's pooling2d_cl: sum in accum_t, divided by the cells it covered), then a
    Flatten for a global pool."""
    from tensorflow import keras

    a = layer.attrs
    x = keras.layers.AveragePooling2D(tuple(a["pool_size"]), tuple(a["strides"]), padding=a.get("padding", "valid"),
                                      name=layer.name)(x)
    if len(layer.output_shape) == 1:
        x = keras.layers.Flatten(name=f"{layer.name}_flat")(x)
    return x


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    entry["Precision"] = {"accum": layer.types["accum"].hls(), "result": layer.out_type.hls()}
    if len(layer.output_shape) == 1:
        names.setdefault(f"{layer.name}_flat", {})["Precision"] = {"result": layer.out_type.hls()}


KIND = register(Kind("avgpool2d", kernel=avgpool2d_kernel, hls_twin=hls_twin, hls_precision=hls_precision))
