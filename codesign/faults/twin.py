"""Float twin of the integer design for the bit-flip attack's ranking (bfa.py): gradients of the
attack loss with respect to every stored parameter of the design's trailing layers with a backward
pass (dense, kron_dense, wings_dense, conv2d; through maxpool2d and reshapes), and each stored bit's
first-order score: gradient x the change of the real value its flip makes.

The forward pass is the integer emulator's own (exact activations); the backward pass treats every
cast as the identity (straight-through: Kronecker `mid`, WINGs curve, basis and weight casts, the
output cast) and ReLU by the sign of the integer output. Table positions (WINGs `sv`, `prow`,
`pcol`) have no gradient: each of their bit flips is scored by the first-order loss change of the
exact change it makes to the generated curve or basis row. The scores only rank candidates; bfa.py
tries the best ones on the integer design and keeps the flip whose exact attack loss is highest.

A locked design runs under its key (`lock`: layer name -> (mask, value), `Emulator(...).key`): the
forward pass applies the lock units, and a masked neuron (a constant under the key) passes no gradient.
"""
from __future__ import annotations

import numpy as np

from ..emulator import KERNELS, _same_padding
from ..fixed import to_real
from ..kinds import registry as kinds
from .model import flip_array


def _variant(layer, table: dict):
    """The layer kind's twin variant (`Kind.twin`) if `table` holds it, else None; a variant name
    neither table holds is refused (a kind naming a gradient the twin does not have)."""
    name = kinds.get(layer.kind).twin
    if name is not None and name not in BACKWARD and name not in PASS:
        raise ValueError(f"layer kind {layer.kind!r}: twin variant {name!r} unknown to the bit-flip attack's "
                         f"twin (codesign/faults/twin.py has backward {sorted(BACKWARD)}, pass {sorted(PASS)})")
    return table.get(name)


def _backward(layer):
    """The twin's backward pass of the layer's kind (`Kind.twin` in BACKWARD, below), or None: not ranked."""
    return _variant(layer, BACKWARD)


def _pass(layer):
    """The gradient pass of a parameter-free layer (`Kind.twin` in PASS, below), or None."""
    return _variant(layer, PASS)


def ranked_kinds() -> tuple:
    """The registered kinds the twin has a backward pass for (their layers can be ranked)."""
    return tuple(k for k in kinds.names() if kinds.get(k).twin in BACKWARD)


def trailing_vector_layers(spec) -> list[int]:
    """Indices of the layers with stored parameters and a twin backward pass after the last layer
    the twin cannot pass (reshapes such as flatten, and max pools, are passed)."""
    idx = []
    for li in range(len(spec.layers) - 1, -1, -1):
        layer = spec.layers[li]
        if _backward(layer):
            idx.append(li)
        elif not (kinds.get(layer.kind).reshape or _pass(layer)):
            break
    return sorted(idx)


def forward(spec, x, start: int, lock: dict | None = None):
    """Integer forward pass (lock units under `lock`); for vector layers from `start` on, their
    (input, output before the lock unit) integers."""
    from ..techniques.lock.kernel import lock_unit

    saved, q = {}, x
    for li, layer in enumerate(spec.layers):
        inp = q
        q = KERNELS[layer.kind](q, layer)
        if li >= start and (_backward(layer) or _pass(layer)):
            saved[li] = (inp, q)
        if lock and layer.name in lock:
            q = lock_unit(q, *lock[layer.name])
    return q, saved


def _real(layer, p) -> np.ndarray:
    return layer.params[p].astype(np.float64) * 2.0 ** -layer.types[p].frac


