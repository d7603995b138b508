"""Design-spec layer of a trained `KronDense`: integer factors and exact stage types.

Stage 1 (X A_r^T, n1 terms) gets an exact intermediate type ``mid``; stage 2 (B_r mid_r, summed over
n2 and R) an exact accumulator; both bounds are the worst case over every input the input type
allows, computed from the integer factors, so only the final cast to ``output`` rounds.
"""
from __future__ import annotations

import numpy as np

from ...errors import UnsupportedLayerError
from ...qtypes import linear_range, quantized_values, relu_type, signed_type_for, type_for_range
from ...fixed import FixedType, exact_integers
from ...spec import Layer


def kron_layer_spec(layer, in_shape, in_t: FixedType, out_shape, relu_layer) -> Layer:
    if layer.factor_quantizer is None:
        raise UnsupportedLayerError(f"layer {layer.name!r} (KronDense) has float factors; set factor_bits")
    if len(in_shape) != 1:
        raise UnsupportedLayerError(f"layer {layer.name!r} (KronDense) takes a 1-D input; put a Flatten before it")
    a, a_frac = exact_integers(quantized_values(layer.factor_quantizer, layer.factor_a.numpy()))
    b, b_frac = exact_integers(quantized_values(layer.factor_quantizer, layer.factor_b.numpy()))
    types = {"input": in_t, "a": signed_type_for(a, a_frac), "b": signed_type_for(b, b_frac)}
    params = {"a": a, "b": b}
    r, m1, n1 = a.shape
    _, m2, n2 = b.shape
    # stage 1: mid[r, i2, j1] = sum_i1 X[i2, i1] A[r, j1, i1]; bounds per (r, j1)
    mid_frac = in_t.frac + types["a"].frac
    lo1, hi1 = linear_range(a.reshape(r * m1, n1).T, in_t.qmin, in_t.qmax)
    types["mid"] = type_for_range(lo1, hi1, mid_frac)
    lo1, hi1 = lo1.reshape(r, m1), hi1.reshape(r, m1)
    # stage 2: acc[j2, j1] = sum_r sum_i2 B[r, j2, i2] mid[r, i2, j1]
    prod_frac = mid_frac + types["b"].frac
    types["product"] = FixedType(types["mid"].width + types["b"].width, types["mid"].integer + types["b"].integer)
    bias, bias_frac = None, prod_frac
    if layer.use_bias:
        bias, bias_frac = exact_integers(quantized_values(layer.bias_quantizer, layer.bias.numpy()))
        params["bias"] = bias
        types["bias"] = signed_type_for(bias, bias_frac)
    acc_frac = max(prod_frac, bias_frac)
    bpos, bneg = np.clip(b, 0, None).sum(axis=2), np.clip(b, None, 0).sum(axis=2)  # (r, m2)
    hi = np.einsum("rl,rk->lk", bpos, hi1) + np.einsum("rl,rk->lk", bneg, lo1)
    lo = np.einsum("rl,rk->lk", bpos, lo1) + np.einsum("rl,rk->lk", bneg, hi1)
    hi, lo = hi.reshape(-1) << (acc_frac - prod_frac), lo.reshape(-1) << (acc_frac - prod_frac)
    if bias is not None:
        hi, lo = hi + (bias << (acc_frac - bias_frac)), lo + (bias << (acc_frac - bias_frac))
    types["accum"] = type_for_range(lo, hi, acc_frac)
    types["output"] = relu_type(relu_layer) if relu_layer is not None else types["accum"]
    attrs = {"activation": "relu" if relu_layer is not None else "linear", "n1": n1, "n2": n2, "m1": m1, "m2": m2,
             "rank": r}
    return Layer(layer.name, "kron_dense", tuple(in_shape), tuple(out_shape), attrs, types, params)
