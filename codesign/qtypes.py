"""Fixed-point types of QKeras tensors, shared by every extractor (codesign/extract.py and the
techniques' own: codesign/techniques/kron/extract.py, codesign/techniques/wings/extract.py).

What a quantizer outputs at inference, the tightest type of a set of integers, the exact range of a
linear map over an input type (hence accumulators that never overflow), and the type an activation
quantizer's outputs are. Its own module so the extractors share it without importing each other.
"""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedLayerError
from .fixed import FixedType, bits_for_range


def quantized_values(quantizer, values: np.ndarray) -> np.ndarray:
    """The quantizer's deterministic (inference) output for `values`."""
    import tensorflow as tf
    from tensorflow import keras

    with keras.backend.learning_phase_scope(0):
        return np.asarray(quantizer(tf.constant(values, dtype=tf.float32)), dtype=np.float64)


def signed_type_for(q: np.ndarray, frac: int) -> FixedType:
    lo, hi = int(min(q.min(initial=0), 0)), int(max(q.max(initial=0), 0))
    width = bits_for_range(lo, hi, signed=True)
    return FixedType(width, width - frac, signed=True)


def linear_range(cols: np.ndarray, lo_in, hi_in) -> tuple[np.ndarray, np.ndarray]:
    """Exact (lo, hi) of x @ cols over every x with lo_in <= x <= hi_in (per-input bounds allowed)."""
    lo_in = np.broadcast_to(np.asarray(lo_in, np.int64).reshape(-1, 1) if np.ndim(lo_in) else lo_in, cols.shape)
    hi_in = np.broadcast_to(np.asarray(hi_in, np.int64).reshape(-1, 1) if np.ndim(hi_in) else hi_in, cols.shape)
    pos, neg = np.clip(cols, 0, None), np.clip(cols, None, 0)
    hi = (pos * hi_in + neg * lo_in).sum(axis=0)
    lo = (pos * lo_in + neg * hi_in).sum(axis=0)
    return lo, hi


def type_for_range(lo, hi, frac: int) -> FixedType:
    width = bits_for_range(int(min(np.min(lo), 0)), int(max(np.max(hi), 0)), signed=True)
    return FixedType(width, width - frac, signed=True)


def accum_type(in_t: FixedType, w: np.ndarray, shifts, bias, prod_frac, bias_frac) -> tuple[FixedType, int]:
    """Exact accumulator for every input in in_t's range: (type, accum frac)."""
    acc_frac = max(prod_frac, bias_frac if bias is not None else prod_frac)
    cols = w.reshape(-1, w.shape[-1]).astype(np.int64)
    if shifts is not None:
        cols = cols << shifts
    cols = cols << (acc_frac - prod_frac)
    lo, hi = linear_range(cols, in_t.qmin, in_t.qmax)
    if bias is not None:
        b = bias.astype(np.int64) << (acc_frac - bias_frac)
        hi, lo = hi + b, lo + b
    return type_for_range(lo, hi, acc_frac), acc_frac


def act_name(act) -> str | None:
    """'linear' / 'relu' / 'softmax' for Keras' own activation functions (or their names), else None."""
    if act is None:
        return "linear"
    if isinstance(act, str):
        return act if act in ("linear", "relu", "softmax") else None
    name = getattr(act, "__name__", None)
    return name if name in ("linear", "relu", "softmax") and not hasattr(act, "bits") else None


def quantizer_of(layer):
    """The activation object a layer applies: a QActivation's parsed quantizer (also for the string
    form ``QActivation("quantized_relu(4,0)")``), a Keras Activation's function, or a fused activation."""
    from qkeras import QActivation

    if isinstance(layer, QActivation):
        return layer.quantizer
    return getattr(layer, "activation", None)


def where(layer) -> str:
    return f"layer {layer.name!r} ({type(layer).__name__})"


def quantizer_type(q, where: str) -> FixedType:
    """The fixed-point type a QKeras activation quantizer's outputs are (rounding/overflow included).

    quantized_relu(B, I): round(x * 2**(B-I)) half to even (tf.round), clipped to [0, 2**B - 1]
    -> ufixed<B, I, RND_CONV, SAT>; quantized_bits(B, I) (alpha 1): the same with a sign bit ->
    fixed<B, I+1, RND_CONV, SAT> (SAT_SYM when symmetric), or ufixed<B, I> with keep_negative=0.
    """
    from qkeras.quantizers import quantized_bits, quantized_relu

    if isinstance(q, quantized_relu):
        if q.use_sigmoid or q.use_stochastic_rounding:
            raise UnsupportedLayerError(f"{where}: {q} uses sigmoid or stochastic rounding, which has no exact "
                                        "fixed-point form; use quantized_relu(bits, integer)")
        if q.negative_slope:
            raise UnsupportedLayerError(f"{where}: {q} has negative_slope={q.negative_slope}, supported only as a "
                                        "QActivation after a layer; move it there or drop the slope")
        if not q.is_quantized_clip and q.relu_upper_bound is not None:
            raise UnsupportedLayerError(f"{where}: quantized_relu with relu_upper_bound={q.relu_upper_bound} and "
                                        "is_quantized_clip=False clips at a bound that is no fixed-point type; "
                                        "drop relu_upper_bound (is_quantized_clip=True clips at the type's maximum)")
        return FixedType(int(q.bits), int(q.integer), signed=False, rounding="RND_CONV", overflow="SAT")
    if isinstance(q, quantized_bits):
        if q.alpha not in (None, 1, 1.0) or q.use_stochastic_rounding or int(q.bits) - int(q.keep_negative) < 1:
            raise UnsupportedLayerError(f"{where}: activation {q} with alpha={q.alpha!r} or stochastic rounding "
                                        "has no exact fixed-point form; use quantized_bits(bits, integer, alpha=1)")
        bits, integer = int(q.bits), int(q.integer)
        if q.keep_negative:
            return FixedType(bits, integer + 1, signed=True, rounding="RND_CONV",
                             overflow="SAT_SYM" if q.symmetric else "SAT")
        return FixedType(bits, integer, signed=False, rounding="RND_CONV", overflow="SAT")
    shown = getattr(q, "__name__", None) or type(q).__name__
    raise UnsupportedLayerError(f"{where}: activation {shown!r} is not supported; use quantized_relu(bits, integer), "
                                "quantized_bits(bits, integer), 'relu' or 'linear'")


def activation_of(layer, act=None) -> tuple[str, FixedType | None]:
    """(spec activation, output type or None = the accumulator) of an activation layer or fused activation.

    A float 'relu' on an exact accumulator is exact, so its output type is the accumulator's."""
    act = quantizer_of(layer) if act is None else act
    name = act_name(act)
    if name in ("linear", "relu"):
        return name, None
    if name == "softmax":
        raise UnsupportedLayerError(f"{where(layer)}: softmax is supported only as the model's last layer "
                                    "(dropped from the spec, argmax unchanged)")
    from qkeras.quantizers import quantized_relu

    t = quantizer_type(act, where(layer))
    return ("relu" if isinstance(act, quantized_relu) else "linear"), t


def relu_type(layer) -> FixedType:
    """Output type of the activation layer fused after a weighted layer (kron/wings extraction)."""
    act, t = activation_of(layer)
    if act != "relu" or t is None:
        raise UnsupportedLayerError(f"{where(layer)}: only quantized_relu(bits, integer) may follow this layer")
    return t
