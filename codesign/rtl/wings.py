"""From a `wings_dense` layer of the spec to the parameters and memory images of one `rtl/wings_gen.sv`.

Same role as plan.py (mvau) and kron.py (kron_matvec): every width is decided here from the spec's
types, over each parameter type's whole range (never from the trained values), so the engine's sums
stay exact for any value a fault writes through the load port. The dense part is planned by
`plan_layer` on a stand-in dense layer with the generated weight's type (its values are not needed:
the engine generates them), so its widths are exactly those of an mvau for the same layer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..fixed import FixedType, bits_for_range
from ..spec import Layer
from .plan import (MAX_EXACT_BITS, OVF_CODES, ROUND_CODES, LayerPlan, RTLError, _absmax, _pack_words,
                   _stored_width, param_words, plan_layer)

# idle cycles after each generator phase while the pipe empties: read, memory output, operand, distance
# and table registers, product, accumulate, the three cast stages (accumulator type, rounding, overflow),
# write (rtl/wings_gen.sv)
PHASE_DRAIN = 11
# operand register stages of the dense part (mac_pipe OP_REG): the generated-weight buffer is as large
# as a dense layer's weights, spread over ~90 block RAMs (MNIST WINGs MLP: 4,096 words x 392 bits);
# placed and routed, one register between their outputs (5.8 ns clock-to-out on an ECP5) and the
# products was 12.6 ns away (79.6 MHz). A second stage lets the placer put one register by the RAMs:
# one more cycle of latency, none per inference.
WEIGHT_OP_REG = 2


@dataclass
class WingsPlan(LayerPlan):
    gen: dict = field(default_factory=dict)   # wings_gen generator parameters (names as in rtl/wings_gen.sv)
    kind: str = "wings"
    module: str = "wings_gen"

    # -------------------------------------------------------------- generator geometry
    @property
    def grid(self) -> bool:
        return bool(self.gen["GRID"])

    def regions(self) -> list[tuple[str, int]]:
        """Load-port regions of wl_sel = 2*layer in address order: (image suffix, words)."""
        g = self.gen
        out = [("svr", g["K"] * g["S"])]
        if self.grid:
            out.append(("z", g["K"] * g["GR"] * g["GC"]))
        else:
            out.append(("basis", g["K"] * self.sf))
        out += [("beta", g["K"]), ("klut", g["KL"])]
        if self.grid:
            out += [("plut", g["PL"]), ("prow", g["GR"]), ("pcol", g["GC"])]
        return out

    @property
    def gen_words(self) -> int:
        return sum(n for _, n in self.regions())

    @property
    def gen_cycles(self) -> int:
        """Cycles from reset until inputs are accepted (one-time): every component stale."""
        return self.regen_cycles(self.gen["K"], self.gen["K"] if self.grid else 0)

    def regen_cycles(self, curves: int, bases: int, cols=None, rows=None) -> int:
        """Cycles of a regeneration with `curves` components' curve rows and `bases` components' basis
        rows stale (rtl/wings_gen.sv: a load-port write marks what it feeds): per component one SEL
        cycle, plus SEL + phase for each stale part; then SEL + the weight phase (`weight_cycles`)."""
        return sum(self.regen_phases(curves, bases, cols, rows).values())

    def regen_phases(self, curves: int, bases: int, cols=None, rows=None) -> dict:
        """`regen_cycles` by phase: select (SEL visits), curve, basis (MID + ROW), weight."""
        g = self.gen
        return {"select": g["K"] + curves + bases + 1,
                "curve": curves * (g["NO"] * g["S"] + PHASE_DRAIN),
                "basis": bases * (g["GR"] * g["WD"] * g["GC"] + g["H"] * g["WD"] * g["GR"] + 2 * PHASE_DRAIN),
                "weight": self.weight_cycles(cols, rows)}

    def stale(self, param: str) -> tuple[int, int]:
        """(curve rows, basis rows) a write of one word of generator parameter `param` makes stale
        (rtl/wings_gen.sv set_c / set_b): a component's own parameter one row, a shared table all."""
        k = self.gen["K"]
        return {"alpha": (1, 0), "sv": (1, 0), "beta": (1, 0), "klut": (k, 0), "z": (0, 1),
                "plut": (0, k), "prow": (0, k), "pcol": (0, k)}.get(param, (0, 0))

    def weight_cycles(self, cols=None, rows=None) -> int:
        """Cycles of the weight phase when the column groups `cols` (nf bools: a curve entry of one of
        its PE columns changed) and the basis words `rows` (sf bools: a component's basis word changed)
        are what changed since the last one (None: all, as after reset). rtl/wings_gen.sv issues the
        PE*K terms of each weight word (of, sf) with cols[of] or rows[sf], spends one cycle on every
        other word (on a whole column when no row changed), then drains the pipe."""
        cols = np.ones(self.nf, bool) if cols is None else np.asarray(cols, bool)
        rows = np.ones(self.sf, bool) if rows is None else np.asarray(rows, bool)
        word = self.pe * self.gen["K"]
        if not rows.any():
            t = int(cols.sum()) * self.sf * word + int((~cols).sum())
            last = None
            if cols.any():  # the last issued term: the last dirty column's last word
                of = int(np.nonzero(cols)[0][-1])
                last = int(cols[:of + 1].sum()) * self.sf * word + int((~cols[:of]).sum()) - 1
        else:
            dirty = cols[:, None] | rows[None, :]                 # (nf, sf) words in issue order
            cost = np.where(dirty, word, 1).reshape(-1)
            t = int(cost.sum())
            flat = dirty.reshape(-1)
            last = int(cost[:np.nonzero(flat)[0][-1] + 1].sum()) - 1 if flat.any() else None
        return t + 1 if last is None else max(t + 1, last + PHASE_DRAIN + 1)

    def changed(self, before: Layer, after: Layer) -> tuple[np.ndarray, np.ndarray]:
        """(cols, rows) of `weight_cycles` for a change of the generator parameters from `before` to
        `after`: the column groups whose curve entries differ, the basis words whose values differ."""
        from ..techniques.wings.gen import basis_int, curves_int

        g = self.gen
        dc = np.zeros(self.nf * self.pe, bool)
        dc[:g["NO"]] = (curves_int(before) != curves_int(after)).any(axis=0)[:g["NO"]]
        db = np.zeros(self.sf * self.simd, bool)
        db[:g["NI"]] = (basis_int(before) != basis_int(after)).reshape(g["K"], -1).any(axis=0)[:g["NI"]]
        if not self.grid and db.any():  # a stored basis word written: every row (the RTL does not compare)
            db[:] = True
        return dc.reshape(self.nf, self.pe).any(axis=1), db.reshape(self.sf, self.simd).any(axis=1)

    @property
    def w_word(self) -> int:  # the load word: widest region word
        return self.gen["WLD"]

    @property
    def waw(self) -> int:
        return max(1, (self.gen_words - 1).bit_length())

    def rtl_params(self) -> dict:
        d = super().rtl_params()
        del d["SH_W"]
        d["OP_REG"] = WEIGHT_OP_REG
        d.update(self.gen)
        return d

    def mem_names(self) -> dict:
        return {"W_INIT": "w", "P_INIT": "p", "SVR_INIT": "svr", "Z_INIT": "z", "BASIS_INIT": "basis",
                "BETA_INIT": "beta", "KLUT_INIT": "klut", "PLUT_INIT": "plut", "PROW_INIT": "prow",
                "PCOL_INIT": "pcol"}

    def load_groups(self) -> tuple:
        """Images behind wl_sel = 2*layer (in address order) and 2*layer+1."""
        return (tuple(name for name, _ in self.regions()), ("p",))

    def to_json(self) -> dict:
        return dict(asdict(self), gen_cycles=self.gen_cycles)


