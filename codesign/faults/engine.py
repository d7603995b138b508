"""Incremental fault emulator: the fault-free activations are computed once; a fault recomputes only
what it changes, from the faulted layer on, and only for the samples it changes.

Why: the naive path (copy the spec, flip, run the whole emulator on every test sample) repeats for
every fault the work of all layers before the fault and of every unchanged sample after it.

Fast path (single-bit faults in a ``dense`` layer's weight, weight_shift or bias), vectorised over
a batch of faults: a flip of W[i, j] changes only column j of the layer's pre-activations, by
x[:, i] * (new - old) << shift_j; the column is updated and finished (wrap, ReLU, cast) on its own.
Samples whose output column did not change are done. The rest pass the change to the next dense
layer as a rank-1 update of its stored pre-activations (dy * W'[j, :]) and then run the remaining
layers on those rows only. Single-bit faults in a ``conv2d`` layer's weight, weight_shift or bias
change one output channel: its sums are cached per layer (at the first such fault), the channel is
updated (a weight flip: by the one input tap it multiplies, over every window) and finished alone,
and the samples whose channel changed run the rest of the network. Every other fault (other kinds,
multi-bit, several layers) takes the generic path: the faulty layer runs on the cached input of that layer, the rest on the changed rows.

A locked design (codesign/techniques/lock) is scored under the key it is given (`key`, as `Emulator(spec, key=...)`):
its lock units replace the masked neurons' outputs after every layer's epilogue, in every path here,
so a fault behind a locked neuron changes nothing downstream, exactly as in the emulator.

Exactness: the engine's fault-free outputs are checked against `Emulator.run_int` when it is built,
and tests/test_faults.py compares every path with the naive one (`naive_rows`) on random faults over
every layer and parameter kind.
"""
from __future__ import annotations

import numpy as np

from ..emulator import (
    KERNELS,
    Emulator,
    _exact_matmul,
    _same_padding,
    accumulate,
    epilogue,
)
from ..kinds import registry as kinds
from ..spec import DesignSpec
from .model import SiteMap, apply, flip_array

FAST_PARAMS = ("weight", "weight_shift", "bias")
ROW_CHUNK = 1 << 15  # changed (fault, sample) rows finished per step: bounds memory to ~30 MB per array


def _vector_matmul(layer) -> bool:
    """A layer computing x @ (W << shift) + bias on vectors (dense; codesign/kinds Kind.matmul)."""
    return kinds.get(layer.kind).matmul == "vector"


def _absmax(a: np.ndarray) -> int:
    return int(np.abs(a).max(initial=0))


