"""From conv2d and maxpool2d layers of the spec to the plans of their engines (rtl/swg.sv + rtl/mvau.sv,
rtl/maxpool.sv).

Why a conv layer is a dense layer behind a window generator: the emulator computes conv2d as
dense_kernel on im2col columns in (kh, kw, cin) order, so the same mvau (its weights reshaped to
(KH*KW*Cin, Cout), same bias/shift/requant) is exact if it sees exactly those columns; rtl/swg.sv
makes them from the NHWC pixel stream. Padding ('same') and strides become bit masks over the
zero-padded image's rows and columns (where data lies, where a window ends), computed here once from
the emulator's own padding rule, so the RTL holds no arithmetic on image coordinates.
Maxpool engines have no parameters and no MAC lanes; their masks mark the rows and columns of each
non-overlapping window.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ..emulator import _same_padding
from ..spec import Layer
from .plan import LayerPlan, RTLError, plan_layer


def _mask(bits) -> int:
    return sum(1 << i for i, b in enumerate(bits) if b)


class SvLiteral(str):
    """A Verilog parameter value written as is (not as a quoted string)."""


def sv_mask(value: int, width: int) -> SvLiteral:
    """A Verilog sized hex literal of a bit-mask parameter."""
    return SvLiteral(f"{width}'h{value:x}")


def conv_geometry(layer: Layer) -> dict:
    """Padded image size, pads and the swg masks of a conv2d layer (emulator.conv2d_kernel's rule)."""
    kh, kw, cin, cout = layer.params["weight"].shape
    h, w, _ = layer.input_shape
    oh, ow, _ = layer.output_shape
    sh, sw = layer.attrs.get("strides", (1, 1))
    if layer.attrs.get("padding", "valid") == "same":
        (pt, pb), (pl, pr) = _same_padding(h, kh, sh), _same_padding(w, kw, sw)
    else:
        pt = pb = pl = pr = 0
    hp, wp = h + pt + pb, w + pl + pr
    if (oh - 1) * sh + kh > hp or (ow - 1) * sw + kw > wp:
        raise RTLError(f"layer {layer.name!r}: output {oh}x{ow} does not fit the padded input {hp}x{wp} "
                       f"with kernel {kh}x{kw} and strides {sh}x{sw}")
    if wp < 2:
        raise RTLError(f"layer {layer.name!r}: the window generator needs a padded input at least 2 wide, got {wp}")
    return dict(kh=kh, kw=kw, cin=cin, cout=cout, h=h, w=w, oh=oh, ow=ow, hp=hp, wp=wp,
                row_data=_mask(pt <= y < pt + h for y in range(hp)),
                col_data=_mask(pl <= x < pl + w for x in range(wp)),
                row_win=_mask(y >= kh - 1 and (y - kh + 1) % sh == 0 and (y - kh + 1) // sh < oh for y in range(hp)),
                col_win=_mask(x >= kw - 1 and (x - kw + 1) % sw == 0 and (x - kw + 1) // sw < ow for x in range(wp)))


def conv_standin(layer: Layer) -> Layer:
    """The dense layer the conv's mvau computes: weights (KH*KW*Cin, Cout) in im2col order, same types."""
    kh, kw, cin, cout = layer.params["weight"].shape
    params = dict(layer.params, weight=layer.params["weight"].reshape(kh * kw * cin, cout))
    return Layer(layer.name, "dense", (kh * kw * cin,), (cout,),
                 attrs={"activation": layer.attrs.get("activation", "linear")}, types=dict(layer.types), params=params)


PP_CHOICES = (1, 2, 4)  # positions a beat the window generator may take (rtl/swg.sv PP)


def pp_options(g: dict) -> list[int]:
    """PP values the layer's window generator can take: PP | WP and no column padding (an input beat is
    PP data pixels of one row). PP > 1 also needs the whole input beat from one producer, so the
    chooser offers it only to a conv fed by the top's input stream."""
    full = (1 << g["wp"]) - 1
    return [pp for pp in PP_CHOICES if pp == 1 or (g["wp"] % pp == 0 and g["col_data"] == full)]


@lru_cache(maxsize=256)
def _group_windows(hp: int, wp: int, row_win: int, col_win: int, pp: int) -> tuple[int, ...]:
    """Windows ending in each group of PP positions, groups in walk order (rows, then columns)."""
    cols = [sum(col_win >> (x * pp + q) & 1 for q in range(pp)) for x in range(wp // pp)]
    return tuple(c if row_win >> y & 1 else 0 for y in range(hp) for c in cols)


MW_CHOICES = (1, 2, 4)  # windows a beat (rtl/swg.sv and rtl/mvau.sv MW)


def mw_options(g: dict, pp: int) -> list[int]:
    """MW values the window generator can emit at PP positions a beat: MW | PP and every group's windows
    in whole aligned blocks of MW neighbouring positions (the beat holds MW windows, never a part)."""
    def blocks_whole(mw: int) -> bool:
        for x in range(0, g["wp"], mw):
            bits = {g["col_win"] >> (x + j) & 1 for j in range(mw)}
            if len(bits) > 1:
                return False
        return True
    return [mw for mw in MW_CHOICES if mw == 1 or (pp % mw == 0 and blocks_whole(mw))]


def _sfs(g: dict, simd: int, ws: int | None) -> tuple[int, int]:
    """(SF, beats a window the generator emits): SF = ceil(K*K*Cin/SIMD) mvau beats; the generator emits
    a window in SF beats, or in one (ws = the padded window) when it is wide (`swg_width`)."""
    sf = -(-g["kh"] * g["kw"] * g["cin"] // simd)
    return sf, (1 if ws and ws != simd else sf)


def _swg_walk(g: dict, simd: int, pp: int, mw: int = 1, ws: int | None = None) -> tuple[int, int]:
    """(cycles an image, warm) of the window generator stall-free: a group takes max(1, windows / MW *
    beats a window) cycles; warm = the groups it walks between an image's last window and the next
    image's first."""
    _, sfs = _sfs(g, simd, ws)
    groups = _group_windows(g["hp"], g["wp"], g["row_win"], g["col_win"], pp)
    walk = sum(max(1, n // mw * sfs) for n in groups)
    hit = [i for i, n in enumerate(groups) if n]
    return walk, hit[0] + len(groups) - 1 - hit[-1]


def _fifo(g: dict, pe: int, simd: int, pp: int, mw: int, ws: int | None) -> int:
    sf, sfs = _sfs(g, simd, ws)
    nf = g["cout"] // pe
    walk, warm = _swg_walk(g, simd, pp, mw, ws)
    mvau = g["oh"] * g["ow"] * sf * nf // mw
    if sf * nf <= sfs or warm <= sf * nf or walk + warm > mvau:
        return 0
    beats = sfs * (-(-warm // (sf * nf)) + 2)
    return 1 << (beats - 1).bit_length()


def _cycles(g: dict, pe: int, simd: int, pp: int, mw: int, ws: int | None) -> int:
    sf, _ = _sfs(g, simd, ws)
    nf = g["cout"] // pe
    swg, warm = _swg_walk(g, simd, pp, mw, ws)
    mvau = g["oh"] * g["ow"] * sf * nf // mw
    if _fifo(g, pe, simd, pp, mw, ws):
        return max(swg, mvau)
    return max(swg, mvau + max(0, warm - sf * nf))


def swg_width(g: dict, pe: int, simd: int, pp: int = 1, mw: int = 1) -> int:
    """Elements a beat the window generator's core emits (rtl/swg.sv WS): the mvau's SIMD, or the whole
    padded window (one beat a window, split to SIMD after its output FIFO) where that is faster.

    Why: at SF > 1 beats a window a windowless position still costs the generator a cycle of its own,
    and between images it walks KH-1 rows of them while the mvau waits: the MNIST CNN's conv2 at SIMD 48
    (SF 3, NF 1) walked 411 cycles for the mvau's 363. Emitting whole windows into a FIFO that a width
    converter splits, the generator runs ahead by the windows that cover that walk (so only with that
    FIFO: without it the split adds a cycle of latency to each image's first window and saves little)."""
    np_ = -(-g["kh"] * g["kw"] * g["cin"] // simd) * simd
    if np_ == simd or mw > 1 or not _fifo(g, pe, simd, pp, mw, np_):  # whole windows only into a FIFO
        return simd
    return np_ if _cycles(g, pe, simd, pp, mw, np_) < _cycles(g, pe, simd, pp, mw, simd) else simd


def window_fifo(g: dict, pe: int, simd: int, pp: int = 1, mw: int = 1) -> int:
    """Beats of the window generator's output FIFO (rtl/swg.sv OFIFO), 0 for none.

    Worth it when the mvau needs more cycles a window (SF*NF) than the generator emits beats (so the
    generator is faster: NF > 1 passes, or a wide generator, `swg_width`) and would idle through the
    generator's warm walk: the FIFO holds the windows covering that walk, so the mvau runs without a
    gap. Sized for the walk plus two windows' margin (its pipeline), rounded to a power of two."""
    return _fifo(g, pe, simd, pp, mw, swg_width(g, pe, simd, pp, mw))


def conv_cycles(g: dict, pe: int, simd: int, pp: int = 1, mw: int = 1) -> int:
    """Cycles per image of a conv engine (swg + mvau), stall-free, images back to back.

    The window generator walks the padded image in groups of PP positions, a group taking max(1,
    windows / MW * beats a window) cycles (`_swg_walk`; a window is SF = ceil(K*K*Cin/SIMD) beats, or
    one when the generator is wide, `swg_width`). The mvau needs SF*NF cycles per MW windows but idles
    while the generator walks the groups between an image's last window and the next image's first
    (`warm`), less the one window of work it holds meanwhile, unless the generator's output FIFO
    (`window_fifo`) holds enough windows to cover that walk. Checked to the cycle on the unit bench's
    single-conv tops (tests/test_rtl_conv.py)."""
    return _cycles(g, pe, simd, pp, mw, swg_width(g, pe, simd, pp, mw))


@dataclass
class ConvPlan(LayerPlan):
    """A conv2d layer: an swg (window generator) feeding an mvau of the reshaped weights."""
    cin: int = 1
    h: int = 1
    w: int = 1
    oh: int = 1
    ow: int = 1
    kh: int = 1
    kw: int = 1
    hp: int = 1
    wp: int = 1
    row_data: int = 0
    col_data: int = 0
    row_win: int = 0
    col_win: int = 0
    pp: int = 1                    # window generator positions a beat (rtl/swg.sv PP)
    mw: int = 1                    # windows a beat (rtl/swg.sv, rtl/mvau.sv MW)
    kind: str = "conv"
    module: str = "mvau"

    def _geometry(self) -> dict:
        return dict(asdict(self), cout=self.m)

    @property
    def cycles(self) -> int:
        """Per image, stall-free (`conv_cycles`: the mvau's SF*NF per window or the window generator's rate)."""
        return conv_cycles(self._geometry(), self.pe, self.simd, self.pp, self.mw)

    @property
    def ofifo(self) -> int:
        """Beats of the window generator's output FIFO (`window_fifo`)."""
        return window_fifo(self._geometry(), self.pe, self.simd, self.pp, self.mw)

    @property
    def ws(self) -> int:
        """Elements a beat of the window generator's core (`swg_width`)."""
        return swg_width(self._geometry(), self.pe, self.simd, self.pp, self.mw)

    @property
    def lanes(self) -> int:
        return self.pe * self.simd * self.mw

    @property
    def out_lanes(self) -> int:
        """Elements a beat out: MW pixels of PE channels (MW > 1 only with PE = Cout)."""
        return self.pe * self.mw

    @property
    def waw(self) -> int:
        return max(1, (self.sf * self.nf - 1).bit_length())

    @property
    def in_lanes(self) -> int:
        return self.cin * self.pp

    @property
    def fifo_depth(self) -> int:
        """Pixels of rtl/axis_fifo.sv in front of the swg when another engine feeds it: the (KH-1) rows
        and KW pixels the next image's first window needs, rounded up to a power of two (none for a
        PP > 1 generator, which the chooser places only at the top's input)."""
        if self.pp > 1:
            return 0
        need = (self.kh - 1) * self.w + self.kw + 2
        return 1 << (need - 1).bit_length()

    @property
    def stream_in(self) -> int:
        return self.h * self.w * self.cin

    @property
    def stream_out(self) -> int:
        return self.oh * self.ow * self.m

    def rtl_params(self) -> dict:
        """The mvau's parameters (MW windows a beat). Its input buffer gets a registered write port
        (axis_inbuf WREG) behind a window generator's output FIFO: the FIFO's pop waited on the buffer's
        ready (the MNIST CNN's critical path at 88.76 MHz). The write stage delays a bank's `full` by a
        cycle, which costs no cycle only where the engine reads a sample for more cycles than it takes to
        write (NF >= 2; at NF = 1 a bank's round trip, write + stage + read, exceeds two samples' time)
        and the FIFO keeps windows waiting (without one, the first window after the generator's walk
        between images would come a cycle later)."""
        return dict(super().rtl_params(), IN_WREG=int(self.nf >= 2 and self.ofifo > 0), MW=self.mw)

    def swg_params(self) -> dict:
        """Verilog parameters of the swg instance (masks as sized literals)."""
        return {"C": self.cin, "XW": self.XW, "KH": self.kh, "KW": self.kw, "HP": self.hp, "WP": self.wp,
                "SIMD": self.simd, "NP": self.np_, "PP": self.pp, "MW": self.mw, "WS": self.ws, "OFIFO": self.ofifo,
                "ROW_DATA": sv_mask(self.row_data, self.hp), "COL_DATA": sv_mask(self.col_data, self.wp),
                "ROW_WIN": sv_mask(self.row_win, self.hp), "COL_WIN": sv_mask(self.col_win, self.wp)}


def plan_conv(layer: Layer, pe: int, simd: int, pp: int = 1, mw: int = 1) -> ConvPlan:
    """Widths of the conv's mvau (as a dense layer of its im2col columns) plus the swg geometry, its
    positions a beat `pp` and windows a beat `mw`."""
    g = conv_geometry(layer)
    if pp not in pp_options(g):
        raise RTLError(f"layer {layer.name!r}: the window generator takes PP in {pp_options(g)} positions a beat "
                       f"(PP must divide the padded width {g['wp']} and the columns be unpadded), got {pp}")
    n, m = g["kh"] * g["kw"] * g["cin"], g["cout"]
    if m % pe:
        raise RTLError(f"layer {layer.name!r}: PE {pe} must divide the {m} output channels (the output stream is "
                       "NHWC pixels, no padded channels); choose a divisor of the filter count")
    if mw not in mw_options(g, pp):
        raise RTLError(f"layer {layer.name!r}: at PP {pp} the window generator emits MW in {mw_options(g, pp)} windows "
                       f"a beat (MW must divide PP, the windows of a row in whole aligned blocks of MW), got {mw}")
    if mw > 1 and pe != m:
        raise RTLError(f"layer {layer.name!r}: MW {mw} windows a beat need PE = the {m} output channels (one output "
                       f"fold: the beat is MW whole pixels), got PE {pe}")
    np_ = -(-n // simd) * simd
    base = plan_layer(conv_standin(layer), pe, simd, np_, m)
    geo = {k: g[k] for k in ("cin", "h", "w", "oh", "ow", "kh", "kw", "hp", "wp",
                             "row_data", "col_data", "row_win", "col_win")}
    mv = {k: v for k, v in asdict(base).items() if k not in ("kind", "module")}
    return ConvPlan(**mv, **geo, pp=pp, mw=mw)


@dataclass
class PoolPlan:
    """A maxpool2d layer: rtl/maxpool.sv, one pixel (C elements) a beat in and out, no parameters."""
    name: str
    c: int
    h: int
    w: int
    oh: int
    ow: int
    ph: int
    pw: int
    XW: int
    OUT_SIGNED: int
    row_keep: int
    row_first: int
    row_last: int
    row_end: int
    col_keep: int
    col_first: int
    col_last: int
    pp: int = 1                    # pixels a beat in (rtl/maxpool.sv PP: 1 or the window width)
    kind: str = "pool"
    module: str = "maxpool"

    # the chain's view of an engine (lanes, widths, memory ports): a pool has no MACs and no memories
    pe = property(lambda self: self.c)
    simd = property(lambda self: self.c)
    in_lanes = property(lambda self: self.c * self.pp)
    OUT_W = property(lambda self: self.XW)
    lanes = property(lambda self: 0)
    cycles = property(lambda self: self.h * self.w // self.pp)
    waw = property(lambda self: 1)
    paw = property(lambda self: 1)
    w_word = property(lambda self: 1)
    p_word = property(lambda self: 1)
    n = property(lambda self: self.h * self.w * self.c)
    m = property(lambda self: self.oh * self.ow * self.c)
    np_ = n
    mp = m
    stream_in = n
    stream_out = m

    def rtl_params(self) -> dict:
        """Verilog parameters; at PP > 1 the columns are beats (one window's run each: first, last, kept)."""
        w = self.w // self.pp
        cols = (self.col_keep, self.col_first, self.col_last) if self.pp == 1 else ((1 << w) - 1,) * 3
        return {"C": self.c, "XW": self.XW, "SIGNED": self.OUT_SIGNED, "H": self.h, "W": w, "OW": self.ow,
                "ROW_KEEP": sv_mask(self.row_keep, self.h), "ROW_FIRST": sv_mask(self.row_first, self.h),
                "ROW_LAST": sv_mask(self.row_last, self.h), "ROW_END": sv_mask(self.row_end, self.h),
                "COL_KEEP": sv_mask(cols[0], w), "COL_FIRST": sv_mask(cols[1], w),
                "COL_LAST": sv_mask(cols[2], w), **({"PP": self.pp} if self.pp > 1 else {})}

    def mem_names(self) -> dict:
        return {}

    def load_groups(self) -> tuple:
        return ()

    def to_json(self) -> dict:
        return dict(asdict(self), np_=self.np_, mp=self.mp, pe=self.pe, simd=self.simd)


def pool_unsupported(layer: Layer) -> str | None:
    """Why the streaming maxpool engine cannot implement this pooling (with the fix), or None."""
    ph, pw = layer.attrs["pool_size"]
    sh, sw = layer.attrs.get("strides") or (ph, pw)
    if (sh, sw) != (ph, pw):
        return (f"the RTL maxpool implements non-overlapping windows (strides = pool_size), not pool {ph}x{pw} "
                f"with strides {sh}x{sw}; use strides = pool_size")
    if layer.attrs.get("padding", "valid") != "valid":
        return "the RTL maxpool implements padding 'valid' only; use padding='valid'"
    return None


def pool_pp_options(h: int, w: int, ph: int, pw: int) -> list[int]:
    """Pixels a beat a maxpool engine can take: 1, or its window width when that divides the image width
    (a beat is then one window's run of a row). Offered by the chooser after a conv of as many windows a beat."""
    return [1] + ([pw] if 1 < pw <= max(MW_CHOICES) and w % pw == 0 else [])


def plan_pool(layer: Layer, pp: int = 1) -> PoolPlan:
    """Masks of one maxpool engine (`pp` pixels a beat); RTLError for pooling the streaming engine does not implement."""
    reason = pool_unsupported(layer)
    if reason:
        raise RTLError(f"layer {layer.name!r}: {reason}")
    ph, pw = layer.attrs["pool_size"]
    if pp not in pool_pp_options(*layer.input_shape[:2], ph, pw):
        raise RTLError(f"layer {layer.name!r}: the maxpool takes PP in {pool_pp_options(*layer.input_shape[:2], ph, pw)} "
                       f"pixels a beat (1, or the window width {pw} when it divides the width {layer.input_shape[1]}), got {pp}")
    h, w, c = layer.input_shape
    oh, ow, _ = layer.output_shape
    tin, tout = layer.types["input"], layer.types["output"]
    if (tin.width, tin.signed) != (tout.width, tout.signed):
        raise RTLError(f"layer {layer.name!r}: maxpool keeps its type; input {tin.hls()} != output {tout.hls()}")
    rows, cols = np.arange(h), np.arange(w)
    return PoolPlan(name=layer.name, c=c, h=h, w=w, oh=oh, ow=ow, ph=ph, pw=pw, XW=tin.width, OUT_SIGNED=int(tin.signed),
                    row_keep=_mask(rows < oh * ph), row_first=_mask((rows < oh * ph) & (rows % ph == 0)),
                    row_last=_mask((rows < oh * ph) & (rows % ph == ph - 1)), row_end=_mask(rows == oh * ph - 1),
                    col_keep=_mask(cols < ow * pw), col_first=_mask((cols < ow * pw) & (cols % pw == 0)),
                    col_last=_mask((cols < ow * pw) & (cols % pw == pw - 1)), pp=pp)
