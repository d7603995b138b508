"""Choose each engine's folding (PE output lanes x SIMD input lanes) and the padding it implies.

Why a search: a dataflow pipeline runs at the pace of its slowest engine, so MAC lanes spent on a
layer that finishes early are wasted. Given a cycles-per-inference target T, each layer gets the
fewest lanes with (N/SIMD)*(M/PE) <= T; layers then take about T cycles each and the overall MAC
utilization (total MACs / lanes / slowest layer's cycles) stays near 1. Neighbouring engines must
have lane counts where one divides the other (PE of layer l and SIMD of layer l+1), so the stream
between them needs only a simple split/gather converter (rtl/axis_dwc.sv); a small dynamic program
over the chain keeps that constraint while minimising total lanes.
A conv2d layer's engine (swg + mvau) reads PP pixels (PP*Cin lanes) a beat whatever its SIMD and needs
about OH*OW*(K*K*Cin/SIMD)*(Cout/PE) cycles, or its window generator's walk if more
(`conv.conv_cycles`); PP > 1 (the generator's parallelism) is offered to a conv fed by the top's
input, where one pixel a cycle would hold a layer of one window a beat to the image's positions, and
with it MW > 1 windows a beat (PE*SIMD*MW lanes, MW pixels a beat out), where one window a cycle
would hold the layer to its window count. A maxpool2d engine reads one pixel (C lanes) a beat, or PP
(its window width) after such a conv, writes one pixel a beat and has no MAC lanes.
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


def conv_cycles(shape: dict, pe: int, simd: int, pp: int = 1, mw: int = 1) -> int:
    from .conv import conv_cycles as cycles
    return cycles(shape["geometry"], pe, simd, pp, mw)


def _pp(opt) -> int:
    """An option's positions (conv) or pixels (pool) a beat (options are (pe, simd), (pe, simd, pp) or
    (pe, simd, pp, mw))."""
    return opt[2] if len(opt) > 2 else 1


def _mw(opt) -> int:
    """A conv option's windows a beat."""
    return opt[3] if len(opt) > 3 else 1


def _conv_foldings(shape, first: bool) -> list[tuple[int, int, int, int]]:
    """(pe, simd, pp, mw) of a conv engine; PP > 1 (several pixels a beat) only where the top's input feeds
    it, MW > 1 (several windows a beat) only with PE = Cout."""
    from .conv import mw_options, pp_options
    g = shape["geometry"]
    pps = pp_options(g) if first else [1]
    return [(pe, simd, pp, mw) for pe in _divisors(shape["m"]) for simd in _divisors(shape["n"]) for pp in pps
            for mw in mw_options(g, pp) if mw == 1 or pe == shape["m"]]


def _pool_options(shape, target_cycles: int) -> list[tuple[int, int, int]]:
    """The pool's (C, C, pp): the fewest pixels a beat within the target, else the most it can take."""
    from .conv import pool_pp_options
    pps = pool_pp_options(shape["h"], shape["w"], shape["ph"], shape["pw"]) if "pw" in shape else [1]
    c = shape["cin"]
    ok = [pp for pp in pps if _engine_cycles(shape, c, c, 0, 0, pp) <= target_cycles]
    return [(c, c, min(ok) if ok else max(pps))]


def _fdict(opt) -> dict:
    d = {"pe": opt[0], "simd": opt[1]}
    if _pp(opt) > 1:
        d["pp"] = _pp(opt)
    if _mw(opt) > 1:
        d["mw"] = _mw(opt)
    return d


def _opt(f: dict) -> tuple:
    """A folding dict back to an option tuple."""
    return (f["pe"], f["simd"], f.get("pp", 1), f.get("mw", 1))


def _in_lanes(shape, opt) -> int:
    """Elements a beat the engine reads: PP pixels for conv and pool engines, SIMD otherwise."""
    if _kind(shape) in ("conv", "pool"):
        return shape["cin"] * _pp(opt)
    return opt[1]


def _out_lanes(shape, opt) -> int:
    """Elements a beat the engine writes: PE, MW pixels of PE channels for a conv, one pixel for a pool."""
    if _kind(shape) == "conv":
        return opt[0] * _mw(opt)
    return shape["cin"] if _kind(shape) == "pool" else opt[0]


