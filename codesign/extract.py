"""Extraction: a trained QKeras model becomes a design spec (integer parameters, every type).

Decisions made here, once, for every view:
- input: uint8 pixels p mean p/256, type ``ufixed<8,0>``;
- weights and biases: the quantizer's inference output (deterministic, as ``predict`` uses it) as
  exact integers in the tightest fixed type; ternary quantizers with a power-of-two scale per output
  (``alpha='auto_po2'``) keep weights in {-1, 0, +1} plus a ``weight_shift`` per output;
- product: input x weight at full width; accumulator: wide enough for the worst case over every input
  the input type allows (computed from the integer weights), so sums are exact and wrap never occurs;
- output of a dense/conv followed by ``quantized_relu(B, I)``: ``ufixed<B, I, RND_CONV, SAT>``, which is
  what QKeras computes (tf.round is round-half-to-even, then a clip); without a ReLU: the accumulator;
- Add / Subtract / Concatenate: a merge layer naming its inputs (the spec becomes a graph, codesign/extract_graph.py
  walks it chain by chain), operands aligned exactly (codesign/kinds/merge.py).
Anything else stops with `UnsupportedLayerError` naming the layer and its class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UnsupportedLayerError
from .extract_act import elementwise_function, elementwise_layer, float_slope
from .extract_conv import DEPTHWISE_CLASSES, depthwise_layers
from .extract_scale import batchnorm_scale_bias, is_per_channel_alpha, per_channel_layers, scale_layer
from .fixed import FixedType, FixedTypeError, exact_integers
from .qtypes import (
    accum_type,
    act_name,
    activation_of,
    quantized_values,
    quantizer_of,
    quantizer_type,
    signed_type_for,
    where,
)
from .spec import GRAPH_INPUT, DesignSpec, Layer
from .extract_graph import MERGE_CLASSES, keras_graph

INPUT_TYPE = FixedType(8, 0, signed=False)


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
        raise UnsupportedLayerError(f"{lname}: ternary weights are not {{-s, 0, +s}} with a power-of-two s per "
                                    "output (alpha='auto' gives a float scale); use alpha='auto_po2' or alpha=1")
    emin = int(exps.min())
    shifts = np.where(mags > 0, np.round(np.log2(np.where(mags > 0, mags, 2.0 ** emin))) - emin, 0).astype(np.int64)
    signs = np.sign(wq).astype(np.int64)
    return signs, shifts, -emin


def _weights_and_bias(layer):
    """(kernel, bias or None) as the layer's quantizers output them at inference.

    QConv2DBatchnorm / QDenseBatchnorm fold the batch norm first, exactly as their ``call`` does at
    inference (``get_folded_weights``: inv = gamma * rsqrt(moving_variance + eps), kernel * inv,
    inv * (bias - moving_mean) + beta, in float32), and then quantize the folded values, so the
    integers are the quantizers' outputs of the folded weights."""
    kq, bq = layer.kernel_quantizer_internal, layer.bias_quantizer_internal
    folded = _is_batchnorm_folded(layer)
    kernel, bias = _float_kernel_bias(layer)
    if kq is None:
        raise UnsupportedLayerError(f"{where(layer)} has no kernel quantizer; give it one "
                                    "(e.g. kernel_quantizer=quantized_bits(8, 0, alpha=1))")
    if bias is not None and bq is None:
        raise UnsupportedLayerError(f"{where(layer)} has a {'folded batch-norm ' if folded else ''}bias without a "
                                    "bias quantizer; give it one (e.g. bias_quantizer=quantized_bits(8, 3, alpha=1))")
    _check_alpha(kq, layer, "kernel")
    if bias is not None:
        _check_alpha(bq, layer, "bias")
    wq = quantized_values(kq, kernel)
    bqv = quantized_values(bq, bias) if bias is not None else None
    return kq, wq, bqv