def _table(table: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    d = np.abs(np.arange(size) - np.asarray(centres, np.int64)[..., None])
    return np.where(d < len(table), np.asarray(table)[np.minimum(d, len(table) - 1)], 0.0)


def _flips(layer, p) -> np.ndarray:
    """(size, width) integers each bit flip of parameter p makes."""
    t = layer.types[p]
    old = layer.params[p].astype(np.int64).reshape(-1)
    return flip_array(old[:, None], np.arange(t.width)[None, :], t.width, t.signed)


def _linear_scores(layer, p, grad: np.ndarray) -> np.ndarray:
    """grad (d loss / d real value, parameter's shape) x each bit flip's real change: (size, width)."""
    t = layer.types[p]
    old = layer.params[p].astype(np.int64).reshape(-1)
    return grad.reshape(-1)[:, None] * (_flips(layer, p) - old[:, None]) * 2.0 ** -t.frac


def backward(spec, x, target, layers: list[int], lock: dict | None = None):
    """Per attacked layer: {param: (size, width) first-order loss change of each bit flip}."""
    out, saved = forward(spec, x, layers[0], lock)
    n = len(x)
    z = to_real(out.reshape(n, -1), spec.output_type)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    delta = p
    delta[np.arange(n), target] -= 1
    delta /= n  # d loss / d output (real)
    scores = {}
    for li in range(len(spec.layers) - 1, layers[0] - 1, -1):
        layer = spec.layers[li]
        if li not in saved:  # a reshape (flatten): the gradient's order is the row-major one
            continue
        inp, y = saved[li]
        g = delta.reshape(n, -1)
        if lock and layer.name in lock:  # locked neurons hold the key's value: no gradient through them
            mask = np.asarray(lock[layer.name][0])
            g = (g.reshape(n, -1, mask.size) * (1 - mask.reshape(-1))).reshape(n, -1)
        if _pass(layer):
            delta = _pass(layer)(layer, inp, y, g)
            continue
        if layer.attrs.get("activation") == "relu":
            g = g * (y.reshape(n, -1) > 0)
        xr = to_real(inp.reshape(n, -1), layer.types["input"])
        s = {}
        if "bias" in layer.params:  # summed over samples (and a conv's output positions)
            s["bias"] = _linear_scores(layer, "bias", g.reshape(-1, layer.params["bias"].size).sum(axis=0))
        delta = _backward(layer)(layer, xr, g, s)
        scores[li] = s
    return scores


def _dense(layer, xr, g, s) -> np.ndarray:
    t = layer.types["weight"]
    scale = 2.0 ** layer.params["weight_shift"].astype(np.float64)[None, :] if "weight_shift" in layer.params else 1.0
    gw = xr.T @ g  # d loss / d effective real weight
    s["weight"] = _linear_scores(layer, "weight", gw * scale)
    w = layer.params["weight"]
    w_unshifted = w.reshape(-1, w.shape[-1]).astype(np.float64) * 2.0 ** -t.frac  # a conv's as (kh*kw*cin, cout)
    if "weight_shift" in layer.params:
        sh = layer.params["weight_shift"].astype(np.int64)
        col = (gw * w_unshifted).sum(axis=0)  # d loss / d (2**shift) per column
        s["weight_shift"] = col[:, None] * (2.0 ** _flips(layer, "weight_shift") - 2.0 ** sh[:, None])
    return g @ (w_unshifted * scale).T


def _kron(layer, xr, g, s) -> np.ndarray:
    """Y = sum_r B_r X A_r^T (X = x as n2 x n1), mid = X A_r^T; acc index l * m1 + k."""
    a_ = layer.attrs
    n = len(xr)
    a, b = _real(layer, "a"), _real(layer, "b")
    xm = xr.reshape(n, a_["n2"], a_["n1"])
    mid = np.einsum("bij,rkj->brik", xm, a, optimize=True)  # straight-through: the mid cast as identity
    gm = g.reshape(n, a_["m2"], a_["m1"])
    s["b"] = _linear_scores(layer, "b", np.einsum("blk,brik->rli", gm, mid, optimize=True))
    dmid = np.einsum("rli,blk->brik", b, gm, optimize=True)
    s["a"] = _linear_scores(layer, "a", np.einsum("brik,bij->rkj", dmid, xm, optimize=True))
    return np.einsum("brik,rkj->bij", dmid, a, optimize=True).reshape(n, -1)


def _wings(layer, xr, g, s) -> np.ndarray:
    """w = basis^T curve; curve[k, j] = sum_s alpha klut[|j - sv|] + beta; basis = pr^T z pc (or stored)."""
    from ..techniques.wings.gen import basis_int, curves_int, generate_int

    p, t = layer.params, layer.types
    w = generate_int(layer).astype(np.float64) * 2.0 ** -t["weight"].frac
    gw = xr.T @ g  # (n_in, m)
    basis = basis_int(layer).astype(np.float64) * 2.0 ** -t["basis"].frac  # (K, n_in)
    curve = curves_int(layer).astype(np.float64) * 2.0 ** -t["curve"].frac  # (K, m)
    dc, db = basis @ gw, curve @ gw.T  # d loss / d curve, d loss / d basis
    m = curve.shape[1]
    klut, alpha = _real(layer, "klut"), _real(layer, "alpha")
    sv = p["sv"].astype(np.int64)
    kc = _table(klut, sv, m)  # (K, S, m)
    s["alpha"] = _linear_scores(layer, "alpha", np.einsum("kj,ksj->ks", dc, kc))
    s["beta"] = _linear_scores(layer, "beta", dc.sum(axis=1))
    d = np.abs(np.arange(m) - sv[..., None])  # (K, S, m)
    inside = d < len(klut)
    gk = np.zeros(len(klut))
    np.add.at(gk, d[inside], (dc[:, None, :] * alpha[..., None] * np.ones_like(kc))[inside])
    s["klut"] = _linear_scores(layer, "klut", gk)
    sv_new = _flips(layer, "sv").reshape(sv.shape + (-1,))  # (K, S, width)
    dkc = _table(klut, sv_new, m) - kc[..., None, :]  # (K, S, width, m)
    s["sv"] = (alpha[..., None] * np.einsum("kj,kswj->ksw", dc, dkc)).reshape(-1, sv_new.shape[-1])
    if "basis" in p:
        s["basis"] = _linear_scores(layer, "basis", db)
    else:
        h, wd = layer.attrs["in_hw"]
        plut = _real(layer, "plut")
        prow, pcol = p["prow"].astype(np.int64), p["pcol"].astype(np.int64)
        pr, pc = _table(plut, prow, h), _table(plut, pcol, wd)  # (ga, H), (gb, W)
        z = _real(layer, "z")  # (K, ga, gb)
        d3 = db.reshape(len(db), h, wd)
        s["z"] = _linear_scores(layer, "z", np.einsum("ar,krc,bc->kab", pr, d3, pc, optimize=True))
        t1 = np.einsum("krc,kab,bc->ar", d3, z, pc, optimize=True)  # d loss / d pr
        t2 = np.einsum("krc,ar,kab->bc", d3, pr, z, optimize=True)  # d loss / d pc
        gp = np.zeros(len(plut))
        for tab, cen, size in ((t1, prow, h), (t2, pcol, wd)):
            dd = np.abs(np.arange(size) - cen[:, None])
            np.add.at(gp, dd[dd < len(plut)], tab[dd < len(plut)])
        s["plut"] = _linear_scores(layer, "plut", gp)
        for name, tab, cen, size, base in (("prow", t1, prow, h, pr), ("pcol", t2, pcol, wd, pc)):
            new = _flips(layer, name)  # (centres, width)
            s[name] = np.einsum("ar,awr->aw", tab, _table(plut, new, size) - base[:, None, :])
    return g @ w.T


def _windows(layer, x: np.ndarray):
    """The emulator's conv2d windows of x (N, H, W, C): (padded x, its padding (top, left), columns
    (N*OH*OW, kh*kw*cin) in Keras order)."""
    from ..emulator import _same_padding

    kh, kw, cin, _ = layer.params["weight"].shape
    sh, sw = layer.attrs["strides"]
    pt = pl = 0
    if layer.attrs["padding"] == "same":
        (pt, pb), (pl, pr) = _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh, ow, _ = layer.output_shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
    return x, (pt, pl), win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * cin)


