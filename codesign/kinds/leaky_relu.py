"""``leaky_relu``: QKeras quantized_relu(bits, integer, negative_slope=2**-k): x >= 0 cast to the output type
fixed<bits, integer+1, RND_CONV, SAT>, x < 0 as x * 2**-k cast to the ``negative`` type (QKeras' negative clip
at -2**-k * 2**(bits-1) LSBs); attr ``slope_shift`` = k. A float LeakyReLU / ReLU(negative_slope=2**-k) is the
same kind with types wide enough that both casts are exact. hls4ml: hls/nnet_codesign_act.h (codesign/hls_act.py);
no RTL engine."""
from __future__ import annotations

from ..emulator import leaky_relu_kernel
from .act_hls import hls_precision, hls_register, twin
from .registry import Kind, register

KIND = register(Kind("leaky_relu", kernel=leaky_relu_kernel, hls_twin=twin("leaky_relu_twin"),
                     hls_precision=hls_precision, hls_register=hls_register))