def _float_kernel_bias(layer):
    """The float kernel and bias (None without one) the quantizers take: folded first for QConv2DBatchnorm."""
    if _is_batchnorm_folded(layer):
        return tuple(np.asarray(v) for v in layer.get_folded_weights())
    return layer.kernel.numpy(), (layer.bias.numpy() if layer.use_bias else None)


def _per_channel_spec_layers(layer, shape, t, out_shape, fused) -> tuple[Layer, Layer]:
    """An alpha='auto' kernel: the integer dense/conv2d and the scale layer of its channel scales and bias."""
    kernel, bias = _float_kernel_bias(layer)
    bq = layer.bias_quantizer_internal
    if bias is not None and bq is None:
        raise UnsupportedLayerError(f"{where(layer)} has a bias without a bias quantizer; give it one "
                                    "(e.g. bias_quantizer=quantized_bits(8, 3, alpha=1))")
    if bias is not None:
        _check_alpha(bq, layer, "bias")
    kind, spec_attrs = WEIGHTED_KINDS[type(layer).__name__]
    return per_channel_layers(layer, kind, shape, t, out_shape, spec_attrs(layer, shape), kernel,
                              quantized_values(bq, bias) if bias is not None else None, fused)


BATCHNORM_CLASSES = ("BatchNormalization", "QBatchNormalization")


def _is_batchnorm_folded(layer) -> bool:
    return type(layer).__name__ in ("QConv2DBatchnorm", "QDenseBatchnorm")


def _check_alpha(q, layer, what: str) -> None:
    """A quantized_bits with alpha='auto' has a float scale per output: no exact fixed-point form."""
    alpha = getattr(q, "alpha", None)
    if isinstance(alpha, str) and not _is_ternary(q) and alpha != "auto_po2":
        raise UnsupportedLayerError(f"{where(layer)}: {what} quantizer {type(q).__name__}(alpha={alpha!r}) has a "
                                    "float scale per output, no exact fixed-point form; use alpha=1 or 'auto_po2'")


def _weighted_layer(layer, kind, in_shape, in_t, out_shape, act: str, out_t: FixedType | None,
                    attrs: dict | None = None) -> Layer:
    kq, wq, bqv = _weights_and_bias(layer)
    conv1d = type(layer).__name__ in QCONV1D_CLASSES
    if conv1d:  # a (k, cin, cout) kernel slides over (n, 1, c) as a (k, 1) conv2d: the same sums, same order
        wq = wq.reshape(wq.shape[0], 1, *wq.shape[1:])
    params, types = {}, {}
    shifts = None
    if _is_ternary(kq):
        w, shifts, w_frac = _ternary_weights(wq, where(layer))
        types["weight"] = FixedType(2, 2 - w_frac, signed=True)
        if shifts.max(initial=0) > 0:
            params["weight_shift"] = shifts
            types["weight_shift"] = FixedType(max(1, int(shifts.max()).bit_length()),
                                              max(1, int(shifts.max()).bit_length()), signed=False)
        else:
            shifts = None
    else:
        w, w_frac = _exact(wq, layer, "kernel")
        types["weight"] = signed_type_for(w, w_frac)
    params["weight"] = w
    bias, b_frac = None, 0
    if bqv is not None:
        bias, b_frac = _exact(bqv, layer, "bias")
        params["bias"] = bias
        types["bias"] = signed_type_for(bias, b_frac)
    wt = types["weight"]
    types["input"] = in_t
    types["product"] = FixedType(in_t.width + wt.width, in_t.integer + wt.integer, signed=True)
    types["accum"], _ = accum_type(in_t, w, shifts, bias, types["product"].frac, b_frac)
    types["output"] = out_t if out_t is not None else types["accum"]
    attrs = {"activation": act, **(attrs or {})}
    return Layer(layer.name, kind, tuple(in_shape), tuple(out_shape), attrs, types, params)


