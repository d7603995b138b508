"""Extraction: a trained QKeras model becomes a design spec (integer parameters, every type).

Decisions made here, once, for every view:
- input: uint8 pixels p mean p/256, type ``ufixed<8,0>``;
- weights and biases: the quantizer's inference output (deterministic, as ``predict`` uses it) as
  exact integers in the tightest fixed type; ternary quantizers with a power-of-two scale per output
  (``alpha='auto_po2'``) keep weights in {-1, 0, +1} plus a ``weight_shift`` per output;
- product: input x weight at full width; accumulator: wide enough for the worst case over every input
  the input type allows (computed from the integer weights), so sums are exact and wrap never occurs;
- output of a dense/conv followed by ``quantized_relu(B, I)``: ``ufixed<B, I, RND_CONV, SAT>``, which is
  what QKeras computes (tf.round is round-half-to-even, then a clip); without a ReLU: the accumulator.
Anything else stops with `UnsupportedLayerError` naming the layer and its class.
"""
from __future__ import annotations

import numpy as np

from .errors import UnsupportedLayerError
from .fixed import FixedType, bits_for_range, exact_integers
from .spec import DesignSpec, Layer

INPUT_TYPE = FixedType(8, 0, signed=False)


def quantized_values(quantizer, values: np.ndarray) -> np.ndarray:
    """The quantizer's deterministic (inference) output for `values`."""
    import tensorflow as tf
    from tensorflow import keras

    with keras.backend.learning_phase_scope(0):
        return np.asarray(quantizer(tf.constant(values, dtype=tf.float32)), dtype=np.float64)


def _is_ternary(quantizer) -> bool:
    from qkeras.quantizers import stochastic_ternary, ternary

    return isinstance(quantizer, (ternary, stochastic_ternary))


def _ternary_weights(wq: np.ndarray, lname: str):
    """{-s_j, 0, +s_j} per output j, s_j a power of two -> (signs, shifts, weight frac)."""
    cols = wq.reshape(-1, wq.shape[-1])
    mags = np.abs(cols).max(axis=0)
    nonzero = mags[mags > 0]
    if nonzero.size == 0:
        return np.zeros(wq.shape, np.int64), np.zeros(wq.shape[-1], np.int64), 0
    exps = np.log2(nonzero)
    if not np.all(exps == np.round(exps)) or not np.all((np.abs(cols) == mags) | (cols == 0)):
        raise UnsupportedLayerError(f"layer {lname!r}: ternary weights are not {{-s, 0, +s}} with a power-of-two s "
                                    "per output; use alpha='auto_po2' or alpha=1")
    emin = int(exps.min())
    shifts = np.where(mags > 0, np.round(np.log2(np.where(mags > 0, mags, 2.0 ** emin))) - emin, 0).astype(np.int64)
    signs = np.sign(wq).astype(np.int64)
    return signs, shifts, -emin


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


def _accum_type(in_t: FixedType, w: np.ndarray, shifts, bias, prod_frac, bias_frac) -> tuple[FixedType, int]:
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


def relu_type(layer) -> FixedType:
    from qkeras.quantizers import quantized_relu

    q = layer.activation
    if isinstance(q, quantized_relu) and q.negative_slope == 0 and not q.use_sigmoid and not q.use_stochastic_rounding:
        bits, integer = int(q.bits), int(q.integer)
        return FixedType(bits, integer, signed=False, rounding="RND_CONV", overflow="SAT")
    raise UnsupportedLayerError(f"layer {layer.name!r} (QActivation {q!r}): only quantized_relu(bits, integer) "
                                "without negative slope, sigmoid or stochastic rounding is supported")


