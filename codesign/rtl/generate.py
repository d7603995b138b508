"""Write the RTL view of a spec: a generated top that chains engines (`mvau` per dense layer,
`kron_matvec` per kron_dense layer, `wings_gen` per wings_dense layer, `swg` + `mvau` per conv2d
layer, `maxpool` per maxpool2d layer), memory images, the IP.

The top (`model_top.sv` by default) has an AXI-Stream input (SIMD of the first layer input
elements per beat, element 0 in the low bits), an AXI-Stream output (PE of the last layer output
elements per beat, tlast on a sample's last beat) and one weight/parameter load port shared by all
engines: `wl_sel` = 2*layer (weights) or 2*layer+1 (bias/shift words), `wl_addr`, `wl_data`, `wl_we`.
`rtl_meta.json` records everything the simulator and the load-port helpers need.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..kinds import registry as kinds
from ..paths import ip_dir
from ..spec import DesignSpec
from . import folding as fold
from .conv import SvLiteral
from .plan import LayerPlan, dense_layers, write_mem

# Every design gets all of them: mvau.sv and mac_pipe.sv name lock_unit and wmem_check in generate
# branches a plain design leaves off, and a tool that resolves every branch's modules (Vivado
# elaboration) would miss them if only locked or checked designs shipped those files.
IP_FILES = ("wmem.sv", "dot_simd.sv", "requant.sv", "axis_inbuf.sv", "mac_pipe.sv", "mvau.sv", "axis_dwc.sv", "kron_matvec.sv",
            "wings_gen.sv", "swg.sv", "maxpool.sv", "axis_fifo.sv", "lock_unit.sv", "wmem_check.sv")


def load_groups(p) -> tuple:
    """Memory images of load-port selects 2*layer, 2*layer+1, in address order (the plan's `load_groups`:
    mvau: weights, then bias/shift words; kron: A then B; wings: the generator's parameter regions)."""
    return p.load_groups()


# The chain's view of any engine: elements a beat in (a pixel for conv/pool, SIMD otherwise) and
# elements of one sample's stream in and out (a whole image for conv/pool; padded vectors otherwise).
def in_lanes(p) -> int:
    return getattr(p, "in_lanes", p.simd)


def out_lanes(p) -> int:
    """Elements a beat out: PE, or MW pixels of PE channels (a conv of MW windows a beat)."""
    return getattr(p, "out_lanes", p.pe)


def stream_in(p) -> int:
    return getattr(p, "stream_in", p.np_)


def stream_out(p) -> int:
    return getattr(p, "stream_out", p.mp)


def _windowed(p) -> bool:
    """An engine behind a window generator (conv2d: swg + mvau); its tlast marks a pixel's end, not the image's."""
    return hasattr(p, "swg_params")


def _shape(layer):
    """The folding chooser's geometry of the layer's engine (its kind's `rtl_shape`, codesign/kinds)."""
    return kinds.get(layer.kind).rtl_shape(layer)


def mem_images(layer, p) -> dict:
    """Memory image suffix -> (words, word width) of one engine."""
    return kinds.get(layer.kind).rtl_images(layer, p)


def _extra(f: dict) -> dict:
    """An image engine's parallelism in a folding (pp: pixels a beat, mw: windows a beat), where set."""
    return {k: f[k] for k in ("pp", "mw") if f.get(k, 1) > 1}


def plan_engine(layer, pe: int, simd: int, np_: int, mp: int, **extra):
    """The layer's engine plan (its kind's `rtl_plan`); `extra` (pp, mw: > 1 only for an image engine
    that takes it: conv2d, maxpool2d) is passed only when set."""
    return kinds.get(layer.kind).rtl_plan(layer, pe, simd, np_, mp, **extra)


META = "rtl_meta.json"


def _fixed_folding(layer) -> dict | None:
    """The {pe, simd} of an engine with no lanes to choose (a maxpool: one pixel a beat), else None."""
    fixed = kinds.get(layer.kind).rtl_folding
    return fixed(layer) if fixed else None


def _fixed_or(layer, f) -> dict:
    """An engine's folding: its own f, or the fixed {pe, simd} of one with no lanes to choose (with the
    pixels a beat f gives it, a maxpool's pp)."""
    fixed = _fixed_folding(layer)
    return dict(f) if fixed is None else dict(fixed, **_extra(f or {}))


def _folding_list(layers, folding) -> list[dict]:
    """One {pe, simd} per engine; engines with no lanes to choose (maxpool) may be left out."""
    if isinstance(folding, dict):
        missing = [l.name for l in layers if l.name not in folding and _fixed_folding(l) is None]
        if missing:
            raise ValueError(f"folding has no entry for layers {missing}")
        return [_fixed_or(l, folding.get(l.name)) for l in layers]
    folding = list(folding)
    macs = [l for l in layers if _fixed_folding(l) is None]
    if len(folding) == len(macs) and len(macs) != len(layers):
        it = iter(folding)
        folding = [_fixed_folding(l) or next(it) for l in layers]
    if len(folding) != len(layers):
        raise ValueError(f"folding has {len(folding)} entries for {len(layers)} engine layers "
                         f"({len(macs)} without maxpool)")
    return [_fixed_or(l, f) for l, f in zip(layers, folding)]


def plan(spec: DesignSpec, folding=None, target_cycles: int | None = None) -> list[LayerPlan]:
    """Plans of every engine layer for an explicit folding or one chosen for target_cycles."""
    spec.validate()
    layers = dense_layers(spec)
    shapes = [_shape(l) for l in layers]
    if folding is None:
        folding = fold.choose(shapes, target_cycles or fold.DEFAULT_TARGET_CYCLES, macs=[l.macs() for l in layers])
    else:
        folding = _folding_list(layers, folding)
    for l, f in zip(layers, folding):  # the engines' own constraints first: a clearer message than padding's
        if kinds.get(l.kind).rtl_check:
            kinds.get(l.kind).rtl_check(l, f["pe"], f["simd"], **_extra(f))
    dims = fold.padded_dims(shapes, folding)
    return [plan_engine(l, f["pe"], f["simd"], np_, mp, **_extra(f)) for l, f, (np_, mp) in zip(layers, folding, dims)]


def _sv_params(d: dict, indent: str) -> str:
    return (",\n" + indent).join(f".{k}({v})" if not isinstance(v, str) or isinstance(v, SvLiteral)
                                  else f'.{k}("{v}")' for k, v in d.items())


def _tlast_counter(beats: int) -> list[str]:
    """tlast of the top from a beat counter (conv engines mark a pixel's end, not the image's)."""
    cw = max(1, (beats - 1).bit_length())
    return [
        f"    logic [{cw - 1}:0] tl_cnt;  // output beats of the current sample ({beats} a sample)",
        "    always_ff @(posedge clk) begin",
        "        if (rst) tl_cnt <= '0;",
        f"        else if (m_axis_tvalid && m_axis_tready) tl_cnt <= tl_cnt == {cw}'d{beats - 1} ? '0 : tl_cnt + {cw}'d1;",
        "    end",
        f"    assign m_axis_tlast = tl_cnt == {cw}'d{beats - 1};",
    ]


def _wires(name: str, width: int) -> list[str]:
    """Declarations of an AXI-Stream link `name`_tdata/_tvalid/_tready."""
    return [f"    logic [{width - 1}:0] {name}_tdata;", f"    logic {name}_tvalid, {name}_tready;"]


def _ports(side: str, name: str) -> str:
    return f".{side}_tdata({name}_tdata), .{side}_tvalid({name}_tvalid), .{side}_tready({name}_tready)"


def _instance(head: str, inst: str, src: str, tail: list[str]) -> list[str]:
    """One AXI-Stream block of the top: `head` (module and parameters) `inst` (clk, rst, s_* = `src`, then
    the `tail` port lines)."""
    return [f"    {head} {inst} (", "        .clk(clk), .rst(rst),", f"        {_ports('s', src)},",
            *[f"        {t}" for t in tail], "    );"]


def _param_head(module: str, params: dict) -> str:
    return f"{module} #(\n        {_sv_params(params, '        ')}\n    )"


def _engine_sv(i: int, p, prefix: str, check: dict | None = None) -> list[str]:
    """The instance(s) of layer i between l<i>_in_* and l<i>_out_*, with its load-port slices.
    check: the mvau's checker parameters (codesign/rtl/checker.py), its alarm on l<i>_ck."""
    out = f"{_ports('m', f'l{i}_out')}, .m_tlast(l{i}_out_tlast)"
    if not p.mem_names():  # no memories (maxpool): no load port
        return _instance(_param_head(p.module, p.rtl_params()), f"u_l{i}", f"l{i}_in", [out])
    lines, src = [], f"l{i}_in"
    if _windowed(p):  # window generator: pixels in, K*K*Cin windows out at the mvau's SIMD
        pix = f"l{i}_in"
        if i and p.fifo_depth:  # fed by another engine: let it run ahead by the rows the first window needs
            pix = f"l{i}_fifo"
            lines += _wires(pix, p.cin * p.XW) + _instance(
                f"axis_fifo #(.DW({p.cin * p.XW}), .DEPTH({p.fifo_depth}), .WREG(1))", f"u_l{i}_fifo", f"l{i}_in",
                [_ports("m", pix)])
        src = f"l{i}_win"
        lines += _wires(src, p.mw * p.simd * p.XW) + _instance(_param_head("swg", p.swg_params()), f"u_l{i}_swg", pix,
                                                        [_ports("m", src)])
    params = dict(p.rtl_params(), **{k: f"{prefix}l{i}_{v}.mem" for k, v in p.mem_names().items()}, **(check or {}))
    alarm = (f", .ck_alarm(l{i}_ck)" if check else ", .ck_alarm()") if p.module == "mvau" else ""
    return lines + _instance(_param_head(p.module, params), f"u_l{i}", src, [
        f"{out},",
        f".wl_we(wl_we && wl_sel == 8'd{2 * i}), .wl_addr(wl_addr[{p.waw - 1}:0]), .wl_data(wl_data[{p.w_word - 1}:0]),",
        f".pl_we(wl_we && wl_sel == 8'd{2 * i + 1}), .pl_addr(wl_addr[{p.paw - 1}:0]), .pl_data(wl_data[{p.p_word - 1}:0]){alarm}",
    ])


def _top_sv(top: str, plans: list, prefix: str, locks: dict | None = None, checks: dict | None = None) -> str:
    first, last = plans[0], plans[-1]
    # engine index -> lock unit (codesign/rtl/lock.py): its key registers share the load port
    locks = locks or {}
    la = max([max(p.waw, p.paw) for p in plans] + [lk["kaw"] for lk in locks.values()])
    ld = max([max(p.w_word, p.p_word) for p in plans] + [lk["kw"] for lk in locks.values()])
    lines = [
        f"// {top}.sv -- GENERATED by codesign.rtl.generate; do not edit.",
        "// Chains one engine per layer (mvau: dense, kron_matvec: kron_dense, wings_gen: wings_dense, swg + mvau:",
        "// conv2d, maxpool: maxpool2d) with AXI-Stream, converting lane counts",
        "// between engines (axis_dwc) where a layer's PE differs from the next layer's input lanes. Load port:",
        "// wl_sel = 2*layer selects that engine's weight (kron: factor A then B; wings: generator parameters) memory,",
        "// 2*layer+1 its bias/shift memory (a maxpool has none).",
        f"module {top} (",
        "    input  logic clk,",
        "    input  logic rst,",
        f"    input  logic [{in_lanes(first) * first.XW - 1}:0] s_axis_tdata,",
        "    input  logic s_axis_tvalid,",
        "    output logic s_axis_tready,",
        f"    output logic [{out_lanes(last) * last.OUT_W - 1}:0] m_axis_tdata,",
        "    output logic m_axis_tvalid,",
        "    input  logic m_axis_tready,",
        "    output logic m_axis_tlast,",
        "    input  logic wl_we,",
        "    input  logic [7:0] wl_sel,",
        f"    input  logic [{la - 1}:0] wl_addr,",
        f"    input  logic [{ld - 1}:0] wl_data" + ("," if checks else ""),
        *(["    output logic ck_alarm  // weight-memory checker: sticky, cleared by rst (codesign/rtl/checker.py)"]
          if checks else []),
        ");",
    ]
    checks = checks or {}
    for i in checks:
        lines.append(f"    logic l{i}_ck;")
    if checks:
        lines.append("    assign ck_alarm = " + " | ".join(f"l{i}_ck" for i in checks) + ";")
    for i, p in enumerate(plans):
        lines += [
            f"    // layer {i}: {p.name} ({p.kind}: {p.module}) {stream_in(p)} -> {stream_out(p)} elements a sample, "
            f"PE={p.pe} SIMD={p.simd}, {p.cycles} cycles/sample",
            *_wires(f"l{i}_in", in_lanes(p) * p.XW),
            *_wires(f"l{i}_out", out_lanes(p) * p.OUT_W),
            "    /* verilator lint_off UNUSEDSIGNAL */  // tlast of inner layers: sample boundaries are implied by counts",
            f"    logic l{i}_out_tlast;",
            "    /* verilator lint_on UNUSEDSIGNAL */",
        ]
    lines += [
        "    assign l0_in_tdata = s_axis_tdata;",
        "    assign l0_in_tvalid = s_axis_tvalid;",
        "    assign s_axis_tready = l0_in_tready;",
    ]
    for i, p in enumerate(plans):
        if i in locks:
            from .lock import wrap_engine

            lines += wrap_engine(i, _engine_sv(i, p, prefix, checks.get(i)), locks[i])
        else:
            lines += _engine_sv(i, p, prefix, checks.get(i))
        if i + 1 < len(plans):
            q = plans[i + 1]
            if out_lanes(p) == in_lanes(q):
                lines += [
                    f"    assign l{i + 1}_in_tdata = l{i}_out_tdata;",
                    f"    assign l{i + 1}_in_tvalid = l{i}_out_tvalid;",
                    f"    assign l{i}_out_tready = l{i + 1}_in_tready;",
                ]
            else:
                lines += _instance(f"axis_dwc #(.EW({p.OUT_W}), .IN_N({out_lanes(p)}), .OUT_N({in_lanes(q)}))", f"u_dwc{i}",
                                   f"l{i}_out", [_ports("m", f"l{i + 1}_in")])
    n = len(plans) - 1
    lines += [
        f"    assign m_axis_tdata = l{n}_out_tdata;",
        f"    assign m_axis_tvalid = l{n}_out_tvalid;",
        f"    assign l{n}_out_tready = m_axis_tready;",
    ]
    lines += _tlast_counter(stream_out(last) // out_lanes(last)) if _windowed(last) else [f"    assign m_axis_tlast = l{n}_out_tlast;"]
    lines += ["endmodule", ""]
    return "\n".join(lines)


def generate(spec: DesignSpec, out_dir, folding=None, target_cycles: int | None = None,
             top: str = "model_top", checker: bool = False) -> dict:
    """Write `top`.sv, memory images and the IP into out_dir; return metadata (also in rtl_meta.json).

    folding: None (chosen for target_cycles, default folding.DEFAULT_TARGET_CYCLES), a list of
    {pe, simd} per dense / kron_dense layer, or {layer_name: {pe, simd}}. Dimensions that the folding does not
    divide are zero-padded. Several tops with distinct `top` names can share one out_dir.
    checker: the weight-memory checker (codesign/rtl/checker.py) on every mvau engine's memories, its
    sticky alarm on the top's `ck_alarm` output.
    """
    spec.require_chain("the RTL generator")  # before anything is written: no half-made IP folder
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans = plan(spec, folding, target_cycles)
    layers = dense_layers(spec)
    prefix = "" if top == "model_top" else f"{top}_"
    locks, sources = {}, list(IP_FILES)
    if any(l.attrs.get("lock") for l in layers):
        from .lock import lock_plans

        locks = lock_plans(layers, plans)
    checks = {}
    if checker:
        from . import checker as ck

        ck.check_plans(plans, layers)
        checks = {i: ck.params(l, p) for i, (l, p) in enumerate(zip(layers, plans)) if p.mem_names()}
    src = ip_dir("rtl")
    for f in sources:
        shutil.copyfile(src / f, out / f)
    for i, (layer, p) in enumerate(zip(layers, plans)):
        for suffix, (words, width) in mem_images(layer, p).items():
            write_mem(out / f"{prefix}l{i}_{suffix}.mem", words, width)
    (out / f"{top}.sv").write_text(_top_sv(top, plans, prefix, locks, checks))
    total_macs = sum(l.macs() for l in layers)
    lanes = sum(p.lanes for p in plans)
    meta = {
        "top": top,
        "spec": spec.name,
        "sources": sources + [f"{top}.sv"],
        "mem_prefix": prefix,
        "in_beat": in_lanes(plans[0]),
        "in_width": plans[0].XW,
        "in_padded": stream_in(plans[0]),
        "out_beat": out_lanes(plans[-1]),
        "out_width": plans[-1].OUT_W,
        "out_signed": plans[-1].OUT_SIGNED,
        "out_padded": stream_out(plans[-1]),
        "outputs": getattr(plans[-1], "stream_out", plans[-1].m),  # image engines: the whole image
        "layers": [dict(p.to_json(), cycles=p.cycles, lanes=p.lanes, macs=l.macs()) for l, p in zip(layers, plans)],
        "folding": [{"pe": p.pe, "simd": p.simd, **{k: getattr(p, k) for k in ("pp", "mw") if getattr(p, k, 1) > 1}}
                    for p in plans],
        "total_macs": total_macs,
        "mac_lanes": lanes,
        "bound_cycles": total_macs / lanes if lanes else 0.0,  # 0: a maxpool-only design has no MAC lanes
        "slowest_layer_cycles": max(p.cycles for p in plans),
        # wings_gen engines generate their weights once after reset (concurrently): no input before then
        "generation_cycles": max([getattr(p, "gen_cycles", 0) for p in plans], default=0),
        "load_port": {"addr_width": max([max(p.waw, p.paw) for p in plans] + [lk["kaw"] for lk in locks.values()]),
                      "data_width": max([max(p.w_word, p.p_word) for p in plans] + [lk["kw"] for lk in locks.values()])},
    }
    if locks:
        meta["lock"] = {str(i): lk for i, lk in locks.items()}
    if checks:
        meta["checker"] = ck.meta(layers, plans)
    if any((l.attrs.get("lock") or {}).get("scheme") == "input_perm" for l in spec.layers):
        from .lock import perm_plans  # key = the first dense layer's weight rows, permuted

        meta["input_perm"] = perm_plans(spec, layers, plans, prefix)
    metas = _read_all_meta(out)
    metas[top] = meta
    (out / META).write_text(json.dumps(metas, indent=1))
    return meta


def _read_all_meta(out: Path) -> dict:
    path = out / META
    return json.loads(path.read_text()) if path.exists() else {}


def read_meta(rtl_dir, top: str = "model_top") -> dict:
    metas = _read_all_meta(Path(rtl_dir))
    if top not in metas:
        raise FileNotFoundError(f"{rtl_dir} has no generated top {top!r}; run codesign.rtl.generate first")
    return metas[top]