def _cast_widths(sum_w: int, ps: int, bias_max: int, bs: int, os_: int, out: FixedType, what: str, layer: Layer):
    """(ACC_W, RW) of a requant lane that casts an exact sum_w-bit sum (plus bias) to `out`."""
    total = ((1 << (sum_w - 1)) << ps) + (bias_max << bs)
    acc_w = bits_for_range(-total, total, True)
    rw = max(acc_w + 1, acc_w - min(os_, 0) + 1, out.width + 1) + 2
    if rw > MAX_EXACT_BITS:
        raise RTLError(f"layer {layer.name!r}: the {what} cast needs {rw} bits, more than {MAX_EXACT_BITS}")
    return acc_w, rw


def _index_width(layer: Layer, name: str) -> int:
    t = layer.types[name]
    if t.signed or t.frac != 0:
        raise RTLError(f"layer {layer.name!r}: {name} must be an unsigned integer type, got {t.hls()}")
    return t.width


def _sum_width(bound: int, layer: Layer, what: str) -> int:
    w = max(bits_for_range(-bound, bound, True), 2)
    if w > MAX_EXACT_BITS:
        raise RTLError(f"layer {layer.name!r}: the exact {what} sum needs {w} bits, more than {MAX_EXACT_BITS}")
    return w


def dense_standin(layer: Layer) -> Layer:
    """The dense layer the generated weights make (zero weights: only shapes and types are used)."""
    t = layer.types
    tin, tw = t["input"], t["weight"]
    if t["product"].frac != tin.frac + tw.frac:
        raise RTLError(f"layer {layer.name!r}: product type {t['product'].hls()} is not input x weight")
    types = {k: t[k] for k in ("input", "weight", "product", "accum", "output") }
    params = {"weight": np.zeros((layer.input_shape[-1], layer.output_shape[-1]), np.int64)}
    if "bias" in layer.params:
        types["bias"] = t["bias"]
        params["bias"] = layer.params["bias"]
    return Layer(layer.name, "dense", tuple(layer.input_shape), tuple(layer.output_shape),
                 attrs={"activation": layer.attrs.get("activation", "linear")}, types=types, params=params)


