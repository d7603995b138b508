"""The lock units' reference kernels (the emulator's). Neuron lock: in the layer epilogue, after the
output cast, neurons whose key mask bit is set take the key's value; the others pass through (same in
hls/nnet_lock.h and rtl/lock_unit.sv). Input-permutation lock: the flattened inputs of the next
layer are permuted by the key (same in hls/nnet_input_perm.h; in RTL the next layer's weight rows are
written permuted over the load port, codesign/rtl/lock.py)."""
from __future__ import annotations

import numpy as np


def lock_unit(q: np.ndarray, mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    """q (..., n) output-type integers of a layer; neuron = last axis (a channel for conv2d)."""
    if not mask.any():
        return q
    return np.where(mask.astype(bool), value.astype(np.int64), q)


def input_perm(q: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """q (samples, ...) flattened; element j of the result is element perm[j] of the sample."""
    return q.reshape(len(q), -1)[:, np.asarray(perm, np.int64)]
