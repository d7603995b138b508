"""Random valid dense-chain design specs, for testing the RTL view against the emulator.

Why: an RTL engine that matches the emulator on one trained model can still be wrong for another
rounding mode, width or sign; random specs sweep those (ternary and multi-bit weights, with and
without weight_shift and bias, every rounding mode, SAT/SAT_SYM/WRAP outputs). The accumulator is
sized from the actual weights, as the spec requires: max_j sum_i |W_ij| << shift_j * max|x| + |b_j|.
"""
from __future__ import annotations

import numpy as np

from ..fixed import OVERFLOW_MODES, ROUNDING_MODES, FixedType, bits_for_range
from ..spec import DesignSpec, Layer

INPUT_TYPE = FixedType(8, 0, False)


def _output_type(rng: np.random.Generator, accum: FixedType, afrac: int, relu: bool, exact_output: bool) -> FixedType:
    """A layer's output type: the accumulator itself, or random width, shift (accum.frac - output.frac
    in -2..6), signedness (unsigned only after a ReLU), rounding and overflow mode."""
    if exact_output:
        return accum
    ow = int(rng.integers(3, 11))
    osh = int(rng.integers(-2, 7))
    signed = (not relu) or bool(rng.integers(2))
    return FixedType(ow, ow - (afrac - osh), signed, rounding=str(rng.choice(ROUNDING_MODES)),
                     overflow=str(rng.choice(OVERFLOW_MODES)))


def random_dense(rng: np.random.Generator, name: str, n: int, m: int, tin: FixedType, *,
                 ternary: bool | None = None, shift: bool | None = None, bias: bool | None = None,
                 relu: bool | None = None, exact_output: bool = False,
                 w_choices: list[int] | None = None) -> Layer:
    """One dense layer with random parameters and types; output type narrow unless exact_output."""
    ternary = bool(rng.integers(2)) if ternary is None else ternary
    shift = (ternary and bool(rng.integers(2))) if shift is None else shift
    bias = bool(rng.integers(2)) if bias is None else bias
    relu = bool(rng.integers(2)) if relu is None else relu
    if ternary:
        tw = FixedType(2, 2, True)
        w = rng.choice(w_choices or [-1, 0, 1], (n, m))
    else:
        wb = int(rng.integers(3, 9))
        tw = FixedType(wb, int(rng.integers(0, wb)), True)
        w = rng.integers(tw.qmin, tw.qmax + 1, (n, m))
    types = {"input": tin, "weight": tw}
    params = {"weight": w.astype(np.int64)}
    pfrac = tin.frac + tw.frac
    types["product"] = FixedType(tin.width + tw.width, tin.width + tw.width - pfrac, True)
    sh = np.zeros(m, np.int64)
    if shift:
        types["weight_shift"] = FixedType(3, 3, False)
        sh = rng.integers(0, 5, m).astype(np.int64)
        params["weight_shift"] = sh
    afrac = pfrac + int(rng.integers(0, 3))
    b = np.zeros(m, np.int64)
    bfrac = afrac
    if bias:
        bfrac = afrac - int(rng.integers(0, 3))
        tb = FixedType(8, 8 - bfrac, True)
        types["bias"] = tb
        b = rng.integers(tb.qmin, tb.qmax + 1, m).astype(np.int64)
        params["bias"] = b
    xmax = max(abs(tin.qmin), abs(tin.qmax))
    col = (np.abs(w).sum(axis=0) << sh) * xmax
    bound = int(((col << (afrac - pfrac)) + (np.abs(b) << (afrac - bfrac))).max(initial=0))
    aw = max(bits_for_range(-bound, bound, True), 2)
    types["accum"] = FixedType(aw, aw - afrac, True)
    types["output"] = _output_type(rng, types["accum"], afrac, relu, exact_output)
    return Layer(name, "dense", (n,), (m,), attrs={"activation": "relu" if relu else "linear"},
                 types=types, params=params)


def random_mlp(seed: int, dims: list[int], **kw) -> DesignSpec:
    """A dense chain dims[0] -> dims[1] -> ... with random layers; the last has an exact (logit) output."""
    rng = np.random.default_rng(seed)
    layers = []
    t = INPUT_TYPE
    for i, (n, m) in enumerate(zip(dims[:-1], dims[1:])):
        last = i == len(dims) - 2
        layer = random_dense(rng, f"dense{i}", n, m, t, relu=None if not last else False,
                             exact_output=last and kw.get("exact_last", True),
                             **{k: v for k, v in kw.items() if k != "exact_last"})
        layers.append(layer)
        t = layer.out_type
    spec = DesignSpec(f"random_mlp_{seed}", (dims[0],), INPUT_TYPE, layers)
    spec.validate()
    return spec


