"""stochastic_ternary is stochastic inside our training step and deterministic at inference.

QKeras switches on Keras' learning phase, not on `training=`; `model.fit` would leave it deterministic.
"""
import numpy as np
from tensorflow import keras

from codesign.models import build_model
from codesign.train import train_model

LAYERS = [{"flatten": {}}, {"dense": {"units": 16, "kernel": "stochastic_ternary"}},
          {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]


def test_stochastic_while_training_deterministic_at_inference():
    """Through codesign's own training step: with a learning rate of 0 the weights never move, so the
    full-batch loss of every epoch is the same number unless the forward pass samples the ternary
    weights. stochastic=True must sample (losses differ), stochastic=False must not (losses equal),
    and inference is deterministic either way."""
    from codesign.data import load_digits

    d = load_digits()
    n = 256  # one batch an epoch: each epoch's loss is the loss of the same batch at the same weights
    losses = {}
    for stochastic in (True, False):
        model = build_model(LAYERS, d.input_shape, 10, seed=0)
        before = [w.numpy() for w in model.trainable_variables]
        losses[stochastic] = train_model(model, d.x_train[:n], d.y_train[:n], epochs=4, batch_size=n,
                                         learning_rate=0.0, seed=0, stochastic=stochastic)
        assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, model.trainable_variables))
    assert len(set(losses[True])) == 4, losses  # a new sample of the ternary weights every step
    assert len(set(losses[False])) == 1, losses  # what `model.fit` would do: the deployed network
    x = np.random.default_rng(0).random((32, 8, 8)).astype("float32")
    assert np.array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_training_learns_digits():
    from codesign.data import load_digits
    from codesign.train import keras_accuracy

    d = load_digits()
    model = build_model(LAYERS, d.input_shape, 10)
    history = train_model(model, d.x_train, d.y_train, epochs=15, batch_size=32, learning_rate=3e-3)
    assert history[-1] < history[0]
    assert keras_accuracy(model, d.x_test, d.y_test) > 0.8


def test_finetune_phase_trains_the_deterministic_network():
    """train.finetune: extra epochs with STQ in its deployed (deterministic) form lower that network's loss."""
    from codesign.data import load_digits, to_model_input
    from codesign.train import train_from_config

    d = load_digits()
    model = build_model(LAYERS, d.input_shape, 10, seed=1)
    t = {"epochs": 6, "batch_size": 32, "learning_rate": 3e-3, "adversarial": None, "finetune": None}
    train_from_config(model, d.x_train, d.y_train, t, seed=1, stochastic=True)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x = to_model_input(d.x_train)
    before = float(ce(d.y_train, model.predict(x, verbose=0)))  # predict: the deterministic ternary network
    seen = []
    history = train_from_config(model, d.x_train, d.y_train, dict(t, epochs=0, finetune={"epochs": 4}), seed=1,
                                stochastic=True, progress=lambda e, n, l: seen.append((e, n)))
    after = float(ce(d.y_train, model.predict(x, verbose=0)))
    assert len(history) == 4 and seen[-1] == (4, 4)
    assert after < 0.9 * before, (before, after)


def test_ema_ends_on_the_moving_average_of_the_weights():
    """train.ema: the trajectory is the plain one, and the model ends on the exponential moving average
    of its weights after each step (initialised at the starting weights), computed here independently
    from a run without EMA. Full-batch steps, so the per-epoch callback sees every step."""
    from codesign.data import load_digits

    d = load_digits()
    n, steps, m = len(d.x_train), 6, 0.7
    plain = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=4)
    trajectory = [[w.numpy() for w in plain.trainable_variables]]
    train_model(plain, d.x_train, d.y_train, epochs=steps, batch_size=n, learning_rate=1e-2, seed=4, stochastic=False,
                progress=lambda e, k, l: trajectory.append([w.numpy() for w in plain.trainable_variables]))
    expected = trajectory[0]
    for weights in trajectory[1:]:
        expected = [m * a + (1 - m) * w for a, w in zip(expected, weights)]
    averaged = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=4)
    train_model(averaged, d.x_train, d.y_train, epochs=steps, batch_size=n, learning_rate=1e-2, seed=4,
                stochastic=False, ema=m)
    for got, want, last in zip(averaged.trainable_variables, expected, trajectory[-1]):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-6)  # float weights: a float view
        assert not np.allclose(want, last, rtol=1e-3)  # the average is not simply the last step's weights


def test_ema_config_errors():
    import pytest

    from codesign.config import load_config
    from codesign.errors import ConfigError
    from conftest import EXAMPLES

    assert load_config(EXAMPLES / "mnist_mlp.yaml", ["train.ema=0.99"])["train"]["ema"] == 0.99
    for bad in ("1.0", "true", "fast"):
        with pytest.raises(ConfigError, match="train.ema must be null or a momentum in"):
            load_config(EXAMPLES / "mnist_mlp.yaml", [f"train.ema={bad}"])
