"""Random valid dense-chain design specs, for testing the RTL view against the emulator.

Why: an RTL engine that matches the emulator on one trained model can still be wrong for another
rounding mode, width or sign; random specs sweep those (ternary and multi-bit weights, with and
without weight_shift and bias, every rounding mode, SAT/SAT_SYM/WRAP outputs). The accumulator is
sized from the actual weights, as the spec requires: max_j sum_i |W_ij| << shift_j * max|x| + |b_j|.
"""
from __future__ import annotations

import numpy as np

from ..fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType, bits_for_range
from ..spec import DesignSpec, Layer

INPUT_TYPE = FixedType(8, 0, False)


def random_dense(rng: np.random.Generator, name: str, n: int, m: int, tin: FixedType, *,
                 ternary: bool | None = None, shift: bool | None = None, bias: bool | None = None,
                 relu: bool | None = None, exact_output: bool = False,
                 w_choices: list[int] | None = None) -> Layer:
    """One dense layer with random parameters and types; output type narrow unless exact_output."""
    ternary = bool(rng.integers(2)) if ternary is None else ternary
    shift = (ternary and bool(rng.integers(2))) if shift is None else shift
    bias = bool(rng.integers(2)) if bias is None else bias
    relu = bool(rng.integers(2)) if relu is None else relu
    if ternary:
        tw = FixedType(2, 2, True)
        w = rng.choice(w_choices or [-1, 0, 1], (n, m))
    else:
        wb = int(rng.integers(3, 9))
        tw = FixedType(wb, int(rng.integers(0, wb)), True)
        w = rng.integers(tw.qmin, tw.qmax + 1, (n, m))
    types = {"input": tin, "weight": tw}
    params = {"weight": w.astype(np.int64)}
    pfrac = tin.frac + tw.frac
    types["product"] = FixedType(tin.width + tw.width, tin.width + tw.width - pfrac, True)
    sh = np.zeros(m, np.int64)
    if shift:
        types["weight_shift"] = FixedType(3, 3, False)
        sh = rng.integers(0, 5, m).astype(np.int64)
        params["weight_shift"] = sh
    afrac = pfrac + int(rng.integers(0, 3))
    b = np.zeros(m, np.int64)
    bfrac = afrac
    if bias:
        bfrac = afrac - int(rng.integers(0, 3))
        tb = FixedType(8, 8 - bfrac, True)
        types["bias"] = tb
        b = rng.integers(tb.qmin, tb.qmax + 1, m).astype(np.int64)
        params["bias"] = b
    xmax = max(abs(tin.qmin), abs(tin.qmax))
    col = (np.abs(w).sum(axis=0) << sh) * xmax
    bound = int(((col << (afrac - pfrac)) + (np.abs(b) << (afrac - bfrac))).max(initial=0))
    aw = max(bits_for_range(-bound, bound, True), 2)
    types["accum"] = FixedType(aw, aw - afrac, True)
    if exact_output:
        types["output"] = types["accum"]
    else:
        ow = int(rng.integers(3, 11))
        osh = int(rng.integers(-2, 7))  # accum.frac - output.frac
        signed = (not relu) or bool(rng.integers(2))
        types["output"] = FixedType(ow, ow - (afrac - osh), signed,
                                    rounding=str(rng.choice(ROUNDING_MODES)),
                                    overflow=str(rng.choice(OVERFLOW_MODES)))
    return Layer(name, "dense", (n,), (m,), attrs={"activation": "relu" if relu else "linear"},
                 types=types, params=params)


def random_mlp(seed: int, dims: list[int], **kw) -> DesignSpec:
    """A dense chain dims[0] -> dims[1] -> ... with random layers; the last has an exact (logit) output."""
    rng = np.random.default_rng(seed)
    layers = []
    t = INPUT_TYPE
    for i, (n, m) in enumerate(zip(dims[:-1], dims[1:])):
        last = i == len(dims) - 2
        layer = random_dense(rng, f"dense{i}", n, m, t, relu=None if not last else False,
                             exact_output=last and kw.get("exact_last", True),
                             **{k: v for k, v in kw.items() if k != "exact_last"})
        layers.append(layer)
        t = layer.out_type
    spec = DesignSpec(f"random_mlp_{seed}", (dims[0],), INPUT_TYPE, layers)
    spec.validate()
    return spec


def mnist_like(seed: int = 0) -> DesignSpec:
    """The shape and types of the MNIST MLP the flow builds (784-256-128-10), with random weights.

    Layers 1-2: ternary weights with weight_shift, 8-bit bias, relu, ufixed<8,3,RND_CONV,SAT> outputs;
    layer 3: 8-bit weights, linear, output = the exact accumulator.
    """
    rng = np.random.default_rng(seed)
    layers = []
    t = INPUT_TYPE
    for i, (n, m) in enumerate([(784, 256), (256, 128), (128, 10)]):
        last = i == 2
        layer = random_dense(rng, f"dense{i}", n, m, t, ternary=not last, shift=not last, bias=True,
                             relu=not last, exact_output=last, w_choices=[-1, 0, 0, 1])
        if not last:
            layer.types["output"] = FixedType(8, 3, False, "RND_CONV", "SAT")
        layers.append(layer)
        t = layer.out_type
    spec = DesignSpec("mnist_like", (784,), INPUT_TYPE, layers)
    spec.validate()
    return spec
