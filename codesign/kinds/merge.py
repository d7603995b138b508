"""``add``, ``subtract`` and ``concatenate``: the merges of skip connections (a residual block's Add, an
inception-style Concatenate; Subtract: the first operand minus the second), the only kinds that read more than
one layer (codesign/spec.py: a layer's ``inputs``).

Integer semantics, exact: every operand (types ``input``, ``input_1``, ...) is shifted to the ``accum``
type's fraction bits, the largest of the operands', so no operand is rounded; ``accum`` is wide enough that
the sum of every operand's extreme values (add; subtract: the first's minus the second's) or each operand
(concatenate) fits, so nothing wraps. Then
the epilogue of a dense layer: ReLU when the activation after the merge is fused into it, and the cast to
``output`` (the quantizer that follows, e.g. QActivation('quantized_relu(4,0)'), or ``accum`` itself).
This is what Keras computes on the fixed-point values: their float sum or concatenation, exact while the
accumulator fits float32's 24-bit significand (codesign/verify.py compares it so).

hls4ml: its own Merge layers (Add, Subtract, Concatenate; two inputs each, so n operands become a chain of n - 1
nodes, each with result ``accum``, whose range holds every partial sum because every type's range holds 0),
then a linear / ReLU activation with result ``output``. No RTL engine (the RTL view streams a chain).
"""
from __future__ import annotations

import numpy as np

from ..emulator import epilogue
from ..fixed import FixedType, bits_for_range
from .registry import Kind, register


def accum_type(kind: str, operands: list) -> FixedType:
    """The exact accumulator of a merge of operand types: common fraction bits (the largest), and a range
    holding the sum of the operands' ranges (add) or each operand's range (concatenate)."""
    frac = max(t.frac for t in operands)
    los = [t.qmin << (frac - t.frac) for t in operands]
    his = [t.qmax << (frac - t.frac) for t in operands]
    if kind == "add":
        lo, hi = sum(los), sum(his)
    elif kind == "subtract":
        lo, hi = los[0] - his[1], his[0] - los[1]
    else:
        lo, hi = min(los), max(his)
    signed = lo < 0
    width = bits_for_range(lo, hi, signed)
    return FixedType(width, width - frac, signed=signed)


def _check_accum(layer) -> None:
    """The layer's accumulator holds what `accum_type` says it must (no operand rounded, no sum wrapped)."""
    need, acc = accum_type(layer.kind, layer.operand_types()), layer.types["accum"]
    if acc.frac < need.frac or acc.qmin > need.qmin << (acc.frac - need.frac) or \
            acc.qmax < need.qmax << (acc.frac - need.frac):
        raise ValueError(f"accumulator {acc.hls()} does not hold every result of its operands exactly "
                         f"(needs {need.hls()})")


def _aligned(ops: list, layer) -> list:
    frac = layer.types["accum"].frac
    return [np.asarray(x, np.int64) << (frac - t.frac) for x, t in zip(ops, layer.operand_types())]


def add_kernel(ops: list, layer) -> np.ndarray:
    """Elementwise sum of the operands aligned to the accumulator, then ReLU / the cast to ``output``."""
    return epilogue(sum(_aligned(ops, layer)), layer)


def subtract_kernel(ops: list, layer) -> np.ndarray:
    """The first operand minus the second, aligned to the accumulator, then ReLU / the cast to ``output``."""
    a, b = _aligned(ops, layer)
    return epilogue(a - b, layer)


def subtract_shape(layer, shapes: list) -> tuple:
    if len(shapes) != 2:
        raise ValueError(f"a subtract takes 2 operands, not {len(shapes)}")
    return add_shape(layer, shapes)


def concatenate_kernel(ops: list, layer) -> np.ndarray:
    """The operands aligned to the accumulator, joined along ``axis`` (of a sample), then ReLU / the cast."""
    return epilogue(np.concatenate(_aligned(ops, layer), axis=1 + int(layer.attrs["axis"])), layer)


def add_shape(layer, shapes: list) -> tuple:
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"operand shapes {shapes} differ; an add takes equal shapes")
    _check_accum(layer)
    return shapes[0]


def concatenate_shape(layer, shapes: list) -> tuple:
    if "axis" not in layer.attrs:
        raise ValueError(f"concatenate {layer.name!r} has no axis; give attrs.axis (0-based, batch excluded)")
    axis = int(layer.attrs["axis"])
    if not 0 <= axis < len(shapes[0]):
        raise ValueError(f"axis {axis} is not an axis of a sample of shape {shapes[0]} (0-based, batch excluded)")
    rest = {s[:axis] + s[axis + 1:] for s in shapes}
    if len(rest) != 1 or any(len(s) != len(shapes[0]) for s in shapes):
        raise ValueError(f"operand shapes {shapes} differ outside axis {axis}")
    _check_accum(layer)
    return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]


def _keras_merge(layer, xs: list):
    """hls4ml's two-input Merge nodes: n operands as a chain of n - 1 (the last named as the spec layer)."""
    from tensorflow import keras

    if layer.kind in ("add", "subtract"):  # a subtract has two operands: one node
        cls = keras.layers.Add if layer.kind == "add" else keras.layers.Subtract
        make = lambda name: cls(name=name)  # noqa: E731
    else:  # Keras counts the batch axis
        make = lambda name: keras.layers.Concatenate(axis=1 + int(layer.attrs["axis"]), name=name)  # noqa: E731
    y = xs[0]
    for k, x in enumerate(xs[1:], start=1):
        y = make(layer.name if k == len(xs) - 1 else f"{layer.name}_m{k}")([y, x])
    return y


def hls_twin(layer, xs: list):
    """The Keras twin: the merge (result accum), then a ReLU or a linear cast to ``output`` when they differ."""
    from tensorflow import keras

    y = _keras_merge(layer, xs)
    if layer.attrs.get("activation") == "relu":
        y = keras.layers.Activation("relu", name=f"{layer.name}_relu")(y)
    elif not layer.out_type.same_values(layer.types["accum"]):
        y = keras.layers.Activation("linear", name=f"{layer.name}_cast")(y)
    return y


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    acc = layer.types["accum"].hls()
    entry["Precision"] = {"result": acc}
    for k in range(1, len(layer.inputs) - 1):
        names.setdefault(f"{layer.name}_m{k}", {})["Precision"] = {"result": acc}
    if layer.attrs.get("activation") == "relu":
        names.setdefault(f"{layer.name}_relu", {})["Precision"] = {"result": layer.out_type.hls()}
    elif not layer.out_type.same_values(layer.types["accum"]):
        names.setdefault(f"{layer.name}_cast", {})["Precision"] = {"result": layer.out_type.hls()}


ADD = register(Kind("add", kernel=add_kernel, merge_shape=add_shape, hls_twin=hls_twin, hls_precision=hls_precision))
SUBTRACT = register(Kind("subtract", kernel=subtract_kernel, merge_shape=subtract_shape, hls_twin=hls_twin,
                         hls_precision=hls_precision))
CONCATENATE = register(Kind("concatenate", kernel=concatenate_kernel, merge_shape=concatenate_shape,
                            hls_twin=hls_twin, hls_precision=hls_precision))
