"""``upsample2d``: nearest-neighbour upsampling (Keras UpSampling2D / UpSampling1D as a (s, 1) one), each pixel
repeated ``size`` = [sh, sw] times along height and width (NHWC). Values and type unchanged: exact. hls4ml: its
own Resize layer (nearest, io_parallel); no RTL engine."""
from __future__ import annotations

import numpy as np

from .registry import Kind, register


def kernel(x: np.ndarray, layer) -> np.ndarray:
    sh, sw = layer.attrs["size"]
    return np.repeat(np.repeat(x, sh, axis=1), sw, axis=2)


def hls_twin(layer, x):
    from tensorflow import keras

    return keras.layers.UpSampling2D(tuple(layer.attrs["size"]), interpolation="nearest", name=layer.name)(x)


KIND = register(Kind("upsample2d", kernel=kernel, hls_twin=hls_twin))
