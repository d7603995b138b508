"""From a dense layer of the spec to the parameters and memory images of one `rtl/mvau.sv` engine.

Why a separate step: every width the RTL uses is decided here, once, from the spec's types (never
from the weight values alone), so the engine stays exact even when a fault campaign writes any
integer the weight type allows. The generator, the testbench driver and the load port all read the
same `LayerPlan`, so the memory layout is defined in one place.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..fixed import FixedType, bits_for_range
from ..kinds import registry as kinds
from ..spec import DesignSpec, Layer, SpecError
from .pipeline import pipeline_params

ROUND_CODES = {"TRN": 0, "TRN_ZERO": 1, "RND": 2, "RND_ZERO": 3, "RND_INF": 4, "RND_MIN_INF": 5, "RND_CONV": 6}
OVF_CODES = {"WRAP": 0, "SAT": 1, "SAT_SYM": 2}
MAX_EXACT_BITS = 62  # the emulator computes in int64; beyond this the RTL's exact sum could differ


class RTLError(SpecError):
    """A spec the RTL view cannot implement exactly (with the reason)."""


def _absmax(t: FixedType) -> int:
    return max(abs(t.qmin), abs(t.qmax))


def _stored_width(t: FixedType) -> int:
    """Bits to hold t's integers as two's complement (an unsigned type needs one more)."""
    return t.width if t.signed else t.width + 1


@dataclass
class RequantFields:
    """The accumulate + requant constants of rtl/mac_pipe.sv, shared by every engine's plan
    (computed by `requant_plan`; names as in the Verilog)."""
    B_W: int
    PS: int
    BS: int
    RW: int
    ACC_W: int
    ACC_SIGNED: int
    ACC_OVF: int
    RELU: int
    OS: int
    RND: int
    OUT_W: int
    OUT_SIGNED: int
    OUT_OVF: int


REQUANT_KEYS = tuple(RequantFields.__dataclass_fields__)


@dataclass
class LayerPlan(RequantFields):
    name: str
    n: int          # real fan-in
    m: int          # real outputs
    np_: int        # padded fan-in (multiple of simd and of the previous lane count)
    mp: int         # padded outputs (multiple of pe)
    pe: int
    simd: int
    XW: int
    X_SIGNED: int
    WW: int
    DOT_W: int
    SH_W: int
    kind: str = "dense"
    module: str = "mvau"

    @property
    def sf(self) -> int:
        return self.np_ // self.simd

    @property
    def nf(self) -> int:
        return self.mp // self.pe

    @property
    def cycles(self) -> int:
        """Clock cycles the engine needs per sample (one MAC issue per cycle)."""
        return self.sf * self.nf

    @property
    def lanes(self) -> int:
        return self.pe * self.simd

    @property
    def w_word(self) -> int:
        return self.pe * self.simd * self.WW

    @property
    def p_word(self) -> int:
        return self.pe * (self.SH_W + self.B_W)

    @property
    def waw(self) -> int:
        return max(1, (self.cycles - 1).bit_length())

    @property
    def paw(self) -> int:
        return max(1, (self.nf - 1).bit_length())

    def rtl_params(self) -> dict:
        """Verilog parameters of the mvau instance (names as in rtl/mvau.sv)."""
        keys = ("XW", "X_SIGNED", "WW", "DOT_W", "SH_W") + REQUANT_KEYS
        d = {"N": self.np_, "M": self.mp, "PE": self.pe, "SIMD": self.simd}
        d.update({k: getattr(self, k) for k in keys})
        d.update(pipeline_params())
        return d

    def mem_names(self) -> dict:
        """Verilog init parameter -> memory image suffix (file l<i>_<suffix>.mem)."""
        return {"W_INIT": "w", "P_INIT": "p"}

    def load_groups(self) -> tuple:
        """Images behind load-port selects 2*layer (weights) and 2*layer+1 (bias/shift words)."""
        return (("w",), ("p",))

    def to_json(self) -> dict:
        return asdict(self)


def rtl_kinds() -> tuple:
    """Kinds with an RTL engine (codesign/kinds: a `rtl_plan`)."""
    return tuple(k for k in kinds.names() if kinds.get(k).rtl_plan)


def dense_layers(spec: DesignSpec) -> list[Layer]:
    """The spec's engine layers in stream order (dense -> mvau, kron_dense -> kron_matvec, wings_dense ->
    wings_gen, conv2d -> swg + mvau, maxpool2d -> maxpool); flatten is a no-op on a stream. Their index
    is the `layer` of the load port (wl_sel = 2*layer), so a maxpool takes an index and has no memory."""
    out = []
    for layer in spec.layers:
        kind = kinds.find(layer.kind)
        if kind.rtl_passthrough:
            continue
        if kind.rtl_plan is None:
            raise RTLError(f"layer {layer.name!r}: the RTL view implements {', '.join(rtl_kinds())} layers, "
                           f"not {layer.kind!r}")
        if kind.rtl_image and out and not kinds.get(out[-1].kind).rtl_image:
            raise RTLError(f"layer {layer.name!r}: a {layer.kind} after a {out[-1].kind} layer; the RTL streams "
                           "images through conv2d/maxpool2d engines before the dense part, not after it")
        out.append(layer)
    if not out:
        raise RTLError(f"spec {spec.name!r} has no layer the RTL view implements")
    return out


def requant_plan(layer: Layer, prod_frac: int, dot_w: int, sh_max: int = 0, prod_name: str = "product") -> dict:
    """The accumulate + requant half every engine shares (rtl/mac_pipe.sv): bias width and alignment,
    product shift PS, the exact register width RW for any DOT_W-bit sum (shifted by up to `sh_max`)
    plus any bias, and the accumulator/output casts. `total_w` (the exact sum's width) is returned
    for the caller's range check; RTLError when the spec's fractions cannot be aligned exactly."""
    t = layer.types
    tacc, tout = t["accum"], t["output"]
    ps = tacc.frac - prod_frac
    if ps < 0:
        raise RTLError(f"layer {layer.name!r}: accum has fewer fraction bits ({tacc.frac}) than {prod_name} ({prod_frac})")
    has_bias = "bias" in layer.params
    bs = tacc.frac - t["bias"].frac if has_bias else 0
    if bs < 0:
        raise RTLError(f"layer {layer.name!r}: accum has fewer fraction bits than bias")
    b_max = _absmax(t["bias"]) if has_bias else 0
    dot_any = 1 << (dot_w - 1)  # requant is exact for any DOT_W-bit input, not only reachable sums
    total = (dot_any << (sh_max + ps)) + (b_max << bs)
    total_w = bits_for_range(-total, total, True)
    os_ = tacc.frac - tout.frac
    return dict(
        total_w=total_w, B_W=_stored_width(t["bias"]) if has_bias else 1, PS=ps, BS=bs,
        RW=max(total_w, tacc.width + 1, tacc.width - min(os_, 0) + 1, tout.width + 1) + 2,
        ACC_W=tacc.width, ACC_SIGNED=int(tacc.signed), ACC_OVF=OVF_CODES[tacc.overflow],
        RELU=int(layer.attrs.get("activation", "linear") == "relu"), OS=os_, RND=ROUND_CODES[tout.rounding],
        OUT_W=tout.width, OUT_SIGNED=int(tout.signed), OUT_OVF=OVF_CODES[tout.overflow],
    )


def plan_layer(layer: Layer, pe: int, simd: int, np_: int, mp: int) -> LayerPlan:
    """Widths and constants of one engine; raises RTLError when the spec's arithmetic cannot be exact."""
    t = layer.types
    w = layer.params["weight"]
    n, m = w.shape
    tin, tw, tp, tacc = t["input"], t["weight"], t["product"], t["accum"]
    has_shift = "weight_shift" in layer.params
    sh_w = t["weight_shift"].width if has_shift else 1
    sh_max = ((1 << sh_w) - 1) if has_shift else 0
    ww = _stored_width(tw)
    xw = tin.width
    # exact dot product of a column over the type ranges (any weight the type allows, e.g. after a bit flip)
    dot_bound = n * _absmax(tin) * _absmax(tw)
    dot_w = max(bits_for_range(-dot_bound, dot_bound, True), xw + ww + 2)
    rq = requant_plan(layer, tp.frac, dot_w, sh_max)
    total_w = rq.pop("total_w")
    if total_w > MAX_EXACT_BITS or tacc.width - min(rq["OS"], 0) > MAX_EXACT_BITS:
        raise RTLError(f"layer {layer.name!r}: exact accumulation needs {total_w} bits, more than {MAX_EXACT_BITS}")
    return LayerPlan(name=layer.name, n=n, m=m, np_=np_, mp=mp, pe=pe, simd=simd,
                     XW=xw, X_SIGNED=int(tin.signed), WW=ww, DOT_W=dot_w, SH_W=sh_w, **rq)


def _pack_words(codes: np.ndarray, bits: int) -> list[int]:
    """Rows of unsigned lane codes (lane 0 in the low bits) packed into integers, `bits` per lane."""
    rows, lanes = codes.shape
    bitmat = ((codes[:, :, None] >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    bitmat = bitmat.reshape(rows, lanes * bits)
    packed = np.packbits(bitmat, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def weight_words(layer: Layer, plan: LayerPlan, weight: np.ndarray | None = None) -> list[int]:
    """Weight memory image: word of*SF + sf, lane (p, s) at bits ((p*SIMD)+s)*WW (see rtl/mvau.sv)."""
    w = layer.params["weight"] if weight is None else weight
    wp = np.zeros((plan.np_, plan.mp), np.int64)
    wp[:plan.n, :plan.m] = w
    codes = (wp & ((1 << plan.WW) - 1)).astype(np.uint64)
    # [sf, s, of, p] -> [of, sf, p, s]
    codes = codes.reshape(plan.sf, plan.simd, plan.nf, plan.pe).transpose(2, 0, 3, 1)
    return _pack_words(codes.reshape(plan.nf * plan.sf, plan.pe * plan.simd), plan.WW)


def param_words(layer: Layer, plan: LayerPlan) -> list[int]:
    """Parameter memory image: word of, lane p = {weight_shift, bias} at bits p*(SH_W+B_W)."""
    bias = np.zeros(plan.mp, np.int64)
    shift = np.zeros(plan.mp, np.int64)
    if "bias" in layer.params:
        bias[:plan.m] = layer.params["bias"]
    if "weight_shift" in layer.params:
        shift[:plan.m] = layer.params["weight_shift"]
    lane = ((shift << plan.B_W) | (bias & ((1 << plan.B_W) - 1))).astype(np.uint64)
    return _pack_words(lane.reshape(plan.nf, plan.pe), plan.SH_W + plan.B_W)


def write_mem(path, words: list[int], width: int) -> None:
    """Hex image, one word a line; no words: a comment only (a memory the engine fills at run time)."""
    digits = max(1, -(-width // 4))
    if not words:
        path.write_text("// no stored contents: written at run time by the engine (wings_gen generates it)\n")
        return
    path.write_text("".join(f"{w:0{digits}x}\n" for w in words))
