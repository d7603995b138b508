"""Choose each engine's folding (PE output lanes x SIMD input lanes) and the padding it implies.

Why a search: a dataflow pipeline runs at the pace of its slowest engine, so MAC lanes spent on a
layer that finishes early are wasted. Given a cycles-per-inference target T, each layer gets the
fewest lanes with (N/SIMD)*(M/PE) <= T; layers then take about T cycles each and the overall MAC
utilization (total MACs / lanes / slowest layer's cycles) stays near 1. Neighbouring engines must
have lane counts where one divides the other (PE of layer l and SIMD of layer l+1), so the stream
between them needs only a simple split/gather converter (rtl/axis_dwc.sv); a small dynamic program
over the chain keeps that constraint while minimising total lanes.
A conv2d layer's engine (swg + mvau) reads one pixel (Cin lanes) a beat whatever its SIMD and needs
about OH*OW*(K*K*Cin/SIMD)*(Cout/PE) cycles, or its window generator's HP*WP + OH*OW*(SF-1) if more
(`conv.conv_cycles`); a maxpool2d engine reads and writes one pixel (C lanes) a beat and has no MAC lanes.
"""
from __future__ import annotations

import math

DEFAULT_TARGET_CYCLES = 512


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _compatible(pe_prev: int, simd: int) -> bool:
    return pe_prev % simd == 0 or simd % pe_prev == 0


def _kind(shape) -> str:
    return shape.get("kind", "kron") if isinstance(shape, dict) else "dense"


def conv_cycles(shape: dict, pe: int, simd: int) -> int:
    from .conv import conv_cycles as cycles
    return cycles(shape["geometry"], pe, simd)


def _in_lanes(shape, opt) -> int:
    """Elements a beat the engine reads: one pixel for conv/pool engines, SIMD otherwise."""
    return shape["cin"] if _kind(shape) in ("conv", "pool") else opt[1]


def _cost(shape, opt) -> int:
    return 0 if _kind(shape) == "pool" else opt[0] * opt[1]


def _within(foldings: list, cycles, target_cycles: int) -> list[tuple[int, int]]:
    """The foldings whose `cycles(pe, simd)` meet the target, or the fastest ones if none does."""
    per = {f: cycles(*f) for f in foldings}
    opts = [f for f in foldings if per[f] <= target_cycles]
    fastest = min(per.values())
    return opts or [f for f in foldings if per[f] == fastest]


def _options(shape, target_cycles: int) -> list[tuple[int, int]]:
    """(pe, simd) of one engine within target_cycles (all of them if none is fast enough: the fastest)."""
    if _kind(shape) == "pool":
        return [(shape["cin"], shape["cin"])]
    if _kind(shape) == "conv":
        allf = [(pe, simd) for pe in _divisors(shape["m"]) for simd in _divisors(shape["n"])]
        return _within(allf, lambda pe, simd: conv_cycles(shape, pe, simd), target_cycles)
    if isinstance(shape, dict):  # a kron_dense layer: {n1, n2, m1, m2, rank}, one folding for both stages
        from .kron import kron_cycles, kron_foldings
        return _within(kron_foldings(shape), lambda pe, simd: kron_cycles(shape, pe, simd), target_cycles)
    n, m = shape
    opts = [(pe, simd) for pe in _divisors(m) for simd in _divisors(n) if (n // simd) * (m // pe) <= target_cycles]
    return opts or [(m, n)]


def _io(shape) -> tuple[int, int]:
    """Elements of one sample's stream in and out (a whole image for conv/pool engines)."""
    if _kind(shape) in ("conv", "pool"):
        return shape["stream_in"], shape["stream_out"]
    if isinstance(shape, dict):
        return shape["n1"] * shape["n2"], shape["m1"] * shape["m2"]
    return shape


def choose(shapes: list, target_cycles: int) -> list[dict]:
    """Per layer {pe, simd} dividing (n, m), chain-compatible, each layer within target_cycles if it can be.

    shapes: (n_in, n_out) per dense layer, {n1, n2, m1, m2, rank} for a kron_dense layer (its
    engine needs PE | m1 and SIMD | n1), or a conv/pool dict (`codesign.rtl.generate._shape`). A layer that cannot reach the target even fully unrolled
    gets full unrolling. Among equal lane counts the more balanced (smaller max(pe, simd)) wins.
    """
    if target_cycles < 1:
        raise ValueError(f"target_cycles must be >= 1, got {target_cycles}")
    cands = [_options(s, target_cycles) for s in shapes]
    # dp over layers: best[(pe, simd)] = (cost, path)
    best = {c: ((_cost(shapes[0], c), max(c)), [c]) for c in cands[0]}
    for shape, opts in zip(shapes[1:], cands[1:]):
        nxt = {}
        for c in opts:
            prev = [(v[0], v[1]) for k, v in best.items() if _compatible(k[0], _in_lanes(shape, c))]
            if not prev:
                continue
            (cost, tie), path = min(prev, key=lambda v: v[0])
            nxt[c] = ((cost + _cost(shape, c), tie + max(c)), path + [c])
        if not nxt:
            raise ValueError(f"no chain-compatible folding for shapes {shapes} at {target_cycles} cycles; give one explicitly")
        best = nxt
    _, path = min(best.values(), key=lambda v: v[0])
    return [{"pe": pe, "simd": simd} for pe, simd in path]


def padded_dims(shapes: list, folding: list[dict]) -> list[tuple[int, int]]:
    """(n_padded, m_padded) per layer: n a multiple of SIMD, m of PE and of the next layer's SIMD.

    Padded inputs meet zero weights and padded outputs are dropped, so padding never changes a result.
    """
    for l, (shape, f) in enumerate(zip(shapes, folding)):
        if f["pe"] < 1 or f["simd"] < 1:
            raise ValueError(f"layer {l}: pe and simd must be >= 1, got {f}")
        lanes_in = _in_lanes(shape, (f["pe"], f["simd"]))
        if l and not _compatible(folding[l - 1]["pe"], lanes_in):
            raise ValueError(f"layer {l}: its {lanes_in} input lanes and the previous layer's PE {folding[l - 1]['pe']} "
                             "must divide one another (the stream converter splits or gathers whole beats)")
    dims = []
    for l, (shape, f) in enumerate(zip(shapes, folding)):
        n, m = _io(shape)
        if _kind(shape) in ("conv", "pool"):  # an image stream: pixels of whole channels, never padded
            if l and dims[-1][1] != n:
                raise ValueError(f"layer {l} ({_kind(shape)}) reads {n} elements an image but the previous layer "
                                 f"writes {dims[-1][1]}: a conv/pool layer cannot follow a padded dense layer")
            dims.append((n, m))
            continue
        if l and _kind(shapes[l - 1]) in ("conv", "pool") and n % f["simd"]:
            raise ValueError(f"layer {l}: SIMD {f['simd']} must divide its {n} inputs (an image stream "
                             "from a conv/pool layer is not padded)")
        lane = f["pe"] if l + 1 == len(shapes) else max(f["pe"], folding[l + 1]["simd"])
        mp = math.ceil(m / lane) * lane
        np_ = dims[-1][1] if l else math.ceil(n / f["simd"]) * f["simd"]
        if isinstance(shape, dict) and (np_, mp) != (n, m):  # kron_matvec streams its exact shape
            raise ValueError(f"layer {l} (kron_dense {n}->{m}) would need padding to {np_}->{mp}: choose lanes that "
                             "divide its input and output")
        dims.append((np_, mp))
    return dims
