"""Extraction of the spec's ``scale`` layers (codesign/kinds/scale.py): per-channel float factors that no
integer weight can absorb exactly.

- A standalone BatchNormalization / QBatchNormalization (not after a layer QKeras folds it into):
  scale = gamma * rsqrt(var + eps), bias = beta - mean * scale, in float32 as tf.nn.batch_normalization
  computes them (each quantized first by QBatchNormalization's quantizers). These float32 values are held
  exactly, so the spec computes x * scale + bias exactly where Keras rounds to float32: the layer is a float
  layer and the check against Keras takes its stated tolerance (one output LSB: codesign/verify.py).
- A QDense / QConv2D / QConv1D whose kernel quantizer has alpha='auto' (quantized_bits or ternary): QKeras
  multiplies the integer grid by a float scale per output channel. As hls4ml does (its ApplyAlpha layer), the
  spec holds the integer kernel (a dense / conv2d without bias, no Keras counterpart: checked through the next
  layer) and then a scale layer with the channel scales and the layer's bias.
"""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedLayerError
from .fixed import FixedType, FixedTypeError, exact_integers
from .qtypes import accum_type, quantized_values, signed_type_for, where
from .spec import Layer

MAX_FRAC = 48  # float32 values of batch norms and scales: fraction bits they may need to be held exactly


def _exact(values, layer, what):
    try:
        return exact_integers(np.asarray(values, np.float64), max_frac=MAX_FRAC)
    except FixedTypeError as e:
        raise UnsupportedLayerError(f"{where(layer)}: {what} {e}") from None


def scale_layer(layer, name: str, shape: tuple, t: FixedType, out_shape: tuple, scale, bias, fused) -> Layer:
    """A scale spec layer y = cast(act(x * scale + bias)) over the last axis; `fused` = (activation, output type
    or None = the accumulator); `bias` float values or None."""
    s, s_frac = _exact(scale, layer, "scale")
    types = {"input": t, "scale": signed_type_for(s, s_frac)}
    params = {"scale": s}
    b, b_frac = None, 0
    if bias is not None:
        b, b_frac = _exact(bias, layer, "bias")
        params["bias"], types["bias"] = b, signed_type_for(b, b_frac)
    try:
        types["accum"], _ = accum_type(t, s.reshape(1, -1), None, b, t.frac + s_frac, b_frac)
    except FixedTypeError:
        raise UnsupportedLayerError(f"{where(layer)}: x * scale + bias needs more than 62 bits to be exact "
                                    f"(input {t.hls()}, scale {types['scale'].hls()}); quantize the input narrower "
                                    "or the scales (e.g. QBatchNormalization quantizers)") from None
    act, out_t = fused
    types["output"] = out_t if out_t is not None else types["accum"]
    return Layer(name, "scale", shape, out_shape, {"activation": act}, types, params)


def batchnorm_scale_bias(layer) -> tuple[np.ndarray, np.ndarray]:
    """float32 (scale, bias) of an inference-mode (Q)BatchNormalization, as tf.nn.batch_normalization."""
    axis = layer.axis if isinstance(layer.axis, int) else (layer.axis[0] if len(layer.axis) == 1 else None)
    if axis not in (-1, len(layer.input_shape) - 1):
        raise UnsupportedLayerError(f"{where(layer)}: axis {layer.axis} is not the channel (last) axis; use axis=-1")

    def value(attr, quantizer, default):
        v = getattr(layer, attr, None)
        if v is None:
            return np.float32(default)
        q = getattr(layer, f"{quantizer}_quantizer_internal", None)
        return np.asarray(quantized_values(q, v.numpy()) if q is not None else v.numpy(), np.float32)

    gamma = value("gamma", "gamma", 1.0) if layer.scale else np.float32(1.0)
    beta = value("beta", "beta", 0.0) if layer.center else np.float32(0.0)
    mean, var = value("moving_mean", "mean", 0.0), value("moving_variance", "variance", 1.0)
    inv = (np.float32(1.0) / np.sqrt(var + np.float32(layer.epsilon))).astype(np.float32) * gamma
    c = int(layer.input_shape[-1])
    inv = np.broadcast_to(inv.astype(np.float32), (c,))
    bias = np.broadcast_to((beta - mean * inv).astype(np.float32), (c,))
    return inv, bias


def is_per_channel_alpha(layer) -> bool:
    """A kernel quantizer with a float scale per output channel (quantized_bits / ternary alpha='auto')."""
    q = getattr(layer, "kernel_quantizer_internal", None)
    return q is not None and getattr(q, "alpha", None) == "auto"


def per_channel_kernel(layer, kernel: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """(integer kernel, its fraction bits, float32 scale per output) of an alpha='auto' kernel quantizer:
    QKeras' output is scale * grid value (its `scale` attribute after a call), the grid quantized_bits' (B, I)
    one or ternary's {-1, 0, 1}."""
    from qkeras.quantizers import quantized_bits, ternary

    q = layer.kernel_quantizer_internal
    wq = quantized_values(q, kernel)
    scale = np.asarray(q.scale, np.float32).reshape(-1)
    if isinstance(q, quantized_bits):
        frac = int(q.bits) - int(q.integer) - int(q.keep_negative)
    elif isinstance(q, ternary):
        frac = 0
    else:
        raise UnsupportedLayerError(f"{where(layer)}: kernel quantizer {type(q).__name__}(alpha='auto') is not "
                                    "supported; use quantized_bits or ternary")
    safe = np.where(scale != 0, scale, 1.0).astype(np.float64)
    grid = wq / safe * 2.0 ** frac
    w = np.round(grid)
    if scale.size != wq.shape[-1] or np.abs(grid - w).max(initial=0) > 1e-3:
        raise UnsupportedLayerError(f"{where(layer)}: kernel is not scale * grid per output channel; use alpha=1")
    return w.astype(np.int64) * (scale != 0), frac, scale


def per_channel_layers(layer, kind: str, shape: tuple, t: FixedType, out_shape: tuple, attrs: dict,
                       kernel: np.ndarray, bias, fused) -> tuple[Layer, Layer]:
    """The integer dense / conv2d (named `<layer>_int`, no Keras counterpart) and the scale layer after it."""
    w, w_frac, scale = per_channel_kernel(layer, kernel)
    if kind == "conv2d" and w.ndim == 3:  # QConv1D: (k, cin, cout) as (k, 1, cin, cout)
        w = w.reshape(w.shape[0], 1, *w.shape[1:])
    wt = signed_type_for(w, w_frac)
    types = {"input": t, "weight": wt,
             "product": FixedType(t.width + wt.width, t.integer + wt.integer, signed=True)}
    types["accum"], _ = accum_type(t, w, None, None, types["product"].frac, 0)
    types["output"] = types["accum"]
    mid_shape = tuple(out_shape[:-1]) + (int(w.shape[-1]),)
    dense = Layer(f"{layer.name}_int", kind, shape, mid_shape, {"activation": "linear", **attrs}, types, {"weight": w})
    return dense, scale_layer(layer, layer.name, mid_shape, types["accum"], out_shape, scale, bias, fused)
