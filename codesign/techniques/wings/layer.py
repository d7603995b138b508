"""`WingsDense`: a dense layer whose weight matrix is generated, never stored.

Formulation (the one the design spec, the emulator kernel ``wings_gen``, the hls4ml header
``nnet_wings_gen.h`` and this layer all implement). For a layer n_in -> N with K components:

    curve[k, j] = cast_curve( sum_s alpha[k, s] * klut[|j - sv[k, s]|] + beta[k] )      j = 0..N-1
    basis[k, i] = cast_basis( sum_{a,b} plut[|r - prow[a]|] * z[k, a, b] * plut[|c - pcol[b]|] )
                  with i = r * W + c  (``basis_grid`` form; or ``basis[k, i]`` stored directly)
    w[i, j]     = cast_weight( sum_k basis[k, i] * curve[k, j] )
    y           = act( x @ w + bias )

- The SVR: component k's coefficient curve over the neuron index j is an RBF-kernel support-vector
  regression  f_k(j) = sum_s alpha_ks K(j, sv_ks) + beta_k,  K(j, s) = exp(-(j - s)^2 / (2 sigma_c^2)),
  whose input is the neuron's position j in the (permuted) neuron order and whose output is the PCA
  coefficient of neuron j. The kernel is a lookup table ``klut`` indexed by the integer distance
  |j - sv| (zero beyond its length), so the generator needs no exp and no real arithmetic.
- The PCA basis images: either stored (K x n_in) or, with ``basis_grid`` (gr, gc), RBF expansions over a
  gr x gc grid of pixel centres (separable Gaussian, lookup table ``plut`` on the pixel distance).
- The mean image is component 0 (its curve is the constant beta_0 = 1 after a PCA fit).
- Every cast is ap_fixed(width, integer, RND_CONV, SAT): round half to even (tf.round), saturate.
  Parameters are trained as floats and rounded to their types with a straight-through estimator, so
  the forward pass is the integer generator up to float32 summation order.
"""
from __future__ import annotations

import zlib

import numpy as np
import tensorflow as tf
from tensorflow import keras

from ...fixed import FixedType

# (width, integer bits) of every fixed-point quantity; all signed except the lookup tables
DEFAULT_TYPES = {
    "alpha": [8, 0], "beta": [8, 0], "z": [8, 1], "basis": [10, 1], "curve": [12, 0], "weight": [8, 1],
    "bias": [8, 3], "lut": [8, 1],
}


def fixed_types(types: dict | None) -> dict:
    """FixedType of each generator quantity (casts round half to even and saturate)."""
    t = dict(DEFAULT_TYPES)
    t.update(types or {})
    out = {k: FixedType(int(w), int(i), signed=(k != "lut"), rounding="RND_CONV", overflow="SAT")
           for k, (w, i) in t.items()}
    return out


def lut(sigma: float, t: FixedType, max_len: int) -> np.ndarray:
    """Integer table round(exp(-d^2 / (2 sigma^2)) * 2^frac) for d = 0.., cut before its first zero."""
    d = np.arange(max_len, dtype=np.float64)
    q = np.clip(np.round(np.exp(-d ** 2 / (2.0 * sigma ** 2)) * 2.0 ** t.frac), 0, t.qmax).astype(np.int64)
    nz = np.nonzero(q == 0)[0]
    return q[: nz[0]] if nz.size else q


def grid_centres(size: int, n: int) -> np.ndarray:
    """n integer centres spread over 0..size-1: ((2a + 1) * size) // (2 n)."""
    return ((2 * np.arange(n) + 1) * size) // (2 * n)


