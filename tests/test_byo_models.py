"""Bring your own QKeras model: models built here, compiled through the public entry points, and every
spec checked against QKeras (codesign/verify.py) and, per model, against the hls4ml C-sim.

Each model combines several layer kinds so the C-sim builds stay few."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import codesign, csim_equals_emulator


def _randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    ws = []
    for w in model.weights:
        name = w.name
        if "moving_variance" in name:
            ws.append(rng.uniform(0.5, 2.0, w.shape).astype(np.float32))
        elif "gamma" in name:
            ws.append(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
        elif "iteration" in name:
            ws.append(np.zeros(w.shape, w.dtype.as_numpy_dtype))
        else:
            ws.append(rng.normal(0, scale, w.shape).astype(np.float32))
    model.set_weights(ws)
    return model


def mlp_fused(seed=0):
    """QConv1D + MaxPooling1D, string-form QActivation, fused quantized_relu, Dropout, Activation('relu'), ReLU,
    a fused final softmax."""
    from qkeras import QActivation, QConv1D, QDense, quantized_bits
    from tensorflow import keras

    q = {"kernel_quantizer": quantized_bits(6, 0, alpha=1), "bias_quantizer": quantized_bits(6, 2, alpha=1)}
    i = keras.Input((10, 2), name="sequence")
    x = QConv1D(3, 3, activation="quantized_relu(4,0)", name="c1", **q)(i)
    x = keras.layers.MaxPooling1D(2, name="pool1")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dropout(0.2, name="drop")(x)
    x = QDense(10, name="d2", **q)(x)
    x = QActivation("quantized_relu(5,1)", name="a2")(x)
    x = QDense(8, name="d3", **q)(x)
    x = keras.layers.Activation("relu", name="r3")(x)
    x = QDense(6, name="d4", **q)(x)
    x = keras.layers.ReLU(name="r4")(x)
    x = QDense(5, activation="softmax", name="logits", **q)(x)
    return _randomize(keras.Model(i, x, name="mlp_fused"), seed)


def cnn_bn(seed=0):
    """A signed quantized input (QActivation on the input), QConv2DBatchnorm, QConv2D 'same', maxpool, QDense.
    (QDenseBatchnorm is not in the installed QKeras 0.9.0, so no test builds one.)"""
    from qkeras import QActivation, QConv2D, QConv2DBatchnorm, QDense, quantized_bits
    from tensorflow import keras

    q = {"kernel_quantizer": quantized_bits(6, 0, alpha=1), "bias_quantizer": quantized_bits(8, 3, alpha=1)}
    i = keras.Input((8, 8, 2), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QConv2DBatchnorm(4, (3, 3), name="cbn", **q)(x)
    x = QActivation("quantized_relu(6,2)", name="cbn_relu")(x)
    x = QConv2D(4, (3, 3), padding="same", activation="quantized_relu(6,2)", name="c2", **q)(x)
    x = keras.layers.MaxPooling2D((2, 2), name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(5, name="out", **q)(x)
    return _randomize(keras.Model(i, x, name="cnn_bn"), seed)


def quantizers(seed=5):
    """Per-output power-of-two scales (quantized_bits and ternary alpha='auto_po2'), quantized_po2 weights, a
    symmetric quantized_bits activation (also on the input) and an unsigned one."""
    from qkeras import QActivation, QDense, quantized_bits, quantized_po2, ternary
    from tensorflow import keras

    b = quantized_bits(8, 3, alpha=1)
    i = keras.Input((12,))
    x = QActivation(quantized_bits(8, 1, symmetric=1), name="in_q")(i)
    x = QDense(10, kernel_quantizer=quantized_bits(6, 0, alpha="auto_po2"), bias_quantizer=b, name="po2scale")(x)
    x = QActivation(quantized_bits(6, 2, symmetric=1), name="sym")(x)
    x = QDense(8, kernel_quantizer=quantized_po2(4, 1), bias_quantizer=b, name="po2")(x)
    x = QActivation(quantized_bits(5, 2, keep_negative=0), name="unsigned")(x)
    x = QDense(6, kernel_quantizer=ternary(alpha="auto_po2"), bias_quantizer=b, name="tern")(x)
    return _randomize(keras.Model(i, x, name="quantizers"), seed)


def test_qconv2d_batchnorm_compiles_bit_exact(tmp_path):
    """The issue's silent wrong answer: QConv2DBatchnorm's folded batch norm is in the spec, equal to QKeras."""
    from codesign.compile import compile_file
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    m = cnn_bn()
    m.save(tmp_path / "m.h5")
    summary = compile_file(tmp_path / "m.h5", tmp_path / "spec")
    assert "input fixed<6,3,RND_CONV,SAT>" in summary
    spec = DesignSpec.load(tmp_path / "spec")
    x = np.random.default_rng(1).normal(0, 2, (300, 8, 8, 2)).astype(np.float32)
    ours = Emulator(spec).predict(x)
    assert np.array_equal(ours, m.predict(x, verbose=0).astype(np.float64))


def test_broken_extraction_is_caught(tmp_path, monkeypatch):
    """An extractor that drops the folded batch norm (what the issue's bug did) stops compile at that layer."""
    import codesign.extract as ex
    from codesign.compile import compile_file
    from codesign.verify import ExtractionMismatchError

    m = cnn_bn()
    m.save(tmp_path / "m.h5")
    monkeypatch.setattr(ex, "_is_batchnorm_folded", lambda layer: False)
    with pytest.raises(ExtractionMismatchError, match="at layer 'cbn'"):
        compile_file(tmp_path / "m.h5", tmp_path / "spec")
    assert not (tmp_path / "spec").exists()


def test_dropped_bias_is_caught(tmp_path, monkeypatch):
    import codesign.extract as ex
    from codesign.compile import compile_file
    from codesign.verify import ExtractionMismatchError

    mlp_fused().save(tmp_path / "m.h5")
    real = ex._weights_and_bias
    monkeypatch.setattr(ex, "_weights_and_bias",
                        lambda layer: real(layer)[:2] + ((None,) if layer.name == "d3" else real(layer)[2:]))
    with pytest.raises(ExtractionMismatchError, match="at layer 'd3'"):
        compile_file(tmp_path / "m.h5", tmp_path / "spec")


def test_compile_cli_fused_activations(tmp_path):
    """The CLI compiles the zoo's usual layer mix unmodified; summary on stdout, notes the dropped softmax."""
    mlp_fused().save(tmp_path / "m.h5")
    proc = codesign("compile", tmp_path / "m.h5", "--out", tmp_path / "spec", "--input-type", "fixed<10,4,RND_CONV,SAT>")
    assert "6/7 layers bit-exact" in proc.stdout and "softmax" in proc.stdout


@pytest.mark.parametrize("build, input_type",
                         [pytest.param(mlp_fused, "fixed<10,4,RND_CONV,SAT>", marks=pytest.mark.slow), (cnn_bn, None),
                          pytest.param(quantizers, None, marks=pytest.mark.slow)],  # one g++ build in the fast loop
                         ids=["mlp_fused", "cnn_bn", "quantizers"])
def test_csim_equals_emulator_and_qkeras(tmp_path, build, input_type):
    """One C-sim build per model: hls4ml C-sim == emulator == QKeras on real-valued inputs, bit for bit."""
    from codesign.compile import compile_file
    from codesign.fixed import to_real
    from codesign.spec import DesignSpec

    m = build()
    m.save(tmp_path / "m.h5")
    compile_file(tmp_path / "m.h5", tmp_path / "spec", input_type=input_type)
    spec = DesignSpec.load(tmp_path / "spec")
    x, x_int, ours = csim_equals_emulator(m, spec, tmp_path)
    keras_out = m.predict(to_real(x_int, spec.input_type).astype(np.float32).reshape(x.shape), verbose=0)
    if spec.meta.get("notes"):  # a dropped softmax: the argmax is what stays
        assert np.array_equal(np.argmax(keras_out, -1), np.argmax(ours, -1))
    else:
        assert np.array_equal(to_real(ours, spec.output_type), keras_out.astype(np.float64))


def test_evaluate_takes_real_inputs_and_checks_shapes(tmp_path):
    """`codesign evaluate` quantizes real-valued `x` as the spec's input type says; a channels-first array of the
    same size is refused with one line, not reshaped."""
    m = cnn_bn()
    (tmp_path / "run" / "model").mkdir(parents=True)
    m.save(tmp_path / "run" / "model" / "model.h5")
    codesign("compile", tmp_path / "run" / "model" / "model.h5", "--out", tmp_path / "run" / "spec")
    x = np.random.default_rng(4).normal(0, 2, (200, 8, 8, 2)).astype(np.float32)
    y = np.argmax(m.predict(x, verbose=0), -1)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    import json

    for view in ("emulator", "keras"):
        out = json.loads(codesign("evaluate", tmp_path / "run", "--data", tmp_path / "d.npz", "--view", view).stdout)
        assert out == {"view": view, "samples": 200, "accuracy": 1.0}
    np.savez(tmp_path / "cf.npz", x=x.transpose(0, 3, 1, 2), y=y)
    proc = codesign("evaluate", tmp_path / "run", "--data", tmp_path / "cf.npz", check=False)
    assert proc.returncode == 2 and "(2, 8, 8)" in proc.stderr and "(8, 8, 2)" in proc.stderr


def _chain(*layers, shape=(8, 8, 2)):
    from tensorflow import keras

    i = keras.Input(shape)
    x = i
    for layer in layers:
        x = layer(x)
    return _randomize(keras.Model(i, x))


def _q():
    from qkeras import quantized_bits

    return {"kernel_quantizer": quantized_bits(6, 0, alpha=1), "bias_quantizer": quantized_bits(8, 3, alpha=1)}


def _rejected_models():
    """(model, text the one-line error must contain) for each layer/quantizer the spec cannot hold yet."""
    from qkeras import QActivation, QConv2D, QDense, QSeparableConv2D, binary, quantized_bits, quantized_relu
    from tensorflow import keras

    L = keras.layers
    i = keras.Input((8, 8, 2))
    a = QConv2D(2, 3, padding="same", name="ca", **_q())(i)
    b = QConv2D(2, 3, padding="same", name="cb", **_q())(i)
    product = keras.Model(i, L.Multiply(name="mul")([a, b]))  # Add / Subtract / Concatenate: tests/test_byo_merge.py
    return [
        (_chain(QConv2D(2, 3, name="c", **_q()), L.UpSampling2D(interpolation="bilinear", name="up")),
         "'up' (UpSampling2D): interpolation 'bilinear'"),
        (product, "'mul' (Multiply) merges 2 inputs; of the layers with several inputs the design spec holds Add, Subtract, Concatenate"),
        (_chain(QSeparableConv2D(2, 3, name="sc")), "'sc' (QSeparableConv2D) has no depthwise quantizer"),
        (_chain(L.Flatten(), QDense(4, kernel_quantizer=quantized_bits(6, 0, alpha="auto_po2"), use_bias=False),
                QActivation(binary(alpha="auto"), name="bin")), "'bin' (QActivation): activation binary(alpha='auto')"),
        (_chain(L.Flatten(), QDense(4, name="fl", **_q()), QActivation(quantized_relu(4, 0, negative_slope=2 ** -4),
                                                                      name="leaky")), "negative_slope=0.0625"),
        (_chain(QConv2D(2, 3, name="c", **_q()), L.AveragePooling2D(3, name="ap3")), "'ap3' (AveragePooling2D): a mean over 9"),
        (_chain(L.Flatten(), QDense(4, name="fu", **_q()),
                QActivation(quantized_relu(4, 0, relu_upper_bound=0.5, is_quantized_clip=False), name="ub")),
         "relu_upper_bound=0.5"),
        (_chain(L.Flatten(), QDense(4, name="fs", **_q()), L.Activation("sigmoid", name="sig")), "'sigmoid'"),
    ]


def test_unsupported_layers_are_rejected_with_one_clear_line():
    """Every layer/quantizer the spec cannot hold yet stops extraction naming layer, class, what and the fix."""
    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract_spec

    for model, needle in _rejected_models():
        with pytest.raises(UnsupportedLayerError) as e:
            extract_spec(model)
        msg = str(e.value)
        assert needle in msg and "\n" not in msg and "<" not in msg.replace("fixed<", ""), msg


def test_more_quantizers_equal_qkeras(tmp_path):
    """The quantizers above: the compile's layer-by-layer check passes (bit-exact); their C-sim is
    test_csim_equals_emulator_and_qkeras[quantizers]."""
    from codesign.compile import compile_file

    quantizers().save(tmp_path / "m.h5")
    summary = compile_file(tmp_path / "m.h5", tmp_path / "spec")
    assert "input fixed<8,2,RND_CONV,SAT_SYM>" in summary and "3/3 layers bit-exact" in summary


def test_relu_upper_bound_is_ignored_as_qkeras_ignores_it(tmp_path):
    """quantized_relu(relu_upper_bound=...) with the default is_quantized_clip=True: QKeras clips at the type's
    maximum and ignores the bound, so the spec must too; outputs above the bound show a clip at it would differ."""
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from codesign.compile import compile_file
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    i = keras.Input((6,))
    x = QActivation(quantized_bits(8, 3), name="in_q")(i)
    x = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(8, 3, alpha=1),
               name="d")(x)
    x = QActivation(quantized_relu(4, 1, relu_upper_bound=0.5), name="ub")(x)
    m = _randomize(keras.Model(i, x, name="upper_bound"), seed=7)
    m.save(tmp_path / "m.h5")
    assert "1/1 layers bit-exact" in compile_file(tmp_path / "m.h5", tmp_path / "spec")
    x = np.random.default_rng(8).normal(0, 3, (400, 6)).astype(np.float32)
    ours = Emulator(DesignSpec.load(tmp_path / "spec")).predict(x)
    assert np.array_equal(ours, m.predict(x, verbose=0).astype(np.float64))
    assert (ours > 0.5).mean() > 0.05 and ours.max() == 1.875  # above the ignored bound, up to ufixed<4,1>'s max