def _exact(values, layer, what):
    from .fixed import FixedTypeError

    try:
        return exact_integers(values)
    except FixedTypeError as e:
        raise UnsupportedLayerError(f"{where(layer)}: {what} {e}") from None


QDENSE_CLASSES = ("QDense", "QDenseBatchnorm")
QCONV2D_CLASSES = ("QConv2D", "QConv2DBatchnorm")
QCONV1D_CLASSES = ("QConv1D",)


def _weighted_spec_layer(layer, shape, t: FixedType, out_shape, act_layer, fused: tuple) -> Layer:
    """The spec layer of a weighted Keras layer, with its activation (fused, or the next layer's)."""
    from .techniques.kron.layer import KronDense

    if isinstance(layer, KronDense):
        from .techniques.kron.extract import kron_layer_spec

        return kron_layer_spec(layer, shape, t, out_shape, act_layer)
    if type(layer).__name__ == "WingsDense":
        from .techniques.wings.extract import wings_layer_spec

        return wings_layer_spec(layer, shape, t, out_shape, act_layer)
    kind, spec_attrs = WEIGHTED_KINDS[type(layer).__name__]
    attrs = spec_attrs(layer, shape)
    act, out_t = fused
    return _weighted_layer(layer, kind, shape, t, out_shape, act, out_t, attrs)


def _dense_attrs(layer, shape) -> dict:
    if len(shape) != 1:
        raise UnsupportedLayerError(f"{where(layer)} takes a {len(shape)}-D input; put a Flatten before it")
    return {}


def _conv_attrs(layer, shape) -> dict:
    """strides and padding of a conv2d (a QConv1D: a (k, 1) conv2d over (n, 1, c))."""
    if set(layer.dilation_rate) != {1} or layer.data_format != "channels_last":
        raise UnsupportedLayerError(f"{where(layer)}: dilation {tuple(layer.dilation_rate)}, data_format "
                                    f"{layer.data_format!r} not supported; use dilation 1, channels_last")
    conv1d = type(layer).__name__ in QCONV1D_CLASSES
    return {"strides": [int(layer.strides[0]), 1] if conv1d else list(layer.strides), "padding": layer.padding}


# QKeras class -> (spec kind, its attrs from the Keras layer and input shape, checking what the kind supports)
WEIGHTED_KINDS = {**{c: ("dense", _dense_attrs) for c in QDENSE_CLASSES},
                  **{c: ("conv2d", _conv_attrs) for c in QCONV2D_CLASSES + QCONV1D_CLASSES}}


POOL1D_CLASSES = ("MaxPooling1D", "AveragePooling1D")  # slide over (n, 1, c) as (k, 1) pools
def _qpool_scale(layer, pool: Layer) -> Layer | None:
    """QAveragePooling2D / QGlobalAveragePooling2D: mean * area * average_quantizer(1/area), then the layer's
    activation (QKeras' call). The mean is exact (an avgpool2d) and so is the factor area * q(1/area), a scale
    layer with the activation fused; None when the factor is 1 and there is no activation (a plain average)."""
    if not type(layer).__name__.startswith("Q"):
        return None
    area = int(np.prod(pool.attrs["pool_size"]))
    aq = layer.average_quantizer_internal
    factor = float(area * quantized_values(aq, np.float32(1.0 / area))) if aq is not None else 1.0
    fused = activation_of(layer, layer.activation) if layer.activation is not None else ("linear", None)
    if factor == 1.0 and fused == ("linear", None):
        return None
    c = int(pool.output_shape[-1])
    return scale_layer(layer, layer.name, pool.output_shape, pool.out_type, pool.output_shape,
                       np.full(c, factor), None, fused)


GLOBAL_POOL_CLASSES = ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
POOL_CLASSES = POOL1D_CLASSES + ("MaxPooling2D", "AveragePooling2D", "QAveragePooling2D", "QGlobalAveragePooling2D") + \
    GLOBAL_POOL_CLASSES


