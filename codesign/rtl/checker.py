"""The optional RTL weight-memory checker (rtl.checker: true): golden CRCs from the spec, the
generated top's lines, and the reference of what the checker computes.

Quartet: this module (reference: `crc_words`, `alarm`), rtl/wmem_check.sv (the memory and its
scanner), sim/test_wmem_check.py (cocotb), tests/test_faults_checker.py (through the flow and the
detection campaign).

Each engine memory behind the load port (an mvau's weights and its bias/shift words: dense and
conv2d layers) becomes a wmem_check: its second port scans the words and computes a CRC-64
(x^64 + x^4 + x^3 + x + 1) over them, each word as ceil(DW/64) chunks of 64 bits, low chunk first,
and compares it with GOLD at the end of every scan. GOLD is computed here from the memory images the
spec generates (`mem_images`: the design's integers as the memories hold them) and written into the
top as a Verilog parameter: the load port cannot change it, so a fault written through the load port
is caught, never absorbed.

Why a CRC and not RADAR's interleaved group sums: the first version folded word bit j into group
j mod 64 by XOR (a group parity per bit plane); two flips in the same group and bit plane cancel,
measured on the digits MLP at 1 in 80 random pairs and 1 in 9 pairs of sign bits. The CRC's
polynomial is primitive, so no error of 1, 2 or 3 bits and no burst up to 64 bits is missed, for
one shift-and-XOR network (each CRC bit an XOR of a few inputs) and a 64-bit chunk select.
"""
from __future__ import annotations

import numpy as np

from ..kinds import registry as kinds

CK_W = 64  # CRC bits
POLY = 0x1B  # x^64 + x^4 + x^3 + x + 1 (primitive)
MASK = (1 << 64) - 1
MODULE = "wmem_check.sv"
ENGINE = "mvau"  # the engines whose memories the checker covers (dense, conv2d)


def _mulx64(a: int) -> int:
    """a * x^64 mod P (a: 64 coefficients, bit k of x^k), as rtl/wmem_check.sv mulx64."""
    for _ in range(64):
        a = ((a << 1) & MASK) ^ (POLY if a >> 63 else 0)
    return a


# mulx64 is linear over GF(2): one table of 256 entries per byte of its argument
_TABLES = [[_mulx64(v << (8 * k)) for v in range(256)] for k in range(8)]


