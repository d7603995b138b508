"""RTL view of lock units: a `rtl/lock_unit.sv` in the epilogue of each locked layer's engine (the
mvau of a dense layer or of a conv2d's swg + mvau, instanced with LOCK=1: the unit sits in its
mac_pipe before the output register), its key register bank on the top's load port (wl_sel =
KEY_SEL_BASE + layer), and the load-port writes that fill the bank from a key at run time. No memory
image holds a key.

An input-permutation lock needs no unit at all: the first dense layer's products read the permuted
input, so its weight rows are written permuted over the load port instead (row perm[j] of the
memory <- public row j), from the public image and the key at run time: 0 cycles and 0 LUT added.
The generated image holds the public (no-key) rows; a key write rewrites the whole memory, so the
identity (no key) restores it.

It lives here, beside the kron and wings planners, and not in codesign/techniques/lock/: generate.py
calls it, and a module outside this package importing rtl.plan runs rtl/__init__, which imports
generate.py (an import circle, tests/test_architecture.py)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .conv import ConvPlan
from .plan import LayerPlan, RTLError, _pack_words

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
                  "kaw": p.paw, "kw": p.pe * (p.OUT_W + 1), "p_word": p.p_word, "layer": layer.name}
    return out


def wrap_engine(i: int, engine_lines: list, lk: dict) -> list:
    """The engine's instance with its lock unit on (mvau LOCK=1: rtl/lock_unit.sv in mac_pipe's epilogue).
    The key bank shares the engine's parameter port: a write on wl_sel == KEY_SEL_BASE + i reaches it
    with the port's top address bit set, a write on the parameter select (2*i + 1) the parameter memory."""
    head, pl = f"    ) u_l{i} (", f".pl_we(wl_we && wl_sel == 8'd{2 * i + 1})"
    if sum(head in line for line in engine_lines) != 1 or sum(pl in line for line in engine_lines) != 1:
        raise RTLError(f"layer {lk['layer']!r}: no single mvau instance to lock in the generated top")
    out = []
    for line in engine_lines:
        if head in line:
            line = line.replace(head, f",\n        .LOCK(1)\n{head}")
        if pl in line:  # the parameter port's three connections (what follows them on the line stays)
            kaw, key = lk["kaw"], f"wl_sel == 8'd{lk['sel']}"
            data_w = max(lk["kw"], lk["p_word"])
            port = (f".pl_we(wl_we && (wl_sel == 8'd{2 * i + 1} || {key})), "
                    f".pl_addr({{{key}, wl_addr[{kaw - 1}:0]}}), .pl_data(wl_data[{data_w - 1}:0])")
            line, n = re.subn(r"\.pl_we\([^)]*\), \.pl_addr\([^)]*\), \.pl_data\([^)]*\)", lambda _: port, line)
            if n != 1:
                raise RTLError(f"layer {lk['layer']!r}: the engine's parameter port is not where the lock expects it")
            line = f"        // lock unit of layer {i} ({lk['layer']}): key registers on wl_sel == {lk['sel']}\n" + line
        out.append(line)
    return out


def perm_plans(spec, layers: list, plans: list, prefix: str) -> dict:
    """Input-permutation locks: flatten name -> the weight memory of the dense engine its output feeds
    (load-port select, geometry, image file), for `key_writes`."""
    out = {}
    for s_layer in spec.layers:
        lock = s_layer.attrs.get("lock") or {}
        if lock.get("scheme") != "input_perm":
            continue
        names = [l.name for l in spec.layers]
        i = next((k for k, l in enumerate(layers) if names.index(l.name) > names.index(s_layer.name)), None)
        p = plans[i] if i is not None else None
        if type(p) is not LayerPlan or p.n != lock["units"]:
            raise RTLError(f"layer {s_layer.name!r}: an input-permutation lock must feed a dense layer of "
                           f"{lock['units']} inputs; use scheme: neuron")
        out[s_layer.name] = {"engine": i, "sel": 2 * i, "n": p.n, "sf": p.sf, "simd": p.simd, "nf": p.nf,
                             "pe": p.pe, "ww": p.WW, "image": f"{prefix}l{i}_w.mem"}
    return out


def _perm_words(pm: dict, perm: np.ndarray, rtl_dir: Path) -> list[int]:
    """The dense engine's weight words with its rows permuted: memory row perm[j] <- public row j."""
    sf, simd, nf, pe, ww = pm["sf"], pm["simd"], pm["nf"], pm["pe"], pm["ww"]
    words = [int(w, 16) for w in (Path(rtl_dir) / pm["image"]).read_text().split()]
    if len(words) != sf * nf:
        raise RTLError(f"{pm['image']}: {len(words)} words, the engine has {sf * nf}; regenerate the RTL")
    nbytes = -(-pe * simd * ww // 8)
    raw = np.frombuffer(b"".join(w.to_bytes(nbytes, "little") for w in words), np.uint8).reshape(len(words), nbytes)
    bits = np.unpackbits(raw, axis=1, bitorder="little")[:, :pe * simd * ww].reshape(len(words), pe * simd, ww)
    codes = (bits.astype(np.uint64) << np.arange(ww, dtype=np.uint64)).sum(-1)
    rows = codes.reshape(nf, sf, pe, simd).transpose(1, 3, 0, 2).reshape(sf * simd, nf * pe)  # [input, output]
    out = rows.copy()
    out[perm] = rows[:pm["n"]]
    back = out.reshape(sf, simd, nf, pe).transpose(2, 0, 3, 1).reshape(nf * sf, pe * simd)
    return _pack_words(back, ww)


def key_writes(meta: dict, key, rtl_dir=None) -> list[tuple[int, int, int]]:
    """Load-port writes (sel, addr, data) filling every key register of the design from a LockKey
    (the whole bank, zeros included, so a previous key leaves nothing behind); an input-permutation
    lock's permuted weight memory (read from the public image in `rtl_dir`)."""
    writes = []
    for name, pm in meta.get("input_perm", {}).items():
        if rtl_dir is None:
            raise RTLError("an input-permutation lock's key writes need the RTL folder (its public weight image)")
        writes += [(pm["sel"], a, w) for a, w in enumerate(_perm_words(pm, key.perms[name], rtl_dir))]
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