def mnist_like(seed: int = 0) -> DesignSpec:
    """The shape and types of the MNIST MLP the flow builds (784-256-128-10), with random weights.

    Layers 1-2: ternary weights with weight_shift, 8-bit bias, relu, ufixed<8,3,RND_CONV,SAT> outputs;
    layer 3: 8-bit weights, linear, output = the exact accumulator.
    """
    rng = np.random.default_rng(seed)
    layers = []
    t = INPUT_TYPE
    for i, (n, m) in enumerate([(784, 256), (256, 128), (128, 10)]):
        last = i == 2
        layer = random_dense(rng, f"dense{i}", n, m, t, ternary=not last, shift=not last, bias=True,
                             relu=not last, exact_output=last, w_choices=[-1, 0, 0, 1])
        if not last:
            layer.types["output"] = FixedType(8, 3, False, "RND_CONV", "SAT")
        layers.append(layer)
        t = layer.out_type
    spec = DesignSpec("mnist_like", (784,), INPUT_TYPE, layers)
    spec.validate()
    return spec


def random_kron(rng: np.random.Generator, name: str, n1: int, n2: int, m1: int, m2: int, rank: int,
                tin: FixedType, *, relu: bool | None = None, bias: bool | None = None,
                exact_mid: bool | None = None, exact_output: bool = False,
                factor_bits: tuple[int, int] | None = None) -> Layer:
    """One kron_dense layer (codesign/spec.py) with random factors and types.

    Factors A (rank, m1, n1), B (rank, m2, n2) of 2..8 bits (or factor_bits; 2 bits = add/subtract lanes); `mid` either exact (as extraction makes
    it) or narrower with a random rounding and overflow mode, so the stage-1 cast is exercised too.
    """
    relu = bool(rng.integers(2)) if relu is None else relu
    bias = bool(rng.integers(2)) if bias is None else bias
    exact_mid = bool(rng.integers(2)) if exact_mid is None else exact_mid
    aw, bw = factor_bits or (int(rng.integers(2, 9)), int(rng.integers(2, 9)))
    ta = FixedType(aw, int(rng.integers(0, aw)), True)
    tb = FixedType(bw, int(rng.integers(0, bw)), True)
    a = rng.integers(ta.qmin, ta.qmax + 1, (rank, m1, n1)).astype(np.int64)
    b = rng.integers(tb.qmin, tb.qmax + 1, (rank, m2, n2)).astype(np.int64)
    types = {"input": tin, "a": ta, "b": tb}
    xmax = max(abs(tin.qmin), abs(tin.qmax))
    mid_frac = tin.frac + ta.frac
    b1 = int(n1 * xmax * int(np.abs(a).max(initial=1)))
    mw = max(bits_for_range(-b1, b1, True), 2)
    if exact_mid:
        tmid = FixedType(mw, mw - mid_frac, True)
    else:  # round off 0..3 fraction bits and keep fewer integer bits: the cast rounds and overflows
        drop = int(rng.integers(0, 4))
        w = max(3, mw - drop - int(rng.integers(0, 3)))
        tmid = FixedType(w, w - (mid_frac - drop), bool(rng.integers(4)),
                         rounding=str(rng.choice(ROUNDING_MODES)), overflow=str(rng.choice(OVERFLOW_MODES)))
    types["mid"] = tmid
    pfrac = tmid.frac + tb.frac
    types["product"] = FixedType(tmid.width + tb.width, tmid.width + tb.width - pfrac, True)
    afrac = pfrac + int(rng.integers(0, 3))
    params = {"a": a, "b": b}
    bmax = 0
    bfrac = afrac
    if bias:
        bfrac = afrac - int(rng.integers(0, 3))
        tbias = FixedType(8, 8 - bfrac, True)
        types["bias"] = tbias
        params["bias"] = rng.integers(tbias.qmin, tbias.qmax + 1, m1 * m2).astype(np.int64)
        bmax = int(np.abs(params["bias"]).max(initial=0))
    mmax = max(abs(tmid.qmin), abs(tmid.qmax))
    bound = (rank * n2 * mmax * int(np.abs(b).max(initial=1)) << (afrac - pfrac)) + (bmax << (afrac - bfrac))
    accw = max(bits_for_range(-bound, bound, True), 2)
    types["accum"] = FixedType(accw, accw - afrac, True)
    types["output"] = _output_type(rng, types["accum"], afrac, relu, exact_output)
    attrs = {"activation": "relu" if relu else "linear", "n1": n1, "n2": n2, "m1": m1, "m2": m2, "rank": rank}
    return Layer(name, "kron_dense", (n1 * n2,), (m1 * m2,), attrs, types, params)


