"""Bring your own QKeras model, the layers added for issue #20's list: pooling ('same' max pooling, average and
global average pooling) and the activations (leaky quantized_relu, binary, binary_tanh, ternary). Each model is
built here, compiled through `compile_file` (the public compile API, its per-layer check against QKeras
included), its emulator compared with QKeras bit for bit on real-valued inputs, and (slow: one g++ build per
model) its hls4ml C-sim compared with the emulator."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import csim_equals_emulator
from test_byo_models import _randomize


def _q(bits=6):
    from qkeras import quantized_bits

    return {"kernel_quantizer": quantized_bits(bits, 0, alpha=1), "bias_quantizer": quantized_bits(8, 3, alpha=1)}


def pools(seed=3):
    """'same' max pooling on a signed input (overlapping 3x3 windows, stride 2) and on an unsigned one (odd size),
    a 'same' 2x2 stride-1 average pool (edge windows cover 2 and 1 cells), a global average pool."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    i = keras.Input((9, 9, 2), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="max_signed")(x)
    x = QConv2D(4, (3, 3), padding="same", activation="quantized_relu(6,2)", name="c1", **_q())(x)
    x = keras.layers.MaxPooling2D(2, padding="same", name="max_unsigned")(x)
    x = QConv2D(4, (2, 2), activation="quantized_bits(8,3)", name="c2", **_q())(x)
    x = keras.layers.AveragePooling2D(2, strides=1, padding="same", name="avg")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = QDense(5, name="out", **_q())(x)
    return _randomize(keras.Model(i, x, name="pools"), seed)


def pools1d(seed=4):
    """The 1-D forms: MaxPooling1D 'same', AveragePooling1D, GlobalMaxPooling1D (as (k, 1) pools)."""
    from qkeras import QActivation, QConv1D, QDense
    from tensorflow import keras

    i = keras.Input((11, 2), name="seq")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QConv1D(3, 3, activation="quantized_relu(6,2)", name="c1", **_q())(x)
    x = keras.layers.MaxPooling1D(2, padding="same", name="max1d")(x)
    x = keras.layers.AveragePooling1D(2, name="avg1d")(x)
    x = keras.layers.GlobalMaxPooling1D(name="gmp1d")(x)
    x = QDense(4, name="out", **_q())(x)
    return _randomize(keras.Model(i, x, name="pools1d"), seed)


def _compile(model, tmp_path, input_type=None):
    from codesign.compile import compile_file
    from codesign.spec import DesignSpec

    model.save(tmp_path / "m.h5")
    summary = compile_file(tmp_path / "m.h5", tmp_path / "spec", input_type=input_type)
    return DesignSpec.load(tmp_path / "spec"), summary


def _emulator_equals_qkeras(model, spec, n=400, scale=2.0, seed=1):
    """Emulator == QKeras on real-valued inputs (normal, so the input quantizer saturates too), every element."""
    from codesign.emulator import Emulator

    x = np.random.default_rng(seed).normal(0, scale, (n,) + tuple(model.input_shape[1:])).astype(np.float32)
    ours = Emulator(spec).predict(x)
    theirs = model.predict(x, verbose=0).astype(np.float64)
    assert np.array_equal(ours, theirs.reshape(ours.shape)), np.abs(ours - theirs.reshape(ours.shape)).max()
    return x


def test_pooling_layers_compile_bit_exact(tmp_path):
    """Max pooling 'same', average and global average pooling: in the spec (exact means, no rounding), equal
    to QKeras layer by layer and at the output; the RTL view names the layers it has no engine for."""
    from codesign.rtl_step import rtl_unsupported

    m = pools()
    spec, summary = _compile(m, tmp_path)
    assert "7/7 layers bit-exact" in summary, summary
    kinds = [(l.name, l.kind) for l in spec.layers]
    assert ("avg", "avgpool2d") in kinds and ("gap", "avgpool2d") in kinds and ("max_signed", "maxpool2d") in kinds
    assert spec.layers[-2].output_shape == (4,)
    _emulator_equals_qkeras(m, spec)
    missing = rtl_unsupported(spec)
    assert "avg (avgpool2d)" in missing and any("max_unsigned" in s and "padding 'valid' only" in s for s in missing)