def plan_wings(layer: Layer, pe: int, simd: int, np_: int, mp: int) -> WingsPlan:
    """Widths and constants of one wings_gen engine; RTLError when the arithmetic cannot be exact."""
    base = plan_layer(dense_standin(layer), pe, simd, np_, mp)
    p, t = layer.params, layer.types
    grid = "z" in p
    k, s = p["alpha"].shape
    n_in, n_out = int(layer.input_shape[-1]), int(layer.output_shape[-1])
    ta, tb, tl, tc, tbas, tw = t["alpha"], t["beta"], t["lut"], t["curve"], t["basis"], t["weight"]
    for name in ("klut", "plut"):
        if name in t and not t[name].same_values(tl):
            raise RTLError(f"layer {layer.name!r}: {name} type {t[name].hls()} differs from lut {tl.hls()}")
    if tl.signed:
        raise RTLError(f"layer {layer.name!r}: the lookup tables must be unsigned, got {tl.hls()}")
    g = {"NI": n_in, "NO": n_out, "K": k, "S": s, "GRID": int(grid), "KL": len(p["klut"]),
         "AL_W": _stored_width(ta), "BE_W": _stored_width(tb), "SV_W": _index_width(layer, "sv"),
         "LU_W": _stored_width(tl), "BA_W": _stored_width(tbas), "CV_W": _stored_width(tc)}
    if grid:
        h, w = (int(v) for v in layer.attrs["in_hw"])
        gr, gc = p["z"].shape[1:]
        if h * w != n_in:
            raise RTLError(f"layer {layer.name!r}: in_hw {h}x{w} != input length {n_in}")
        g.update(H=h, WD=w, GR=int(gr), GC=int(gc), PL=len(p["plut"]), Z_W=_stored_width(t["z"]),
                 PR_W=_index_width(layer, "prow"), PC_W=_index_width(layer, "pcol"))
    else:
        g.update(H=1, WD=1, GR=1, GC=1, PL=1, Z_W=2, PR_W=1, PC_W=1)
    # curve: sum_s alpha * klut (exact), + beta aligned, cast to curve
    frac_s = ta.frac + tl.frac
    frac1 = max(frac_s, tb.frac)
    c_sw = _sum_width(s * _absmax(ta) * tl.qmax, layer, "curve")
    c_ps, c_bs, c_os = frac1 - frac_s, frac1 - tb.frac, frac1 - tc.frac
    c_acc, c_rw = _cast_widths(c_sw, c_ps, _absmax(tb), c_bs, c_os, tc, "curve", layer)
    g.update(C_SW=c_sw, C_PS=c_ps, C_BS=c_bs, C_RW=c_rw, C_ACC_W=c_acc, C_OS=c_os, C_RND=ROUND_CODES[tc.rounding],
             C_OUT_W=tc.width, C_SIGNED=int(tc.signed), C_OVF=OVF_CODES[tc.overflow])
    # basis: mid = sum_b z * plut (exact), basis = cast(sum_a plut * mid)
    if grid:
        mid_b = g["GC"] * _absmax(t["z"]) * tl.qmax
        m_sw = _sum_width(mid_b, layer, "basis column")
        b_sw = _sum_width(g["GR"] * mid_b * tl.qmax, layer, "basis")
        b_os = t["z"].frac + 2 * tl.frac - tbas.frac
    else:
        m_sw, b_sw, b_os = 2, 2, 0
    b_acc, b_rw = _cast_widths(b_sw, 0, 0, 0, b_os, tbas, "basis", layer)
    g.update(M_SW=m_sw, B_SW=b_sw, B_RW=b_rw, B_ACC_W=b_acc, B_OS=b_os, B_RND=ROUND_CODES[tbas.rounding],
             B_OUT_W=tbas.width, B_SIGNED=int(tbas.signed), B_OVF=OVF_CODES[tbas.overflow])
    # weight: sum_k basis * curve (exact), cast to weight
    g_sw = _sum_width(k * _absmax(tbas) * _absmax(tc), layer, "weight")
    g_os = tbas.frac + tc.frac - tw.frac
    g_acc, g_rw = _cast_widths(g_sw, 0, 0, 0, g_os, tw, "weight", layer)
    g.update(G_SW=g_sw, G_RW=g_rw, G_ACC_W=g_acc, G_OS=g_os, G_RND=ROUND_CODES[tw.rounding],
             G_OUT_W=tw.width, G_SIGNED=int(tw.signed), G_OVF=OVF_CODES[tw.overflow])
    g["SA_W"] = max(c_sw, m_sw, b_sw)
    if base.WW != _stored_width(tw):
        raise RTLError(f"layer {layer.name!r}: weight buffer width {base.WW} != weight type")
    plan = WingsPlan(**{f: getattr(base, f) for f in LayerPlan.__dataclass_fields__ if f not in ("kind", "module")},
                     gen=g)
    words = [g["SV_W"] + g["AL_W"], g["BE_W"], g["LU_W"]]
    words += [g["Z_W"], g["PR_W"], g["PC_W"]] if grid else [simd * g["BA_W"]]
    g["WLD"] = max(words)
    return plan


