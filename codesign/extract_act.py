"""Extraction of the activations that are layers of their own in the spec (not an epilogue cast):
QKeras binary() / binary_tanh / ternary() -> ``multithreshold``, quantized_relu(negative_slope=2**-k) ->
``leaky_relu``. Each takes the previous layer's exact output (a dense/conv2d accumulator) and gives the
integers QKeras computes:

- binary(alpha=a, use_01=u): x >= 0 -> +a, else -a (0 with use_01); alpha None is 1 (QKeras then adds
  tanh(x) - tanh(x), exactly 0 in float32 around values of +-1);
- binary_tanh: 2 * round(clip(x/2 + 1/2, 0, 1)) - 1, so x > 0 -> +1 and x <= 0 -> -1 (round half to even
  sends x = 0 to -1), exact while x/2 + 1/2 is exact in float32 (input fraction bits <= 22);
- ternary(alpha=a, threshold=t): |x| >= t -> sign(x) * a, else 0 (t default 0.33, compared in float32,
  so exact for inputs float32 holds: width <= 24);
- quantized_relu(B, I, negative_slope=2**-k): see codesign/kinds/leaky_relu.py;
- a float LeakyReLU(alpha=2**-k) / ReLU(negative_slope=2**-k): the same kind with exact casts (k more
  fraction bits).

alpha 'auto'/'auto_po2' on an activation is a scale computed from each batch, so it has no fixed form.
"""
from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

import numpy as np

from .errors import UnsupportedLayerError
from .fixed import FixedType, exact_integers
from .qtypes import quantizer_of, signed_type_for, where
from .spec import Layer

FLOAT32_BITS = 24


def float_slope(layer) -> float | None:
    """The negative slope of a Keras LeakyReLU, or of a ReLU(negative_slope=s) without max_value/threshold."""
    from tensorflow import keras

    if isinstance(layer, keras.layers.LeakyReLU):
        return float(layer.get_config()["alpha"])
    if isinstance(layer, keras.layers.ReLU):
        c = layer.get_config()
        if c.get("max_value") is None and not float(c.get("threshold") or 0) and float(c.get("negative_slope") or 0):
            return float(c["negative_slope"])
    return None


def elementwise_function(layer):
    """'step', 'leaky' or 'float_leaky' when `layer` is an activation layer of one of these, else None."""
    if float_slope(layer) is not None:
        return "float_leaky"
    from qkeras.quantizers import binary, binary_tanh, quantized_relu, stochastic_binary, stochastic_ternary, ternary

    q = quantizer_of(layer)
    if isinstance(q, quantized_relu) and q.negative_slope:
        return "leaky"
    if q is binary_tanh or (isinstance(q, (binary, ternary)) and not isinstance(q, (stochastic_binary,
                                                                                     stochastic_ternary))):
        return "step"
    return None


def elementwise_layer(layer, shape: tuple, t: FixedType, out_shape: tuple) -> Layer:
    """The spec layer of an activation `elementwise_function` recognised, on input type `t`."""
    function = elementwise_function(layer)
    if function == "leaky":
        return _leaky(layer, shape, t, out_shape)
    if function == "float_leaky":
        return _float_leaky(layer, shape, t, out_shape)
    return _step(layer, shape, t, out_shape)


def _leaky(layer, shape, t, out_shape) -> Layer:
    q = quantizer_of(layer)
    bits, integer, slope = int(q.bits), int(q.integer), float(q.negative_slope)
    k = -int(round(np.log2(slope)))
    if q.use_sigmoid or q.use_stochastic_rounding or (q.relu_upper_bound is not None and not q.is_quantized_clip):
        raise UnsupportedLayerError(f"{where(layer)}: {q} with use_sigmoid, stochastic rounding or a relu_upper_bound "
                                    "clip has no exact fixed-point form; use quantized_relu(bits, integer, "
                                    "negative_slope=2**-k)")
    if k < 1 or bits - k < 1:
        raise UnsupportedLayerError(f"{where(layer)}: negative_slope={slope} must be 2**-k with k from 1 to bits - 1 "
                                    f"= {bits - 1} (so the negative part has a level); use a larger slope or more bits")
    types = {"input": t,
             "negative": FixedType(bits - k, integer + 1 - k, signed=True, rounding="RND_CONV", overflow="SAT"),
             "output": FixedType(bits, integer + 1, signed=True, rounding="RND_CONV", overflow="SAT")}
    return Layer(layer.name, "leaky_relu", shape, out_shape, {"slope_shift": k}, types, {})


