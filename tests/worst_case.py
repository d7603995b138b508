"""Accumulator extremes brute-forced from a layer's integer weights, for the README's claim that
accumulators never overflow for any input the input type allows (independent of codesign/extract.py:
no type arithmetic, only the weights, the types' integer ranges and the emulator's alignment rules)."""
from __future__ import annotations

import numpy as np


def accumulator_extremes(layer) -> tuple[np.ndarray, np.ndarray]:
    """Per output column, the smallest and largest accumulator value over every input of the layer's
    input type: the worst-case input of a column puts each element at its type's min or max, whichever
    pushes that column's sum down (or up). Values in accumulator units (its fraction bits), bias added."""
    t = layer.types
    w = layer.params["weight"].astype(object)  # Python ints: no overflow in the check itself
    w = w.reshape(-1, w.shape[-1])  # conv2d: one window (kh*kw*cin inputs) per output channel
    if "weight_shift" in layer.params:
        w = w * (2 ** layer.params["weight_shift"].astype(object))
    lo_in, hi_in = t["input"].qmin, t["input"].qmax
    x_max = np.where(w > 0, hi_in, lo_in)  # column j: the input that maximises output j
    x_min = np.where(w > 0, lo_in, hi_in)
    hi, lo = (x_max * w).sum(axis=0), (x_min * w).sum(axis=0)
    up = t["accum"].frac - (t["input"].frac + t["weight"].frac)  # product -> accumulator alignment
    assert up >= 0, f"{layer.name}: the accumulator drops product fraction bits"
    hi, lo = hi * 2 ** up, lo * 2 ** up
    if "bias" in layer.params:
        b = layer.params["bias"].astype(object) * 2 ** (t["accum"].frac - t["bias"].frac)
        hi, lo = hi + b, lo + b
    return lo, hi


def assert_accumulators_hold(spec) -> int:
    """Every dense/conv2d layer's accumulator type holds its brute-forced extremes; returns how many
    layers were checked."""
    checked = 0
    for layer in spec.layers:
        if layer.kind not in ("dense", "conv2d"):
            continue
        lo, hi = accumulator_extremes(layer)
        acc = layer.types["accum"]
        assert acc.qmin <= min(lo) and max(hi) <= acc.qmax, (layer.name, acc.hls(), min(lo), max(hi))
        checked += 1
    return checked
