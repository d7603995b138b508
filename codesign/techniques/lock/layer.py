"""`NeuronLock`: the Keras form of a lock unit, placed after a locked layer's activation.

y = x * (1 - m_s) + m_s v_s per neuron and sample s, with (m_s, v_s) the key's mask and values
(reals on the output type's grid, so y equals the spec's integers exactly) chosen by a per-sample
gate g_s: outside training every sample sees the key (if any); in lock training the batch hook sets
g_s per sample: 1 the key, 0 no key, 2 a decoy (a random wrong key drawn for the batch). A cleared key (m = 0) is the no-key model. The layer holds no
trainable weight and is never saved: the public model is the chain without it (train.public_model).
"""
from __future__ import annotations

import numpy as np


def _layer_class():
    import tensorflow as tf
    from tensorflow import keras

    class NeuronLock(keras.layers.Layer):
        def __init__(self, units: int, capacity: int = 1024, **kw):
            super().__init__(**kw)
            self.units, self.capacity = int(units), int(capacity)
            self.hide = 0.0  # hide_behind turns the hiding penalty on

        def build(self, input_shape):
            z = keras.initializers.Zeros()
            self.mask = self.add_weight(name="mask", shape=(self.units,), initializer=z, trainable=False)
            self.value = self.add_weight(name="value", shape=(self.units,), initializer=z, trainable=False)
            self.per_sample = self.add_weight(name="per_sample", shape=(), initializer=z, trainable=False)
            self.gate = self.add_weight(name="gate", shape=(self.capacity,), initializer=z, trainable=False)
            self.decoy_mask = self.add_weight(name="decoy_mask", shape=(self.units,), initializer=z, trainable=False)
            self.decoy_value = self.add_weight(name="decoy_value", shape=(self.units,), initializer=z, trainable=False)

        def call(self, x):
            n = tf.shape(x)[0]
            g = tf.cond(self.per_sample > 0, lambda: self.gate[:n], lambda: tf.ones([n], x.dtype))
            g = tf.reshape(g, tf.concat([[n], tf.ones([tf.rank(x) - 1], tf.int32)], 0))
            key = tf.cast(tf.equal(g, 1.0), x.dtype)
            decoy = tf.cast(tf.equal(g, 2.0), x.dtype)
            m = key * self.mask + decoy * self.decoy_mask
            if self.hide > 0:  # lock training only (per_sample set): the hiding penalty
                self.add_loss(self.per_sample * self.hiding_penalty(x, 1.0 - key - decoy))
            return x * (1.0 - m) + key * self.mask * self.value + decoy * self.decoy_mask * self.decoy_value

        def hide_behind(self, weight: float, pair: np.ndarray, kernel, bias, next_kernel, pin: bool = True) -> None:
            """Turn on the hiding penalty (lock training): locked neuron i is pulled to the statistics of
            unlocked neuron pair[i] (pair[j] = j elsewhere); `kernel`/`bias` are the locked layer's variables,
            `next_kernel` the next weighted layer's (its input axis, second to last, runs over this layer's
            neurons; a dense layer after a flatten of (..., units) too). The variables are held in a closure,
            so Keras does not track them twice."""
            self.hide = float(weight)
            self.hide_pin = bool(pin)  # False: the pair is pulled toward the locked neuron as well
            self.pair = np.asarray(pair, np.int32)
            self._sources = lambda: (kernel, bias, next_kernel)

        def hiding_penalty(self, x, nokey):
            """Mean over locked neurons of the squared relative gaps between each one's statistics and its
            pair's (the pair's side held fixed): activation mean and root mean square over the no-key
            samples (`nokey` 1 per such sample; what a thief who runs the public weights sees), mean |incoming
            kernel|, bias and mean |outgoing kernel|."""
            kernel, bias, next_kernel = self._sources()
            axes = list(range(len(x.shape) - 1))
            w = nokey * tf.ones_like(x[..., :1])
            cnt = tf.maximum(tf.reduce_sum(w), 1.0)
            stats = [tf.reduce_sum(x * w, axes) / cnt, tf.sqrt(tf.reduce_sum(x * x * w, axes) / cnt + 1e-6),
                     tf.reduce_mean(tf.abs(tf.reshape(kernel, [-1, self.units])), 0),
                     tf.reduce_mean(tf.abs(tf.reshape(next_kernel, [-1, self.units, next_kernel.shape[-1]])), [0, 2])]
            pin = tf.stop_gradient if self.hide_pin else (lambda v: v)
            gaps = [(s - pin(tf.gather(s, self.pair))) / (tf.stop_gradient(tf.reduce_mean(s)) + 1e-6)
                    for s in stats]
            if bias is not None:  # a bias has no natural scale of its own: relative to the incoming kernel's
                gaps.append((bias - pin(tf.gather(bias, self.pair)))
                            / (tf.stop_gradient(tf.reduce_mean(stats[2])) + 1e-6))
            locked = tf.cast(tf.not_equal(self.pair, tf.range(self.units)), x.dtype)
            per_neuron = tf.add_n([g * g for g in gaps])
            return self.hide * tf.reduce_sum(locked * per_neuron) / tf.maximum(tf.reduce_sum(locked), 1.0)

        def set_key(self, mask: np.ndarray, value_real: np.ndarray) -> None:
            self.mask.assign(np.asarray(mask, np.float32))
            self.value.assign(np.asarray(value_real, np.float32))

        def set_decoy(self, mask: np.ndarray, value_real: np.ndarray) -> None:
            """The wrong key the samples gated 2 run under in the next batch."""
            self.decoy_mask.assign(np.asarray(mask, np.float32))
            self.decoy_value.assign(np.asarray(value_real, np.float32))

        def set_gate(self, gate: np.ndarray | None) -> None:
            """Per-sample gate for the next batch: 1 key, 0 no key, 2 decoy (None: every sample sees the key)."""
            if gate is None:
                self.per_sample.assign(0.0)
                return
            g = np.zeros(self.capacity, np.float32)
            g[:len(gate)] = gate
            self.gate.assign(g)
            self.per_sample.assign(1.0)

    class InputPermute(keras.layers.Layer):
        """The Keras form of an input-permutation lock, after the flatten before the first dense layer:
        y = x[:, perm] under the key, x (identity) without it, x[:, decoy] for samples gated 2 (the
        same per-sample gate as NeuronLock). Holds no trainable weight and is never saved."""

        def __init__(self, units: int, capacity: int = 1024, **kw):
            super().__init__(**kw)
            self.units, self.capacity = int(units), int(capacity)

        def build(self, input_shape):
            ident = keras.initializers.Constant(np.arange(self.units))
            z = keras.initializers.Zeros()
            self.perm = self.add_weight(name="perm", shape=(self.units,), dtype="int32", initializer=ident,
                                        trainable=False)
            self.decoy_perm = self.add_weight(name="decoy_perm", shape=(self.units,), dtype="int32",
                                              initializer=ident, trainable=False)
            self.per_sample = self.add_weight(name="per_sample", shape=(), initializer=z, trainable=False)
            self.gate = self.add_weight(name="gate", shape=(self.capacity,), initializer=z, trainable=False)

        def call(self, x):
            n = tf.shape(x)[0]
            g = tf.cond(self.per_sample > 0, lambda: self.gate[:n], lambda: tf.ones([n], x.dtype))
            g = tf.reshape(g, [n, 1])
            key = tf.cast(tf.equal(g, 1.0), x.dtype)
            decoy = tf.cast(tf.equal(g, 2.0), x.dtype)
            return (x * (1.0 - key - decoy) + key * tf.gather(x, self.perm, axis=1)
                    + decoy * tf.gather(x, self.decoy_perm, axis=1))

        def set_key(self, perm) -> None:
            """The key's permutation (None: the identity, no key)."""
            self.perm.assign(np.arange(self.units) if perm is None else np.asarray(perm, np.int32))

        def set_decoy(self, perm) -> None:
            self.decoy_perm.assign(np.asarray(perm, np.int32))

        set_gate = NeuronLock.set_gate

    return NeuronLock, InputPermute


_CLASSES = None


def _classes():
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _layer_class()
    return _CLASSES


def NeuronLock(*args, **kw):
    """A NeuronLock layer (the class is built on first use, so importing this module needs no TF)."""
    return _classes()[0](*args, **kw)


def InputPermute(*args, **kw):
    """An InputPermute layer (input-permutation lock)."""
    return _classes()[1](*args, **kw)


def is_lock(layer) -> bool:
    return type(layer).__name__ in ("NeuronLock", "InputPermute")


def is_input_perm(layer) -> bool:
    return type(layer).__name__ == "InputPermute"