def _codes(a, bits: int) -> np.ndarray:
    return (np.asarray(a, np.int64) & ((1 << bits) - 1)).astype(np.uint64)


def gen_images(layer: Layer, p: WingsPlan) -> dict:
    """Image suffix -> (words, word width) of the generator memories; unused ones hold one zero word."""
    g, prm = p.gen, layer.params
    svr = (_codes(prm["sv"], g["SV_W"]) << np.uint64(g["AL_W"])) | _codes(prm["alpha"], g["AL_W"])
    img = {"svr": ([int(v) for v in svr.reshape(-1)], g["SV_W"] + g["AL_W"]),
           "beta": ([int(v) for v in _codes(prm["beta"], g["BE_W"])], g["BE_W"]),
           "klut": ([int(v) for v in _codes(prm["klut"], g["LU_W"])], g["LU_W"])}
    if p.grid:
        img["z"] = ([int(v) for v in _codes(prm["z"], g["Z_W"]).reshape(-1)], g["Z_W"])
        img["plut"] = ([int(v) for v in _codes(prm["plut"], g["LU_W"])], g["LU_W"])
        img["prow"] = ([int(v) for v in _codes(prm["prow"], g["PR_W"])], g["PR_W"])
        img["pcol"] = ([int(v) for v in _codes(prm["pcol"], g["PC_W"])], g["PC_W"])
        img["basis"] = ([], p.simd * g["BA_W"])  # generated at run time
    else:
        b = np.zeros((g["K"], p.sf * p.simd), np.int64)
        b[:, :g["NI"]] = prm["basis"]
        img["basis"] = (_pack_words(_codes(b, g["BA_W"]).reshape(g["K"] * p.sf, p.simd), g["BA_W"]), p.simd * g["BA_W"])
        for name, width in (("z", g["Z_W"]), ("plut", g["LU_W"]), ("prow", g["PR_W"]), ("pcol", g["PC_W"])):
            img[name] = ([0], width)  # not used without a grid; $readmemh needs a file
    return img


def wings_images(layer: Layer, p: WingsPlan) -> dict:
    """Every memory image of one wings_gen engine: the generator's, the bias words, an empty weight buffer."""
    img = gen_images(layer, p)
    img["w"] = ([], p.pe * p.simd * p.WW)  # the weight buffer: written by the generator, no stored weight
    img["p"] = (param_words(dense_standin(layer), p), p.p_word)
    return img
