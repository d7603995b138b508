"""``scale``: per-channel affine map y = cast(act(x * scale + bias)), exact up to the one cast: a standalone
(Q)BatchNormalization (scale = gamma / sqrt(var + eps), bias = beta - mean * scale, the float32 values Keras
computes, held exactly) and the per-channel float scales of alpha='auto' kernels (after the integer dense /
conv2d). Params ``scale``, ``bias`` (one per channel, the last axis); types input, scale, bias, accum (every
sum exact), output. hls4ml: hls/nnet_codesign_act.h (codesign/hls_act.py); no RTL engine."""
from __future__ import annotations

from ..emulator import scale_kernel
from .act_hls import hls_precision, hls_register, twin
from .registry import Kind, register

KIND = register(Kind("scale", kernel=scale_kernel, hls_twin=twin("scale_twin"),
                     hls_precision=hls_precision, hls_register=hls_register))