def _float_leaky(layer, shape, t: FixedType, out_shape) -> Layer:
    """A float LeakyReLU / ReLU(negative_slope=2**-k) on exact inputs: x * 2**-k is exact (k more fraction
    bits), so the output type widens by k and nothing rounds (a leaky_relu layer whose casts are exact)."""
    slope = float_slope(layer)
    k = -int(np.round(np.log2(slope))) if slope > 0 else 0
    if not 0 < slope < 1 or 2.0 ** -k != slope:
        raise UnsupportedLayerError(f"{where(layer)}: negative slope {slope} is not 2**-k (k >= 1), so x * slope has "
                                    "no exact fixed-point value; use a slope of 0.5, 0.25, ... or "
                                    "QActivation(quantized_relu(bits, integer, negative_slope=2**-k))")
    extra = 0 if t.signed else 1  # an unsigned input: a sign bit (its negative part never occurs)
    types = {"input": t, "negative": FixedType(t.width + extra, t.integer + extra - k, signed=True),
             "output": FixedType(t.width + extra + k, t.integer + extra, signed=True)}
    return Layer(layer.name, "leaky_relu", shape, out_shape, {"slope_shift": k}, types, {})


def _float32_exact(layer, t: FixedType, bits: int, what: str) -> None:
    if bits > FLOAT32_BITS:
        raise UnsupportedLayerError(f"{where(layer)}: its input {t.hls()} is wider than float32 holds exactly, so "
                                    f"QKeras' {what} rounds it first; quantize the previous layer's output "
                                    "(e.g. a narrower bias/kernel quantizer) or use quantized_relu")


def _step(layer, shape, t: FixedType, out_shape) -> Layer:
    """thresholds (input-type integers) and levels (exact output values) of binary / binary_tanh / ternary."""
    from qkeras.quantizers import binary, binary_tanh

    q = quantizer_of(layer)
    name = getattr(q, "__name__", None) or type(q).__name__
    alpha = getattr(q, "alpha", None)
    if isinstance(alpha, str) or getattr(q, "use_stochastic_rounding", False):
        raise UnsupportedLayerError(f"{where(layer)}: activation {name}(alpha={alpha!r}) scales by a value computed "
                                    "from each batch (or rounds stochastically): no fixed form; use alpha=None or "
                                    "a number")
    a = 1.0 if alpha is None else float(np.float32(alpha))
    if q is binary_tanh:
        _float32_exact(layer, t, t.frac + 2, "binary_tanh (x/2 + 1/2)")
        thresholds, levels = [1], [-1.0, 1.0]  # x > 0: one LSB
    elif isinstance(q, binary):
        _float32_exact(layer, t, t.width, "binary")
        thresholds, levels = [0], [0.0 if q.use_01 else -a, a]
    else:
        _float32_exact(layer, t, t.width, "ternary")
        thr = Fraction(float(np.float32(q.default_threshold if q.threshold is None else q.threshold)))
        if thr < 0:
            raise UnsupportedLayerError(f"{where(layer)}: ternary threshold {float(thr)} < 0; use a threshold >= 0")
        scaled = thr * 2 ** t.frac
        thresholds = [min(floor(-scaled), -1) + 1, max(ceil(scaled), 1)]  # x <= -thr, x >= thr (x != 0)
        levels = [-a, 0.0, a]
    lv, lv_frac = exact_integers(np.asarray(levels))
    if alpha is not None and q is not binary_tanh:  # QKeras returns x + (-x + level) in float32: exact if it spans
        span = max(t.integer, int(np.ceil(np.log2(a + 1)))) + 1 + max(t.frac, lv_frac)  # <= 24 bits
        _float32_exact(layer, t, span, f"{name} (x + (-x + alpha))")
    thr_int = np.asarray(thresholds, np.int64)
    types = {"input": t, "thresholds": signed_type_for(thr_int, t.frac)}
    if lv.min() >= 0:
        width = max(1, int(lv.max()).bit_length())
        types["levels"] = FixedType(width, width - lv_frac, signed=False)
    else:
        types["levels"] = signed_type_for(lv, lv_frac)
    types["output"] = types["levels"]
    return Layer(layer.name, "multithreshold", shape, out_shape, {"function": name}, types,
                 {"thresholds": thr_int, "levels": lv})
