"""Separable Kronecker FC: the emulator kernel equals the dense layer it stands for, the Keras layer
equals its Kronecker weight, and the MNIST example flows bit-exact through emulator and hls4ml C-sim."""
import json

import numpy as np
import pytest

from codesign.emulator import Emulator
from codesign.fixed import FixedType
from codesign.spec import DesignSpec, Layer
from conftest import codesign, example_config
from report_checks import check_report_in_chromium



def _kron_spec(rng, n2, n1, m2, m1, rank, mid=None):
    t_in = FixedType(8, 0, signed=False)
    a = rng.integers(-128, 128, (rank, m1, n1))
    b = rng.integers(-128, 128, (rank, m2, n2))
    bias = rng.integers(-50, 50, m1 * m2)
    types = {"input": t_in, "a": FixedType(8, 1), "b": FixedType(8, 1), "bias": FixedType(8, 3),
             "mid": mid or FixedType(40, 40 - 15), "product": FixedType(48, 26), "accum": FixedType(60, 38),
             "output": FixedType(60, 38)}
    layer = Layer("k", "kron_dense", (n1 * n2,), (m1 * m2,),
                  {"activation": "linear", "n1": n1, "n2": n2, "m1": m1, "m2": m2, "rank": rank}, types,
                  {"a": a, "b": b, "bias": bias})
    return DesignSpec("k", (n1 * n2,), t_in, [layer]), a, b, bias


@pytest.mark.parametrize("shape", [(4, 6, 3, 5, 1), (7, 3, 2, 4, 3), (28, 28, 16, 16, 2)])
def test_kron_kernel_equals_its_dense_weight(shape):
    from codesign.techniques.kron.layer import kron_weight

    rng = np.random.default_rng(sum(shape))
    spec, a, b, bias = _kron_spec(rng, *shape)
    x = rng.integers(0, 256, (50, shape[0] * shape[1])).astype(np.uint8)
    got = Emulator(spec).run_int(x.astype(np.int64))
    w = kron_weight(a, b)  # the integer dense weight the factors stand for
    # accumulator frac = input 8 + a 7 + b 7 = 22; bias frac 5 -> shift 17; exact Python ints
    want = x.astype(object) @ w.astype(object) + (bias.astype(object) << 17)
    assert np.array_equal(got.astype(object), want)


def test_kron_mid_rounding_is_applied():
    rng = np.random.default_rng(3)
    exact, *_ = _kron_spec(rng, 6, 5, 4, 3, 2)
    rounded = exact.copy()
    rounded.layers[0].types["mid"] = FixedType(30, 30 - 6, rounding="TRN")  # drop 9 fraction bits
    rounded.layers[0].types["product"] = FixedType(38, 38 - 13)
    x = rng.integers(0, 256, (40, 30))
    assert not np.array_equal(Emulator(exact).run_int(x) >> 9, Emulator(rounded).run_int(x))


def test_keras_layer_matches_kron_weight():
    import tensorflow as tf

    from codesign.techniques.kron.layer import KronDense, kron_weight

    layer = KronDense([6, 4], [3, 5], rank=2, factor_bits=None, bias_bits=None)
    x = np.random.default_rng(0).random((8, 24)).astype("float32")
    y = layer(tf.constant(x)).numpy()
    a, b, bias = (v.numpy() for v in (layer.factor_a, layer.factor_b, layer.bias))
    np.testing.assert_allclose(y, x @ kron_weight(a, b) + bias, rtol=1e-5, atol=1e-5)  # float view


def test_condition_penalty_is_differentiable_and_positive():
    import tensorflow as tf

    from codesign.techniques.kron.layer import log_condition

    f = tf.Variable(np.random.default_rng(1).normal(size=(2, 4, 6)).astype("float32"))
    with tf.GradientTape() as tape:
        c = tf.reduce_mean(log_condition(f))
    g = tape.gradient(c, f)
    assert float(c) > 0 and np.all(np.isfinite(g.numpy())) and np.abs(g.numpy()).sum() > 0


@pytest.fixture(scope="module")
def kron_run(tmp_path_factory, mnist_folder):
    """examples/mnist_mlp_kron.yaml through `codesign flow` once. RTL: all 2,000 digits on the C++ harness,
    the first 256 under cocotb with stalls; yosys left to the small-design flow test."""
    tmp = tmp_path_factory.mktemp("kron")
    out = tmp / "kron"
    codesign("flow", example_config(tmp, "mnist_mlp_kron.yaml", rtl={"synth": False},
                                    baseline={"float": False}), "--out", out)
    return out, json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_kron_mlp_flow(kron_run):
    out, report = kron_run
    acc, be, comp = report["accuracy"], report["bit_exact"], report["compression"]
    assert be["samples"] == 2000 and be["emulator_vs_csim"] == 1.0
    assert be["rtl_samples"] == 2000 and be["emulator_vs_rtl"] == 1.0
    assert acc["emulator"] >= 0.94 and abs(acc["keras"] - acc["emulator"]) <= 0.005
    assert comp["layers"]["kron_dense_1"]["ratio"] >= 100
    assert (out / "hls" / "firmware" / "nnet_utils" / "nnet_kron_matvec.h").exists()