def _pool_layer(layer, shape: tuple, t: FixedType, out_shape: tuple) -> Layer:
    """A maxpool2d / avgpool2d spec layer (1-D pools as (k, 1) pools; a global pool as one window over the
    image, output (C,)). An average whose divisor is not a power of two has no exact
    fixed-point value, so it is refused."""
    name = type(layer).__name__
    glob = "Global" in name
    keepdims = glob and getattr(layer, "keepdims", False)
    if getattr(layer, "data_format", "channels_last") != "channels_last" or keepdims:
        raise UnsupportedLayerError(f"{where(layer)}: data_format {layer.data_format!r} / keepdims not supported; "
                                    "use channels_last, keepdims=False")
    if glob:
        pool = strides = [int(shape[0]), int(shape[1])]
        padding = "valid"
    elif name in POOL1D_CLASSES:
        pool, strides, padding = [int(layer.pool_size[0]), 1], [int(layer.strides[0]), 1], layer.padding
    else:
        pool, strides, padding = [int(v) for v in layer.pool_size], [int(v) for v in layer.strides], layer.padding
    attrs = {"pool_size": pool, "strides": strides, "padding": padding}
    if "Max" in name:
        return Layer(layer.name, "maxpool2d", shape, out_shape, attrs, {"input": t, "output": t})
    from .emulator import pool_counts

    counts = pool_counts(Layer(layer.name, "avgpool2d", shape, out_shape, attrs, {}))
    bad = [int(c) for c in sorted(set(counts.ravel().tolist())) if c & (c - 1)]
    area = pool[0] * pool[1]
    if area & (area - 1) or bad:
        raise UnsupportedLayerError(f"{where(layer)}: a mean over {bad[0] if bad else area} cells (not a power of two) "
                                    "has no exact fixed-point value; use a pool whose windows cover 1, 2, 4, ... "
                                    "image cells (e.g. 2x2, 'valid'), or MaxPooling")
    k = area.bit_length() - 1
    types = {"input": t, "accum": FixedType(t.width + 2 * k, t.integer + k, signed=t.signed),
             "output": FixedType(t.width + k, t.integer, signed=t.signed)}
    return Layer(layer.name, "avgpool2d", shape, out_shape, attrs, types)


def _is_weighted(layer) -> bool:
    from .techniques.kron.layer import KronDense

    name = type(layer).__name__
    return isinstance(layer, KronDense) or name in QDENSE_CLASSES + QCONV2D_CLASSES + QCONV1D_CLASSES + \
        DEPTHWISE_CLASSES + ("WingsDense",)


def _is_activation_layer(layer) -> bool:
    from qkeras import QActivation
    from tensorflow import keras

    return isinstance(layer, (QActivation, keras.layers.Activation, keras.layers.ReLU, keras.layers.Softmax))


def _plain_activation(layer):
    """The activation function of a Keras Activation / ReLU / Softmax layer (ReLU only in its plain form)."""
    from tensorflow import keras

    if isinstance(layer, keras.layers.ReLU):
        c = layer.get_config()
        if c.get("max_value") is not None or float(c.get("negative_slope", 0)) or float(c.get("threshold", 0)):
            raise UnsupportedLayerError(f"{where(layer)}: max_value/threshold (or a negative_slope other than 2**-k) are "
                                        "not supported; use ReLU() or a QActivation('quantized_relu(bits, integer)')")
        return "relu"
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    return quantizer_of(layer)


SUPPORTED = ("QDense, QConv2D, QConv1D, QDenseBatchnorm, QConv2DBatchnorm, QDepthwiseConv2D, QSeparableConv2D, KronDense, "
             "WingsDense (with a fused or following QActivation/Activation/ReLU), (Q)BatchNormalization, Flatten, "
             "MaxPooling1D/2D, AveragePooling1D/2D, GlobalAverage/MaxPooling1D/2D, binary/ternary/leaky QActivations, "
             "UpSampling1D/2D (nearest), Add, Subtract, Concatenate, Dropout, Reshape or QActivation on the input, a final softmax")


