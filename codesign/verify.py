"""The spec checked against the model it came from, layer by layer, before any view is built.

Every view is derived from the spec, so a wrong extraction (a dropped bias, an unfolded batch norm)
would be confirmed by all of them. Here the Keras model and the emulator run on the same inputs and
each spec layer's outputs are compared with the Keras layer whose output it equals (a spec layer
fuses e.g. QDense + QActivation: it is compared with the QActivation's output). The first layer that
differs stops the run with an error naming it.

Equality is exact (every element) when Keras computes the layer exactly: its values are integers of
the spec's types, and float32 (24-bit significand) holds every partial sum, which the spec's
accumulator width bounds. A layer whose accumulator is wider than 24 bits is computed by Keras in
rounded float32, and then the stated tolerance is one output LSB plus 2**-20 of the accumulator's
range. A softmax the spec leaves out is applied to the spec's output and compared within 1e-5.
"""
from __future__ import annotations

import numpy as np

from .errors import CodesignError
from .fixed import to_real
from .spec import DesignSpec, Layer

FLOAT32_EXACT_BITS = 24
CHECK_SAMPLES = 1000  # the check runs on at most this many inputs (the run's test split, or drawn ones)


class ExtractionMismatchError(CodesignError):
    """The design spec does not compute what the Keras model it came from computes."""


def _widest(layer: Layer) -> int:
    keys = [k for k in ("accum", "output", "mid", "curve_acc", "weight_acc") if k in layer.types]
    return max(layer.types[k].width for k in keys)


def tolerance(layer: Layer) -> float:
    """0 where Keras' float32 computes the layer exactly, else the stated float32 bound (module doc)."""
    if _widest(layer) <= FLOAT32_EXACT_BITS:
        return 0.0
    acc = layer.types.get("accum", layer.out_type)
    return layer.out_type.scale + 2.0 ** (acc.integer - 20)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def draw_inputs(spec: DesignSpec, n: int = 500, seed: int = 0) -> np.ndarray:
    """Input-type integers drawn uniformly over the input type's whole range (plus its two extremes)."""
    t = spec.input_type
    lo = -t.qmax if t.overflow == "SAT_SYM" and t.signed else t.qmin  # a symmetric quantizer never gives qmin
    rng = np.random.default_rng(seed)
    x = rng.integers(lo, t.qmax + 1, size=(n,) + tuple(spec.input_shape), dtype=np.int64)
    x[0], x[1 % n] = lo, t.qmax
    return x


def check_against_model(model, spec: DesignSpec, sources: dict, post: dict, x_int: np.ndarray,
                        batch: int = 250, limit: int = CHECK_SAMPLES) -> dict:
    """Compare every spec layer with its Keras source on input-type integers `x_int`; raise on the first
    layer that differs. Returns {layers, samples, exact_layers, tolerance_layers}."""
    from tensorflow import keras

    from .emulator import forward

    x_int = np.asarray(x_int[:limit], dtype=np.int64)
    # a spec layer with no Keras counterpart (source None: the integer part of a QDense whose kernel has
    # per-channel float scales, the depthwise half of a QSeparableConv2D) is checked through the next one
    names = [sources[l.name] for l in spec.layers if sources[l.name] is not None]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    in_shape = tuple(model.input_shape[1:])
    worst = {}
    for start in range(0, len(x_int), batch):
        q = x_int[start:start + batch]
        x = to_real(q, spec.input_type).astype(np.float32).reshape((len(q),) + in_shape)
        outs = probe(x, training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        outs = iter(outs)
        for layer, q in forward(spec, q):  # a chain, or a graph's layers in the spec's order
            if sources[layer.name] is None:
                continue
            k_out = next(outs)
            ours = to_real(q, layer.out_type)
            if post.get(layer.name) == "softmax":
                ours, tol = _softmax(ours.reshape(len(ours), -1)), 1e-5
            else:
                tol = tolerance(layer)
            theirs = np.asarray(k_out, dtype=np.float64).reshape(ours.shape)
            diff = np.abs(ours - theirs)
            bad = diff > tol
            worst[layer.name] = max(worst.get(layer.name, 0.0), float(diff.max(initial=0)))
            if bad.any():
                idx = np.argwhere(bad)[0]
                n_bad = int(np.any(bad.reshape(len(bad), -1), axis=1).sum())
                raise ExtractionMismatchError(
                    f"the design spec differs from the Keras model at layer {layer.name!r} ({layer.kind}, compared "
                    f"with Keras layer {sources[layer.name]!r}): {n_bad}/{len(q)} samples differ, e.g. sample "
                    f"{start + int(idx[0])} output {tuple(int(v) for v in idx[1:])}: spec {ours[tuple(idx)]!r}, "
                    f"Keras {theirs[tuple(idx)]!r} (tolerance {tol:g}); this layer's extraction is wrong, "
                    "please report it with the model")
    return {"layers": sum(1 for l in spec.layers if sources[l.name] is not None), "samples": len(x_int),
            "exact_layers": sum(1 for l in spec.layers if tolerance(l) == 0 and l.name not in post
                                and sources[l.name] is not None),
            "max_abs_diff": worst}