@pytest.mark.slow
def test_kron_report_renders_in_chromium(kron_run, tmp_path):
    check_report_in_chromium(kron_run[0], tmp_path, "mnist_mlp_kron")


KRON_DIGITS = [{"flatten": {}},
               {"kron_dense": {"in_factors": [8, 8], "out_factors": [4, 4], "rank": 2, "kernel": {"bits": 8, "integer": 0},
                               "bias": {"bits": 8, "integer": 3}}},
               {"relu": {"bits": 8, "integer": 3}},
               {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]


@pytest.fixture(scope="module")
def tiny_kron():
    """A 64 -> (4x4 Kronecker, rank 2) -> 10 digits model trained 2 epochs, and its spec (seconds)."""
    from codesign.data import load_dataset
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.train import train_model

    d = load_dataset({"dataset": "digits", "train": None, "test": None}, 0)
    model = build_model(KRON_DIGITS, d.input_shape, 10, seed=0)
    train_model(model, d.x_train, d.y_train, epochs=2, batch_size=32, learning_rate=3e-3, seed=0)
    return model, extract_spec(model, "tiny_kron"), d


def test_tiny_kron_extracts_to_an_emulator_equal_to_keras(tiny_kron):
    """kron/extract.py: the integer factors and exact stage types of a trained KronDense give an emulator
    whose outputs equal Keras exactly on the whole digits test split, and whose stage-1/2 types bound
    every intermediate the test split reaches."""
    from codesign.data import to_model_input
    from codesign.techniques.kron.layer import kron_weight

    model, spec, d = tiny_kron
    layer = spec.layer("kron_dense_1")
    assert layer.kind == "kron_dense" and layer.attrs == {"activation": "relu", "n1": 8, "n2": 8, "m1": 4, "m2": 4,
                                                          "rank": 2}
    assert layer.params["a"].shape == (2, 4, 8) and layer.params["b"].shape == (2, 4, 8)
    keras = model.predict(to_model_input(d.x_test), verbose=0)
    emu = Emulator(spec)
    np.testing.assert_array_equal(emu.run(d.x_test)[1], keras)
    # the accumulator type holds the exact integer product of the test inputs with the dense weight
    t = layer.types
    x = emu.quantize_input(d.x_test).reshape(len(d.x_test), -1).astype(object)
    acc = x @ kron_weight(layer.params["a"], layer.params["b"]).astype(object)
    assert t["accum"].frac == t["input"].frac + t["a"].frac + t["b"].frac
    assert t["accum"].qmin <= acc.min() and acc.max() <= t["accum"].qmax and np.abs(acc).max() > 0


def test_tiny_kron_float_factors_refused():
    """A KronDense without factor quantizers has no integer factors: extraction names the layer and the fix."""
    from tensorflow import keras

    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract_spec
    from codesign.techniques.kron.layer import KronDense

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              KronDense([8, 8], [4, 4], rank=2, factor_bits=None, bias_bits=None, name="kf")])
    with pytest.raises(UnsupportedLayerError, match="'kf' \\(KronDense\\) has float factors; set factor_bits"):
        extract_spec(model, "float_kron")


def test_tiny_kron_hls_project_names_the_kron_layer(tiny_kron, tmp_path):
    """kron/hls.py: the hls4ml project of the spec (written, then compiled) calls nnet::kron_matvec with the
    spec's factor shapes, and its weight files hold the spec's integer factors."""
    from codesign.hls_view import HLSView

    _, spec, _ = tiny_kron
    hv = HLSView(spec, tmp_path / "hls")
    hv.model.write()
    fw = tmp_path / "hls" / "firmware"
    assert (fw / "nnet_utils" / "nnet_kron_matvec.h").exists()
    top = (fw / "codesign_top.cpp").read_text()
    assert "nnet::kron_matvec<" in top
    params = (fw / "parameters.h").read_text()
    for n in ("n1 = 8", "n2 = 8", "m1 = 4", "m2 = 4", "rank = 2"):
        assert f"static const unsigned {n};" in params, n
    layer = spec.layer("kron_dense_1")
    a_files = [p for p in (fw / "weights").glob("*.txt") if p.stem.startswith("a")]
    assert a_files, sorted(p.name for p in (fw / "weights").iterdir())
    a_real = np.array([float(v) for v in a_files[0].read_text().split(",")])
    np.testing.assert_array_equal(a_real * 2 ** layer.types["a"].frac, layer.params["a"].reshape(-1))
    # compiled (g++, seconds for this size): C-sim integers = emulator integers on the whole test split
    _, _, d = tiny_kron
    x_int = Emulator(spec).quantize_input(d.x_test)
    np.testing.assert_array_equal(hv.compile().csim_int(x_int), Emulator(spec).run_int(x_int).reshape(len(x_int), -1))