@dataclass
class Extraction:
    """A spec and, per spec layer, the Keras layer whose output it equals (for the check against Keras);
    ``post`` names a function Keras applies after it that the spec leaves out (a dropped softmax)."""

    spec: DesignSpec
    sources: dict
    post: dict


def extract(model, name: str | None = None, input_type: FixedType | None = None) -> Extraction:
    """The design spec of a trained QKeras model (a chain, or a graph with Add / Subtract / Concatenate) and its Keras sources.

    The input type is, in order: a QActivation on the input (the model quantizes its own input), the
    `input_type` declared by the caller, or ``ufixed<8,0>`` (uint8 pixels p mean p/256)."""
    from qkeras import QActivation
    from tensorflow import keras

    g = keras_graph(model)  # a chain, or a graph with Add / Subtract / Concatenate walked chain by chain
    layers = g.order
    tensor = {GRAPH_INPUT: GRAPH_INPUT}  # Keras layer name -> the spec layer holding its output
    input_shape = tuple(model.input_shape[1:])
    declared = None
    notes = []
    i = 0
    while i < len(layers):  # the input's own layers: a channel-adding Reshape, an input quantizer
        layer = layers[i]
        if [tensor.get(n) for n in g.inbound[layer.name]] != [GRAPH_INPUT]:
            break
        tensor[layer.name] = GRAPH_INPUT
        if isinstance(layer, keras.layers.Reshape):
            input_shape = tuple(layer.output_shape[1:])
        elif isinstance(layer, QActivation) and declared is None:
            declared = quantizer_type(layer.quantizer, where(layer) + " on the input")
        else:
            del tensor[layer.name]
            break
        i += 1
    if i:  # the input's own layers were taken: a later layer must read their output, not the raw input
        for later in layers[i:]:
            if GRAPH_INPUT in g.inbound[later.name]:
                raise UnsupportedLayerError(
                    f"{where(later)} reads the model input before its {type(layers[i - 1]).__name__} "
                    f"{layers[i - 1].name!r}; read {layers[i - 1].name!r} instead (the design takes its input once, "
                    "as that layer makes it)")
    if declared is not None and input_type is not None and not declared.same_values(input_type):
        raise UnsupportedLayerError(f"the model quantizes its input to {declared.hls()} but the input type "
                                    f"{input_type.hls()} was declared; drop the declaration or make them equal")
    in_type = declared or input_type or INPUT_TYPE
    shape, t = input_shape, in_type
    out: list[Layer] = []
    sources, post = {}, {}
    made = {}  # spec layer name -> Layer
    while i < len(layers):
        layer = layers[i]
        last = i == len(layers) - 1
        out_shape = tuple(layer.output_shape[1:])
        first, start = len(out), i
        src = tensor[g.inbound[layer.name][0]]  # the spec layer this Keras layer reads (a merge: the first)
        shape, t = (input_shape, in_type) if src == GRAPH_INPUT else (made[src].output_shape, made[src].out_type)
        if g.is_graph and type(layer).__name__ in ("NeuronLock", "InputPermute"):
            raise UnsupportedLayerError(f"{where(layer)}: a lock in a model with Add/Concatenate is not supported; "
                                        "locks take a chain of layers")
        if type(layer).__name__ in QCONV1D_CLASSES + POOL1D_CLASSES + ("GlobalAveragePooling1D", "GlobalMaxPooling1D",
                                                                       "UpSampling1D"):
            out_shape = _image(out_shape)
            if not out:
                input_shape = shape = _image(shape)
        if _is_weighted(layer):
            nxt = g.follower(i)  # the next layer, if it reads this one alone (and only it reads it)
            builtin = _is_builtin(layer)
            fused, source, act_layer = ("linear", None), layer.name, None
            if builtin:
                fn = getattr(layer, "activation", None)
                if act_name(fn) == "softmax" and last:
                    notes.append(f"the softmax of the last layer {layer.name!r} is not in the spec: its output "
                                 "is the logits (argmax unchanged)")
                    post[layer.name] = "softmax"
                elif elementwise_function(layer):
                    raise UnsupportedLayerError(f"{where(layer)}: activation {fn} fused into the layer is not supported; "
                                                "move it into a QActivation right after the layer")
                else:
                    fused = activation_of(layer, fn)
            if (nxt is not None and _is_activation_layer(nxt) and not elementwise_function(nxt)
                    and act_name(_plain_activation(nxt)) != "softmax"):  # binary/ternary/leaky: a layer of its own
                if not builtin and not isinstance(nxt, QActivation):
                    raise UnsupportedLayerError(f"{where(nxt)} after {where(layer)}: only a "
                                                "QActivation('quantized_relu(bits, integer)') may follow it")
                after = activation_of(nxt, _plain_activation(nxt)) if builtin else None
                if fused == ("relu", None) and after is not None:  # relu then a quantizer: relu, cast to its type
                    after = ("relu", after[1])
                elif fused != ("linear", None) or post.get(layer.name):
                    raise UnsupportedLayerError(f"{where(nxt)} follows {where(layer)}, which has an activation "
                                                "already; remove one of the two")
                act_layer, source = nxt, nxt.name
                if builtin:
                    fused, act_layer = after, None
                out_shape = tuple(nxt.output_shape[1:])
                if type(layer).__name__ in QCONV1D_CLASSES:
                    out_shape = _image(out_shape)
                i += 1
            if type(layer).__name__ in DEPTHWISE_CLASSES:
                parts = depthwise_layers(layer, shape, t, out_shape, fused)
                for part, has_source in parts[:-1]:
                    out.append(part)
                    sources[part.name] = layer.name if has_source else None
                layer_out = parts[-1][0]
            elif builtin and is_per_channel_alpha(layer):
                dense, sc = _per_channel_spec_layers(layer, shape, t, out_shape, fused)
                out.append(dense)
                sources[dense.name] = None  # no Keras counterpart: checked through the scale layer
                layer_out = sc
            else:
                try:
                    layer_out = _weighted_spec_layer(layer, shape, t, out_shape, act_layer, fused)
                except FixedTypeError as e:
                    raise UnsupportedLayerError(f"{where(layer)}: its input {t.hls()} is too wide for exact integer "
                                                f"sums ({e}); quantize the previous layer's output (a QActivation "
                                                "after it)") from None
            out.append(layer_out)
            sources[layer_out.name] = source
        elif type(layer).__name__ in MERGE_CLASSES:  # Add / Subtract / Concatenate (+ the activation after it)
            srcs = [tensor[s] for s in g.inbound[layer.name]]
            merged, source, i = _merge_layer(layer, srcs, [made.get(s) for s in srcs], (input_shape, in_type),
                                             g.follower(i), i)
            out.append(merged)
            sources[merged.name] = source
        elif type(layer).__name__ in BATCHNORM_CLASSES:  # standalone: a scale layer (+ the activation after it)
            nxt = g.follower(i)
            fused, source = ("linear", None), layer.name
            if (nxt is not None and _is_activation_layer(nxt) and not elementwise_function(nxt)
                    and act_name(_plain_activation(nxt)) != "softmax"):
                fused, source = activation_of(nxt, _plain_activation(nxt)), nxt.name
                i += 1
            out.append(scale_layer(layer, layer.name, shape, t, out_shape, *batchnorm_scale_bias(layer), fused))
            sources[layer.name] = source
        elif type(layer).__name__ == "NeuronLock" and out:  # codesign/techniques/lock: a lock unit in the epilogue
            out[-1].attrs["lock"] = {"units": int(layer.units)}  # only its size: the key is a run-time input
        elif type(layer).__name__ == "InputPermute" and out:  # an input-permutation lock on the flatten's output
            out[-1].attrs["lock"] = {"units": int(layer.units), "scheme": "input_perm"}
        elif type(layer).__name__ in ("UpSampling2D", "UpSampling1D"):
            out.append(_upsample_layer(layer, shape, t, out_shape))
            sources[layer.name] = layer.name
        elif isinstance(layer, keras.layers.Flatten):
            out.append(Layer(layer.name, "flatten", shape, out_shape, {}, {"input": t, "output": t}))
            sources[layer.name] = layer.name
        elif type(layer).__name__ in POOL_CLASSES:
            pool = _pool_layer(layer, shape, t, out_shape)
            out.append(pool)
            sources[layer.name] = layer.name
            scale = _qpool_scale(layer, pool)
            if scale is not None:  # QKeras' average quantizer / activation: a scale layer after the mean
                pool.name, sources[f"{layer.name}_mean"] = f"{layer.name}_mean", None
                out.append(scale)
        elif (last and _is_activation_layer(layer) and not elementwise_function(layer)
              and act_name(_plain_activation(layer)) == "softmax"):
            notes.append(f"the final softmax {layer.name!r} is not in the spec: the spec outputs the logits "
                         "(argmax unchanged)")
        elif (_is_activation_layer(layer) or float_slope(layer) is not None) and elementwise_function(layer) and out:
            out.append(elementwise_layer(layer, shape, t, out_shape))
            sources[layer.name] = layer.name
        elif _is_activation_layer(layer):
            before = g.inbound[layer.name][0]
            readers = [n for n in g.consumers.get(before, []) if n != layer.name]
            if readers and tensor.get(before) != GRAPH_INPUT:  # a graph: the un-activated output is read elsewhere
                raise UnsupportedLayerError(f"{where(layer)}: an activation is fused into the layer before it, but "
                                            f"{before!r} is also read by {readers[0]!r} before the activation; "
                                            "branch after the activation (or quantize the other reader's input)")
            raise UnsupportedLayerError(f"{where(layer)}: an activation is supported right after a QDense/QConv2D "
                                        "(or on the model input); move it there or fuse it into the layer")
        else:
            raise UnsupportedLayerError(f"{where(layer)} is not supported by the design spec{_hint(layer)}")
        if len(out) > first:  # the first spec layer of this Keras layer names what it reads, unless the previous
            default = out[first - 1].name if first else GRAPH_INPUT
            if out[first].inputs is None and src != default:
                out[first].inputs = [src]
            made.update((l.name, l) for l in out[first:])
        for k in layers[start:i + 1]:  # this Keras layer (and an activation fused into it) -> the spec's last
            tensor[k.name] = out[-1].name if len(out) > first else src
        i += 1
    if not out:
        raise UnsupportedLayerError(f"model {model.name!r} has no layer the design spec can hold; supported: {SUPPORTED}")
    meta = {"source": "qkeras"}
    if notes:
        meta["notes"] = notes
    spec = DesignSpec(name or model.name, input_shape, in_type, out, meta)
    spec.validate()
    return Extraction(spec, sources, post)