def _conv(layer, xr, g, s) -> np.ndarray:
    """A conv is a dense layer on its windows: the weight's gradient and scores as _dense's over
    every output position, the input's gradient scattered back over the windows (col2im)."""
    n = len(xr)
    kh, kw, cin, cout = layer.params["weight"].shape
    sh, sw = layer.attrs["strides"]
    oh, ow, _ = layer.output_shape
    xp, (pt, pl), cols = _windows(layer, xr.reshape((n,) + tuple(layer.input_shape)))
    dcols = _dense(layer, cols, g.reshape(-1, cout), s).reshape(n, oh, ow, kh, kw, cin)
    dx = np.zeros(xp.shape)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += dcols[:, :, :, i, j]
    h, w, _ = layer.input_shape
    return dx[:, pt:pt + h, pl:pl + w].reshape(n, -1)


def _maxpool(layer, inp, y, g) -> np.ndarray:
    """The gradient goes to the first maximum of each window (the window's value in the integers).
    'same' padding is the emulator's (int64 minimum, never a maximum) and is cut off again; a global
    pool is one window over the image, output (C,)."""
    n = len(inp)
    ph, pw = layer.attrs["pool_size"]
    sh, sw = layer.attrs["strides"]
    h, w, c = layer.input_shape
    x = inp.reshape(n, h, w, c).astype(np.int64)
    pt = pl = 0
    if layer.attrs.get("padding", "valid") == "same":
        (pt, pb), (pl, pr) = _same_padding(h, ph, sh), _same_padding(w, pw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=np.iinfo(np.int64).min)
    oh, ow = -(-(x.shape[1] - ph + 1) // sh), -(-(x.shape[2] - pw + 1) // sw)
    y = y.reshape(n, oh, ow, c)
    g = g.reshape(n, oh, ow, c)
    dx = np.zeros(x.shape)
    taken = np.zeros(g.shape, bool)
    for i in range(ph):
        for j in range(pw):
            at = (slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
            hit = (x[at] == y) & ~taken
            dx[at] += np.where(hit, g, 0.0)
            taken |= hit
    return dx[:, pt:pt + h, pl:pl + w].reshape(n, -1)


# The twin's variants, named by a kind's `Kind.twin` (codesign/kinds/): the gradient code stays here
# (it uses the fault model's flips), the kind only names which variant it is, so a new kind whose
# arithmetic is an existing variant's (e.g. a dense kernel) names it and needs no edit here.
# parameter-free layers the gradient passes: variant -> (layer, input ints, output ints, gradient) -> input gradient
PASS = {"maxpool2d": _maxpool}

# backward passes of layers with stored parameters: the trailing layers with one are ranked; a kind
# without one ends the attackable tail
BACKWARD = {"dense": _dense, "kron_dense": _kron, "wings_dense": _wings, "conv2d": _conv}