def kernel_matrix(table: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """M[..., p] = table[|p - centre|] (0 beyond the table), for p = 0..size-1."""
    d = np.abs(np.arange(size) - np.asarray(centres)[..., None])
    return np.where(d < len(table), np.asarray(table)[np.minimum(d, len(table) - 1)], 0)


def fq(x, t: FixedType):
    """Round to t's grid (half to even) and saturate; gradient passes straight through."""
    s = 2.0 ** t.frac
    q = tf.clip_by_value(tf.round(x * s), float(t.qmin), float(t.qmax)) / s
    return x + tf.stop_gradient(q - x)


def fq_np(x: np.ndarray, t: FixedType) -> np.ndarray:
    """The integers fq's output stands for (same rounding: numpy round is half to even)."""
    return np.clip(np.round(np.asarray(x, np.float64) * 2.0 ** t.frac), t.qmin, t.qmax).astype(np.int64)


class WingsDense(keras.layers.Layer):
    def __init__(self, units, components=16, centres=32, coef_sigma=4.0, basis_grid=(14, 14), in_hw=(28, 28),
                 pixel_sigma=1.0, types=None, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.components, self.centres = int(units), int(components), int(centres)
        self.coef_sigma, self.pixel_sigma = float(coef_sigma), float(pixel_sigma)
        self.basis_grid = None if basis_grid is None else tuple(int(v) for v in basis_grid)
        self.in_hw = tuple(int(v) for v in in_hw)
        self.types = {k: list(v) for k, v in (types or {}).items()}
        self.t = fixed_types(self.types)
        self.use_bias = bool(use_bias)
        self.klut = lut(self.coef_sigma, self.t["lut"], self.units)
        self.plut = lut(self.pixel_sigma, self.t["lut"], max(self.in_hw)) if self.basis_grid else None

    def build(self, input_shape):
        n_in = int(input_shape[-1])
        self.n_in = n_in
        k, s, n = self.components, self.centres, self.units
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        sv = np.tile(grid_centres(n, s), (k, 1))
        const = keras.initializers.Constant
        self.sv = self.add_weight(name="sv", shape=(k, s), initializer=const(sv), trainable=False)
        self.klut_w = self.add_weight(name="klut", shape=(len(self.klut),), initializer=const(self.klut),
                                      trainable=False)
        if self.basis_grid:
            h, w = self.in_hw
            if h * w != n_in:
                raise ValueError(f"WingsDense {self.name!r}: input length {n_in} != in_hw {h}x{w}")
            gr, gc = self.basis_grid
            self.plut_w = self.add_weight(name="plut", shape=(len(self.plut),), initializer=const(self.plut),
                                          trainable=False)
            self.prow = self.add_weight(name="prow", shape=(gr,), initializer=const(grid_centres(h, gr)),
                                        trainable=False)
            self.pcol = self.add_weight(name="pcol", shape=(gc,), initializer=const(grid_centres(w, gc)),
                                        trainable=False)
            z = rng.normal(0, 0.5, (k, gr, gc))
            pr = kernel_matrix(self.plut, grid_centres(h, gr), h) / 2.0 ** self.t["lut"].frac
            pc = kernel_matrix(self.plut, grid_centres(w, gc), w) / 2.0 ** self.t["lut"].frac
            basis0 = np.einsum("ar,kab,bc->krc", pr, z, pc).reshape(k, n_in)
            z, basis0 = z * 0.25 / basis0.std(), basis0 * 0.25 / basis0.std()  # basis entries ~ 0.25
            self.z = self.add_weight(name="z", shape=(k, gr, gc), initializer=const(z))
        else:
            basis0 = rng.normal(0, 0.25, (k, n_in))
            self.basis = self.add_weight(name="basis", shape=(k, n_in), initializer=const(basis0))
        # alpha scaled so the generated weights start with He variance 2 / n_in (computed, not guessed)
        alpha = rng.normal(0, 1.0, (k, s))
        kc = kernel_matrix(self.klut, sv, n) / 2.0 ** self.t["lut"].frac
        w0 = basis0.T @ np.einsum("ks,ksj->kj", alpha, kc)
        alpha = alpha * (2.0 / n_in) ** 0.5 / max(float(w0.std()), 1e-9)
        self.alpha = self.add_weight(name="alpha", shape=(k, s), initializer=const(alpha))
        self.beta = self.add_weight(name="beta", shape=(k,), initializer="zeros")
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(n,), initializer="zeros")
        super().build(input_shape)

    # ------------------------------------------------------------------ generator (float, STE casts)
    def _kernel(self, table, centres, size):
        d = tf.abs(tf.range(size, dtype=tf.float32) - tf.expand_dims(centres, -1))
        idx = tf.cast(tf.minimum(d, float(len_of(table) - 1)), tf.int32)
        vals = tf.gather(table, idx)
        return tf.where(d < float(len_of(table)), vals, tf.zeros_like(vals))

    def curves(self):
        t = self.t
        klut = self.klut_w / 2.0 ** t["lut"].frac
        kc = self._kernel(klut, self.sv, self.units)  # (K, S, N)
        c = tf.einsum("ks,ksj->kj", fq(self.alpha, t["alpha"]), kc) + fq(self.beta, t["beta"])[:, None]
        return fq(c, t["curve"])

    def basis_images(self):
        t = self.t
        if not self.basis_grid:
            return fq(self.basis, t["basis"])
        plut = self.plut_w / 2.0 ** t["lut"].frac
        h, w = self.in_hw
        pr, pc = self._kernel(plut, self.prow, h), self._kernel(plut, self.pcol, w)  # (gr, H), (gc, W)
        b = tf.einsum("ar,kab,bc->krc", pr, fq(self.z, t["z"]), pc)
        return fq(tf.reshape(b, (self.components, h * w)), t["basis"])

    def generated_float(self):
        """The generated weight (n_in x N), already on the weight type's grid."""
        return fq(tf.matmul(self.basis_images(), self.curves(), transpose_a=True), self.t["weight"])

    def call(self, x):
        y = tf.matmul(x, self.generated_float())
        if self.use_bias:
            y = y + fq(self.bias, self.t["bias"])
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, components=self.components, centres=self.centres, coef_sigma=self.coef_sigma,
                   basis_grid=list(self.basis_grid) if self.basis_grid else None, in_hw=list(self.in_hw),
                   pixel_sigma=self.pixel_sigma, types=self.types, use_bias=self.use_bias)
        return cfg

    # ------------------------------------------------------------------ integer parameters
    def integer_params(self) -> dict:
        """The generator's stored integers (what the spec holds), by parameter name."""
        t = self.t
        p = {"alpha": fq_np(self.alpha.numpy(), t["alpha"]), "beta": fq_np(self.beta.numpy(), t["beta"]),
             "sv": np.round(self.sv.numpy()).astype(np.int64), "klut": np.round(self.klut_w.numpy()).astype(np.int64)}
        if self.basis_grid:
            p.update(z=fq_np(self.z.numpy(), t["z"]), plut=np.round(self.plut_w.numpy()).astype(np.int64),
                     prow=np.round(self.prow.numpy()).astype(np.int64),
                     pcol=np.round(self.pcol.numpy()).astype(np.int64))
        else:
            p["basis"] = fq_np(self.basis.numpy(), t["basis"])
        if self.use_bias:
            p["bias"] = fq_np(self.bias.numpy(), t["bias"])
        return p


def len_of(table) -> int:
    return int(table.shape[0])