def _gauss_table(sigma: float, t: FixedType, max_len: int) -> np.ndarray:
    """round(exp(-d^2 / 2 sigma^2) * 2^frac) for d = 0.., cut before its first zero (as WingsDense's lut)."""
    d = np.arange(max_len, dtype=np.float64)
    q = np.clip(np.round(np.exp(-d ** 2 / (2.0 * sigma ** 2)) * 2.0 ** t.frac), 0, t.qmax).astype(np.int64)
    nz = np.nonzero(q == 0)[0]
    return q[: nz[0]] if nz.size else q


def random_wings(rng: np.random.Generator, name: str, h: int, w: int, n: int, k: int, s: int, tin: FixedType, *,
                 grid: tuple[int, int] | None = (2, 2), relu: bool | None = None, bias: bool | None = None,
                 modes: bool = False, exact_output: bool = False) -> Layer:
    """One wings_dense layer (codesign/techniques/wings/gen.py) with random generator parameters and types.

    Generator types of random widths (casts RND_CONV + SAT as WingsDense makes them, or with modes=True
    random rounding/overflow modes for curve, basis and weight); `grid` (gr, gc) builds the basis from
    z over a pixel grid, None stores it. Parameters are drawn across their types' ranges, so casts
    round and saturate; the dense part's accumulator is exact for the generated weights (as extraction).
    """
    from ..qtypes import accum_type
    from ..techniques.wings.extract import sum_types
    from ..techniques.wings.gen import generate_int

    relu = bool(rng.integers(2)) if relu is None else relu
    bias = bool(rng.integers(2)) if bias is None else bias

    def ft(wb, ib, signed=True, cast=False):
        if cast and modes:
            return FixedType(wb, ib, signed, rounding=str(rng.choice(ROUNDING_MODES)),
                             overflow=str(rng.choice(OVERFLOW_MODES)))
        return FixedType(wb, ib, signed, rounding="RND_CONV", overflow="SAT")

    lw = int(rng.integers(5, 9))
    types = {"alpha": ft(int(rng.integers(4, 9)), int(rng.integers(0, 2))),
             "beta": ft(int(rng.integers(4, 9)), int(rng.integers(0, 3))),
             "lut": ft(lw, 1, signed=False), "z": ft(int(rng.integers(4, 9)), 1),
             "basis": ft(int(rng.integers(5, 11)), 1, signed=not (modes and rng.integers(4) == 0), cast=True),
             "curve": ft(int(rng.integers(6, 13)), int(rng.integers(0, 2)), cast=True),
             "weight": ft(int(rng.integers(3, 9)), 1, cast=True)}
    if modes and rng.integers(3) == 0:  # an unsigned curve: negative sums saturate or wrap to its range
        types["curve"] = ft(types["curve"].width, types["curve"].integer, signed=False, cast=True)
    t = types
    klut = _gauss_table(float(rng.uniform(1.0, max(1.5, n / 3))), t["lut"], n)
    sv = np.sort(rng.integers(0, n, (k, s)), axis=1)
    rnd = lambda ty, shape, f=1.0: rng.integers(int(ty.qmin * f), int(ty.qmax * f) + 1, shape)  # noqa: E731
    p = {"alpha": rnd(t["alpha"], (k, s)), "beta": rnd(t["beta"], k), "sv": sv, "klut": klut}
    types["klut"] = t["lut"]
    types["sv"] = FixedType(max(1, int(sv.max()).bit_length()), max(1, int(sv.max()).bit_length()), signed=False)
    attrs = {"units": n, "components": k, "centres": s, "in_hw": [h, w], "coef_sigma": 2.0, "pixel_sigma": 1.0,
             "basis_grid": list(grid) if grid else None}
    if grid:
        gr, gc = grid
        p["z"] = rnd(t["z"], (k, gr, gc), 0.7)
        p["plut"] = _gauss_table(float(rng.uniform(0.8, 2.0)), t["lut"], max(h, w))
        p["prow"] = ((2 * np.arange(gr) + 1) * h) // (2 * gr)
        p["pcol"] = ((2 * np.arange(gc) + 1) * w) // (2 * gc)
        types["plut"] = t["lut"]
        for nm in ("prow", "pcol"):
            bw = max(1, int(p[nm].max()).bit_length())
            types[nm] = FixedType(bw, bw, signed=False)
    else:
        p["basis"] = rnd(t["basis"], (k, h * w))
    tw = t["weight"]
    types["input"] = tin
    types["product"] = FixedType(tin.width + tw.width, tin.integer + tw.integer, True)
    if bias:
        bfrac = tin.frac + tw.frac - int(rng.integers(0, 3))
        types["bias"] = FixedType(8, 8 - bfrac, True)
        p["bias"] = rnd(types["bias"], n)
    types.update(sum_types(types, p))
    p = {kk: np.asarray(v, np.int64) for kk, v in p.items()}
    layer = Layer(name, "wings_dense", (h * w,), (n,), dict(attrs, activation="relu" if relu else "linear"), types, p)
    wq = generate_int(layer)
    types["accum"], afrac = accum_type(tin, wq, None, p.get("bias"), types["product"].frac,
                                        types["bias"].frac if bias else 0)
    types["output"] = _output_type(rng, types["accum"], afrac, relu, exact_output)
    return layer