class Engine:
    """Fault-free activations of `spec` on x_int (quantized inputs) with labels y; runs faults."""

    def __init__(self, spec: DesignSpec, x_int: np.ndarray, y: np.ndarray, certify: bool = True, key=None):
        spec.validate()
        spec.require_chain("a fault campaign")  # sites and incremental updates follow a chain of layers
        self.spec = spec
        self.key = key  # a locked design's key (None, Password or LockKey), as Emulator(spec, key=...) takes it
        lock = Emulator(spec, key=key).key or {}
        self._lock = {li: (lock[l.name][0].astype(bool), lock[l.name][1].astype(np.int64))
                      for li, l in enumerate(spec.layers) if l.name in lock and lock[l.name][0].any()}
        self.sites = SiteMap(spec)
        self.x = np.asarray(x_int, np.int64)
        self.y = np.asarray(y, np.int64)
        self.n = len(self.x)
        self.inputs, self.outs, self.dot, self.acc = [], [], {}, {}
        # the fault-free layers' kernels with their per-design work done once (wings: generated weights)
        self._kernels = [kinds.prepared(layer) for layer in spec.layers]
        q = self.x
        for li, layer in enumerate(spec.layers):
            self.inputs.append(q)
            if _vector_matmul(layer):  # dense: dot products and accumulators kept for rank-1 updates
                w = layer.params["weight"].astype(np.int64)
                self.dot[li] = _exact_matmul(q, w, layer.types["input"], _absmax(w))
                self.acc[li] = accumulate(self._shifted(self.dot[li], layer), layer, layer.types["product"].frac)
                q = self._locked(li, epilogue(self.acc[li], layer))
            else:
                q = self._locked(li, self._kernels[li](q))
            self.outs.append(q)
        ref = Emulator(spec, key=key).run_int(self.x)
        if not np.array_equal(q, ref):  # the cached path must be the emulator's, sample by sample
            raise AssertionError("fault engine: fault-free outputs differ from the emulator's")
        self.logits = q
        self.pred = np.argmax(q.reshape(self.n, -1), -1)
        self.correct = self.pred == self.y
        self.clean_correct = int(self.correct.sum())
        self._weff, self._bounds, self._nz, self._amax, self._prefix, self._conv = {}, {}, {}, {}, {}, {}
        self.certify = certify

    # ------------------------------------------------------------------------------ helpers
    def _locked(self, li: int, q: np.ndarray) -> np.ndarray:
        """Layer li's outputs q through its lock unit (the key's masked neurons, last axis, take its values)."""
        if li not in self._lock:
            return q
        mask, value = self._lock[li]
        return np.where(mask, value, q)

    @staticmethod
    def _shifted(dot: np.ndarray, layer) -> np.ndarray:
        if "weight_shift" in layer.params:
            return dot << layer.params["weight_shift"].astype(np.int64)
        return dot

    def _run_layer(self, li: int, q: np.ndarray, layer=None) -> np.ndarray:
        """Layer li on rows q: the spec's layer (its per-design work cached) or a faulty copy."""
        if layer is None:
            return self._locked(li, self._kernels[li](q))
        return self._locked(li, KERNELS[layer.kind](q, layer))

    def forward_rows(self, start: int, q: np.ndarray, layers=None) -> np.ndarray:
        """Layers start.. on rows q (fault-free unless `layers`, a faulty spec's layer list, is given)."""
        for li in range(start, len(self.spec.layers)):
            q = self._run_layer(li, q, None if layers is None else layers[li])
        return q

    def _next_dense(self, li: int):
        """Index of the layer consuming li's output as a plain vector (flatten skipped), and whether it is
        dense (rank-1 update applies)."""
        k = li + 1
        while k < len(self.spec.layers) and kinds.get(self.spec.layers[k].kind).reshape:
            k += 1
        return k, k < len(self.spec.layers) and _vector_matmul(self.spec.layers[k])

    def _weff_acc(self, k: int) -> np.ndarray:
        """Dense layer k's weights as they enter its accumulator: (W << shift) << (accum.frac - product.frac)."""
        if k not in self._weff:
            layer = self.spec.layers[k]
            w = self._shifted(layer.params["weight"].astype(np.int64), layer)
            self._weff[k] = w << (layer.types["accum"].frac - layer.types["product"].frac)
        return self._weff[k]

    def _cast_bound(self, z: np.ndarray, layer) -> np.ndarray | None:
        """Bound on |change| of a layer's output given a bound z (>= 0) on |change| of its accumulator.

        ReLU and saturation never enlarge a change; a right shift with a rounding mode that is monotone
        and shift-invariant (TRN, RND, RND_MIN_INF, RND_CONV) changes by at most ceil(z / 2**s), the
        others (toward/away from zero) by less than z / 2**s + 2."""
        os_ = layer.types["accum"].frac - layer.types["output"].frac
        if os_ <= 0:
            return z << (-os_)
        if layer.types["output"].rounding in ("TRN", "RND", "RND_MIN_INF", "RND_CONV"):
            return -((-z) >> os_)
        return np.where(z > 0, (z >> os_) + 2, 0)

    def _no_wrap(self, k: int) -> bool:
        """True when dense layer k's accumulator and output cannot wrap for any input its type allows
        (then every step after it is monotone and its bound is sound)."""
        layer = self.spec.layers[k]
        t = layer.types
        w = self._weff_acc(k)
        xlo, xhi = t["input"].qmin, t["input"].qmax
        bias = layer.params["bias"].astype(np.int64) << (t["accum"].frac - t["bias"].frac) \
            if "bias" in layer.params else 0
        hi = int((np.maximum(w * xlo, w * xhi).sum(axis=0) + bias).max(initial=0))
        lo = int((np.minimum(w * xlo, w * xhi).sum(axis=0) + bias).min(initial=0))
        if hi > t["accum"].qmax or lo < t["accum"].qmin:
            return False
        if t["output"].overflow != "WRAP":
            return True
        os_ = t["accum"].frac - t["output"].frac
        ohi, olo = (hi >> os_, lo >> os_) if os_ >= 0 else (hi << -os_, lo << -os_)
        return ohi + 1 <= t["output"].qmax and olo - 1 >= t["output"].qmin

    def _unit_bound(self, k: int) -> np.ndarray | None:
        """U[j, c]: bound on the change of final output c when the input of dense layer k changes by 1
        in column j (a change a is bounded by |a| * U[j]); None when a layer after k is not a
        wrap-free dense layer (then nothing is certified)."""
        if k in self._bounds:
            return self._bounds[k]
        u, layers = None, self.spec.layers
        if all(_vector_matmul(l) or kinds.get(l.kind).reshape for l in layers[k:]) and \
                all(self._no_wrap(i) for i in range(k, len(layers)) if _vector_matmul(layers[i])):
            u = None
            for i in range(k, len(layers)):
                if _vector_matmul(layers[i]):
                    w = np.abs(self._weff_acc(i))
                    u = self._cast_bound(w if u is None else u @ w, layers[i])
        self._bounds[k] = u
        return u

    def _certified_change(self, li: int, k: int) -> np.ndarray | None:
        """A[n, j]: the largest |change| of layer li's output column j on sample n that provably leaves
        the prediction alone: the top class beats every other c by more than |a| * (U[j, top] + U[j, c])
        (so argmax cannot move, ties included); -1 where nothing is certain. None without a bound."""
        if li not in self._amax:
            u = self._unit_bound(k) if self.certify else None
            if u is None:
                self._amax[li] = None
            else:
                out = self.logits.reshape(self.n, -1)
                top = self.pred
                ar = np.arange(self.n)
                margin = out[ar, top][:, None] - out  # (N, C)
                amax = np.full((self.n, u.shape[0]), np.iinfo(np.int64).max // 4, np.int64)
                for c in range(out.shape[1]):
                    denom = u[:, top].T + u[None, :, c]  # (N, m)
                    mc = margin[:, c][:, None]
                    a = np.where(denom > 0, (mc - 1) // np.maximum(denom, 1), np.where(mc > 0, amax, -1))
                    a[top == c] = amax[top == c]
                    amax = np.minimum(amax, a)
                self._amax[li] = amax
        return self._amax[li]

    # ------------------------------------------------------------------------------ fast dense path
    def _weight_pairs(self, li: int, i: np.ndarray, j: np.ndarray, dacc: np.ndarray, amax):
        """(f, sample, x value) pairs a flip of W[i[f], j[f]] (accumulator change x * dacc[f]) may need.

        Only samples with x != 0 change. With certified margins A[n, j] (`_certified_change`) and
        no possible wrap, a sample whose A[n, j] is at least the largest output change any input could
        cause (tau) is certified without looking at it: per column the samples are sorted by A, so
        each fault takes the prefix A < tau."""
        layer = self.spec.layers[li]
        t = layer.types
        if amax is None or t["output"].overflow == "WRAP":
            return self._nonzero_pairs(li, i)
        ctx = self._prefix.get(li)
        if ctx is None:
            cap = np.int64(1) << 40
            order = np.argsort(np.minimum(amax, cap), axis=0, kind="stable").T  # (m, N) samples by A
            keys = (np.arange(amax.shape[1], dtype=np.int64)[:, None] << 41) + np.take_along_axis(
                np.minimum(amax, cap), order.T, axis=0).T
            ctx = self._prefix[li] = (order.reshape(-1), keys.reshape(-1), cap,
                                      self.acc[li].min(axis=0), self.acc[li].max(axis=0))
        order, keys, cap, amin, amaxacc = ctx
        xm = max(abs(t["input"].qmin), abs(t["input"].qmax))
        reach = np.abs(dacc) * xm
        tau = np.minimum(self._cast_bound(reach, layer), cap)
        safe = (amaxacc[j] + reach <= t["accum"].qmax) & (amin[j] - reach >= t["accum"].qmin)
        out = []
        if (~safe).any():
            fu = np.nonzero(~safe)[0]
            f, n, xv = self._nonzero_pairs(li, i[fu])
            out.append((fu[f], n, xv))
        fs = np.nonzero(safe)[0]
        if fs.size:
            start = j[fs] * self.n
            cnt = np.searchsorted(keys, (j[fs] << 41) + tau[fs]) - start
            f = np.repeat(np.arange(len(fs)), cnt)
            pos = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt) + start[f]
            n = order[pos]
            xv = self.inputs[li][n, i[fs][f]]
            nz = xv != 0
            out.append((fs[f[nz]], n[nz], xv[nz]))
        if not out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        return tuple(np.concatenate([o[q] for o in out]) for q in range(3))

    def _nonzero_pairs(self, li: int, i: np.ndarray):
        """For input columns i[f]: (f, sample, x value) of every sample where x[sample, i[f]] != 0."""
        if li not in self._nz:
            cols, samples = np.nonzero(self.inputs[li].T)  # sorted by column
            ptr = np.searchsorted(cols, np.arange(self.inputs[li].shape[1] + 1))
            self._nz[li] = (ptr, samples, self.inputs[li][samples, cols])
        ptr, samples, vals = self._nz[li]
        cnt = ptr[i + 1] - ptr[i]
        f = np.repeat(np.arange(len(i)), cnt)
        pos = np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt) + ptr[i][f]
        return f, samples[pos], vals[pos]

    def _dense_batch(self, li: int, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct-prediction gain and changed-prediction count per single-bit fault of dense layer li."""
        layer = self.spec.layers[li]
        t = layer.types
        d = self.sites.decode(sites)
        params = np.array([self.sites.blocks[b].param for b in d["block"]])
        idx = d["index"]
        m = layer.params["weight"].shape[1]
        j = np.where(params == "weight", idx % m, idx)
        acc_frac, prod_frac = t["accum"].frac, t["product"].frac
        align = acc_frac - prod_frac
        shift = layer.params["weight_shift"].astype(np.int64) if "weight_shift" in layer.params else np.zeros(m, np.int64)
        bias_al = (layer.params["bias"].astype(np.int64) << (acc_frac - t["bias"].frac)) if "bias" in layer.params \
            else np.zeros(m, np.int64)
        k, dense_next = self._next_dense(li)
        amax = self._certified_change(li, k)
        acc, parts = self.acc[li], []  # (fault, sample, new pre-activation) of every pair that can change
        for p in FAST_PARAMS:
            sel = np.nonzero(params == p)[0]
            if not sel.size:
                continue
            tp = t[p]
            old = layer.params[p].reshape(-1)[idx[sel]].astype(np.int64)
            new = flip_array(old, d["bit"][sel], tp.width, tp.signed)
            js = j[sel]
            if p == "weight":  # only samples with x[:, i] != 0 see the change
                dacc = ((new - old) << shift[js]) << align
                f, n, xv = self._weight_pairs(li, idx[sel] // m, js, dacc, amax)
                f_sel = sel[f]
                parts.append((f_sel, n, acc[n, j[f_sel]] + xv * dacc[f]))
                continue
            f = np.repeat(sel, self.n)
            n = np.tile(np.arange(self.n), len(sel))
            if p == "bias":
                v = acc[n, j[f]] + np.repeat((new - old) << (acc_frac - t["bias"].frac), self.n)
            else:  # weight_shift: the column's dot product shifted anew
                v = ((self.dot[li][n, j[f]] << np.repeat(new, self.n)) << align) + bias_al[j[f]]
            parts.append((f, n, v))
        fi = np.concatenate([q[0] for q in parts])
        rows = np.concatenate([q[1] for q in parts])
        y_new = epilogue(np.concatenate([q[2] for q in parts]), layer)
        if li in self._lock:  # a locked neuron's output is the key's value, whatever the fault
            mask, value = self._lock[li]
            y_new = np.where(mask[j[fi]], value[j[fi]], y_new)
        dy_all = y_new - self.outs[li][rows, j[fi]]
        keep = np.nonzero(dy_all)[0]
        fi, rows, y_new, dy_all = fi[keep], rows[keep], y_new[keep], dy_all[keep]
        gain = np.zeros(len(sites), np.int64)
        changed = np.zeros(len(sites), np.int64)
        if amax is not None:  # skip pairs whose prediction provably cannot change
            keep = np.nonzero(np.abs(dy_all) > amax[rows, j[fi]])[0]
            fi, rows, y_new, dy_all = fi[keep], rows[keep], y_new[keep], dy_all[keep]
        # many faults set the same output value of the same neuron on the same sample: run each
        # distinct (sample, column, new value) once and share its prediction
        if li == len(self.spec.layers) - 1 and self.outs[li].ndim == 2:  # the output layer: argmax directly
            pred = self._argmax_replaced(rows, j[fi], y_new)
            gain += np.bincount(fi, (pred == self.y[rows]).astype(np.int64) - self.correct[rows],
                                minlength=len(sites)).astype(np.int64)
            changed += np.bincount(fi, pred != self.pred[rows], minlength=len(sites)).astype(np.int64)
            return gain, changed
        uniq, inv = self._distinct(rows, j[fi], y_new, layer)
        pred = np.empty(len(uniq), np.int64)
        for s in range(0, len(uniq), ROW_CHUNK):
            u = uniq[s:s + ROW_CHUNK]
            r, jj, yn = rows[u], j[fi[u]], y_new[u]
            if dense_next:
                dy = yn - self.outs[li][r, jj]
                q = self._locked(k, epilogue(self.acc[k][r] + dy[:, None] * self._weff_acc(k)[jj], self.spec.layers[k]))
                out = self.forward_rows(k + 1, q)
            else:
                q = self.outs[li][r].copy()
                q[np.arange(len(r)), jj] = yn
                out = self.forward_rows(li + 1, q)
            pred[s:s + ROW_CHUNK] = np.argmax(out.reshape(len(r), -1), -1)
        pred = pred[inv]
        gain += np.bincount(fi, (pred == self.y[rows]).astype(np.int64) - self.correct[rows],
                            minlength=len(sites)).astype(np.int64)
        changed += np.bincount(fi, pred != self.pred[rows], minlength=len(sites)).astype(np.int64)
        return gain, changed

    def _argmax_replaced(self, r: np.ndarray, j: np.ndarray, v: np.ndarray) -> np.ndarray:
        """np.argmax of output row r with entry j replaced by v (first index wins ties), from each row's
        best and second-best (value, first index) of the fault-free outputs."""
        if not hasattr(self, "_top2"):
            out = self.logits.reshape(self.n, -1)
            i1 = np.argmax(out, -1)
            rest = out.copy()
            rest[np.arange(self.n), i1] = np.iinfo(np.int64).min
            i2 = np.argmax(rest, -1)
            self._top2 = (out[np.arange(self.n), i1], i1, out[np.arange(self.n), i2], i2)
        v1, i1, v2, i2 = self._top2
        ov, oi = np.where(j == i1[r], v2[r], v1[r]), np.where(j == i1[r], i2[r], i1[r])  # best of the others
        return np.where(v > ov, j, np.where(v == ov, np.minimum(j, oi), oi))

    def _distinct(self, rows: np.ndarray, j: np.ndarray, y_new: np.ndarray, layer):
        """Indices of the distinct (sample, column, value) triples and each pair's triple number."""
        t = layer.types["output"]
        span = t.qmax - t.qmin + 1
        m = layer.output_shape[-1]
        if not len(rows) or self.n * m * span >= 1 << 62:
            return np.arange(len(rows)), np.arange(len(rows))
        key = (rows * m + j) * span + (y_new - t.qmin)
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        return first, inv

    # ------------------------------------------------------------------------------ conv path
    def _conv_cache(self, li: int):
        """(padded input, exact dot products (N, OH, OW, C) before the shift) of conv layer li."""
        if li not in self._conv:
            layer = self.spec.layers[li]
            kh, kw, cin, cout = layer.params["weight"].shape
            x = self.inputs[li]
            if layer.attrs["padding"] == "same":
                (pt, pb), (pl, pr) = _same_padding(x.shape[1], kh, layer.attrs["strides"][0]), \
                    _same_padding(x.shape[2], kw, layer.attrs["strides"][1])
                x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
            w = layer.params["weight"].reshape(-1, cout).astype(np.int64)
            oh, ow, _ = layer.output_shape
            dots = []
            for start in range(0, self.n, 256):
                win = np.lib.stride_tricks.sliding_window_view(x[start:start + 256], (kh, kw), axis=(1, 2))
                win = win[:, ::layer.attrs["strides"][0], ::layer.attrs["strides"][1]][:, :oh, :ow]
                cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * cin)
                dots.append(_exact_matmul(cols, w, layer.types["input"], _absmax(w)).reshape(-1, oh, ow, cout))
            self._conv[li] = (x, np.concatenate(dots))
        return self._conv[li]

    def _conv_batch(self, li: int, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Correct-prediction gain and changed-prediction count per single-bit fault of conv layer li."""
        layer = self.spec.layers[li]
        t = layer.types
        kh, kw, cin, cout = layer.params["weight"].shape
        sh, sw = layer.attrs["strides"]
        oh, ow, _ = layer.output_shape
        xp, dot = self._conv_cache(li)
        d = self.sites.decode(sites)
        params = [self.sites.blocks[b].param for b in d["block"]]
        shift = layer.params["weight_shift"].astype(np.int64) if "weight_shift" in layer.params else np.zeros(cout, np.int64)
        bias = layer.params["bias"].astype(np.int64) if "bias" in layer.params else np.zeros(cout, np.int64)
        align = t["accum"].frac - t["product"].frac
        bal = t["accum"].frac - t["bias"].frac if "bias" in layer.params else 0
        gain = np.zeros(len(sites), np.int64)
        changed = np.zeros(len(sites), np.int64)
        for f, (p, idx, bit) in enumerate(zip(params, d["index"].tolist(), d["bit"].tolist())):
            c = idx % cout if p == "weight" else idx
            old = int(layer.params[p].reshape(-1)[idx])
            new = int(flip_array(old, bit, t[p].width, t[p].signed))
            dc, s_c, b_c = dot[..., c], shift[c], bias[c]
            if p == "weight":
                a, b, ci = np.unravel_index(idx // cout, (kh, kw, cin))
                tap = xp[:, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw, ci]
                dc = dc + tap * (new - old)
            elif p == "weight_shift":
                s_c = new
            else:
                b_c = new
            y_new = epilogue(((dc << s_c) << align) + (b_c << bal), layer)
            if li in self._lock and self._lock[li][0][c]:  # a locked channel: the key's value
                y_new = np.full_like(y_new, self._lock[li][1][c])
            rows = np.nonzero((y_new != self.outs[li][..., c]).reshape(self.n, -1).any(axis=1))[0]
            if not rows.size:
                continue
            q = self.outs[li][rows].copy()
            q[..., c] = y_new[rows]
            pred = np.argmax(self.forward_rows(li + 1, q).reshape(len(rows), -1), -1)
            gain[f] = int(np.sum((pred == self.y[rows]).astype(np.int64) - self.correct[rows]))
            changed[f] = int(np.sum(pred != self.pred[rows]))
        return gain, changed

    # ------------------------------------------------------------------------------ generic path
    def _generic(self, sites) -> tuple[int, int]:
        """Any fault: the faulty layers from the first one on; with one faulty layer, the layers after
        it run on the changed samples only."""
        faulty = apply(self.spec, sites, self.sites)
        touched = sorted(self.sites.layers_of(sites))
        l0 = touched[0]
        if len(touched) == 1:
            y_new = self._run_layer(l0, self.inputs[l0], faulty.layers[l0])
            diff = (y_new != self.outs[l0]).reshape(self.n, -1).any(axis=1)
            r = np.nonzero(diff)[0]
            if not r.size:
                return 0, 0
            out = self.forward_rows(l0 + 1, y_new[r])
        else:
            r = np.arange(self.n)
            out = self.forward_rows(l0, self.inputs[l0], faulty.layers)
        pred = np.argmax(out.reshape(len(r), -1), -1)
        return int(np.sum((pred == self.y[r]).astype(np.int64) - self.correct[r])), int(np.sum(pred != self.pred[r]))

    # ------------------------------------------------------------------------------ public
    def _fast_layers(self, sites: np.ndarray) -> np.ndarray:
        """Per single-bit site: the dense layer whose fast path serves it, else -1."""
        blocks = self.sites.blocks
        ok = np.array([kinds.get(self.spec.layers[b.layer].kind).matmul is not None and b.param in FAST_PARAMS
                       for b in blocks] + [False])
        lay = np.array([b.layer for b in blocks] + [-1])
        bi = self.sites.block_of(sites) if len(sites) else np.zeros(0, np.int64)
        return np.where(ok[bi], lay[bi], -1)

    def run(self, faults: list) -> dict:
        """Correct predictions and changed predictions of each fault (a tuple of site numbers), as
        columns {"correct": int64[F], "changed": int64[F]} in the order given."""
        correct = np.zeros(len(faults), np.int64)
        changed = np.zeros(len(faults), np.int64)
        single = np.array([len(f) == 1 for f in faults], bool)
        first = np.array([int(f[0]) if len(f) == 1 else 0 for f in faults], np.int64)
        fast = np.where(single, self._fast_layers(first), -1)
        for k in np.nonzero(fast < 0)[0]:
            g, c = self._generic(tuple(faults[k]))
            correct[k], changed[k] = self.clean_correct + g, c
        for li in np.unique(fast[fast >= 0]):
            ks = np.nonzero(fast == li)[0]
            windows = kinds.get(self.spec.layers[li].kind).matmul == "windows"
            batch = self._conv_batch if windows else self._dense_batch
            g, c = batch(int(li), first[ks])
            correct[ks], changed[ks] = self.clean_correct + g, c
        return {"correct": correct, "changed": changed}

    def naive(self, faults: list) -> dict:
        """The reference: copy the spec, flip, run the whole emulator on every sample (same columns)."""
        correct = np.zeros(len(faults), np.int64)
        changed = np.zeros(len(faults), np.int64)
        for k, f in enumerate(faults):
            pred = np.argmax(Emulator(apply(self.spec, f, self.sites), key=self.key).run_int(self.x).reshape(self.n, -1), -1)
            correct[k], changed[k] = int(np.sum(pred == self.y)), int(np.sum(pred != self.pred))
        return {"correct": correct, "changed": changed}

    def outputs(self, sites, rows=None) -> np.ndarray:
        """Output integers of the faulty design on the selected samples (for cross-checking views)."""
        x = self.x if rows is None else self.x[rows]
        return Emulator(apply(self.spec, sites, self.sites), key=self.key).run_int(x)
