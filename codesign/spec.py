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

    @property
    def in_type(self) -> FixedType:
        return self.types["input"]

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
        """Check every parameter fits its declared type and shapes chain."""
        shape = tuple(self.input_shape)
        t = self.input_type
        for layer in self.layers:
            if not kinds.known(layer.kind):
                raise SpecError(f"layer {layer.name!r}: kind {layer.kind!r} unknown; known kinds: {kinds.names()}")
            if tuple(layer.input_shape) != shape:
                raise SpecError(f"layer {layer.name!r}: input shape {layer.input_shape} != previous output {shape}")
            if not layer.in_type.same_values(t):
                raise SpecError(f"layer {layer.name!r}: input type {layer.in_type.hls()} != previous output {t.hls()}")
            for pname, arr in layer.params.items():
                if not layer.types[pname].contains(arr):
                    raise SpecError(f"layer {layer.name!r}: {pname} values do not fit {layer.types[pname].hls()}")
            if layer.attrs.get("activation", "linear") not in ACTIVATIONS:
                raise SpecError(f"layer {layer.name!r}: activation {layer.attrs['activation']!r} unknown")
            shape, t = tuple(layer.output_shape), layer.out_type

    # ---------------------------------------------------------------- persistence
    def save(self, folder: Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        layers = []
        for layer in self.layers:
            for pname, arr in layer.params.items():
                arrays[f"{layer.name}/{pname}"] = np.asarray(arr, dtype=np.int64)
            layers.append({
                "name": layer.name,
                "kind": layer.kind,
                "input_shape": list(layer.input_shape),
                "output_shape": list(layer.output_shape),
                "attrs": layer.attrs,
                "types": {k: v.to_json() for k, v in layer.types.items()},
                "params": {p: {"shape": list(a.shape), "key": f"{layer.name}/{p}"} for p, a in layer.params.items()},
            })
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
            )
            for d in doc["layers"]
        ]
        spec = cls(doc["name"], tuple(doc["input"]["shape"]), FixedType.from_json(doc["input"]["type"]), layers, doc["meta"])
        spec.validate()
        return spec