def conv_out(size: int, k: int, stride: int, padding: str) -> int:
    """Output height/width of a conv2d (Keras rule, as the spec's shapes)."""
    return -(-size // stride) if padding == "same" else (size - k) // stride + 1


def random_conv(rng: np.random.Generator, name: str, in_shape: tuple, cout: int, k, tin: FixedType, *,
                strides=(1, 1), padding: str = "valid", **kw) -> Layer:
    """One conv2d layer: a random dense layer of its im2col columns (K*K*Cin -> Cout, same types and
    accumulator sizing) with the weights reshaped to (kh, kw, cin, cout), as the emulator reads them."""
    h, w, cin = in_shape
    kh, kw_ = (k, k) if isinstance(k, int) else k
    d = random_dense(rng, name, kh * kw_ * cin, cout, tin, **kw)
    oh, ow = conv_out(h, kh, strides[0], padding), conv_out(w, kw_, strides[1], padding)
    params = dict(d.params, weight=d.params["weight"].reshape(kh, kw_, cin, cout))
    attrs = dict(d.attrs, strides=list(strides), padding=padding)
    return Layer(name, "conv2d", (h, w, cin), (oh, ow, cout), attrs=attrs, types=d.types, params=params)


def random_pool(name: str, in_shape: tuple, pool, tin: FixedType) -> Layer:
    """A maxpool2d layer with strides = pool size (valid, floor division), type unchanged."""
    ph, pw = (pool, pool) if isinstance(pool, int) else pool
    h, w, c = in_shape
    return Layer(name, "maxpool2d", (h, w, c), (h // ph, w // pw, c), attrs={"pool_size": [ph, pw], "strides": [ph, pw]},
                 types={"input": tin, "output": tin}, params={})


def random_cnn(seed: int, in_shape=(10, 10, 1), filters=(4, 6), classes: int = 5) -> DesignSpec:
    """conv3x3 -> maxpool2 -> conv3x3 -> maxpool2 -> flatten -> dense, random types (the MNIST CNN's
    shape in small): the chain of window generators, pools, width converters and a dense tail."""
    rng = np.random.default_rng(seed)
    layers, t, shape = [], INPUT_TYPE, tuple(in_shape)
    for i, f in enumerate(filters):
        conv = random_conv(rng, f"conv{i}", shape, f, 3, t, relu=True)
        pool = random_pool(f"pool{i}", conv.output_shape, 2, conv.out_type)
        layers += [conv, pool]
        t, shape = pool.out_type, pool.output_shape
    n = int(np.prod(shape))
    layers.append(Layer("flatten", "flatten", shape, (n,), types={"input": t, "output": t}))
    layers.append(random_dense(rng, "dense", n, classes, t, relu=False, exact_output=True))
    spec = DesignSpec(f"random_cnn_{seed}", tuple(in_shape), INPUT_TYPE, layers)
    spec.validate()
    return spec
