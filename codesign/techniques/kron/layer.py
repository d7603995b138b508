"""`KronDense`: a dense layer whose weight is a sum of Kronecker products, never built.

W (m x n) = sum_r B_r (x) A_r (np.kron(B_r, A_r), see `kron_weight`) with A_r (m1 x n1), B_r (m2 x n2),
m = m1*m2, n = n1*n2. The input vector (length n, row-major) is read as a matrix X (n2 x n1) -- a
flattened 28 x 28 image is its own rows -- and the layer computes  Y = sum_r B_r X A_r^T  (m2 x m1),
output row-major. Cost: R*(n2*n1*m1 + m2*n2*m1) MACs instead of m*n; storage R*(m1*n1 + m2*n2)
instead of m*n.

Factors are quantized with QKeras ``quantized_bits(bits, integer, alpha=1)`` (or float when
``factor_bits`` is None). Two training penalties, both added with ``add_loss``:

- sparsity: ``sparsity * mean(|A|) + mean(|B|)`` (L1), so exact zeros can be skipped in hardware;
- conditioning: ``condition * mean_r,F [log sigma_max(F) - log(sigma_min(F) + eps)]`` over every
  factor F -- the log condition number, differentiable through ``tf.linalg.svd`` wherever the
  singular values are distinct. A well-conditioned factor cannot amplify a small input change in
  one direction much more than in another (the robustness argument of the separable-FC study),
  and the log keeps the gradient bounded when sigma_min is small.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow import keras


def _quantizer(bits, integer):
    if bits is None:
        return None
    from qkeras import quantized_bits

    return quantized_bits(bits, integer, alpha=1)


def log_condition(f: tf.Tensor, eps: float = 1e-3) -> tf.Tensor:
    """log sigma_max - log(sigma_min + eps) of each matrix in a batch (..., p, q)."""
    s = tf.linalg.svd(f, compute_uv=False)
    return tf.math.log(s[..., 0] + eps) - tf.math.log(s[..., -1] + eps)


class KronDense(keras.layers.Layer):
    def __init__(self, in_factors, out_factors, rank=1, factor_bits=8, factor_integer=0, bias_bits=8,
                 bias_integer=3, use_bias=True, sparsity=0.0, condition=0.0, **kwargs):
        super().__init__(**kwargs)
        self.n2, self.n1 = (int(v) for v in in_factors)
        self.m2, self.m1 = (int(v) for v in out_factors)
        self.rank = int(rank)
        self.factor_bits, self.factor_integer = factor_bits, factor_integer
        self.bias_bits, self.bias_integer = bias_bits, bias_integer
        self.use_bias = bool(use_bias)
        self.sparsity, self.condition = float(sparsity), float(condition)
        self.factor_quantizer = _quantizer(factor_bits, factor_integer)
        self.bias_quantizer = _quantizer(bias_bits, bias_integer) if use_bias else None

    @property
    def units(self) -> int:
        return self.m1 * self.m2

    def build(self, input_shape):
        n = int(input_shape[-1])
        if n != self.n1 * self.n2:
            raise ValueError(f"KronDense {self.name!r}: input length {n} != in_factors {self.n2}x{self.n1}")
        r = self.rank
        # W entries then have variance ~ R * var(A) * var(B) = 2 / n (He initialisation)
        a_std, b_std = (1.0 / self.n1) ** 0.5, (2.0 / (self.n2 * r)) ** 0.5
        self.factor_a = self.add_weight(name="factor_a", shape=(r, self.m1, self.n1),
                                        initializer=keras.initializers.RandomNormal(stddev=a_std))
        self.factor_b = self.add_weight(name="factor_b", shape=(r, self.m2, self.n2),
                                        initializer=keras.initializers.RandomNormal(stddev=b_std))
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def quantized_factors(self):
        a, b = self.factor_a, self.factor_b
        if self.factor_quantizer is not None:
            a, b = self.factor_quantizer(a), self.factor_quantizer(b)
        bias = None
        if self.use_bias:
            bias = self.bias_quantizer(self.bias) if self.bias_quantizer is not None else self.bias
        return a, b, bias

    def call(self, x):
        a, b, bias = self.quantized_factors()
        xm = tf.reshape(x, (-1, self.n2, self.n1))
        t = tf.einsum("bij,rkj->brik", xm, a)  # X A_r^T: (batch, R, n2, m1)
        y = tf.einsum("rli,brik->blk", b, t)  # sum_r B_r (X A_r^T): (batch, m2, m1)
        y = tf.reshape(y, (-1, self.units))
        if bias is not None:
            y = y + bias
        if self.sparsity:
            self.add_loss(self.sparsity * (tf.reduce_mean(tf.abs(self.factor_a)) + tf.reduce_mean(tf.abs(self.factor_b))))
        if self.condition:
            cond = tf.reduce_mean(log_condition(self.factor_a)) + tf.reduce_mean(log_condition(self.factor_b))
            self.add_loss(self.condition * cond)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(in_factors=[self.n2, self.n1], out_factors=[self.m2, self.m1], rank=self.rank,
                   factor_bits=self.factor_bits, factor_integer=self.factor_integer, bias_bits=self.bias_bits,
                   bias_integer=self.bias_integer, use_bias=self.use_bias, sparsity=self.sparsity,
                   condition=self.condition)
        return cfg


def kron_weight(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The dense (n x m, Keras layout) weight the factors stand for: y = x @ W, row-major X and Y."""
    # y[j2*m1 + j1] = sum_r sum_{i2,i1} B[r,j2,i2] X[i2,i1] A[r,j1,i1]  ->  W^T = sum_r B_r (x) A_r
    w_t = sum(np.kron(b[r], a[r]) for r in range(a.shape[0]))
    return w_t.T
