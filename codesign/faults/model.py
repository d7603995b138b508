"""The fault model: a fault is a set of flipped bits of the integers a design stores.

A single-bit fault is a *site* (layer, parameter, flat index, bit) on the integer as the hardware
stores it: two's complement at the parameter type's width (an unsigned type: its plain binary
value). A ternary weight is the 2-bit two's-complement code the RTL memory holds (00 = 0, 01 = +1,
11 = -1); flipping bit 1 of 0 gives the unused code 10 = -2, which every view computes with as -2.
WINGs generator parameters, Kronecker factors, biases and weight shifts are addressed the same way.
(The RTL keeps unsigned parameters such as the WINGs tables in one extra, always-zero sign bit
(`rtl/plan._stored_width`); that bit's flip is a value the spec type cannot hold, so it is not a site.)

Sites are numbered 0 .. total_bits-1 in spec order (layer, then parameter in the spec's order, then
row-major flat index, then bit, LSB first): the number is the fault's stable id in campaign rows.
A multi-bit fault is a sorted tuple of site numbers. A faulty design is a copy of the spec with the
changed integers (`apply`), so every view (emulator, hls4ml, RTL) can run it.

Which parameters of a layer kind are stored (fault targets) is the kind's own fact
(`Kind.stored_params`, set in its module under codesign/kinds/): a new kind lists them there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..fixed import FixedType
from ..kinds import registry as kinds
from ..spec import DesignSpec, SpecError


def stored_params(layer) -> tuple:
    """The layer's stored parameters that are fault sites, in addressing order (its kind's
    `stored_params`); a kind nobody registered, or a parameter its kind does not list, is refused."""
    if not kinds.known(layer.kind):
        raise SpecError(f"layer {layer.name!r}: kind {layer.kind!r} has no fault addressing "
                        f"(no module registered it; known kinds: {kinds.names()})")
    listed = kinds.get(layer.kind).stored_params
    extra = set(layer.params) - set(listed)
    if extra:
        raise SpecError(f"layer {layer.name!r}: parameters {sorted(extra)} have no fault addressing "
                        f"(kind {layer.kind!r} lists {list(listed)} in its Kind.stored_params)")
    return listed


def flip_value(v: int, bit: int, t: FixedType) -> int:
    """v with one bit flipped in its t.width-bit two's-complement (or unsigned) form."""
    u = (int(v) & ((1 << t.width) - 1)) ^ (1 << bit)
    if t.signed and u >= 1 << (t.width - 1):
        u -= 1 << t.width
    return u


def flip_array(v: np.ndarray, bit: np.ndarray, width: int, signed: bool) -> np.ndarray:
    """Vectorised `flip_value` over int64 arrays (same width/signedness for all)."""
    u = (np.asarray(v, np.int64) & ((1 << width) - 1)) ^ (np.int64(1) << np.asarray(bit, np.int64))
    if signed:
        u = np.where(u >= (1 << (width - 1)), u - (1 << width), u)
    return u


@dataclass(frozen=True)
class Block:
    """One stored parameter tensor: its sites are start .. start + size*width - 1."""
    layer: int          # index into spec.layers
    layer_name: str
    param: str
    size: int
    width: int
    signed: bool
    start: int

    @property
    def bits(self) -> int:
        return self.size * self.width


class SiteMap:
    """Numbering of every stored bit of a spec; decodes site numbers into (layer, param, index, bit)."""

    def __init__(self, spec: DesignSpec):
        blocks, start = [], 0
        for li, layer in enumerate(spec.layers):
            for p in stored_params(layer):
                if p not in layer.params:
                    continue
                t = layer.types[p]
                b = Block(li, layer.name, p, int(layer.params[p].size), t.width, t.signed, start)
                blocks.append(b)
                start += b.bits
        self.blocks = blocks
        self.total = start
        self._starts = np.array([b.start for b in blocks] + [start], np.int64)

    def block_of(self, sites: np.ndarray) -> np.ndarray:
        """Block number of each site."""
        sites = np.asarray(sites, np.int64)
        if sites.size and (sites.min() < 0 or sites.max() >= self.total):
            raise SpecError(f"fault site outside 0..{self.total - 1}")
        return np.searchsorted(self._starts, sites, side="right") - 1

    def decode(self, sites) -> dict:
        """Columns layer, layer_name, param, index, bit for an array of site numbers."""
        sites = np.asarray(sites, np.int64)
        bi = self.block_of(sites)
        width = np.array([b.width for b in self.blocks], np.int64)[bi]
        off = sites - self._starts[bi]
        return {"block": bi, "layer": np.array([self.blocks[k].layer for k in bi], np.int64),
                "index": off // width, "bit": off % width}

    def site(self, layer_name: str, param: str, index: int, bit: int) -> int:
        for b in self.blocks:
            if b.layer_name == layer_name and b.param == param:
                if not (0 <= index < b.size and 0 <= bit < b.width):
                    raise SpecError(f"{layer_name}.{param}[{index}] bit {bit} outside {b.size} x {b.width} bits")
                return b.start + index * b.width + bit
        raise SpecError(f"no stored parameter {layer_name}.{param}")

    def describe(self, site: int) -> tuple[str, str, int, int]:
        d = self.decode([site])
        b = self.blocks[int(d["block"][0])]
        return b.layer_name, b.param, int(d["index"][0]), int(d["bit"][0])

    def layers_of(self, sites) -> set:
        return set(self.decode(sites)["layer"].tolist())


def apply(spec: DesignSpec, sites, sitemap: SiteMap | None = None) -> DesignSpec:
    """A copy of `spec` with every bit in `sites` flipped (a multi-bit fault; a bit listed twice is
    flipped twice, i.e. restored). The result validates: a flipped integer stays in its type.

    Only the flipped parameter arrays are copied: the other arrays are shared with `spec` as
    read-only views (a campaign makes thousands of faulty designs of a 200k-weight spec; a deep copy
    each time cost more than the incremental engine's work), so writing into them raises instead of
    changing `spec`."""
    sm = sitemap or SiteMap(spec)
    faulty = _shallow_copy(spec)
    d = sm.decode(sites)
    owned = set()
    for bi, idx, bit in zip(d["block"], d["index"], d["bit"]):
        b = sm.blocks[int(bi)]
        layer = faulty.layers[b.layer]
        if (b.layer, b.param) not in owned:  # own writable copy
            layer.params[b.param] = np.array(spec.layers[b.layer].params[b.param], np.int64)
            owned.add((b.layer, b.param))
        flat = layer.params[b.param].reshape(-1)
        flat[idx] = flip_value(int(flat[idx]), int(bit), layer.types[b.param])
    return faulty


def _shallow_copy(spec: DesignSpec) -> DesignSpec:
    """New spec and layer objects with their own dicts; parameter arrays as read-only views."""
    import copy
    from dataclasses import replace

    def ro(a):
        v = np.asarray(a).view()
        v.flags.writeable = False
        return v

    layers = [replace(l, attrs=copy.deepcopy(l.attrs), types=dict(l.types),
                      params={k: ro(v) for k, v in l.params.items()}) for l in spec.layers]
    return replace(spec, layers=layers, meta=copy.deepcopy(spec.meta))


def fault_key(sites) -> str:
    """Stable text id of a fault: its sorted site numbers joined by '+'."""
    return "+".join(str(int(s)) for s in sorted(sites))
