"""``multithreshold``: elementwise step function y = levels[k], k = how many ascending thresholds x reaches
(x >= t), as FINN's MultiThreshold. QKeras binary(), binary_tanh and ternary() activations
(codesign/extract_act.py). Params ``thresholds`` (input-type integers, their own type) and ``levels``
(output-type integers). hls4ml: hls/nnet_codesign_act.h (codesign/hls_act.py); no RTL engine."""
from __future__ import annotations

from ..emulator import multithreshold_kernel
from .registry import Kind, register


def hls_twin(layer, x):
    from ..hls_act import multithreshold_twin

    return multithreshold_twin(layer, x)


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    from ..hls_act import precisions

    precisions(layer, entry, names, model)


def hls_register() -> None:
    from ..hls_act import register as register_act

    register_act()


KIND = register(Kind("multithreshold", kernel=multithreshold_kernel, hls_twin=hls_twin, hls_precision=hls_precision,
                     hls_register=hls_register))
