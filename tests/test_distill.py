"""`harden.distill`: the distillation term is the KL to the teacher at points of the eps-ball, the
student trained with it ends closer to its float + JR teacher than without, the flow trains the
teacher once and reports it as the `float_jr` variant, and config mistakes are named."""
import json

import numpy as np
import pytest
import tensorflow as tf
import yaml

from codesign.config import check_config
from codesign.errors import ConfigError
from codesign.techniques.stq_jr.distill import Distillation
from codesign.techniques.stq_jr.train import make_regularizer
from codesign.models import build_model
from codesign.train import INPUT_MAX

LAYERS = [{"flatten": {}}, {"dense": {"units": 128, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
          {"relu": {"bits": 8, "integer": 3}},
          {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]
JR = {"jr": {"layers": {"logits": 0.1}, "projections": 1}}


def _kl(p, logits):
    q = np.exp(logits - logits.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)
    return float(np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=-1)))


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_term_is_the_kl_to_the_teacher_on_clean_inputs():
    """epsilon 0: the penalty is JR's plus weight * T^2 * KL(teacher/T || student/T) on x itself,
    checked against numpy; a student equal to its teacher pays nothing for it."""
    teacher = build_model(LAYERS, (8, 8), 10, quantized=False, seed=1)
    student = build_model(LAYERS, (8, 8), 10, quantized=False, seed=2)
    x = tf.constant(np.random.default_rng(0).random((32, 8, 8)).astype("float32"))
    jr = make_regularizer(JR)
    d = Distillation(teacher, jr, weight=3.0, temperature=2.0, epsilon=0.0)
    tf.random.set_seed(0)
    logits, penalty, terms = d(student, x)
    tf.random.set_seed(0)
    _, jr_penalty, _ = jr(student, x)
    t, s = teacher(x).numpy(), student(x).numpy()
    expected = _kl(_softmax(t / 2.0), s / 2.0)
    assert float(terms["distill"]) == pytest.approx(expected, rel=1e-4)
    assert float(penalty) == pytest.approx(float(jr_penalty) + 3.0 * 4.0 * expected, rel=1e-4)
    np.testing.assert_allclose(logits.numpy(), s, rtol=1e-5, atol=1e-6)
    student.set_weights(teacher.get_weights())
    assert float(d(student, x)[2]["distill"]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("steps, step_ratio", [(1, 1.0), (3, 0.4)])
def test_student_inputs_stay_in_the_ball_and_raise_the_kl(steps, step_ratio):
    """epsilon 0.1, one full step or three smaller ones: x' lies in the L-inf ball and the pixel range,
    and the student disagrees with the teacher more at x' than at x (the steps go up the KL)."""
    teacher = build_model(LAYERS, (8, 8), 10, quantized=False, seed=1)
    student = build_model(LAYERS, (8, 8), 10, quantized=False, seed=2)
    x = tf.constant(np.random.default_rng(0).random((64, 8, 8)).astype("float32") * INPUT_MAX)
    d = Distillation(teacher, make_regularizer(JR), weight=1.0, temperature=1.0, epsilon=0.1,
                     steps=steps, step_ratio=step_ratio)
    p = tf.nn.softmax(teacher(x))
    xa = d.student_inputs(student, x, p).numpy()
    gap = np.abs(xa - x.numpy())
    assert gap.max() <= 0.1 + 1e-6 and xa.min() >= 0 and xa.max() <= INPUT_MAX + 1e-7
    assert gap.mean() > 0.03  # moved, not left at x
    assert float(d._kl(p, student(xa))) > float(d._kl(p, student(x)))


@pytest.mark.slow
def test_training_with_the_term_pulls_the_student_to_its_teacher(mnist_folder):
    """Real MNIST digits through the training loop: a float student trained with the distillation
    term on clean inputs (a large weight) ends with a far smaller KL to its teacher on test digits than
    the same student trained from the same start without it."""
    from codesign.data import load_dataset, to_model_input
    from codesign.train import train_model

    data = load_dataset({"dataset": "mnist", "train": 1500, "test": 500}, 0)
    teacher = build_model(LAYERS, (28, 28), 10, quantized=False, seed=1)
    train_model(teacher, data.x_train, data.y_train, epochs=4, seed=1, stochastic=False)
    jr = make_regularizer(JR)
    kls = []
    for distill in (True, False):
        student = build_model(LAYERS, (28, 28), 10, quantized=False, seed=2)
        reg = Distillation(teacher, jr, weight=20.0, temperature=1.0, epsilon=0.0) if distill else jr
        train_model(student, data.x_train, data.y_train, epochs=4, seed=2, stochastic=False, regularizer=reg)
        x = to_model_input(data.x_test)
        p = np.clip(_softmax(teacher.predict(x, verbose=0).astype(np.float64)), 1e-12, 1)
        kls.append(_kl(p, student.predict(x, verbose=0).astype(np.float64)))
    assert kls[0] < 0.5 * kls[1], kls


@pytest.mark.slow
def test_flow_trains_the_teacher_once_and_reports_it_as_float_jr(tmp_path, mnist_folder):
    from conftest import codesign

    cfg = {"name": "distill_flow", "seed": 0, "data": {"dataset": "mnist", "train": 1000, "test": 200},
           "model": {"layers": LAYERS}, "train": {"epochs": 2, "batch_size": 64, "learning_rate": 0.002},
           "baseline": {"float": False}, "hls": {"enabled": False},
           "harden": {"stq": {"layers": "all"}, **JR, "distill": {"weight": 5.0}},
           "robustness": {"enabled": True, "variants": ["float_jr", "stq_jr"], "attacks": ["pgd"],
                          "epsilons": [0.1], "samples": 50, "pgd": {"steps": 3, "step_ratio": 0.5}}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    proc = codesign("flow", tmp_path / "cfg.yaml", "--out", out, "--no-rtl")
    log = proc.stdout + proc.stderr
    assert log.count("train: float_jr epoch 1/2") == 1, log
    assert "distillation from the float + JR model" in log
    report = json.loads((out / "report.json").read_text())
    assert set(report["robustness"]) == {"float_jr", "stq_jr"}
    assert report["robustness"]["stq_jr"]["size_kb"] < report["robustness"]["float_jr"]["size_kb"] / 10
    assert (out / "robustness" / "float_jr" / "model.h5").exists()
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["harden"]["distill"] == {"weight": 5.0, "temperature": 1.0, "epsilon": 0.1,
                                         "steps": 1, "step_ratio": 1.0, "teacher": "float_jr"}


@pytest.mark.parametrize("distill, jr, message", [
    ({"wieght": 1.0}, JR["jr"], "unknown config key harden.distill.'wieght'"),
    ({"weight": 0}, JR["jr"], "harden.distill.weight must be a number > 0"),
    ({"epsilon": 2}, JR["jr"], "harden.distill.epsilon must be an L-inf radius"),
    ({"temperature": "hot"}, JR["jr"], "harden.distill.temperature must be a number > 0"),
    ({"steps": 0}, JR["jr"], "harden.distill.steps must be an integer >= 1"),
    ({"step_ratio": 1.5}, JR["jr"], "harden.distill.step_ratio must be a number in (0, 1]"),
    ("yes", JR["jr"], "harden.distill must be null or a mapping"),
    ({}, {"layers": {}}, "harden.distill needs Jacobian regularization"),
])
def test_config_errors_name_the_key(distill, jr, message):
    with pytest.raises(ConfigError) as e:
        check_config({"model": {"layers": LAYERS}, "harden": {"stq": {"layers": "all"}, "jr": jr, "distill": distill}})
    assert message in str(e.value)


# ----------------------------------------------------------------- teacher: dense (a Kronecker network's dense reference)
KRON_LAYERS = [{"flatten": {}},
               {"kron_dense": {"in_factors": [8, 8], "out_factors": [4, 8], "rank": 1, "kernel": {"bits": 8, "integer": 0},
                               "bias": {"bits": 8, "integer": 3}, "sparsity": 0.3, "condition": 0.001}},
               {"relu": {"bits": 8, "integer": 3}},
               {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]


def test_dense_twin_of_the_kron_example_is_its_hand_written_reference():
    """The dense reference the Kronecker example is judged against (bench/robustness_kron_dense_reference.yaml)
    is exactly what `teacher: dense` distils from: the example's layers with kron_dense made dense."""
    from pathlib import Path

    from codesign.techniques.kron.reference import dense_twin

    root = Path(__file__).resolve().parents[1]
    example = yaml.safe_load((root / "examples/mnist_mlp_kron_robust.yaml").read_text())["model"]["layers"]
    reference = yaml.safe_load((root / "bench/robustness_kron_dense_reference.yaml").read_text())["model"]["layers"]
    assert dense_twin(example) == reference
    assert example[1]["kron_dense"]["out_factors"] == [16, 16]  # the twin was made from the file, not copied


def test_kron_student_distils_from_its_trained_dense_reference():
    """teacher: dense on real digits: the regularizer is a Distillation (no JR) whose teacher is the
    dense_ref variant, trained once with the run's recipe (a dense layer of the kron layer's 32 units, well
    above chance) and kept in `trained`; its penalty is weight * KL to that teacher."""
    from codesign.data import load_dataset, to_model_input
    from codesign.techniques.kron.layer import KronDense
    from codesign.train import keras_accuracy
    from codesign.variants import training_regularizer

    cfg = check_config({"name": "kron_distill", "seed": 0, "data": {"dataset": "digits"},
                        "model": {"layers": KRON_LAYERS}, "train": {"epochs": 3, "learning_rate": 0.005},
                        "harden": {"distill": {"teacher": "dense", "weight": 2.0, "epsilon": 0.0}}})
    data = load_dataset(cfg["data"], 0)
    trained, logs = {}, []
    reg = training_regularizer(cfg, data, quantized=True, log=logs.append, trained=trained)
    assert isinstance(reg, Distillation) and reg.teacher is trained["dense_ref"]
    assert sum("train: dense_ref epoch" in line for line in logs) == 3
    teacher = trained["dense_ref"]
    assert not any(isinstance(l, KronDense) for l in teacher.layers)
    assert [l.units for l in teacher.layers if hasattr(l, "units")] == [32, 10]
    assert keras_accuracy(teacher, data.x_test, data.y_test) > 0.8
    student = build_model(KRON_LAYERS, data.input_shape, data.num_classes, quantized=True, seed=3)
    x = tf.constant(to_model_input(data.x_test[:64]))
    _, penalty, terms = reg(student, x)
    expected = _kl(np.clip(_softmax(teacher(x).numpy().astype(np.float64)), 1e-12, 1), student(x).numpy())
    assert float(terms["distill"]) == pytest.approx(expected, rel=1e-3) and expected > 0.1
    assert float(penalty) == pytest.approx(2.0 * expected, rel=1e-3)
    # the same call again reuses the trained teacher
    assert training_regularizer(cfg, data, quantized=True, log=logs.append, trained=trained).teacher is teacher
    assert sum("train: dense_ref epoch" in line for line in logs) == 3


@pytest.mark.parametrize("layers, harden, message", [
    (LAYERS, {"distill": {"teacher": "dense"}}, "model.layers has no kron_dense layer; use teacher: float_jr"),
    (KRON_LAYERS, {"distill": {"teacher": "float_jr"}}, "set distill.teacher: dense"),
    (KRON_LAYERS, {"distill": {"teacher": "kron"}}, "harden.distill.teacher must be one of ['float_jr', 'dense']"),
])
def test_dense_teacher_config_errors(layers, harden, message):
    with pytest.raises(ConfigError) as e:
        check_config({"model": {"layers": layers}, "harden": harden})
    assert message in str(e.value)


@pytest.mark.slow
def test_flow_distils_a_kron_network_from_its_dense_reference(tmp_path):
    """`codesign flow` on digits with a kron_dense layer and `distill: {teacher: dense}` (no JR): the
    dense reference is trained first (once), the log names it as the teacher, and the Kronecker model the
    flow then extracts and emulates is the student (its kron_dense layer in the spec)."""
    from conftest import codesign

    cfg = {"name": "kron_distill_flow", "seed": 0, "data": {"dataset": "digits"},
           "model": {"layers": KRON_LAYERS}, "train": {"epochs": 2, "learning_rate": 0.005},
           "baseline": {"float": False}, "hls": {"enabled": False},
           "harden": {"distill": {"teacher": "dense", "weight": 2.0, "steps": 1}}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    proc = codesign("flow", tmp_path / "cfg.yaml", "--out", out, "--no-rtl")
    log = proc.stdout + proc.stderr
    assert log.count("train: dense_ref epoch 1/2") == 1, log
    assert "train: distillation from the dense reference" in log and "Jacobian regularization" not in log, log
    assert log.index("train: dense_ref epoch 2/2") < log.index("train: epoch 1/2"), log
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"]["emulator"] > 0.5, report["accuracy"]
    spec = json.loads(next((out / "spec").glob("*.json")).read_text())
    assert "kron_dense" in json.dumps(spec)
