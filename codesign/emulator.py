"""Bit-accurate numpy emulator of a design spec: batched, integer in, integer out.

Integer matrix products run as float64 BLAS products, which are exact while every partial
sum stays below 2**53; `_exact_matmul` checks that bound from the operand types before it
takes the fast path and otherwise multiplies in int64. The only roundings are the explicit
`fixed.cast` calls, one per layer, as the spec says.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .fixed import FixedType, cast, overflow, quantize_real, to_real
from .kinds import registry as kinds
from .spec import GRAPH_INPUT, DesignSpec, Layer, SpecError

FLOAT64_EXACT = 2 ** 53


def _exact_matmul(x: np.ndarray, w: np.ndarray, x_type: FixedType, w_max: int) -> np.ndarray:
    """x @ w for int64 operands, exact; float64 BLAS when the worst-case partial sum allows it."""
    x_max = max(abs(x_type.qmin), abs(x_type.qmax))
    if w.shape[0] * x_max * max(w_max, 1) < FLOAT64_EXACT:
        return (x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.astype(np.int64)


def dense_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Integer dense layer (also the inner product of conv2d): x (N, n) -> y (N, m) in output type."""
    t = layer.types
    w = layer.params["weight"]
    w2 = w.reshape(-1, w.shape[-1]).astype(np.int64)
    if "weight_shift" in layer.params:  # ternary weights with a power-of-two scale per output:
        w2 = w2 << layer.params["weight_shift"].astype(np.int64)  # (x @ W) << s == x @ (W << s)
    acc = _exact_matmul(x, w2, t["input"], int(np.abs(w2).max(initial=0)))
    return _finish(acc, layer, t["product"].frac)


def _finish(acc: np.ndarray, layer: Layer, prod_frac: int) -> np.ndarray:
    """Align to the accumulator, add the bias, wrap to its width, ReLU, cast to the output type."""
    return epilogue(accumulate(acc, layer, prod_frac), layer)


def accumulate(acc: np.ndarray, layer: Layer, prod_frac: int) -> np.ndarray:
    """Sums of products (prod_frac fraction bits) aligned to the accumulator, bias added (before any wrap)."""
    t = layer.types
    acc_frac = t["accum"].frac
    if acc_frac != prod_frac:
        acc = acc << (acc_frac - prod_frac)
    if "bias" in layer.params:
        acc = acc + (layer.params["bias"].astype(np.int64) << (acc_frac - t["bias"].frac))
    return acc


def epilogue(acc: np.ndarray, layer: Layer) -> np.ndarray:
    """Elementwise: wrap/saturate an `accumulate` result to the accumulator, ReLU, cast to the output
    type. Elementwise, so a fault campaign can finish single changed columns with it."""
    t = layer.types
    # a WRAP accumulator: the final sum mod 2**W equals any summation order's; skip the wrap
    # (not its effect) when every sum already lies in range, the usual case for a spec'd accumulator
    if acc.size and (acc.min() < t["accum"].qmin or acc.max() > t["accum"].qmax):
        acc = overflow(acc, t["accum"])
    if layer.attrs.get("activation") == "relu":
        acc = np.maximum(acc, 0)
    return cast(acc, t["accum"].frac, t["output"])