def _cost(shape, opt) -> int:
    return 0 if _kind(shape) == "pool" else opt[0] * opt[1] * _mw(opt)


def _tie(shape, opt) -> int:
    """Tie-break between foldings of equal lanes (lower wins): the wider lane count, plus a whole window's
    elements for a conv whose window generator emits whole windows (`conv.swg_width`: a FIFO of windows
    and a width converter more), so that is taken only where it buys cycles."""
    t = max(opt[:2])
    if _kind(shape) == "conv":
        from .conv import swg_width
        if swg_width(shape["geometry"], opt[0], opt[1], _pp(opt), _mw(opt)) != opt[1]:
            t += shape["n"]
    return t


def _within(foldings: list, cycles, target_cycles: int) -> list[tuple]:
    """The foldings whose `cycles(*folding)` meet the target, or the fastest ones if none does."""
    per = {f: cycles(*f) for f in foldings}
    opts = [f for f in foldings if per[f] <= target_cycles]
    fastest = min(per.values())
    return opts or [f for f in foldings if per[f] == fastest]


def _options(shape, target_cycles: int, first: bool = False) -> list[tuple]:
    """(pe, simd) of one engine within target_cycles (all of them if none is fast enough: the fastest);
    (pe, simd, pp) for a conv engine (pp > 1 only when `first`: fed by the top's input)."""
    if _kind(shape) == "pool":
        return _pool_options(shape, target_cycles)
    if _kind(shape) == "conv":
        return _within(_conv_foldings(shape, first), lambda pe, simd, pp, mw: conv_cycles(shape, pe, simd, pp, mw),
                       target_cycles)
    if isinstance(shape, dict):  # a kron_dense layer: {n1, n2, m1, m2, rank}, one folding for both stages
        from .kron import kron_cycles, kron_foldings
        return _within(kron_foldings(shape), lambda pe, simd: kron_cycles(shape, pe, simd), target_cycles)
    n, m = shape[:2]
    opts = [(pe, simd) for pe in _divisors(m) for simd in _divisors(n) if (n // simd) * (m // pe) <= target_cycles]
    return opts or [(m, n)]


def _io(shape) -> tuple[int, int]:
    """Elements of one sample's stream in and out (a whole image for conv/pool engines)."""
    if _kind(shape) in ("conv", "pool"):
        return shape["stream_in"], shape["stream_out"]
    if isinstance(shape, dict):
        return shape["n1"] * shape["n2"], shape["m1"] * shape["m2"]
    return shape[:2]


def _distinct_folds(n: int) -> list[int]:
    """Lane counts that give each distinct fold count ceil(n / lanes) (the smallest such count)."""
    return sorted({-(-n // f) for f in {-(-n // s) for s in range(1, n + 1)}})


def _padded_options(shape, cap: int) -> list[tuple[int, int]]:
    """A dense engine's (pe, simd) within `cap` cycles when its dimensions may be zero-padded: the
    divisor foldings plus, for every input fold count, the fewest output lanes that meet the cap.
    Padding costs a few idle lanes but lets a layer land just under the cap instead of far below it."""
    n, m = shape[:2]
    opts = set(_options(shape, cap))
    if len(shape) > 2 and not shape[2]:  # an engine that streams its exact shape
        return sorted(opts)
    for simd in _distinct_folds(n):
        sf = -(-n // simd)
        if sf > cap:
            continue
        nf = cap // sf
        pe = -(-m // nf)
        for q in {pe, *[d for d in _divisors(m) if d >= pe][:1]}:  # the fewest lanes, and the next divisor
            opts.add((q, simd))
    if not opts:
        return [(m, n)]
    fewest = min(p * s for p, s in opts)
    return sorted(o for o in opts if o[0] * o[1] <= 1.25 * fewest or (m % o[0] == 0 and n % o[1] == 0))


def _engine_cycles(shape, pe: int, simd: int, n_pad: int, m_pad: int, pp: int = 1, mw: int = 1) -> int:
    k = _kind(shape)
    if k == "conv":
        return conv_cycles(shape, pe, simd, pp, mw)
    if k == "pool":
        return shape["stream_in"] // shape["cin"] // pp
    if k == "kron":
        from .kron import kron_cycles
        return kron_cycles(shape, pe, simd)
    return (n_pad // simd) * (m_pad // pe)


def _nominal_cycles(shape, c) -> int:
    n, m = _io(shape)
    return _engine_cycles(shape, c[0], c[1], -(-n // c[1]) * c[1], -(-m // c[0]) * c[0], _pp(c), _mw(c))


def _exact_stream(shape) -> bool:
    """Engines whose input stream cannot be padded (image streams, kron_matvec's exact shape)."""
    return _kind(shape) != "dense"


def _chain(shapes: list, cap: int, pad: bool) -> list[tuple[int, int]] | None:
    """Fewest total lanes with every engine within `cap` cycles (exactly, padding included), chain-compatible.

    Dynamic program over the chain; a state is (pe, simd, padded inputs) of the last engine placed,
    whose own cycles are known once the next engine's input lanes fix its padded outputs."""
    opts = [(_padded_options(s, cap) if pad and _kind(s) == "dense" else _options(s, cap, first=i == 0))
            for i, s in enumerate(shapes)]
    # an engine that cannot meet the cap even fully unrolled runs at its fastest (its options say so)
    limit = [cap if any(_nominal_cycles(s, c) <= cap for c in o) else float("inf") for s, o in zip(shapes, opts)]
    n0 = _io(shapes[0])[0]
    best = {}
    for c in opts[0]:
        np_ = n0 if _exact_stream(shapes[0]) else -(-n0 // c[1]) * c[1]
        best[(c, np_)] = ((_cost(shapes[0], c), _tie(shapes[0], c)), [c])
    for li in range(1, len(shapes) + 1):
        prev_shape = shapes[li - 1]
        m_prev = _io(prev_shape)[1]
        nxt = {}
        for (pc, np_prev), (cost, path) in best.items():
            for c in (opts[li] if li < len(shapes) else [None]):
                out = _out_lanes(prev_shape, pc)
                if c is None:  # after the last engine: its outputs padded to its PE
                    lane = out
                else:
                    shape = shapes[li]
                    lanes_in = _in_lanes(shape, c)
                    if not _compatible(out, lanes_in):
                        continue
                    lane = max(out, lanes_in)
                mp_prev = m_prev if _exact_stream(prev_shape) else -(-m_prev // lane) * lane
                if mp_prev != m_prev and c is not None and _exact_stream(shapes[li]):
                    continue  # a conv/pool/kron engine reads an unpadded stream
                if _kind(prev_shape) == "kron" and mp_prev != m_prev:
                    continue
                cyc = _engine_cycles(prev_shape, pc[0], pc[1], np_prev, mp_prev, _pp(pc), _mw(pc))
                if cyc > limit[li - 1]:
                    continue
                if c is None:
                    key, val = ("end",), (cost, path)
                else:
                    if _exact_stream(shape):
                        np_ = _io(shape)[0]
                    else:
                        np_ = mp_prev
                        if _kind(prev_shape) in ("conv", "pool") and np_ % c[1]:
                            continue
                    key = (c, np_)
                    val = ((cost[0] + _cost(shape, c), cost[1] + _tie(shape, c)), path + [c])
                if key not in nxt or val[0] < nxt[key][0]:
                    nxt[key] = val
        if not nxt:
            return None
        best = nxt
    return best[("end",)][1]


def chain_cycles(shapes: list, folding: list[dict]) -> list[int]:
    """Stall-free cycles per sample of every engine for a folding (padding included)."""
    dims = padded_dims(shapes, folding)
    return [_engine_cycles(s, f["pe"], f["simd"], np_, mp, f.get("pp", 1), f.get("mw", 1))
            for s, f, (np_, mp) in zip(shapes, folding, dims)]


def _caps(shapes: list, target_cycles: int) -> list[int]:
    """Cycle caps worth trying: the target and every cycle count a fixed-shape engine (conv, kron) can
    take below it (the pipeline's pace is its slowest engine: the others are balanced to it)."""
    caps = {target_cycles}
    for i, s in enumerate(shapes):
        if _kind(s) in ("conv", "kron"):
            caps.update(c for c in (_engine_cycles(s, f[0], f[1], 0, 0, _pp(f), _mw(f)) for f in _all_foldings(s, i == 0))
                        if c <= target_cycles)
    return sorted(caps, reverse=True)


def _all_foldings(shape, first: bool = False) -> list[tuple]:
    if _kind(shape) == "conv":
        return _conv_foldings(shape, first)
    from .kron import kron_foldings
    return kron_foldings(shape)


def fastest_cycles(shapes: list) -> int:
    """The fewest cycles per sample the chain can reach: its slowest engine fully unrolled (a window
    generator's or a pool's pixel rate, a kron engine's two stages). A target below it buys lanes that
    only wait for that engine."""
    worst = 1
    for i, s in enumerate(shapes):
        k = _kind(s)
        if k == "pool":
            c = _engine_cycles(s, 1, 1, 0, 0, _pp(_pool_options(s, 0)[0]))
        elif k in ("conv", "kron"):
            c = min(_engine_cycles(s, f[0], f[1], 0, 0, _pp(f), _mw(f)) for f in _all_foldings(s, i == 0))
        else:
            c = 1
        worst = max(worst, c)
    return worst


def choose(shapes: list, target_cycles: int, macs: list[int] | None = None, pad: bool = True) -> list[dict]:
    """Per layer {pe, simd}, chain-compatible, the pipeline within target_cycles, every engine busy.

    shapes: (n_in, n_out) per dense layer ((n_in, n_out, False) for one that must not be padded),
    {n1, n2, m1, m2, rank} for a kron_dense layer (its engine needs PE | m1 and SIMD | n1), or a
    conv/pool dict (`codesign.rtl.generate._shape`). For every cycle cap C from the target down to the
    cycle counts the fixed-shape engines can take, the fewest lanes with every engine within C (dense
    layers zero-padded where that lands them closer to C); the cap with the highest MAC utilization
    (macs / lanes / slowest engine's cycles) wins, the slower of two within 0.005 of each other. With
    macs None (or pad False) it is the fewest lanes at the target, as before. A layer that cannot
    reach the target even fully unrolled gets full unrolling; a target below the chain's fastest
    (`fastest_cycles`: e.g. a window generator's pixel rate) is raised to it, so the other engines are
    balanced to the pace the pipeline can really keep rather than given lanes that would idle.
    """
    if target_cycles < 1:
        raise ValueError(f"target_cycles must be >= 1, got {target_cycles}")
    target_cycles = max(target_cycles, fastest_cycles(shapes))
    if macs is None or not pad:
        path = _chain(shapes, target_cycles, pad=False)
        if path is None:
            raise ValueError(f"no chain-compatible folding for shapes {shapes} at {target_cycles} cycles; give one explicitly")
        return [_fdict(c) for c in path]
    scored = []
    for cap in _caps(shapes, target_cycles):
        for padded in (False, True):
            path = _chain(shapes, cap, pad=padded)
            if path is None:
                continue
            folding = [_fdict(c) for c in path]
            try:
                slowest = max(chain_cycles(shapes, folding))
            except ValueError:
                continue
            lanes = sum(_cost(s, c) for s, c in zip(shapes, path))
            util = sum(macs) / lanes / slowest if lanes and slowest else 0.0
            scored.append((util, slowest, -lanes, folding))
    if not scored:
        raise ValueError(f"no chain-compatible folding for shapes {shapes} at {target_cycles} cycles; give one explicitly")
    top = max(u for u, *_ in scored)
    return max((s for s in scored if s[0] >= top - 0.005), key=lambda s: (s[1], s[2]))[3]


def padded_dims(shapes: list, folding: list[dict]) -> list[tuple[int, int]]:
    """(n_padded, m_padded) per layer: n a multiple of SIMD, m of PE and of the next layer's SIMD.

    Padded inputs meet zero weights and padded outputs are dropped, so padding never changes a result.
    """
    for l, (shape, f) in enumerate(zip(shapes, folding)):
        if f["pe"] < 1 or f["simd"] < 1:
            raise ValueError(f"layer {l}: pe and simd must be >= 1, got {f}")
        lanes_in = _in_lanes(shape, _opt(f))
        out = _out_lanes(shapes[l - 1], _opt(folding[l - 1])) if l else 0
        if l and not _compatible(out, lanes_in):
            raise ValueError(f"layer {l}: its {lanes_in} input lanes and the previous layer's {out} output lanes "
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
