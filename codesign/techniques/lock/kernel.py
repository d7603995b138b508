"""The lock unit's reference kernel (the emulator's): in the layer epilogue, after the output cast,
neurons whose key mask bit is set take the key's value; the others pass through. Same in
hls/nnet_lock.h and rtl/lock_unit.sv."""
from __future__ import annotations

import numpy as np


def lock_unit(q: np.ndarray, mask: np.ndarray, value: np.ndarray) -> np.ndarray:
    """q (..., n) output-type integers of a layer; neuron = last axis (a channel for conv2d)."""
    if not mask.any():
        return q
    return np.where(mask.astype(bool), value.astype(np.int64), q)