def test_pooling_1d_layers_compile_bit_exact(tmp_path):
    m = pools1d()
    spec, summary = _compile(m, tmp_path)
    assert "5/5 layers bit-exact" in summary, summary
    _emulator_equals_qkeras(m, spec)


def test_global_pools_compile_bit_exact(tmp_path):
    """GlobalMaxPooling2D and GlobalAveragePooling1D (the global pools the models above do not hold): one window
    over the whole image, output (C,); the RTL view names the global max pool it has no engine for."""
    from qkeras import QActivation, QConv1D, QConv2D, QDense
    from tensorflow import keras

    from codesign.rtl_step import rtl_unsupported

    for shape, conv, pool in (((6, 6, 2), QConv2D, keras.layers.GlobalMaxPooling2D(name="gp")),
                              ((6, 2), QConv1D, keras.layers.GlobalAveragePooling1D(name="gp"))):  # 4 cells
        i = keras.Input(shape)
        x = QActivation("quantized_bits(6,2)", name="in_q")(i)
        x = pool(conv(3, 3, activation="quantized_relu(6,2)", name="c", **_q())(x))
        m = _randomize(keras.Model(i, QDense(4, name="out", **_q())(x)))
        spec, summary = _compile(m, tmp_path / pool.__class__.__name__)
        assert "3/3 layers bit-exact" in summary and spec.layers[1].output_shape == (3,), summary
        _emulator_equals_qkeras(m, spec)
        assert any(s.startswith("gp (") for s in rtl_unsupported(spec))


def test_qkeras_average_pools_compile_bit_exact(tmp_path):
    """QAveragePooling2D / QGlobalAveragePooling2D: the exact mean, then mean * area * average_quantizer(1/area)
    and the layer's activation as a scale layer (the mean named `<layer>_mean`, checked through it)."""
    from qkeras import QActivation, QAveragePooling2D, QConv2D, QDense, QGlobalAveragePooling2D
    from tensorflow import keras

    i = keras.Input((6, 6, 2))
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QConv2D(3, 3, activation="quantized_bits(8,3)", name="c", **_q())(x)
    x = QAveragePooling2D(2, padding="same", average_quantizer="quantized_bits(8,0)", activation="quantized_relu(6,2)",
                          name="qap")(x)
    x = QGlobalAveragePooling2D(activation="quantized_bits(6,2)", name="qgap")(x)
    m = _randomize(keras.Model(i, QDense(4, name="out", **_q())(x)))
    spec, summary = _compile(m, tmp_path)
    assert [(l.name, l.kind) for l in spec.layers[1:5]] == [("qap_mean", "avgpool2d"), ("qap", "scale"),
                                                            ("qgap_mean", "avgpool2d"), ("qgap", "scale")]
    assert "4/4 layers bit-exact" in summary, summary
    _emulator_equals_qkeras(m, spec)


def test_average_pool_without_exact_mean_is_refused():
    """A 3x3 mean (divisor 9) has no exact fixed-point value: refused in one line naming the layer."""
    from qkeras import QConv2D
    from tensorflow import keras

    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract_spec

    i = keras.Input((8, 8, 2))
    x = QConv2D(2, 3, name="c", **_q())(i)
    for layer, needle in ((keras.layers.AveragePooling2D(3, name="ap3"), "a mean over 9 cells"),
                          (keras.layers.AveragePooling2D(2, strides=1, padding="same", name="ap_ok"), None),
                          (keras.layers.GlobalAveragePooling2D(name="gap36"), "a mean over 36 cells")):
        model = keras.Model(i, layer(x))
        if needle is None:
            extract_spec(model)
            continue
        with pytest.raises(UnsupportedLayerError) as e:
            extract_spec(model)
        assert needle in str(e.value) and f"'{layer.name}' (" in str(e.value) and "\n" not in str(e.value)


