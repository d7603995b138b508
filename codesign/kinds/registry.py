"""The layer-kind registry: what every view needs of a layer kind, looked up by the kind's name.

Each kind (``codesign/kinds/<kind>.py``) registers one `Kind`: its facts for the spec (MACs), the
compression accounting, the emulator kernel, the hls4ml binding (Keras twin, precisions, Extension-API
registration) and the RTL planner (engine geometry, plan, memory images). A view calls
`get(layer.kind)` and uses the piece it needs; it never branches on a kind's name, so a new kind is
one module that calls `register` (see tests/toy_kind.py). Like hls4ml's layer registry and FINN's
CustomOp: the kind owns its per-view variants.

A piece left as None means the view does not implement the kind (the view says so in one line).
This module imports nothing of codesign: the spec, the views and the kind modules all sit above it.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable


class UnknownKindError(ValueError):
    """A layer kind no module registered."""


@dataclass(frozen=True)
class ModelLayer:
    """A layer of a run config's ``model.layers`` list (codesign/models.py) and its Keras build."""
    keys: frozenset                           # allowed keys
    build: Callable                           # (args, x, quantized, name) -> keras tensor
    required: frozenset = frozenset()
    check: Callable | None = None          # (i, args) -> None or ConfigError: checks beyond the keys
    kernel_quantizer: bool = False            # its `kernel` picks ternary / bits (STQ and q8 rewrite it)
    neurons: bool = False                     # has output neurons a following relu acts on (a lock unit can force them)


@dataclass(frozen=True)
class Kind:
    """What the views need of one layer kind (every callable takes the spec `Layer` first)."""
    name: str
    kernel: Callable                          # emulator: (x int64 (N, ...), layer) -> y int64
    macs: Callable = lambda layer: 0          # multiply-accumulates of one inference
    reshape: bool = False                     # values pass unchanged, only the shape changes (flatten)
    # a merge (add, subtract, concatenate: codesign/kinds/merge.py): (layer, operand shapes) -> its output shape, or
    # ValueError; its kernel and hls_twin take the list of operands instead of one array / tensor
    merge_shape: Callable | None = None
    # the kernel is emulator.dense_kernel (acc = x @ (W << weight_shift) + bias, then the epilogue) on
    # "vector" inputs (dense) or on the k x k "windows" (conv2d, im2col): fault engines update it incrementally
    matmul: str | None = None
    # (layer) -> kernel(x): the kernel with its per-design work done once (wings: the generated weights),
    # for callers that run one layer on many batches (fault campaigns); None: the plain kernel
    prepare: Callable | None = None
    # fault-campaign view (codesign/faults/): the stored parameters that are fault sites, in addressing
    # order (absent ones skipped; a parameter not listed has no fault addressing and is refused)
    stored_params: tuple = ()
    # the bit-flip attack's float twin (codesign/faults/twin.py): the name of its gradient variant for
    # this kind, a key of twin.BACKWARD (a layer with stored parameters, ranked) or twin.PASS (a
    # parameter-free layer the gradient passes); None: the twin stops at this kind (reshapes pass anyway)
    twin: str | None = None
    # compression accounting (report.json `compression`): set for a kind that replaces a dense layer
    dense_equivalent_bits: Callable | None = None   # layer -> bits of the dense layer it stands for
    compression_extra: Callable | None = None       # (layer, entry dict) -> None: more fields
    # hls4ml view
    hls_twin: Callable | None = None       # (layer, keras tensor) -> keras tensor (float twin)
    hls_precision: Callable | None = None  # (layer, entry, names, model cfg) -> None; None: result only
    hls_register: Callable | None = None   # () -> None: hls4ml Extension-API registration (idempotent)
    # RTL view; rtl_plan None: no engine (and `rtl_passthrough` says whether the stream just passes)
    rtl_passthrough: bool = False             # a no-op on the stream (flatten): no engine, no index
    rtl_image: bool = False                   # an image (pixel-stream) engine: before the dense part
    rtl_shape: Callable | None = None      # layer -> the folding chooser's geometry of the engine
    rtl_plan: Callable | None = None       # (layer, pe, simd, np_, mp) -> plan of the engine
    rtl_check: Callable | None = None      # (layer, pe, simd) -> None or RTLError: the engine's constraints
    rtl_images: Callable | None = None     # (layer, plan) -> {suffix: (words, word width)}
    rtl_folding: Callable | None = None    # layer -> fixed {pe, simd} (no lanes to choose), else None
    rtl_unsupported: Callable | None = None  # layer -> reason the engine cannot do this layer, or None
    # the engine keeps parameter memories of its own that the weight-memory checker (rtl.checker, which
    # scans mvau memories: codesign/rtl/checker.py) does not scan: such a config is refused at load
    rtl_own_memories: bool = False
    # model zoo (codesign/models.py): the kind as a run config's layer entry, built as a (Q)Keras layer
    model_layer: ModelLayer | None = None


_KINDS: dict[str, Kind] = {}


def register(kind: Kind, replace: bool = False) -> Kind:
    """Register `kind` under its name; registering a taken name again is an error unless `replace`."""
    if kind.name in _KINDS and not replace and _KINDS[kind.name] is not kind:
        raise ValueError(f"layer kind {kind.name!r} is already registered; pass replace=True to override it")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (tests registering a toy kind clean up with this)."""
    _KINDS.pop(name, None)


def names() -> tuple:
    """Registered kinds, in registration order."""
    return tuple(_KINDS)


def get(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKindError(f"layer kind {name!r} unknown; known kinds: {names()}") from None


def prepared(layer) -> Callable:
    """kernel(x) of `layer` with its kind's per-design work done once (see Kind.prepare)."""
    kind = get(layer.kind)
    if kind.prepare:
        return kind.prepare(layer)
    return lambda x: kind.kernel(x, layer)


def known(name: str) -> bool:
    return name in _KINDS


def find(name: str) -> Kind:
    """The kind, or an empty one (no view implements it) for a name nobody registered: views that list
    what they cannot implement (RTL) name such a layer like any other they lack an engine for."""
    return _KINDS.get(name) or Kind(name, kernel=None)