def kron_matvec(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Separable FC: Y = sum_r B_r X A_r^T on X = x as (n2 x n1); intermediate T cast to type `mid`.

    Stage 1 is exact (input x factor A products, n1 terms) and then cast to `mid` with its rounding
    and overflow; stage 2 multiplies `mid` by factor B and sums n2 * R terms exactly.
    """
    t, at = layer.attrs, layer.types
    a, b = layer.params["a"].astype(np.int64), layer.params["b"].astype(np.int64)
    xm = x.reshape(x.shape[0], t["n2"], t["n1"])
    x_max = max(abs(at["input"].qmin), abs(at["input"].qmax))
    exact1 = t["n1"] * x_max * max(int(np.abs(a).max(initial=0)), 1) < FLOAT64_EXACT
    dt = np.float64 if exact1 else np.int64
    mid = np.einsum("bij,rkj->brik", xm.astype(dt), a.astype(dt), optimize=True).astype(np.int64)
    mid = cast(mid, at["input"].frac + at["a"].frac, at["mid"])
    m_max = max(abs(at["mid"].qmin), abs(at["mid"].qmax))
    exact2 = t["n2"] * t["rank"] * m_max * max(int(np.abs(b).max(initial=0)), 1) < FLOAT64_EXACT
    dt = np.float64 if exact2 else np.int64
    acc = np.einsum("rli,brik->blk", b.astype(dt), mid.astype(dt), optimize=True).astype(np.int64)
    acc = acc.reshape(x.shape[0], -1)
    return _finish(acc, layer, at["mid"].frac + at["b"].frac)


def wings_gen(x: np.ndarray, layer: Layer, w: np.ndarray | None = None) -> np.ndarray:
    """WINGs: generate the integer weights (codesign/techniques/wings/gen.py, exact up to its casts), then dense.
    `w`: the already generated weights (a fault campaign generates them once per design)."""
    from .techniques.wings.gen import generate_int

    w = generate_int(layer) if w is None else w
    acc = _exact_matmul(x, w, layer.types["input"], int(np.abs(w).max(initial=0)))
    return _finish(acc, layer, layer.types["input"].frac + layer.types["weight"].frac)


def _same_padding(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def conv2d_kernel(x: np.ndarray, layer: Layer, chunk: int = 256) -> np.ndarray:
    """NHWC integer convolution via im2col, in chunks of samples to bound memory."""
    kh, kw, cin, cout = layer.params["weight"].shape
    sh, sw = layer.attrs["strides"]
    if layer.attrs["padding"] == "same":
        (pt, pb), (pl, pr) = _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh, ow, _ = layer.output_shape
    outs = []
    for start in range(0, x.shape[0], chunk):
        xb = x[start:start + chunk]
        win = np.lib.stride_tricks.sliding_window_view(xb, (kh, kw), axis=(1, 2))  # N,OH',OW',C,kh,kw
        win = win[:, ::sh, ::sw][:, :oh, :ow]
        cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * cin)  # (kh, kw, cin) order = Keras
        outs.append(dense_kernel(cols, layer).reshape(xb.shape[0], oh, ow, cout))
    return np.concatenate(outs) if outs else np.zeros((0, oh, ow, cout), np.int64)


def depthwise2d_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """NHWC depthwise convolution: output channel c * dm + m sums channel c's k x k window times weight
    [:, :, c, m] (Keras' order), exact in int64, then the dense epilogue (bias, ReLU, cast)."""
    kh, kw, cin, dm = layer.params["weight"].shape
    sh, sw = layer.attrs["strides"]
    if layer.attrs["padding"] == "same":
        (pt, pb), (pl, pr) = _same_padding(x.shape[1], kh, sh), _same_padding(x.shape[2], kw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh, ow, _ = layer.output_shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]
    w = layer.params["weight"].astype(np.int64).reshape(kh * kw, cin, dm)
    acc = np.einsum("nhwck,kcm->nhwcm", win.reshape(win.shape[:4] + (kh * kw,)).astype(np.int64), w)
    return _finish(acc.reshape(len(x), oh, ow, cin * dm), layer, layer.types["product"].frac)


def _pool_windows(x: np.ndarray, layer: Layer, fill: int) -> np.ndarray:
    """(N, OH, OW, C, ph, pw) pooling windows; 'same' pads as TF does (more after than before) with `fill`."""
    ph, pw = layer.attrs["pool_size"]
    sh, sw = layer.attrs["strides"]
    if layer.attrs.get("padding", "valid") == "same":
        (pt, pb), (pl, pr) = _same_padding(x.shape[1], ph, sh), _same_padding(x.shape[2], pw, sw)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
    oh, ow = -(-(x.shape[1] - ph + 1) // sh), -(-(x.shape[2] - pw + 1) // sw)
    return np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::sh, ::sw][:, :oh, :ow]


def maxpool2d_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Max over each window; 'same' padding never wins (TF pools over the image's cells only: every
    window holds at least one), so it pads with the int64 minimum. Type unchanged; output reshaped to the
    layer's (a global pool's (C,))."""
    y = _pool_windows(x, layer, np.iinfo(np.int64).min).max(axis=(-2, -1))
    return y.reshape((len(x),) + tuple(layer.output_shape))  # a global pool's (C,)


def pool_counts(layer: Layer) -> np.ndarray:
    """(OH, OW) image cells under each window: the divisor of an average pool (TF leaves padding out)."""
    h, w = layer.input_shape[:2]
    return _pool_windows(np.ones((1, h, w, 1), np.int64), layer, 0).sum(axis=(-2, -1))[0, :, :, 0]


def avgpool2d_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Mean over each window's image cells, exact: the sum of c cells (c a power of two, at most the
    pool area A = 2**k) is the mean at k more fraction bits, shifted left by k - log2(c). Output
    reshaped to the layer's (a global pool's (C,))."""
    k = int(layer.attrs["pool_size"][0] * layer.attrs["pool_size"][1]).bit_length() - 1
    sums = _pool_windows(x.astype(np.int64), layer, 0).sum(axis=(-2, -1))
    shift = k - np.log2(pool_counts(layer)).astype(np.int64)
    return (sums << shift[None, :, :, None]).reshape((len(x),) + tuple(layer.output_shape))


def scale_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Per-channel (last axis) affine map, exact: acc = x * scale + bias at the accumulator's fraction,
    then the epilogue (ReLU, cast to the output type) as a dense layer's."""
    acc = x.astype(np.int64) * layer.params["scale"].astype(np.int64)
    return _finish(acc, layer, layer.types["input"].frac + layer.types["scale"].frac)


def multithreshold_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """Elementwise step function: y = levels[k], k = how many of the ascending thresholds x reaches
    (x >= t), as FINN's MultiThreshold. Thresholds are input-type integers, levels output-type ones."""
    return layer.params["levels"].astype(np.int64)[np.searchsorted(layer.params["thresholds"], x, side="right")]


def leaky_relu_kernel(x: np.ndarray, layer: Layer) -> np.ndarray:
    """QKeras quantized_relu with a power-of-two negative slope 2**-k: x >= 0 cast to the output type;
    x < 0 as x * 2**-k (the same integer at k more fraction bits) cast to the `negative` type, whose
    narrower range is QKeras' clip at -slope * 2**(bits-1) LSBs (same fraction as the output)."""
    t, k = layer.types, int(layer.attrs["slope_shift"])
    pos = cast(x, t["input"].frac, t["output"])
    neg = cast(x, t["input"].frac + k, t["negative"])
    return np.where(x >= 0, pos, neg)


def forward(spec: DesignSpec, q: np.ndarray, step=None):
    """Run the spec's layers in order on input integers `q`, yielding (layer, its output integers).

    `step(layer, x)` computes one layer (default: its kind's kernel); `x` is one array, or a merge's list
    of operands. A chain passes each output to the next layer; a graph keeps each output until its last
    reader ran (codesign/spec.py: a layer's `inputs`)."""
    step = step or (lambda layer, x: KERNELS[layer.kind](x, layer))
    reads = spec.reads()
    left = {}
    for srcs in reads:
        for s in srcs:
            left[s] = left.get(s, 0) + 1
    values = {GRAPH_INPUT: q}
    for layer, srcs in zip(spec.layers, reads):
        ops = [values[s] for s in srcs]
        for s in srcs:
            left[s] -= 1
            if not left[s]:
                del values[s]
        y = step(layer, ops if kinds.get(layer.kind).merge_shape is not None else ops[0])
        values[layer.name] = y
        yield layer, y


class _Kernels(Mapping):
    """kind -> emulator kernel, read from the layer-kind registry (codesign/kinds)."""

    def __getitem__(self, kind: str):
        return kinds.get(kind).kernel

    def __iter__(self):
        return iter(kinds.names())

    def __len__(self) -> int:
        return len(kinds.names())


KERNELS = _Kernels()


class Emulator:
    """Runs a DesignSpec on integer inputs; `run` / `predict` take reals (or uint8 pixels) and quantize them.

    `key` (run-time secret of a locked design, codesign/techniques/lock): None (no key), a lock Password or LockKey.
    """

    def __init__(self, spec: DesignSpec, key=None):
        spec.validate()
        self.spec = spec
        self.key, self.perms = None, {}
        if key is not None or any(l.attrs.get("lock") for l in spec.layers):
            spec.require_chain("a lock (its key)")
            from .techniques.lock.password import check_key

            checked = check_key(spec, key)
            self.key, self.perms = checked.layers, checked.perms  # neuron locks, input-permutation locks

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Model inputs to input-type integers, as the spec's input type says.

        uint8 arrays are pixels, p meaning p/256 (a convenience for images: p/255 is never assumed);
        float arrays are real values, read as float32 (as Keras reads them) and rounded/saturated by the
        input type's modes (a QKeras quantized_bits input: round half to even, saturate). Samples must
        have the model's input shape; only size-1 axes may differ (a (28, 28) image for (28, 28, 1))."""
        x = np.asarray(x)
        want = tuple(self.spec.input_shape)
        if x.shape[1:] != want:
            squeeze = lambda s: tuple(d for d in s if d != 1)
            if x.ndim < 2 or squeeze(x.shape[1:]) != squeeze(want):
                raise SpecError(f"input samples have shape {x.shape[1:]} but the model takes {want} "
                                "(channels last); reshape or transpose the data to that shape")
            x = x.reshape((x.shape[0],) + want)
        if x.dtype == np.uint8:
            return cast(x.astype(np.int64), 8, self.spec.input_type)
        if not np.issubdtype(x.dtype, np.floating):
            raise SpecError(f"emulator input must be real values (float) or uint8 pixels (p/256), got {x.dtype}")
        return quantize_real(x.astype(np.float32), self.spec.input_type)

    def _step(self, layer: Layer, x) -> np.ndarray:
        q = KERNELS[layer.kind](x, layer)
        if self.key and layer.name in self.key:  # lock unit in the epilogue (codesign/techniques/lock/kernel.py)
            from .techniques.lock.kernel import lock_unit

            q = lock_unit(q, *self.key[layer.name])
        if layer.name in self.perms:  # input-permutation lock on the layer's (flattened) output
            from .techniques.lock.kernel import input_perm

            q = input_perm(q, self.perms[layer.name])
        return q

    def run_int(self, q: np.ndarray, upto: str | None = None) -> np.ndarray:
        """Integer forward pass (a chain, or a graph: `forward`); `upto` stops after the named layer
        (for per-layer checks)."""
        for layer, q in forward(self.spec, q, self._step):
            if layer.name == upto:
                break
        return q

    def run(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer outputs and their real values, for real-valued (or uint8 pixel) inputs."""
        q = self.run_int(self.quantize_input(x))
        return q, to_real(q, self.spec.output_type)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Real-valued outputs for real-valued (or uint8 pixel) inputs."""
        return self.run(x)[1]

    def predict_classes(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.run(x)[0], axis=-1)