def acts(seed=3):
    """Each activation as a QActivation after a QDense: leaky quantized_relu, binary_tanh, ternary() (tanh form,
    threshold 0.33), binary(alpha=1), ternary(alpha=0.5, threshold=0.25), binary(use_01=True)."""
    from qkeras import QActivation, QDense, binary, quantized_relu, ternary
    from tensorflow import keras

    i = keras.Input((12,), name="feat")
    x = QActivation("quantized_bits(8,2)", name="in_q")(i)
    for n, act in enumerate([quantized_relu(6, 2, negative_slope=0.25), "binary_tanh", ternary(), binary(alpha=1),
                             ternary(alpha=0.5, threshold=0.25), binary(use_01=True)]):
        x = QDense(10, name=f"d{n}", **_q())(x)
        x = QActivation(act, name=f"act{n}")(x)
    x = QDense(5, name="out", **_q())(x)
    return _randomize(keras.Model(i, x, name="acts"), seed)


def test_activation_layers_compile_bit_exact(tmp_path):
    """leaky quantized_relu -> leaky_relu, binary / binary_tanh / ternary -> multithreshold: each a layer of
    the spec, equal to QKeras layer by layer and at the output; no RTL engine, named."""
    from codesign.rtl_step import rtl_unsupported

    m = acts()
    spec, summary = _compile(m, tmp_path)
    assert "13/13 layers bit-exact" in summary, summary
    assert [l.kind for l in spec.layers[1::2]] == ["leaky_relu"] + ["multithreshold"] * 5
    _emulator_equals_qkeras(m, spec, n=1000)
    assert "act1 (multithreshold)" in rtl_unsupported(spec)


def test_activation_edges_equal_qkeras(tmp_path):
    """Every activation on the inputs where the rules differ: 0 (binary +1 but binary_tanh -1), the ternary
    thresholds +-t exactly and one LSB either side, the leaky clip (and the float LeakyReLU / ReLU slopes); a 1x1 identity QDense feeds each, so its
    accumulator takes every value of a fine grid."""
    from qkeras import QActivation, QDense, binary, quantized_bits, quantized_relu, ternary
    from tensorflow import keras

    from codesign.emulator import Emulator

    grid = (np.arange(-2 ** 9, 2 ** 9) / 2 ** 6).astype(np.float32)[:, None]  # -8 .. 8 in 1/64 steps
    for act in [binary(), binary(alpha=0.5, use_01=True), "binary_tanh", ternary(), ternary(alpha=2, threshold=0.25),
                ternary(threshold=0.0), quantized_relu(5, 1, negative_slope=0.125), quantized_relu(4, 2, negative_slope=0.5),
                keras.layers.LeakyReLU(0.25, name="act"), keras.layers.ReLU(negative_slope=0.125, name="act")]:
        i = keras.Input((1,))
        x = QActivation(quantized_bits(10, 3), name="in_q")(i)
        x = QDense(1, kernel_quantizer=quantized_bits(4, 2, alpha=1), use_bias=False, name="identity")(x)
        m = keras.Model(i, (act if isinstance(act, keras.layers.Layer) else QActivation(act, name="act"))(x))
        m.get_layer("identity").set_weights([np.ones((1, 1), np.float32)])
        spec, summary = _compile(m, tmp_path / str(act).replace("(", "_")[:20])
        assert "2/2 layers bit-exact" in summary, (act, summary)
        ours = Emulator(spec).predict(grid)
        assert np.array_equal(ours, m.predict(grid, verbose=0).astype(np.float64)), act
        assert len(np.unique(ours)) >= 2


def test_activation_without_exact_form_is_refused():
    """alpha='auto' activations (a scale from each batch), a slope of 2**-k with k >= bits, an activation fused
    into QDense(activation=...): one line naming the layer and the fix."""
    from qkeras import QActivation, QDense, binary, quantized_relu, ternary
    from tensorflow import keras

    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract_spec

    cases = [(QActivation(binary(alpha="auto"), name="ba"), "'ba' (QActivation): activation binary(alpha='auto')"),
             (QActivation(ternary(alpha="auto_po2"), name="ta"), "'ta' (QActivation): activation ternary"),
             (QActivation(quantized_relu(3, 0, negative_slope=0.125), name="steep"), "negative_slope=0.125"),
             (None, "'fused' (QDense): activation")]
    for act, needle in cases:
        i = keras.Input((6,))
        if act is None:
            model = keras.Model(i, QDense(4, activation=binary(), name="fused", **_q())(i))
        else:
            model = keras.Model(i, act(QDense(4, name="d", **_q())(i)))
        with pytest.raises(UnsupportedLayerError) as e:
            extract_spec(model)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)


