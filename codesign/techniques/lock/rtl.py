"""RTL view of lock units: a `rtl/lock_unit.sv` on the output stream of each locked layer's engine
(a dense layer's mvau or a conv2d layer's swg + mvau),
its key register bank on the top's load port (wl_sel = KEY_SEL_BASE + layer), and the load-port
writes that fill the bank from a key at run time. No memory image holds a key."""
from __future__ import annotations

from ...rtl.conv import ConvPlan
from ...rtl.plan import LayerPlan, RTLError

KEY_SEL_BASE = 128  # wl_sel of layer i's key registers (2*i and 2*i+1 are its weights and parameters)
SOURCE = "lock_unit.sv"


def lock_plans(layers: list, plans: list) -> dict:
    """Engine index -> the lock unit's parameters, for each engine layer carrying a lock."""
    out = {}
    for i, (layer, p) in enumerate(zip(layers, plans)):
        if not layer.attrs.get("lock"):
            continue
        if type(p) not in (LayerPlan, ConvPlan):  # an mvau engine (dense, or a conv's behind its swg)
            raise RTLError(f"layer {layer.name!r}: the RTL lock unit follows mvau engines (dense, conv2d) only, "
                           f"not {p.kind}; drop it from harden.lock.layers or disable rtl")
        # beats of one output vector: a dense sample's, or one pixel's channels of a conv (NHWC stream;
        # the counter wraps every NF beats, so each pixel's channels get the same key)
        nf = p.mp // p.pe
        out[i] = {"sel": KEY_SEL_BASE + i, "pe": p.pe, "out_w": p.OUT_W, "nf": nf,
                  "kaw": max(1, (nf - 1).bit_length()), "kw": p.pe * (p.OUT_W + 1), "layer": layer.name}
    return out


def wrap_engine(i: int, engine_lines: list, lk: dict) -> list:
    """The engine's instance writing to l<i>_eng_*, then the lock unit from l<i>_eng_* to l<i>_out_*."""
    eng = [line.replace(f"l{i}_out_", f"l{i}_eng_") for line in engine_lines]
    w = lk["pe"] * lk["out_w"]
    return [f"    logic [{w - 1}:0] l{i}_eng_tdata;", f"    logic l{i}_eng_tvalid, l{i}_eng_tready, l{i}_eng_tlast;",
            *eng,
            f"    // lock unit of layer {i} ({lk['layer']}): key registers on wl_sel == {lk['sel']}",
            f"    lock_unit #(.PE({lk['pe']}), .OUT_W({lk['out_w']}), .NF({lk['nf']})) u_l{i}_lock (",
            "        .clk(clk), .rst(rst),",
            f"        .s_tdata(l{i}_eng_tdata), .s_tvalid(l{i}_eng_tvalid), .s_tready(l{i}_eng_tready), "
            f".s_tlast(l{i}_eng_tlast),",
            f"        .m_tdata(l{i}_out_tdata), .m_tvalid(l{i}_out_tvalid), .m_tready(l{i}_out_tready), "
            f".m_tlast(l{i}_out_tlast),",
            f"        .kl_we(wl_we && wl_sel == 8'd{lk['sel']}), .kl_addr(wl_addr[{lk['kaw'] - 1}:0]), "
            f".kl_data(wl_data[{lk['kw'] - 1}:0])",
            "    );"]


def key_writes(meta: dict, key) -> list[tuple[int, int, int]]:
    """Load-port writes (sel, addr, data) filling every key register of the design from a LockKey
    (the whole bank, zeros included, so a previous key leaves nothing behind)."""
    writes = []
    for lk in meta.get("lock", {}).values():
        mask, value = key.layers[lk["layer"]]
        ow, pe = lk["out_w"], lk["pe"]
        for b in range(lk["nf"]):
            word = 0
            for p in range(pe):
                j = b * pe + p
                if j < mask.size and mask[j]:
                    word |= (((int(value[j]) & ((1 << ow) - 1)) << 1) | 1) << (p * (ow + 1))
            writes.append((lk["sel"], b, word))
    return writes
