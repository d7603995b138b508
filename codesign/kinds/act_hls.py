"""The hls4ml bindings the kinds implemented in hls/nnet_codesign_act.h share (leaky_relu, multithreshold,
scale): precisions and Extension-API registration from codesign/hls_act.py, imported only when the hls4ml
view runs, so loading the registry does not load hls4ml."""
from __future__ import annotations


def twin(name: str):
    """The kind's Keras twin, codesign/hls_act.py's function `name`: (layer, keras tensor) -> tensor."""
    def hls_twin(layer, x):
        from .. import hls_act

        return getattr(hls_act, name)(layer, x)

    return hls_twin


def hls_precision(layer, entry: dict, names: dict, model: dict) -> None:
    from ..hls_act import precisions

    precisions(layer, entry, names, model)


def hls_register() -> None:
    from ..hls_act import register as register_act

    register_act()