def scales(seed=3):
    """Per-channel float factors: a standalone BatchNormalization (+ the QActivation after it), quantized_bits and
    ternary alpha='auto' kernels (QConv2D with a fused activation, QDense), a QBatchNormalization."""
    from qkeras import QActivation, QBatchNormalization, QConv2D, QDense, quantized_bits, ternary
    from tensorflow import keras

    b = quantized_bits(8, 3, alpha=1)
    i = keras.Input((8, 8, 2), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QConv2D(4, 3, name="c1", **_q())(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = QActivation("quantized_relu(6,2)", name="bn_relu")(x)
    x = QConv2D(4, 3, kernel_quantizer=quantized_bits(6, 0, alpha="auto"), bias_quantizer=b,
                activation="quantized_relu(6,2)", name="c_auto")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(8, kernel_quantizer=ternary(alpha="auto"), bias_quantizer=b, name="d_tern")(x)
    x = QBatchNormalization(name="qbn")(x)
    x = QActivation("quantized_bits(8,3)", name="qbn_q")(x)
    x = QDense(5, name="out", **_q())(x)
    return _randomize(keras.Model(i, x, name="scales"), seed)


def test_batchnorm_and_per_channel_scales_compile(tmp_path):
    """Standalone (Q)BatchNormalization and alpha='auto' kernels: scale layers (x * scale + bias, the float32
    values held exactly); Keras rounds these in float32, so they are float layers checked within the stated
    tolerance, and the integer layers after them equal QKeras exactly; the model's output equals QKeras'."""
    from codesign.verify import tolerance

    m = scales()
    spec, summary = _compile(m, tmp_path)
    assert "3/7 layers bit-exact" in summary, summary  # the 4 scale layers are float layers (tolerance)
    by_name = {l.name: l for l in spec.layers}
    assert [by_name[n].kind for n in ("bn", "c_auto_int", "c_auto", "d_tern_int", "d_tern", "qbn")] == \
        ["scale", "conv2d", "scale", "dense", "scale", "scale"]
    assert all(tolerance(by_name[n]) > 0 for n in ("bn", "c_auto", "d_tern", "qbn"))
    assert set(np.unique(by_name["d_tern_int"].params["weight"])) <= {-1, 0, 1}
    _emulator_equals_qkeras(m, spec)


def depthwise(seed=3, depth_multiplier=1):
    """QDepthwiseConv2D ('same', fused quantized_relu), QSeparableConv2D (stride 2, QActivation after it)."""
    from qkeras import QActivation, QDense, QDepthwiseConv2D, QSeparableConv2D, quantized_bits
    from tensorflow import keras

    w, b = quantized_bits(6, 0, alpha=1), quantized_bits(8, 3, alpha=1)
    i = keras.Input((9, 9, 3), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QDepthwiseConv2D(3, padding="same", depth_multiplier=depth_multiplier, depthwise_quantizer=w, bias_quantizer=b,
                         activation="quantized_relu(6,2)", name="dw")(x)
    x = QSeparableConv2D(4, 3, strides=2, depthwise_quantizer=w, pointwise_quantizer=w, bias_quantizer=b, name="sep")(x)
    x = QActivation("quantized_relu(6,2)", name="sep_relu")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(5, name="out", **_q())(x)
    return _randomize(keras.Model(i, x, name="depthwise"), seed)


def test_depthwise_and_separable_compile_bit_exact(tmp_path):
    """QDepthwiseConv2D -> depthwise2d; QSeparableConv2D -> depthwise2d (no Keras counterpart) + 1x1 conv2d:
    equal to QKeras layer by layer and at the output, also with depth_multiplier 2 (which hls4ml's
    DepthwiseConv2D does not implement: the C-sim view says so)."""
    from codesign.hls_view import HLSView

    m = depthwise()
    spec, summary = _compile(m, tmp_path / "dm1")
    assert "4/4 layers bit-exact" in summary, summary
    assert [l.kind for l in spec.layers[:3]] == ["depthwise2d", "depthwise2d", "conv2d"]
    _emulator_equals_qkeras(m, spec)
    m2 = depthwise(depth_multiplier=2)
    spec2, summary = _compile(m2, tmp_path / "dm2")
    assert "4/4 layers bit-exact" in summary and spec2.layers[0].output_shape == (9, 9, 6), summary
    _emulator_equals_qkeras(m2, spec2)
    with pytest.raises(ValueError, match="'dw' has depth_multiplier 2; hls4ml's DepthwiseConv2D implements"):
        HLSView(spec2, tmp_path / "hls")


def all_layers(seed=5):
    """Every layer added here in one model, so one g++ build checks them all: 'same' max pooling on a signed and
    an unsigned input, QDepthwiseConv2D, QSeparableConv2D, a standalone BatchNormalization, an alpha='auto'
    QConv2D, 'same' average pooling, a QGlobalAveragePooling2D with its activation, a leaky quantized_relu, a
    ternary alpha='auto' QDense, a QBatchNormalization, binary_tanh, ternary(), binary(alpha=1),
    ternary(alpha, threshold), binary(use_01), a float LeakyReLU."""
    from qkeras import (QActivation, QBatchNormalization, QConv2D, QDense, QDepthwiseConv2D, QGlobalAveragePooling2D,
                        QSeparableConv2D, binary, quantized_bits, quantized_relu, ternary)
    from tensorflow import keras

    w, b = quantized_bits(6, 0, alpha=1), quantized_bits(8, 3, alpha=1)
    L = keras.layers
    i = keras.Input((9, 9, 3), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = L.MaxPooling2D(3, strides=2, padding="same", name="max_signed")(x)  # 5x5
    x = QDepthwiseConv2D(3, padding="same", depthwise_quantizer=w, bias_quantizer=b, activation="quantized_relu(6,2)",
                         name="dw")(x)
    x = L.MaxPooling2D(2, padding="same", name="max_unsigned")(x)  # 3x3
    x = QSeparableConv2D(4, 2, depthwise_quantizer=w, pointwise_quantizer=w, bias_quantizer=b, name="sep")(x)  # 2x2
    x = L.BatchNormalization(name="bn")(x)
    x = QActivation("quantized_relu(6,2)", name="bn_relu")(x)
    x = QConv2D(4, 1, kernel_quantizer=quantized_bits(6, 0, alpha="auto"), bias_quantizer=b,
                activation="quantized_relu(6,2)", name="c_auto")(x)
    x = L.AveragePooling2D(2, strides=1, padding="same", name="avg")(x)
    x = QGlobalAveragePooling2D(activation="quantized_bits(8,3)", name="gap")(x)
    x = QDense(10, name="d0", kernel_quantizer=w, bias_quantizer=b)(x)
    x = QActivation(quantized_relu(6, 2, negative_slope=0.25), name="leaky")(x)
    x = QDense(10, kernel_quantizer=ternary(alpha="auto"), bias_quantizer=b, name="d_tern")(x)
    x = QBatchNormalization(name="qbn")(x)
    x = QActivation("quantized_bits(8,3)", name="qbn_q")(x)
    for n, act in enumerate(["binary_tanh", ternary(), binary(alpha=1), ternary(alpha=0.5, threshold=0.25),
                             binary(use_01=True)]):
        x = QDense(10, name=f"d{n + 1}", kernel_quantizer=w, bias_quantizer=b)(x)
        x = QActivation(act, name=f"act{n + 1}")(x)
    x = QDense(5, name="out", kernel_quantizer=w, bias_quantizer=b)(x)
    x = L.LeakyReLU(0.25, name="out_leaky")(x)
    return _randomize(keras.Model(i, x, name="all_layers"), seed)


@pytest.mark.slow
def test_layers_csim_equals_emulator(tmp_path):
    """One C-sim build for every kind added here (all_layers): hls4ml C-sim == emulator on 300 real-valued inputs,
    every output integer; the model compiles (the per-layer check) and its emulator equals QKeras."""
    m = all_layers()
    spec, summary = _compile(m, tmp_path)
    kinds = {l.kind for l in spec.layers}
    assert kinds >= {"maxpool2d", "depthwise2d", "scale", "avgpool2d", "leaky_relu", "multithreshold"}, kinds
    _emulator_equals_qkeras(m, spec)
    csim_equals_emulator(m, spec, tmp_path)
