"""README claims about precision, each checked against an independent reference.

- "Keras = emulator": on the MNIST MLP (fully quantized: ternary and 8-bit kernels, 8-bit biases,
  quantized_relu), Keras' logits equal the emulator's output integers read as reals, digit by digit
  on the whole test split; so do the predicted classes.
- "Accumulators: wide enough for every input the input type allows": the worst-case input of each
  output column, brute-forced from the integer weights (tests/worst_case.py), fits the accumulator
  type; one integer bit fewer would not (the types are as narrow as they can be).
- "`quantized_relu(B, I)` is `ufixed<B, I, RND_CONV, SAT>`": codesign's cast equals QKeras' own
  quantizer on a grid that holds every tie, negatives and values past saturation; and a QDense +
  quantized_relu model equals its spec's emulator on every uint8 input.
"""
import numpy as np
import pytest

from codesign.data import load_dataset, to_model_input
from codesign.emulator import Emulator
from codesign.fixed import cast, to_real
from codesign.spec import DesignSpec
from worst_case import accumulator_extremes, assert_accumulators_hold


def test_keras_equals_emulator_on_every_test_digit(mlp_run):
    from codesign.models import load_model

    out, report = mlp_run
    spec = DesignSpec.load(out / "spec")
    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    model = load_model(out / "model")
    keras_logits = model.predict(to_model_input(d.x_test).reshape((-1,) + tuple(model.input_shape[1:])),
                                 batch_size=500, verbose=0).astype(np.float64)
    emu = Emulator(spec)
    emu_logits = to_real(emu.run_int(emu.quantize_input(d.x_test)), spec.output_type)
    assert keras_logits.shape == emu_logits.shape == (2000, 10)
    # every partial sum is a dyadic rational well inside float32's 24-bit mantissa: equality, not closeness
    mismatched = np.nonzero(np.any(keras_logits != emu_logits, axis=1))[0]
    assert mismatched.size == 0, (mismatched.size, keras_logits[mismatched[:1]], emu_logits[mismatched[:1]])
    assert np.array_equal(np.argmax(keras_logits, -1), np.argmax(emu_logits, -1))
    assert report["accuracy"]["keras"] == report["accuracy"]["emulator"]


def test_accumulators_hold_every_input_of_the_input_type(mlp_run):
    spec = DesignSpec.load(mlp_run[0] / "spec")
    assert assert_accumulators_hold(spec) == 3
    # the types are tight: with one integer bit fewer some column's worst case no longer fits
    narrower = 0
    for layer in (l for l in spec.layers if l.kind == "dense"):
        lo, hi = accumulator_extremes(layer)
        acc = layer.types["accum"].with_(width=layer.types["accum"].width - 1,
                                         integer=layer.types["accum"].integer - 1)
        narrower += not (acc.qmin <= min(lo) and max(hi) <= acc.qmax)
    assert narrower == 3


@pytest.mark.parametrize("bits, integer", [(8, 3), (4, 2), (6, 0), (3, 3)])
def test_quantized_relu_rounds_like_qkeras(bits, integer):
    import tensorflow as tf
    from qkeras import QActivation, quantized_relu

    from codesign.qtypes import relu_type

    act = QActivation(quantized_relu(bits, integer))
    t = relu_type(act)
    src_frac = t.frac + 3  # three more fraction bits: every half-LSB tie (and quarter points) on the grid
    top = (t.qmax + 8) << 3
    q = np.arange(-(64 << 3), top + 1, dtype=np.int64)
    v = np.ldexp(q.astype(np.float64), -src_frac)
    theirs = act(tf.constant(v, tf.float32)).numpy().astype(np.float64)
    ours = to_real(cast(np.maximum(q, 0), src_frac, t), t)
    ties = (q & 7) == 4
    assert ties.sum() > 10 and (v > to_real(t.qmax, t)).any() and (v < 0).any()
    bad = np.nonzero(ours != theirs)[0]
    assert bad.size == 0, [(v[i], ours[i], theirs[i]) for i in bad[:5]]


def test_quantized_relu_layer_equals_its_spec_on_every_pixel():
    """QDense(4) + quantized_relu(4, 2) on one pixel: weights and biases chosen so the 256 inputs hit
    ties, negatives and saturation; Keras' outputs equal the emulator's integers read as reals."""
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    from codesign.extract import extract_spec

    model = keras.Sequential([keras.Input((1,)),
                              QDense(4, kernel_quantizer=quantized_bits(8, 2, alpha=1),
                                     bias_quantizer=quantized_bits(8, 3, alpha=1), name="fc"),
                              QActivation(quantized_relu(4, 2), name="act")])
    model.get_layer("fc").set_weights([np.array([[1.0, 3.75, -2.0, 0.5]], np.float32),
                                       np.array([-0.5, 0.125, 1.0, 2.0], np.float32)])
    spec = extract_spec(model, "relu_probe")
    pixels = np.arange(256, dtype=np.uint8).reshape(256, 1)
    keras_out = model.predict(to_model_input(pixels), verbose=0).astype(np.float64)
    emu = Emulator(spec)
    emu_out = to_real(emu.run_int(emu.quantize_input(pixels)), spec.output_type)
    assert np.array_equal(keras_out, emu_out)
    assert len(np.unique(emu_out)) == 16  # every level of ufixed<4,2>: zero (negatives) to saturation
