"""The layer graph of a Keras model, as the extractor (codesign/extract.py) walks it.

A Sequential-style model is a chain and is walked in `model.layers` order, as always. A functional model
with Add / Subtract / Concatenate (skip connections, inception-style branches) is walked in a topological order that
keeps each chain of layers together (depth first: after a layer, its consumer when that has all its
inputs), so the extractor's "the activation right after a layer is fused into it" still sees the
activation next, and fuses it only when it is the layer's sole reader (`follower`). Keras lists a
functional model's layers by depth, which would interleave parallel branches.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UnsupportedLayerError
from .qtypes import where
from .spec import GRAPH_INPUT

MERGE_CLASSES = {"Add": "add", "Subtract": "subtract", "Concatenate": "concatenate"}


@dataclass
class KerasGraph:
    order: list                                      # the Keras layers to extract, in walking order
    inbound: dict = field(default_factory=dict)      # layer name -> its source names (GRAPH_INPUT: the input)
    consumers: dict = field(default_factory=dict)    # name (or GRAPH_INPUT) -> the layers reading it
    is_graph: bool = False                           # some layer merges (Add / Subtract / Concatenate)

    def follower(self, i: int):
        """The layer after order[i] when it reads order[i] alone and is its only reader (so it may be fused
        into it), else None."""
        if i + 1 >= len(self.order):
            return None
        layer, nxt = self.order[i], self.order[i + 1]
        if self.inbound[nxt.name] == [layer.name] and self.consumers.get(layer.name) == [nxt.name]:
            return nxt
        return None


def _sources(model, layer) -> list:
    """The layers `layer` reads in `model` (its node of this model: a layer may also sit in other models)."""
    ours = getattr(model, "_network_nodes", None)
    nodes = [n for k, n in enumerate(getattr(layer, "_inbound_nodes", []))
             if ours is None or f"{layer.name}_ib-{k}" in ours]
    if len(nodes) != 1:
        raise UnsupportedLayerError(f"{where(layer)} is called {len(nodes)} times (a shared layer); the design spec "
                                    "holds each layer once: give each call its own layer")
    inbound = nodes[0].inbound_layers
    return list(inbound) if isinstance(inbound, (list, tuple)) else [inbound]


def _refuse_other_merges(model) -> None:
    """A layer of several inputs other than Add / Subtract / Concatenate (Multiply, Maximum, ...) stops extraction."""
    for layer in model.layers:
        if type(layer).__name__ in MERGE_CLASSES:
            continue
        for node in getattr(layer, "_inbound_nodes", []):
            inbound = node.inbound_layers
            if isinstance(inbound, (list, tuple)) and len(inbound) > 1:
                raise UnsupportedLayerError(f"{where(layer)} merges {len(inbound)} inputs; of the layers with several "
                                            f"inputs the design spec holds {', '.join(MERGE_CLASSES)}")


def keras_graph(model) -> KerasGraph:
    """The graph of `model` (Dropout passes its input on; the InputLayer is GRAPH_INPUT). A model without
    Add / Subtract / Concatenate is the chain of its layers in `model.layers` order, as before graphs existed."""
    from tensorflow import keras

    _refuse_other_merges(model)
    skip = (keras.layers.InputLayer, keras.layers.Dropout)
    kept = [l for l in model.layers if not isinstance(l, skip)]
    g = KerasGraph(kept)
    if not any(type(l).__name__ in MERGE_CLASSES for l in model.layers):
        prev = GRAPH_INPUT
        for layer in kept:
            g.inbound[layer.name] = [prev]
            g.consumers[prev] = [layer.name]
            prev = layer.name
        return g
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UnsupportedLayerError(f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
                                    "outputs; the design spec has one of each")
    by_name = {l.name: l for l in model.layers}

    def resolve(src) -> str:
        while isinstance(src, keras.layers.Dropout):
            src = _sources(model, src)[0]
        return GRAPH_INPUT if isinstance(src, keras.layers.InputLayer) else src.name

    g.is_graph = True
    for layer in kept:
        srcs = [resolve(s) for s in _sources(model, layer)]
        g.inbound[layer.name] = srcs
        for s in dict.fromkeys(srcs):
            g.consumers.setdefault(s, []).append(layer.name)
    g.order = [by_name[n] for n in _chain_order(kept, g)]
    return g


def _chain_order(layers: list, g: KerasGraph) -> list:
    """Topological order, depth first: each layer's readers follow it as soon as all their inputs exist."""
    waiting = {l.name: len(set(g.inbound[l.name]) - {GRAPH_INPUT}) for l in layers}
    stack = [n for n in reversed(g.consumers.get(GRAPH_INPUT, [])) if waiting[n] == 0]
    order = []
    while stack:
        name = stack.pop()
        order.append(name)
        for c in reversed(g.consumers.get(name, [])):
            waiting[c] -= 1
            if waiting[c] == 0:
                stack.append(c)
    if len(order) != len(layers):  # pragma: no cover - a Keras model is a DAG from its input
        raise UnsupportedLayerError("the model's layers do not all lead from its input; give it one input")
    return order