UNSUPPORTED_HINTS = {
    "DepthwiseConv2D": "a float DepthwiseConv2D has no exact fixed-point form; use QDepthwiseConv2D with quantizers",
    "SeparableConv2D": "a float SeparableConv2D has no exact fixed-point form; use QSeparableConv2D with quantizers",
    "Dense": "a float Dense has no exact fixed-point form; use QDense with kernel/bias quantizers",
    "Conv2D": "a float Conv2D has no exact fixed-point form; use QConv2D with kernel/bias quantizers",
}


def _hint(layer) -> str:
    hint = UNSUPPORTED_HINTS.get(type(layer).__name__)
    return f": {hint}" if hint else f"; supported: {SUPPORTED}"


def _is_builtin(layer) -> bool:
    return type(layer).__name__ in QDENSE_CLASSES + QCONV2D_CLASSES + QCONV1D_CLASSES + DEPTHWISE_CLASSES


def _image(shape: tuple) -> tuple:
    """A 1-D sequence (n, c) as the (n, 1, c) image the conv2d / maxpool2d kinds slide over (same memory order)."""
    return (shape[0], 1, shape[1]) if len(shape) == 2 else tuple(shape)


def _upsample_layer(layer, shape: tuple, t: FixedType, out_shape: tuple) -> Layer:
    """Nearest-neighbour upsampling: every value repeated, exact (an UpSampling1D as a (size, 1) one)."""
    interpolation = getattr(layer, "interpolation", "nearest")
    if interpolation != "nearest":
        raise UnsupportedLayerError(f"{where(layer)}: interpolation {interpolation!r} is not exact in fixed point; "
                                    "use interpolation='nearest'")
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise UnsupportedLayerError(f"{where(layer)}: data_format 'channels_first' is not supported; "
                                    "use channels_last (the spec holds images as NHWC)")
    size = [int(layer.size), 1] if type(layer).__name__ == "UpSampling1D" else [int(v) for v in layer.size]
    return Layer(layer.name, "upsample2d", shape, out_shape, {"size": size}, {"input": t, "output": t})