def test_quantize_real_rounds_every_float_exactly():
    """Real inputs -> input-type integers: each rounding mode on exact rationals, ties and near-ties included,
    and RND_CONV equal to QKeras' quantized_bits on float32 inputs."""
    import math
    from fractions import Fraction

    from codesign.fixed import ROUNDING_MODES, FixedType, quantize_real

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 3, 400), np.arange(-40, 41) / 8 + 1 / 16,  # exact ties at frac 3
                        np.nextafter(np.arange(-8, 9) / 8 + 1 / 16, 10), np.nextafter(np.arange(-8, 9) / 8 + 1 / 16, -10)])
    ref_round = {"TRN": math.floor, "TRN_ZERO": lambda v: math.trunc(v),
                 "RND": lambda v: math.floor(v + Fraction(1, 2)), "RND_MIN_INF": lambda v: math.ceil(v - Fraction(1, 2)),
                 "RND_ZERO": lambda v: math.ceil(v - Fraction(1, 2)) if v > 0 else math.floor(v + Fraction(1, 2)),
                 "RND_INF": lambda v: math.floor(v + Fraction(1, 2)) if v > 0 else math.ceil(v - Fraction(1, 2)),
                 "RND_CONV": round}
    for mode in ROUNDING_MODES:
        t = FixedType(10, 4, rounding=mode, overflow="SAT")
        want = [min(max(ref_round[mode](Fraction(float(v)) * 2 ** t.frac), t.qmin), t.qmax) for v in x]
        assert quantize_real(x, t).tolist() == want, mode
    from qkeras import quantized_bits

    from codesign.extract import quantized_values

    x32 = x.astype(np.float32)
    t = FixedType(8, 3, rounding="RND_CONV", overflow="SAT")
    assert np.array_equal(quantize_real(x32, t) * t.scale, quantized_values(quantized_bits(8, 2, alpha=1), x32))
