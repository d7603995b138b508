"""The design spec: the single source of truth every view (emulator, hls4ml, RTL) is built from.

Plain data, loadable without TensorFlow: ``spec.json`` holds the graph and every tensor's
fixed-point type, ``params.npz`` the integer parameters. A faulty design is a spec too:
copy it, change an integer, hand it to any view.

Layer kinds and what they compute (all integer, types from ``Layer.types``):

- ``dense``   acc = (x @ W) << weight_shift + (b aligned to acc);  y = cast(act(acc), output)
              ``weight_shift`` (optional, one per output, >= 0) is how ternary weights with a
              power-of-two scale per output (QKeras ``alpha='auto_po2'``) stay {-1, 0, +1}:
              the effective weight is W[i, j] * 2**weight_shift[j] in the weight type.
- ``conv2d``  same with a k x k window (NHWC, 'valid' or 'same' padding, stride s)
- ``kron_dense`` separable FC: X = x as (n2 x n1); mid_r = cast(X @ A_r^T, mid);
              acc = sum_r B_r @ mid_r + bias; y = cast(act(acc), output). Params ``a`` (R, m1, n1),
              ``b`` (R, m2, n2), ``bias`` (m1*m2); attrs n1, n2, m1, m2, rank; types add ``a``, ``b``, ``mid``
- ``wings_dense`` dense layer whose weight is generated (WINGs, codesign/techniques/wings/gen.py):
              curve = cast(sum_s alpha[k,s] klut[|j - sv[k,s]|] + beta[k], curve) (RBF SVR per
              component k over the neuron index j); basis = cast(plut-expansion of z over a pixel
              grid, basis) or the stored ``basis``; w = cast(basis^T curve, weight); then as ``dense``.
              Params alpha, beta, sv, klut, z + plut + prow + pcol (or basis), bias; attrs units,
              components, centres, in_hw, basis_grid; types add alpha, beta, sv, lut (klut, plut),
              z, curve, basis, weight
- ``maxpool2d`` y = max over windows (type unchanged)
- ``flatten`` reshape, row-major (NHWC order, as Keras)
- ``upsample2d`` nearest-neighbour: each value repeated ``size`` = [sh, sw] times (type unchanged)
- ``add`` / ``subtract`` / ``concatenate`` (codesign/kinds/merge.py): merge their operands (skip connections);
              each operand aligned exactly to the ``accum`` type (common fraction bits, wide enough that
              the sum never wraps), then the epilogue (ReLU, cast to ``output``) as a dense layer's.
              Operand types ``input``, ``input_1``, ...

A graph (optional): a layer may name the layers it reads in ``inputs`` (``@input`` is the model input);
without it a layer reads the previous one, so a chain of layers is a spec without any ``inputs`` and
loads, saves and behaves exactly as before graphs existed. Layers are listed in an order that computes
(every operand earlier), the last is the output, and every other layer's output is read. A view or tool
that walks the chain (RTL, fault campaigns, locks, deploy) refuses a graph (`DesignSpec.require_chain`).

Types of a dense/conv layer: ``input``, ``weight``, ``bias``, ``weight_shift`` (when present,
unsigned), ``product`` (input x weight, before the shift), ``accum``, ``output``.
``accum`` is wide enough that no sum can overflow (checked from the integer weights), so the
only rounding in a layer is the explicit cast of the accumulator to ``output``.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .fixed import FixedType
from .kinds import registry as kinds

SPEC_FORMAT = "codesign-spec/1"
ACTIVATIONS = ("linear", "relu")
GRAPH_INPUT = "@input"  # a layer's `inputs` entry naming the model input


class SpecError(ValueError):
    """A spec that is malformed or inconsistent."""


@dataclass
class Layer:
    name: str
    kind: str
    input_shape: tuple
    output_shape: tuple
    attrs: dict = field(default_factory=dict)
    types: dict = field(default_factory=dict)  # str -> FixedType
    params: dict = field(default_factory=dict)  # str -> np.ndarray (int64)
    inputs: list | None = None  # the layers (or GRAPH_INPUT) it reads; None: the previous layer

    @property
    def in_type(self) -> FixedType:
        return self.types["input"]

    def operand_types(self) -> list:
        """The type of each operand: ``input``, then ``input_1``, ``input_2``, ... (a merge's further operands)."""
        n = len(self.inputs) if self.inputs else 1
        return [self.types["input"]] + [self.types[f"input_{k}"] for k in range(1, n)]

    @property
    def out_type(self) -> FixedType:
        return self.types["output"]

    def macs(self) -> int:
        """Multiply-accumulates of one inference of this layer (its kind says how many, codesign/kinds)."""
        return kinds.get(self.kind).macs(self)


@dataclass
class DesignSpec:
    name: str
    input_shape: tuple
    input_type: FixedType
    layers: list
    meta: dict = field(default_factory=dict)

    @property
    def output_type(self) -> FixedType:
        return self.layers[-1].out_type

    @property
    def output_shape(self) -> tuple:
        return self.layers[-1].output_shape

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise SpecError(f"spec {self.name!r} has no layer {name!r}; layers: {[l.name for l in self.layers]}")

    def reads(self) -> list:
        """For each layer, the names of what it reads (the previous layer, or GRAPH_INPUT, when unnamed)."""
        out, prev = [], GRAPH_INPUT
        for layer in self.layers:
            out.append(list(layer.inputs) if layer.inputs is not None else [prev])
            prev = layer.name
        return out

    @property
    def is_graph(self) -> bool:
        """True when some layer reads other than the previous layer alone (a skip connection, a merge)."""
        prev = GRAPH_INPUT
        for layer in self.layers:
            if layer.inputs is not None and list(layer.inputs) != [prev]:
                return True
            prev = layer.name
        return False

    def require_chain(self, what: str) -> None:
        """Stop `what` (a view or tool that walks a chain of layers) on a graph spec, in one line."""
        if self.is_graph:
            merges = [l.name for l in self.layers if l.inputs is not None and len(l.inputs) > 1]
            raise SpecError(f"{what} takes a chain of layers, but spec {self.name!r} is a graph (skip connections "
                            f"merged by {', '.join(repr(m) for m in merges) or 'a layer reading an earlier one'}); "
                            "use the emulator or the hls4ml C-sim for it, or a model without skip connections")

    def copy(self) -> "DesignSpec":
        return copy.deepcopy(self)

    def total_macs(self) -> int:
        return sum(layer.macs() for layer in self.layers)

    def weight_bits(self) -> int:
        """Stored parameter bits: every weight and bias at its type's width."""
        bits = 0
        for layer in self.layers:
            for pname, arr in layer.params.items():
                bits += arr.size * layer.types[pname].width
        return bits

    def validate(self) -> None:
        """Check every parameter fits its declared type and shapes chain (or, in a graph, each layer's
        operands are the input or earlier layers of the right shape and type, and every output is read)."""
        shape = tuple(self.input_shape)
        t = self.input_type
        graph = any(l.inputs is not None for l in self.layers)
        outs = {GRAPH_INPUT: (shape, t)}
        if graph and len({l.name for l in self.layers} | {GRAPH_INPUT}) != len(self.layers) + 1:
            raise SpecError(f"spec {self.name!r}: layer names must be unique and not {GRAPH_INPUT!r} in a graph")
        read = set()
        for layer, srcs in zip(self.layers, self.reads()):
            if not kinds.known(layer.kind):
                raise SpecError(f"layer {layer.name!r}: kind {layer.kind!r} unknown; known kinds: {kinds.names()}")
            kind = kinds.get(layer.kind)
            missing = [s for s in srcs if s not in outs]
            if missing:
                raise SpecError(f"layer {layer.name!r} reads {missing[0]!r}, which is neither {GRAPH_INPUT!r} nor "
                                "an earlier layer; list the layers in an order that computes")
            read.update(srcs)
            if kind.merge_shape is not None:
                self._validate_merge(layer, kind, [outs[s] for s in srcs])
            else:
                if len(srcs) != 1:
                    raise SpecError(f"layer {layer.name!r} ({layer.kind}) reads {len(srcs)} inputs; only a merge "
                                    "(add, subtract, concatenate) reads more than one")
                shape, t = outs[srcs[0]]
                src = "previous output" if layer.inputs is None else f"output of {srcs[0]!r}"
                if tuple(layer.input_shape) != tuple(shape):
                    raise SpecError(f"layer {layer.name!r}: input shape {layer.input_shape} != {src} {shape}")
                if not layer.in_type.same_values(t):
                    raise SpecError(f"layer {layer.name!r}: input type {layer.in_type.hls()} != {src} {t.hls()}")
            for pname, arr in layer.params.items():
                if not layer.types[pname].contains(arr):
                    raise SpecError(f"layer {layer.name!r}: {pname} values do not fit {layer.types[pname].hls()}")
            if layer.attrs.get("activation", "linear") not in ACTIVATIONS:
                raise SpecError(f"layer {layer.name!r}: activation {layer.attrs['activation']!r} unknown")
            outs[layer.name] = (tuple(layer.output_shape), layer.out_type)
        unread = [l.name for l in self.layers[:-1] if l.name not in read]
        if graph and unread:
            raise SpecError(f"spec {self.name!r}: the output of layer {unread[0]!r} is never read; a spec has one "
                            "output, its last layer")

    @staticmethod
    def _validate_merge(layer: Layer, kind, operands: list) -> None:
        """A merge's operands: each operand type equals its source's output, the shapes merge (the kind says
        how) to the layer's output shape, and the accumulator holds every result exactly."""
        if len(operands) < 2:
            raise SpecError(f"layer {layer.name!r} ({layer.kind}) merges {len(operands)} input; name at least two")
        try:
            types = layer.operand_types()
        except KeyError as e:
            raise SpecError(f"layer {layer.name!r} ({layer.kind}) has no type {e} for one of its operands") from None
        for k, ((_, src_t), own) in enumerate(zip(operands, types)):
            if not own.same_values(src_t):
                raise SpecError(f"layer {layer.name!r}: operand {k} type {own.hls()} != output of "
                                f"{layer.inputs[k]!r} {src_t.hls()}")
        try:
            want = tuple(kind.merge_shape(layer, [tuple(s) for s, _ in operands]))
        except ValueError as e:
            raise SpecError(f"layer {layer.name!r} ({layer.kind}): {e}") from None
        if tuple(layer.input_shape) != tuple(operands[0][0]) or tuple(layer.output_shape) != want:
            raise SpecError(f"layer {layer.name!r}: shapes {layer.input_shape} -> {layer.output_shape} != operands' "
                            f"{tuple(operands[0][0])} -> {want}")

    # ---------------------------------------------------------------- persistence
    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        layers = []
        for layer in self.layers:
            for pname, arr in layer.params.items():
                arrays[f"{layer.name}/{pname}"] = np.asarray(arr, dtype=np.int64)
            entry = {
                "name": layer.name,
                "kind": layer.kind,
                "input_shape": list(layer.input_shape),
                "output_shape": list(layer.output_shape),
                "attrs": layer.attrs,
                "types": {k: v.to_json() for k, v in layer.types.items()},
                "params": {p: {"shape": list(a.shape), "key": f"{layer.name}/{p}"} for p, a in layer.params.items()},
            }
            if layer.inputs is not None:  # a graph only: a chain's spec.json stays as it was
                entry["inputs"] = list(layer.inputs)
            layers.append(entry)
        doc = {
            "format": SPEC_FORMAT,
            "name": self.name,
            "input": {"shape": list(self.input_shape), "type": self.input_type.to_json()},
            "layers": layers,
            "meta": self.meta,
        }
        np.savez(folder / "params.npz", **arrays)
        (folder / "spec.json").write_text(json.dumps(doc, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Path) -> "DesignSpec":
        folder = Path(folder)
        path = folder / "spec.json"
        if not path.exists():
            raise SpecError(f"no design spec at {path}; build one with `codesign flow CONFIG --out RUN_DIR`")
        doc = json.loads(path.read_text())
        if doc.get("format") != SPEC_FORMAT:
            raise SpecError(f"{path}: format {doc.get('format')!r} is not {SPEC_FORMAT!r}")
        with np.load(folder / "params.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        layers = [
            Layer(
                name=d["name"], kind=d["kind"],
                input_shape=tuple(d["input_shape"]), output_shape=tuple(d["output_shape"]),
                attrs=d["attrs"],
                types={k: FixedType.from_json(v) for k, v in d["types"].items()},
                params={p: arrays[v["key"]] for p, v in d["params"].items()},
                inputs=d.get("inputs"),
            )
            for d in doc["layers"]
        ]
        spec = cls(doc["name"], tuple(doc["input"]["shape"]), FixedType.from_json(doc["input"]["type"]), layers, doc["meta"])
        spec.validate()
        return spec
