"""``multithreshold``: elementwise step function y = levels[k], k = how many ascending thresholds x reaches
(x >= t), as FINN's MultiThreshold. QKeras binary(), binary_tanh and ternary() activations
(codesign/extract_act.py). Params ``thresholds`` (input-type integers, their own type) and ``levels``
(output-type integers). hls4ml: hls/nnet_codesign_act.h (codesign/hls_act.py); no RTL engine."""
from __future__ import annotations

from ..emulator import multithreshold_kernel
from .act_hls import hls_precision, hls_register, twin
from .registry import Kind, register

KIND = register(Kind("multithreshold", kernel=multithreshold_kernel, hls_twin=twin("multithreshold_twin"),
                     hls_precision=hls_precision, hls_register=hls_register))
