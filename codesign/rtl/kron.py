"""From a `kron_dense` layer of the spec to the parameters and memory images of one `rtl/kron_matvec.sv`.

Same role as plan.py for mvau: every width is decided here from the spec's types (never from the
factor values), so the engine stays exact for any factor a fault campaign can write. One folding
(PE x SIMD MAC lanes) serves both stages because they share the lanes: stage 1 puts PE over j1 and
SIMD over i1, stage 2 PE over j1 and SIMD over k = r*n2 + i2 (see rtl/kron_matvec.sv).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..fixed import bits_for_range
from ..spec import Layer
from .plan import (MAX_EXACT_BITS, OVF_CODES, REQUANT_KEYS, ROUND_CODES, RequantFields, RTLError, _absmax, _pack_words,
                   _stored_width, requant_plan)
from .pipeline import mac_extra_stages, pipeline_params

# without extra MAC stages a mid word is written 4 edges after its last stage-1 issue (read, dot,
# accumulate, the registered mid cast); stage 2 reads it at its issue edge
MAX_DRAIN = 4
# dot_simd's multiplier-lane registers (MS) in kron_matvec's MAC lanes: off. They land each mid write two
# edges later, which costs the MNIST example's folding (PE 16, SIMD 7) two drain cycles a sample
# (352 -> 354, and the issue asks for the same cycles per inference); turn on once a route shows their gain
# on the register -> MULT18X18D -> register path (78 MHz, 8.4 ns routing; bench/results/pnr_fmax.json).
# No reordering of either stage's schedule hides them: mac_pipe accumulates an output's terms in consecutive
# slots with one accumulator a lane, so stage 1's last slot finishes a row (its mid word written max_drain
# edges later), every stage-2 output reads that row's word, and the first output reads it within its KF
# slots (MNIST: max_drain 9 with MS, KF 8, so 2 idle slots whatever the k-fold or output order). Keeping
# 352 with MS needs a datapath change: forward the mid word being written (ymid, held one more cycle) into
# the lane's operand register for a stage-2 read issued up to two edges before the write, or take two
# edges off the stage-1 -> mid-write path (OP_REG 0 when MS brings its own operand register is one of them).
KRON_MREG = 0


def max_drain(simd: int, wu: int) -> int:
    """Edges from a row's last stage-1 issue to its mid write: 4 plus mac_pipe's extra stages."""
    return MAX_DRAIN + mac_extra_stages(simd, wu, mreg=KRON_MREG)


def drain_cycles(d: dict, pe: int, simd: int) -> int:
    """Fewest idle issue slots between the stages so every stage-2 read of a mid word follows its write.

    Stage 1 issues row k = r*n2 + i2 (J1F*I1F slots: j1f outer, i1f inner) and writes word (k // SIMD,
    j1f) max_drain(SIMD, wu) slots after the row's (j1f, last i1f) issue; stage 2 reads word (kf, j1f) at slot
    j1f*KF + kf after the drain. The latest writer of a word is the last row of its k fold.
    """
    j1f_n, i1f_n = d["m1"] // pe, d["n1"] // simd
    k = d["rank"] * d["n2"]
    kf_n = -(-k // simd)
    need = 0
    for kf in range(kf_n):
        k_last = min(k, (kf + 1) * simd) - 1
        for j in range(j1f_n):
            written = (k - 1 - k_last) * j1f_n * i1f_n + (j1f_n - 1 - j) * i1f_n  # slots before stage 1 ends
            need = max(need, max_drain(simd, d["wu"]) - written - (j * kf_n + kf))
    return need


def kron_dims(layer: Layer) -> dict:
    """Shape of the factorisation, plus wu (the MAC lanes' weight width, which sets their pipeline depth)."""
    a = layer.attrs
    return {"n1": int(a["n1"]), "n2": int(a["n2"]), "m1": int(a["m1"]), "m2": int(a["m2"]), "rank": int(a["rank"]),
            "wu": max(_stored_width(layer.types["a"]), _stored_width(layer.types["b"]))}


def kron_cycles(d: dict, pe: int, simd: int) -> int:
    """Cycles per sample of a kron_matvec engine with PE x SIMD lanes (both stages + drain)."""
    j1f, i1f = d["m1"] // pe, d["n1"] // simd
    kf = -(-d["rank"] * d["n2"] // simd)
    return d["rank"] * d["n2"] * j1f * i1f + d["m2"] * j1f * kf + drain_cycles(d, pe, simd)


def kron_foldings(d: dict) -> list[tuple[int, int]]:
    """(pe, simd) the engine accepts: PE divides m1 (output beats in row-major order), SIMD divides n1."""
    return [(pe, simd) for pe in range(1, d["m1"] + 1) if d["m1"] % pe == 0
            for simd in range(1, d["n1"] + 1) if d["n1"] % simd == 0]


@dataclass
class KronPlan(RequantFields):
    name: str
    n: int
    m: int
    np_: int
    mp: int
    pe: int
    simd: int
    n1: int
    n2: int
    m1: int
    m2: int
    rank: int
    XW: int
    X_SIGNED: int
    AW: int
    BW: int
    MID_W: int
    MID_SIGNED: int
    UW: int
    WU: int
    DOT_W: int
    OS1: int
    RND1: int
    MID_OVF: int
    RW1: int
    kind: str = "kron"
    module: str = "kron_matvec"

    @property
    def i1f(self) -> int:
        return self.n1 // self.simd

    @property
    def j1f(self) -> int:
        return self.m1 // self.pe

    @property
    def kf(self) -> int:
        return -(-self.rank * self.n2 // self.simd)

    @property
    def da(self) -> int:
        return self.rank * self.j1f * self.i1f

    @property
    def db(self) -> int:
        return self.m2 * self.kf

    @property
    def cycles(self) -> int:
        return kron_cycles(dict(asdict(self), wu=self.WU), self.pe, self.simd)

    @property
    def lanes(self) -> int:
        return self.pe * self.simd

    @property
    def w_word(self) -> int:
        return max(self.pe * self.simd * self.AW, self.simd * self.BW)

    @property
    def p_word(self) -> int:
        return self.pe * (1 + self.B_W)

    @property
    def waw(self) -> int:
        return max(1, (self.da + self.db - 1).bit_length())

    @property
    def paw(self) -> int:
        return max(1, (self.m // self.pe - 1).bit_length())

    @property
    def drain(self) -> int:
        return drain_cycles(dict(asdict(self), wu=self.WU), self.pe, self.simd)

    def rtl_params(self) -> dict:
        keys = tuple("XW X_SIGNED AW BW MID_W MID_SIGNED UW WU DOT_W OS1 RND1 MID_OVF RW1".split()) + REQUANT_KEYS
        d = {"N1": self.n1, "N2": self.n2, "M1": self.m1, "M2": self.m2, "R": self.rank, "PE": self.pe,
             "SIMD": self.simd}
        d.update({k: getattr(self, k) for k in keys})
        d["DRAIN"] = self.drain
        d.update(pipeline_params())
        d["MREG"] = KRON_MREG
        return d

    def mem_names(self) -> dict:
        """Verilog init parameter -> memory image suffix (file l<i>_<suffix>.mem)."""
        return {"A_INIT": "a", "B_INIT": "b", "P_INIT": "p"}

    def load_groups(self) -> tuple:
        """Load-port select 2*layer writes factor A then B (one address space), 2*layer+1 the parameters."""
        return (("a", "b"), ("p",))

    def to_json(self) -> dict:
        return asdict(self)


def plan_kron(layer: Layer, pe: int, simd: int) -> KronPlan:
    """Widths and constants of one kron_matvec engine; RTLError when the folding or arithmetic cannot be exact."""
    d = kron_dims(layer)
    if d["m1"] % pe or d["n1"] % simd:
        raise RTLError(f"layer {layer.name!r}: kron_matvec needs PE | m1 and SIMD | n1, got PE={pe} (m1={d['m1']}), "
                       f"SIMD={simd} (n1={d['n1']})")
    t = layer.types
    tin, ta, tb, tmid, tacc = t["input"], t["a"], t["b"], t["mid"], t["accum"]
    xw, aw, bw = tin.width, _stored_width(ta), _stored_width(tb)
    uw = max(xw + 1 - int(tin.signed), tmid.width + 1 - int(tmid.signed))
    wu = max(aw, bw)
    # exact stage sums over the type ranges (any factor the type allows, e.g. after a bit flip)
    b1 = d["n1"] * _absmax(tin) * _absmax(ta)
    b2 = d["rank"] * d["n2"] * _absmax(tmid) * _absmax(tb)
    dot_w = max(bits_for_range(-b1, b1, True), bits_for_range(-b2, b2, True), uw + wu + 2)
    os1 = tin.frac + ta.frac - tmid.frac
    rw1 = max(dot_w, dot_w - min(os1, 0), tmid.width + 1) + 3
    rq = requant_plan(layer, tmid.frac + tb.frac, dot_w, prod_name="mid x b")
    total_w = rq.pop("total_w")
    if max(total_w, rw1, tacc.width - min(rq["OS"], 0)) > MAX_EXACT_BITS:
        raise RTLError(f"layer {layer.name!r}: exact accumulation needs more than {MAX_EXACT_BITS} bits")
    n, m = d["n1"] * d["n2"], d["m1"] * d["m2"]
    return KronPlan(
        name=layer.name, n=n, m=m, np_=n, mp=m, pe=pe, simd=simd, **{k: d[k] for k in ("n1", "n2", "m1", "m2", "rank")},
        XW=xw, X_SIGNED=int(tin.signed), AW=aw, BW=bw, MID_W=tmid.width, MID_SIGNED=int(tmid.signed), UW=uw, WU=wu,
        DOT_W=dot_w, OS1=os1, RND1=ROUND_CODES[tmid.rounding], MID_OVF=OVF_CODES[tmid.overflow], RW1=rw1, **rq,
    )


def a_words(layer: Layer, p: KronPlan) -> list[int]:
    """A memory: word (r*J1F + j1f)*I1F + i1f, lane (q, s) at bits (q*SIMD+s)*AW = A[r, j1f*PE+q, i1f*SIMD+s]."""
    a = np.asarray(layer.params["a"], np.int64)
    codes = (a & ((1 << p.AW) - 1)).astype(np.uint64)
    codes = codes.reshape(p.rank, p.j1f, p.pe, p.i1f, p.simd).transpose(0, 1, 3, 2, 4)
    return _pack_words(codes.reshape(p.da, p.pe * p.simd), p.AW)


def b_words(layer: Layer, p: KronPlan) -> list[int]:
    """B memory: word j2*KF + kf, lane s at bits s*BW = B[r, j2, i2] for k = kf*SIMD+s = r*n2+i2 (0 beyond R*n2)."""
    b = np.asarray(layer.params["b"], np.int64)
    bk = np.zeros((p.kf * p.simd, p.m2), np.int64)
    bk[:p.rank * p.n2] = b.transpose(0, 2, 1).reshape(p.rank * p.n2, p.m2)
    codes = (bk & ((1 << p.BW) - 1)).astype(np.uint64)
    codes = codes.reshape(p.kf, p.simd, p.m2).transpose(2, 0, 1)
    return _pack_words(codes.reshape(p.db, p.simd), p.BW)


def factor_words(layer: Layer, p: KronPlan) -> list[int]:
    """The load port's view of the factor memory: A words, then B words (address DA + j2*KF + kf)."""
    return a_words(layer, p) + b_words(layer, p)


def kron_param_words(layer: Layer, p: KronPlan) -> list[int]:
    """Bias memory: word j2*J1F + j1f, lane q = {1'b0, bias[j2*m1 + j1f*PE + q]} at bits q*(1+B_W)."""
    bias = np.zeros(p.m, np.int64)
    if "bias" in layer.params:
        bias[:] = layer.params["bias"]
    lane = (bias & ((1 << p.B_W) - 1)).astype(np.uint64)
    return _pack_words(lane.reshape(p.m // p.pe, p.pe), 1 + p.B_W)
