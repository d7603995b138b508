"""Extraction of QDepthwiseConv2D (a ``depthwise2d`` layer) and QSeparableConv2D (a ``depthwise2d`` without
bias, named ``<layer>_dw`` and without a Keras counterpart, then a 1x1 ``conv2d`` with the bias and the
activation: TF's separable_conv2d is the depthwise step, strides included, then a 1x1 pointwise step).

Kernels take quantizers whose outputs are one fixed-point grid (quantized_bits alpha=1, quantized_po2, ...):
the per-output power-of-two or float scales of alpha='auto_po2' / 'auto' are not supported here.
"""
from __future__ import annotations

from .errors import UnsupportedLayerError
from .fixed import FixedType, FixedTypeError, exact_integers
from .qtypes import accum_type, quantized_values, signed_type_for, where
from .spec import Layer


def _grid(layer, quantizer, values, what: str):
    """Exact integers and fraction of a quantizer's output (refusing per-output scales)."""
    if quantizer is None:
        raise UnsupportedLayerError(f"{where(layer)} has no {what} quantizer; give it one "
                                    f"(e.g. {what}_quantizer=quantized_bits(8, 0, alpha=1))")
    alpha = getattr(quantizer, "alpha", None)
    if isinstance(alpha, str):
        raise UnsupportedLayerError(f"{where(layer)}: {what} quantizer {type(quantizer).__name__}(alpha={alpha!r}) "
                                    "scales each output; use alpha=1")
    try:
        return exact_integers(quantized_values(quantizer, values))
    except FixedTypeError as e:
        raise UnsupportedLayerError(f"{where(layer)}: {what} {e}") from None


def _layer(layer, name, kind, shape, t: FixedType, out_shape, attrs, w, w_frac, bias, fused, cols) -> Layer:
    """A weighted spec layer of integer weights `w` whose columns (outputs) `cols` are in output order."""
    wt = signed_type_for(w, w_frac)
    types = {"input": t, "weight": wt, "product": FixedType(t.width + wt.width, t.integer + wt.integer, signed=True)}
    params = {"weight": w}
    b, b_frac = None, 0
    if bias is not None:
        b, b_frac = bias
        params["bias"], types["bias"] = b, signed_type_for(b, b_frac)
    try:
        types["accum"], _ = accum_type(t, cols, None, b, types["product"].frac, b_frac)
    except FixedTypeError as e:
        raise UnsupportedLayerError(f"{where(layer)}: its input {t.hls()} is too wide for exact integer sums ({e}); "
                                    "quantize the previous layer's output (a QActivation after it)") from None
    act, out_t = fused
    types["output"] = out_t if out_t is not None else types["accum"]
    return Layer(name, kind, tuple(shape), tuple(out_shape), {"activation": act, **attrs}, types, params)


def _attrs(layer) -> dict:
    if set(layer.dilation_rate) != {1} or layer.data_format != "channels_last":
        raise UnsupportedLayerError(f"{where(layer)}: dilation {tuple(layer.dilation_rate)}, data_format "
                                    f"{layer.data_format!r} not supported; use dilation 1, channels_last")
    return {"strides": [int(v) for v in layer.strides], "padding": layer.padding}


def _bias(layer):
    if not layer.use_bias:
        return None
    return _grid(layer, layer.bias_quantizer_internal, layer.bias.numpy(), "bias")


def _depthwise(layer, name, shape, t, out_shape, bias, fused) -> Layer:
    w, w_frac = _grid(layer, layer.depthwise_quantizer_internal, layer.depthwise_kernel.numpy(), "depthwise")
    kh, kw, cin, dm = w.shape
    cols = w.reshape(kh * kw, cin * dm)  # output channel c * dm + m sums its own channel's window
    return _layer(layer, name, "depthwise2d", shape, t, out_shape, _attrs(layer), w, w_frac, bias, fused, cols)


def depthwise_layers(layer, shape: tuple, t: FixedType, out_shape: tuple, fused) -> list[tuple[Layer, bool]]:
    """[(spec layer, has a Keras counterpart)] of a QDepthwiseConv2D or QSeparableConv2D."""
    if type(layer).__name__ == "QDepthwiseConv2D":
        return [(_depthwise(layer, layer.name, shape, t, out_shape, _bias(layer), fused), True)]
    dm = int(layer.depth_multiplier)
    mid_shape = tuple(out_shape[:-1]) + (int(shape[-1]) * dm,)
    dw = _depthwise(layer, f"{layer.name}_dw", shape, t, mid_shape, None, ("linear", None))
    pw, pw_frac = _grid(layer, layer.pointwise_quantizer_internal, layer.pointwise_kernel.numpy(), "pointwise")
    point = _layer(layer, layer.name, "conv2d", mid_shape, dw.out_type, out_shape, {"strides": [1, 1],
                   "padding": "valid"}, pw, pw_frac, _bias(layer), fused, pw.reshape(-1, pw.shape[-1]))
    return [(dw, False), (point, True)]


DEPTHWISE_CLASSES = ("QDepthwiseConv2D", "QSeparableConv2D")