def _weighted_layer(layer, kind, in_shape, in_t, out_shape, relu_layer) -> Layer:
    kq, bq = layer.kernel_quantizer_internal, layer.bias_quantizer_internal
    if kq is None:
        raise UnsupportedLayerError(f"layer {layer.name!r} ({type(layer).__name__}) has no kernel quantizer; "
                                    "give it one (e.g. stochastic_ternary or quantized_bits)")
    wq = quantized_values(kq, layer.kernel.numpy())
    params, types = {}, {}
    shifts = None
    if _is_ternary(kq):
        w, shifts, w_frac = _ternary_weights(wq, layer.name)
        types["weight"] = FixedType(2, 2 - w_frac, signed=True)
        if shifts.max(initial=0) > 0:
            params["weight_shift"] = shifts
            types["weight_shift"] = FixedType(max(1, int(shifts.max()).bit_length()),
                                              max(1, int(shifts.max()).bit_length()), signed=False)
        else:
            shifts = None
    else:
        w, w_frac = exact_integers(wq)
        types["weight"] = signed_type_for(w, w_frac)
    params["weight"] = w
    bias, b_frac = None, 0
    if layer.use_bias:
        if bq is None:
            raise UnsupportedLayerError(f"layer {layer.name!r} ({type(layer).__name__}) has a bias without a "
                                        "bias quantizer; give it one (e.g. quantized_bits(8, 3))")
        bias, b_frac = exact_integers(quantized_values(bq, layer.bias.numpy()))
        params["bias"] = bias
        types["bias"] = signed_type_for(bias, b_frac)
    wt = types["weight"]
    types["input"] = in_t
    types["product"] = FixedType(in_t.width + wt.width, in_t.integer + wt.integer, signed=True)
    types["accum"], _ = _accum_type(in_t, w, shifts, bias, types["product"].frac, b_frac)
    types["output"] = relu_type(relu_layer) if relu_layer is not None else types["accum"]
    attrs = {"activation": "relu" if relu_layer is not None else "linear"}
    if kind == "conv2d":
        attrs.update(strides=list(layer.strides), padding=layer.padding)
    return Layer(layer.name, kind, tuple(in_shape), tuple(out_shape), attrs, types, params)


def _weighted_spec_layer(layer, shape, t: FixedType, out_shape, relu) -> Layer:
    """The spec layer of a weighted Keras layer (with the QActivation fused after it, if any)."""
    from qkeras import QDense

    from .kron.layer import KronDense

    if isinstance(layer, KronDense):
        from .kron.extract import kron_layer_spec

        return kron_layer_spec(layer, shape, t, out_shape, relu)
    if type(layer).__name__ == "WingsDense":
        from .wings.extract import wings_layer_spec

        return wings_layer_spec(layer, shape, t, out_shape, relu)
    kind = "dense" if isinstance(layer, QDense) else "conv2d"
    if kind == "dense" and len(shape) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r} (QDense) takes a {len(shape)}-D input; "
                                    "put a Flatten before it")
    if layer.get_config().get("activation") not in ("linear", None):
        raise UnsupportedLayerError(f"layer {layer.name!r} ({type(layer).__name__}) has a fused activation "
                                    f"{layer.get_config().get('activation')!r}; use a QActivation layer")
    if kind == "conv2d" and (tuple(layer.dilation_rate) != (1, 1) or layer.data_format != "channels_last"):
        raise UnsupportedLayerError(f"layer {layer.name!r} (QConv2D): only dilation 1, channels_last")
    return _weighted_layer(layer, kind, shape, t, out_shape, relu)


def extract_spec(model, name: str | None = None) -> DesignSpec:
    """The design spec of a trained QKeras model (Sequential-style chain)."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    from .kron.layer import KronDense

    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    input_shape = tuple(model.input_shape[1:])
    shape, t = input_shape, INPUT_TYPE
    out: list[Layer] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        out_shape = tuple(layer.output_shape[1:])
        if isinstance(layer, keras.layers.Reshape) and not out:
            input_shape = shape = out_shape  # channel axis added in front of the first conv
        elif isinstance(layer, (QDense, QConv2D, KronDense)) or type(layer).__name__ == "WingsDense":
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            relu = nxt if isinstance(nxt, QActivation) else None
            if relu is not None:  # fused: the spec layer ends with the activation's output
                out_shape = tuple(relu.output_shape[1:])
                i += 1
            out.append(_weighted_spec_layer(layer, shape, t, out_shape, relu))
        elif isinstance(layer, keras.layers.Flatten):
            out.append(Layer(layer.name, "flatten", shape, out_shape, {}, {"input": t, "output": t}))
        elif isinstance(layer, keras.layers.MaxPooling2D) and layer.padding == "valid":
            out.append(Layer(layer.name, "maxpool2d", shape, out_shape,
                             {"pool_size": list(layer.pool_size), "strides": list(layer.strides)},
                             {"input": t, "output": t}))
        else:
            raise UnsupportedLayerError(
                f"layer {layer.name!r} of class {type(layer).__name__} is not supported by the design spec; "
                "supported: QDense, QConv2D, KronDense, QActivation(quantized_relu) after them, Flatten, "
                "MaxPooling2D(valid)")
        if out:
            shape, t = out[-1].output_shape, out[-1].out_type
        i += 1
    spec = DesignSpec(name or model.name, input_shape, INPUT_TYPE, out, {"source": "qkeras"})
    spec.validate()
    return spec
