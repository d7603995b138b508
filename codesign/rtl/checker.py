"""The optional RTL weight-memory checker (rtl.checker: true): golden group checksums from the spec,
the generated top's lines, and the reference of what the checker computes.

Quartet: this module (reference: `group_sums`, `alarm`), rtl/wmem_check.sv (the memory and its
scanner), sim/test_wmem_check.py (cocotb), tests/test_faults_checker.py (through the flow).

Each engine memory behind the load port (an mvau's weights and its bias/shift words; dense and conv2d
layers) becomes a wmem_check: its second port scans the words, folding word bit j into group
j mod CK_W by XOR, and compares the CK_W group parities with GOLD at the end of every scan. GOLD is
computed here from the memory images the spec generates (`mem_images`: the design's integers as the
memories hold them) and written into the top as a Verilog parameter: the load port cannot change it,
so a fault written through the load port is caught, never absorbed.

Why XOR per bit plane and not RADAR's arithmetic group sum: an interleaved sum mod 2 costs one LUT
input per memory bit and no carry chain, and still catches every odd number of flips in a group
(every single-bit flip). Flips cancel only in pairs of the same group and bit plane.
"""
from __future__ import annotations

from .generate import mem_images

CK_W = 64  # group checksum bits of every memory
MODULE = "wmem_check.sv"
ENGINE = "mvau"  # the engines whose memories the checker covers (dense, conv2d)


def fold_words(words, ck_w: int = CK_W) -> int:
    """The CK_W group parities of a memory's words (Python ints): word bit j into group j mod ck_w."""
    mask = (1 << ck_w) - 1
    acc = 0
    for w in words:
        w = int(w)
        while w:
            acc ^= w & mask
            w >>= ck_w
    return acc


def check_plans(plans, layers) -> None:
    """The checker covers mvau engines' memories; a kron_dense or wings_dense engine keeps its own
    memories (kron_matvec, wings_gen), which it does not scan: refuse rather than half-check."""
    bad = [f"{l.name} ({l.kind})" for l, p in zip(layers, plans) if p.mem_names() and p.module != ENGINE]
    if bad:
        raise ValueError(f"rtl.checker covers dense and conv2d engines (mvau) only; {', '.join(bad)} "
                         f"has memories it would not scan: set rtl.checker: false for this design")


def memories(layer, p) -> dict:
    """Image suffix -> (words, depth): the words the checker scans (the whole image: its depth is the
    engine's memory depth) of one mvau engine."""
    img = mem_images(layer, p)
    depth = {"w": p.sf * p.nf, "p": p.nf}
    out = {}
    for name, (words, _) in img.items():
        if len(words) != depth[name]:
            raise ValueError(f"{layer.name}: {name} image has {len(words)} words, the memory {depth[name]}")
        out[name] = (words, depth[name])
    return out


def group_sums(layer, p, ck_w: int = CK_W) -> dict:
    """Image suffix -> the CK_W group parities of what `layer`'s parameters put in the memory."""
    return {name: fold_words(words, ck_w) for name, (words, _) in memories(layer, p).items()}


def params(layer, p, ck_w: int = CK_W) -> dict:
    """The mvau instance's extra parameters: the checker on and the spec's golden sums."""
    from .conv import SvLiteral

    g = group_sums(layer, p, ck_w)
    return {"CK": 1, "CK_W": ck_w, "W_GOLD": SvLiteral(f"{ck_w}'h{g['w']:x}"),
            "P_GOLD": SvLiteral(f"{ck_w}'h{g['p']:x}")}


def meta(layers, plans, ck_w: int = CK_W) -> dict:
    """rtl_meta.json `checker`: per engine and memory the load-port select, depth and golden sums;
    `scan_cycles`, the cycles of the longest scan plus the scanner's pipeline (after a reset, a fault in
    any memory has raised the alarm by then)."""
    mems = []
    for i, (layer, p) in enumerate(zip(layers, plans)):
        if p.module != ENGINE or not p.mem_names():
            continue
        for k, (name, (words, depth)) in enumerate(memories(layer, p).items()):
            mems.append({"engine": i, "layer": layer.name, "memory": name, "sel": 2 * i + k, "depth": depth,
                         "golden": f"{fold_words(words, ck_w):x}"})
    return {"ck_w": ck_w, "module": "wmem_check", "memories": mems,
            "scan_cycles": max([m["depth"] for m in mems], default=0) + 4}


def alarm(spec, plans, layers_meta: dict) -> bool:
    """What the checker concludes about `spec`'s parameters in the memories: any memory whose group
    parities differ from the golden ones of rtl_meta.json (the reference the RTL alarm must equal)."""
    from .plan import dense_layers

    layers = dense_layers(spec)
    ck_w = layers_meta["ck_w"]
    sums = {}
    for m in layers_meta["memories"]:
        i = m["engine"]
        if i not in sums:
            sums[i] = group_sums(layers[i], plans[i], ck_w)
        if sums[i][m["memory"]] != int(m["golden"], 16):
            return True
    return False
