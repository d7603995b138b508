"""``flatten``: reshape, row-major (NHWC order, as Keras); a no-op on the RTL stream."""
from __future__ import annotations

from .registry import Kind, ModelLayer, register


def kernel(x, layer):
    return x.reshape(x.shape[0], -1)


def hls_twin(layer, x):
    from tensorflow import keras

    return keras.layers.Flatten(name=layer.name)(x)


def keras_layer(a: dict, x, quantized: bool, name: str):
    from tensorflow import keras

    return keras.layers.Flatten(name=name)(x)


KIND = register(Kind("flatten", kernel=kernel, reshape=True, hls_twin=hls_twin, rtl_passthrough=True,
                     model_layer=ModelLayer(frozenset({"name"}), keras_layer)))