def crc_words(words, dw: int) -> int:
    """The CRC-64 the checker computes over a memory's words (Python ints of `dw` bits): per 64-bit
    chunk, low chunk first, crc = (crc ^ chunk) * x^64 mod P, from 0."""
    t0, t1, t2, t3, t4, t5, t6, t7 = _TABLES
    chunks = -(-dw // 64)
    crc = 0
    for w in words:
        w = int(w)
        for c in range(chunks):
            a = crc ^ ((w >> (64 * c)) & MASK)
            crc = (t0[a & 255] ^ t1[(a >> 8) & 255] ^ t2[(a >> 16) & 255] ^ t3[(a >> 24) & 255]
                   ^ t4[(a >> 32) & 255] ^ t5[(a >> 40) & 255] ^ t6[(a >> 48) & 255] ^ t7[a >> 56])
    return crc


def check_plans(plans, layers) -> None:
    """The checker covers mvau engines' memories; a kron_dense or wings_dense engine keeps its own
    memories (kron_matvec, wings_gen), which it does not scan: refuse rather than half-check."""
    from ..errors import ConfigError

    bad = [f"{l.name} ({l.kind})" for l, p in zip(layers, plans) if p.mem_names() and p.module != ENGINE]
    if bad:
        raise ConfigError(f"rtl.checker covers dense and conv2d engines (mvau) only; {', '.join(bad)} "
                         f"has memories it would not scan: set rtl.checker: false for this design")


def memories(layer, p) -> dict:
    """Image suffix -> (words, depth, word width): what the checker scans of one mvau engine (the
    whole image: its depth is the engine's memory depth)."""
    img = kinds.get(layer.kind).rtl_images(layer, p)  # as generate.mem_images (imported here, a circle)
    depth = {"w": p.sf * p.nf, "p": p.nf}
    width = {"w": p.w_word, "p": p.p_word}
    out = {}
    for name, (words, _) in img.items():
        if len(words) != depth[name]:
            raise ValueError(f"{layer.name}: {name} image has {len(words)} words, the memory {depth[name]}")
        out[name] = (words, depth[name], width[name])
    return out


def crcs(layer, p) -> dict:
    """Image suffix -> the CRC-64 of what `layer`'s parameters put in the memory."""
    return {name: crc_words(words, dw) for name, (words, _, dw) in memories(layer, p).items()}


def params(layer, p) -> dict:
    """The mvau instance's extra parameters: the checker on and the spec's golden CRCs."""
    from .conv import SvLiteral

    g = crcs(layer, p)
    return {"CK": 1, "W_GOLD": SvLiteral(f"64'h{g['w']:x}"), "P_GOLD": SvLiteral(f"64'h{g['p']:x}")}


def scan_cycles(depth: int, dw: int) -> int:
    """Cycles of one scan (a read and ceil(dw/64) chunks a word) plus the scanner's pipeline: after a
    reset, a fault anywhere in the memory has raised the alarm by then."""
    return depth * (1 + -(-dw // 64)) + 4


def meta(layers, plans) -> dict:
    """rtl_meta.json `checker`: per engine and memory the load-port select, depth, word width, scan
    cycles and golden CRC; `scan_cycles`, the longest scan (the harness's CHECK default)."""
    mems = []
    for i, (layer, p) in enumerate(zip(layers, plans)):
        if p.module != ENGINE or not p.mem_names():
            continue
        for k, (name, (words, depth, dw)) in enumerate(memories(layer, p).items()):
            mems.append({"engine": i, "layer": layer.name, "memory": name, "sel": 2 * i + k, "depth": depth,
                         "width": dw, "scan_cycles": scan_cycles(depth, dw), "golden": f"{crc_words(words, dw):x}"})
    return {"checksum": "crc64 x^64+x^4+x^3+x+1", "module": "wmem_check", "memories": mems,
            "scan_cycles": max([m["scan_cycles"] for m in mems], default=0)}


class Reference:
    """What the checker concludes about faulty copies of `spec` (same shapes and types): an alarm
    when any memory's CRC differs from the golden one of rtl_meta.json `checker`. Only the engines
    whose parameters differ from `spec`'s are recomputed (a fault touches one or a few layers)."""

    def __init__(self, spec, plans, checker_meta: dict):
        from .plan import dense_layers

        self.spec, self.plans, self.meta = spec, plans, checker_meta
        self.engines = dense_layers(spec)
        self.golden: dict[int, dict] = {}
        for m in checker_meta["memories"]:
            self.golden.setdefault(m["engine"], {})[m["memory"]] = int(m["golden"], 16)

    def alarm(self, faulty) -> bool:
        from .plan import dense_layers

        for i, layer in enumerate(dense_layers(faulty)):
            if i not in self.golden:
                continue
            clean = self.engines[i]
            if all(np.array_equal(layer.params[k], clean.params[k]) for k in clean.params):
                continue
            if crcs(layer, self.plans[i]) != self.golden[i]:
                return True
        return False


def alarm(spec, plans, checker_meta: dict) -> bool:
    """The checker's verdict on `spec`'s parameters: any memory whose CRC differs from the golden
    one of rtl_meta.json `checker` (every engine recomputed; Reference for many faults)."""
    from .plan import dense_layers

    for i, layer in enumerate(dense_layers(spec)):
        gold = {m["memory"]: int(m["golden"], 16) for m in checker_meta["memories"] if m["engine"] == i}
        if gold and crcs(layer, plans[i]) != gold:
            return True
    return False
