"""``depthwise2d``: QDepthwiseConv2D (and the depthwise half of QSeparableConv2D): output channel c * dm + m is
channel c's k x k window times weight[:, :, c, m], + bias, then the dense epilogue (ReLU, cast). NHWC,
'valid'/'same', strides. hls4ml: its DepthwiseConv2D (depth_multiplier 1 only); no RTL engine."""
from __future__ import annotations

from ..emulator import depthwise2d_kernel
from .dense import weighted_precision, weighted_twin
from .registry import Kind, register


def macs(layer) -> int:
    kh, kw, cin, dm = layer.params["weight"].shape
    oh, ow, _ = layer.output_shape
    return int(kh * kw * cin * dm * oh * ow)


def keras_depthwise(layer, w, has_bias: bool):
    from tensorflow import keras

    if w.shape[-1] != 1:
        raise ValueError(f"hls4ml view: layer {layer.name!r} has depth_multiplier {w.shape[-1]}; hls4ml's "
                         "DepthwiseConv2D implements depth_multiplier 1 only")
    return keras.layers.DepthwiseConv2D(w.shape[:2], strides=tuple(layer.attrs["strides"]),
                                        padding=layer.attrs["padding"], use_bias=has_bias, name=layer.name)


def hls_twin(layer, x):
    return weighted_twin(layer, x, keras_depthwise)


KIND = register(Kind("depthwise2d", kernel=depthwise2d_kernel, macs=macs, hls_twin=hls_twin,
                     hls_precision=weighted_precision))
