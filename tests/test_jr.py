"""Per-layer Jacobian regularization: the estimate is right, STQ stays stochastic while training and
deterministic at inference with JR on, JR-trained models are ordinary QKeras models for the spec,
and `harden:` config mistakes are named."""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow import keras

from codesign.errors import ConfigError
from codesign.models import build_model, layer_names
from codesign.techniques.stq_jr.layer import apply_stq, to_q8
from codesign.techniques.stq_jr.train import JacobianRegularizer, make_regularizer
from codesign.train import train_model

LAYERS = [{"flatten": {}}, {"dense": {"units": 16, "kernel": "stochastic_ternary"}},
          {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]


def test_projection_estimate_matches_the_exact_frobenius_norm():
    """Float twin: dense_2 (no activation after it) has Jacobian W, so ||J||_F^2 = ||W||_F^2 exactly;
    dense_1 covers its ReLU (diag(relu') W) and input-to-logits, both checked against tf's exact
    batch_jacobian."""
    model = build_model(LAYERS, (8, 8), 10, quantized=False)
    x = tf.constant(np.random.default_rng(0).random((64, 8, 8)).astype("float32"))
    jr = JacobianRegularizer({"dense_1": 1.0, "dense_2": 0.5, "logits": 2.0}, projections=400)
    logits, penalty, terms = jr(model, x)
    np.testing.assert_allclose(logits.numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    w = model.get_layer("dense_2").kernel.numpy()
    assert float(terms["dense_2"]) == pytest.approx(float(np.sum(w ** 2)), rel=0.05)
    h = model.get_layer("flatten_1")(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(h)
        hidden = model.get_layer("relu_1")(model.get_layer("dense_1")(h))
        out = model(x)
    for name, jac in (("dense_1", tape.batch_jacobian(hidden, h)), ("logits", tape.batch_jacobian(out, x))):
        exact = float(np.mean(np.sum(jac.numpy().reshape(len(x), -1) ** 2, axis=1)))
        assert float(terms[name]) == pytest.approx(exact, rel=0.05), name
    assert float(penalty) == pytest.approx(
        0.5 * float(terms["dense_1"]) + 0.25 * float(terms["dense_2"]) + float(terms["logits"]), rel=1e-5)


def test_penalty_has_weight_gradients_and_one_projection_is_unbiased():
    model = build_model(LAYERS, (8, 8), 10, quantized=False)
    x = tf.constant(np.random.default_rng(1).random((256, 8, 8)).astype("float32"))
    jr = JacobianRegularizer({"logits": 1.0}, projections=1)
    with tf.GradientTape() as tape:
        _, penalty, _ = jr(model, x)
    grads = tape.gradient(penalty, model.trainable_variables)
    assert all(g is not None for g in grads[:1]) and float(tf.norm(grads[0])) > 0
    single = np.mean([float(jr(model, x)[2]["logits"]) for _ in range(30)])
    many = float(JacobianRegularizer({"logits": 1.0}, projections=300)(model, x)[2]["logits"])
    assert single == pytest.approx(many, rel=0.1)


def test_stq_stochastic_while_training_with_jr_and_deterministic_at_inference():
    model = build_model(LAYERS, (8, 8), 10)
    x = tf.constant(np.random.default_rng(0).random((32, 8, 8)).astype("float32"))
    jr = JacobianRegularizer({"dense_1": 0.01, "logits": 0.1})
    with keras.backend.learning_phase_scope(1):
        a, b = jr(model, x)[0].numpy(), jr(model, x)[0].numpy()
    assert not np.array_equal(a, b), "stochastic_ternary did not sample inside the JR forward pass"
    from codesign.data import load_digits

    d = load_digits()
    history = train_model(model, d.x_train, d.y_train, epochs=6, batch_size=32, learning_rate=3e-3, regularizer=jr)
    assert history[-1] < history[0]
    xt = d.x_test.astype("float32") / 256
    assert np.array_equal(model.predict(xt, verbose=0), model.predict(xt, verbose=0))
    assert np.mean(np.argmax(model.predict(xt, verbose=0), -1) == d.y_test) > 0.7
    # an ordinary QKeras model: the spec takes it and the integer emulator agrees with Keras
    from codesign.emulator import Emulator
    from codesign.extract import extract_spec

    spec = extract_spec(model, "jr_digits")
    emu = Emulator(spec).predict_classes(d.x_test)
    assert np.mean(emu == np.argmax(model.predict(xt, verbose=0), -1)) >= 0.99
    w = spec.layer("dense_1").params["weight"]
    assert set(np.unique(w)) <= {-1, 0, 1}


def test_jacobian_of_deployed_penalizes_the_deterministic_network():
    """`jacobian_of: deployed`: while STQ samples (learning phase 1) the logits still vary from call to
    call, but the penalty is the Jacobian of the deterministic ternary network: equal to the sampled
    regularizer's penalty taken at inference (same projections), and it has weight gradients."""
    model = build_model(LAYERS, (8, 8), 10)
    x = tf.constant(np.random.default_rng(0).random((32, 8, 8)).astype("float32"))
    deployed = JacobianRegularizer({"dense_1": 0.01, "logits": 0.1}, jacobian_of="deployed")
    sampled = JacobianRegularizer({"dense_1": 0.01, "logits": 0.1})
    with keras.backend.learning_phase_scope(1):
        tf.random.set_seed(5)
        with tf.GradientTape() as tape:
            logits_a, penalty, terms = deployed(model, x)
        grads = tape.gradient(penalty, model.trainable_variables)
        logits_b = deployed(model, x)[0]
        tf.random.set_seed(5)
        sampled_terms = sampled(model, x)[2]
    assert not np.array_equal(logits_a.numpy(), logits_b.numpy()), "the loss pass must stay stochastic"
    with keras.backend.learning_phase_scope(0):
        tf.random.set_seed(5)
        reference = sampled(model, x)[2]
    for name in ("dense_1", "logits"):
        assert float(terms[name]) == pytest.approx(float(reference[name]), rel=1e-5), name
    assert float(sampled_terms["logits"]) != pytest.approx(float(reference["logits"]), rel=1e-3)
    assert grads[0] is not None and float(tf.norm(grads[0])) > 0


def test_lambda_warmup_ramps_the_penalty_in_the_main_phase_only():
    """`harden.jr.warmup: 4`: the penalty counts 1/4, 2/4, 3/4 of itself in the first three epochs,
    in full from the fourth, and in full in the deterministic fine-tune phase. The Jacobian is
    replaced by a constant 1000 so each epoch's mean loss shows the factor it was given."""
    from codesign.data import load_digits
    from codesign.train import train_from_config

    jr = make_regularizer({"jr": {"layers": {"logits": 1.0}, "projections": 1, "warmup": 4}})
    assert [jr.scale_at(e) for e in (1, 2, 4, 9)] == [0.25, 0.5, 1.0, 1.0]
    jr._jacobians = lambda model, x: (model(x, training=True), tf.constant(1000.0), {})
    d = load_digits()
    model = build_model(LAYERS, d.input_shape, 10)
    t = {"epochs": 5, "batch_size": 64, "learning_rate": 3e-3, "finetune": {"epochs": 1, "learning_rate": 1e-3}}
    history = train_from_config(model, d.x_train, d.y_train, t, seed=0, stochastic=True, regularizer=jr)
    for h, p in zip(history, (250, 500, 750, 1000, 1000, 1000)):  # cross-entropy is under 3
        assert p <= h < p + 3, history


def test_jr_lowers_the_input_jacobian():
    from codesign.data import load_digits

    d = load_digits()
    x = tf.constant(d.x_test.astype("float32") / 256)
    norms = {}
    for lam in (0.0, 0.3):
        model = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=3)
        train_model(model, d.x_train, d.y_train, epochs=6, batch_size=32, learning_rate=3e-3, seed=3,
                    stochastic=False, regularizer=make_regularizer({"jr": {"layers": {"logits": lam}, "projections": 1}}))
        norms[lam] = float(JacobianRegularizer({"logits": 1.0}, projections=50)(model, x)[2]["logits"])
    assert norms[0.3] < 0.5 * norms[0.0], norms


def test_layer_lists_for_variants():
    names = layer_names(LAYERS)
    assert names == ["flatten_1", "dense_1", "relu_1", "dense_2"]
    q8 = to_q8(LAYERS)
    assert q8[1]["dense"]["kernel"] == {"bits": 8, "integer": 0} and LAYERS[1]["dense"]["kernel"] == "stochastic_ternary"
    narrow = to_q8([{"dense": {"units": 4, "kernel": {"bits": 4, "integer": 0}}},
                    {"dense": {"units": 2, "kernel": {"bits": 8, "integer": 1}}}])
    assert [e["dense"]["kernel"] for e in narrow] == [{"bits": 8, "integer": 0}, {"bits": 8, "integer": 1}]
    plain = [{"flatten": {}}, {"dense": {"units": 16, "kernel": {"bits": 8}}}, {"relu": {"bits": 8, "integer": 3}},
             {"dense": {"units": 10, "kernel": {"bits": 8}}}]
    stq = apply_stq(plain, {"layers": "all"})
    assert stq[1]["dense"]["kernel"] == "stochastic_ternary" and stq[3]["dense"]["kernel"] == {"bits": 8}
    assert apply_stq(plain, None) is plain
    assert make_regularizer({"jr": {"layers": {}, "projections": 1}}) is None


def test_non_chain_models_are_refused():
    inp = keras.Input((4,))
    a, b = keras.layers.Dense(3, name="a")(inp), keras.layers.Dense(3, name="b")(inp)
    model = keras.Model(inp, keras.layers.Add(name="add")([a, b]))
    with pytest.raises(ConfigError, match="chain"):
        JacobianRegularizer({"logits": 0.1})(model, tf.zeros((2, 4)))


@pytest.mark.parametrize("harden, robustness, message", [
    ({"jr": {"layers": {"dense_7": 0.1}}}, None, "harden.jr.layers: 'dense_7' is not a layer"),
    ({"jr": {"layers": {"relu_1": 0.1}}}, None, "harden.jr.layers: 'relu_1' is an activation"),
    ({"jr": {"layers": {"logits": -0.1}}}, None, "lambda must be a number >= 0"),
    ({"jr": {"projections": 0}}, None, "harden.jr.projections"),
    ({"stq": {"layers": ["relu_1"]}}, None, "not dense/conv2d layers"),
    ({"jr": {"layres": {}}}, None, "unknown config key harden.jr.'layres'"),
    ({"jr": {"layers": {"logits": 0.1}, "jacobian_of": "float"}}, None, "harden.jr.jacobian_of must be one of"),
    ({"jr": {"layers": {"logits": 0.1}, "warmup": 2.5}}, None, "harden.jr.warmup must be an integer"),
    (None, {"enabled": True}, "harden.jr.layers sets no lambda"),
    (None, {"attacks": ["cw"]}, "robustness.attacks"),
    (None, {"epsilons": [0, 0.1]}, "robustness.epsilons"),
])
def test_config_errors_name_the_key(tmp_path, harden, robustness, message):
    import yaml

    from conftest import EXAMPLES, assert_user_error, codesign

    cfg = yaml.safe_load((EXAMPLES / "mnist_mlp.yaml").read_text())
    if harden is not None:
        cfg["harden"] = harden
    if robustness is not None:
        cfg["robustness"] = robustness
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    from codesign.config import load_config

    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "bad.yaml")
    assert message in str(e.value)
    if message.startswith("harden.jr.layers:"):  # and through the CLI: exit 2, nothing written
        proc = codesign("flow", tmp_path / "bad.yaml", "--out", tmp_path / "run", check=False)
        assert_user_error(proc, message)
        assert not (tmp_path / "run" / "report.json").exists()
