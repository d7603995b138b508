"""Training loop shared by every model and hardening step.

QKeras' stochastic quantizers (``stochastic_ternary``) switch on Keras' *learning phase*, not on
``training=``: ``model.fit`` leaves them deterministic. This loop therefore runs each step inside
``learning_phase_scope(1)`` when ``stochastic`` is on, so STQ is really stochastic while training,
and inference (``model.predict``, extraction) stays deterministic. tests/test_train.py checks both.
"""
from __future__ import annotations

import numpy as np

from .data import to_model_input


def train_model(model, x_uint8, y, epochs=10, batch_size=64, learning_rate=1e-3, seed=0, stochastic=True,
                progress=None, regularizer=None):
    """Adam on softmax cross-entropy of the logits; returns per-epoch mean loss.

    `regularizer` (optional, e.g. `codesign.harden.JacobianRegularizer`) is called as
    ``logits, penalty, terms = regularizer(model, xb)`` in place of the plain forward pass, inside the
    same learning-phase scope; the loss becomes cross-entropy + penalty.
    """
    import tensorflow as tf
    from tensorflow import keras

    tf.keras.utils.set_random_seed(seed)
    opt = keras.optimizers.Adam(learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x = to_model_input(x_uint8)
    y = np.asarray(y, dtype=np.int64)

    def forward(xb, yb):
        if regularizer is None:
            loss = loss_fn(yb, model(xb, training=True))
        else:
            logits, penalty, _ = regularizer(model, xb)
            loss = loss_fn(yb, logits) + penalty
        if model.losses:  # layer penalties (add_loss), e.g. KronDense sparsity and conditioning
            loss = loss + tf.add_n(model.losses)
        return loss

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            if stochastic:
                with keras.backend.learning_phase_scope(1):
                    loss = forward(xb, yb)
            else:
                loss = forward(xb, yb)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            losses.append(float(step(x[idx], y[idx])))
        history.append(float(np.mean(losses)))
        if progress:
            progress(epoch + 1, epochs, history[-1])
    return history


def keras_accuracy(model, x_uint8, y) -> float:
    logits = model.predict(to_model_input(x_uint8), batch_size=500, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y)))