def _merge_layer(layer, srcs: list, producers: list, model_input: tuple, nxt, i: int):
    """The spec layer of an Add / Subtract / Concatenate reading spec layers `srcs` (None in `producers`: the model
    input), with the activation `nxt` fused when it is one; returns (layer, its Keras source, index of the
    last Keras layer used). Operand types are the producers' outputs, the accumulator their exact merge
    (codesign/kinds/merge.py), the output the activation's type or the accumulator."""
    from .kinds.merge import accum_type, add_shape, concatenate_shape, subtract_shape

    kind = MERGE_CLASSES[type(layer).__name__]
    shapes = [tuple(p.output_shape) if p else tuple(model_input[0]) for p in producers]
    types = [p.out_type if p else model_input[1] for p in producers]
    attrs = {}
    if kind == "concatenate":
        ndim = len(layer.output_shape) - 1
        axis = int(layer.axis) - 1 if int(layer.axis) >= 0 else ndim + int(layer.axis)
        if len(shapes[0]) != ndim and axis != ndim - 1:  # a 1-D sequence held as an (n, 1, c) image
            raise UnsupportedLayerError(f"{where(layer)}: concatenating 1-D sequences along axis {layer.axis} is not "
                                        "supported; concatenate along the channels (axis=-1)")
        attrs["axis"] = len(shapes[0]) - ndim + axis
    fused, source = ("linear", None), layer.name
    if (nxt is not None and _is_activation_layer(nxt) and not elementwise_function(nxt)
            and act_name(_plain_activation(nxt)) != "softmax"):
        fused, source = activation_of(nxt, _plain_activation(nxt)), nxt.name
        i += 1
    acc = accum_type(kind, types)
    attrs["activation"] = fused[0]
    typed = {"input": types[0], **{f"input_{k}": tk for k, tk in enumerate(types[1:], start=1)},
             "accum": acc, "output": fused[1] or acc}
    spec_layer = Layer(layer.name, kind, shapes[0], (), attrs, typed, {}, inputs=list(srcs))
    try:
        spec_layer.output_shape = {"add": add_shape, "subtract": subtract_shape,
                                   "concatenate": concatenate_shape}[kind](spec_layer, shapes)
    except ValueError as e:
        raise UnsupportedLayerError(f"{where(layer)}: {e}") from None
    return spec_layer, source, i


def extract_spec(model, name: str | None = None, input_type: FixedType | None = None) -> DesignSpec:
    """The design spec of a trained QKeras model (see `extract`)."""
    return extract(model, name, input_type).spec
