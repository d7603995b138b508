"""Bring your own QKeras model with skip connections (issue #20): Add and Concatenate. A residual block and an
inception-style concatenation, trained for a few seconds on sklearn's digits, compiled through `compile_file`
(the public compile API, its per-layer check against QKeras included) into a graph spec (codesign/spec.py: a
layer's `inputs`), equal to QKeras bit for bit on every digit, and the hls4ml C-sim equal to the emulator. A
broken merge extraction is caught naming the merge; the views that walk a chain refuse a graph in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import EXAMPLES, assert_user_error, codesign, csim_equals_emulator


def _q(bits=4, integer=0):
    from qkeras import quantized_bits

    return {"kernel_quantizer": quantized_bits(bits, integer, alpha=1), "bias_quantizer": quantized_bits(6, 2, alpha=1)}


def digits():
    """sklearn's 1,797 8x8 digits as reals p/16 in [0, 1] (exact in the input quantizer ufixed<5,1>), and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[..., None], d.target


def residual():
    """Conv -> relu -> conv -> quantized_bits, added to the first relu (operands of different types: ufixed<6,2>
    and fixed<8,3>, fraction bits 4 and 5), the add's quantized_relu fused into it; then a dense residual: a QDense
    whose output is added to a second QDense of it."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    L = keras.layers
    i = keras.Input((8, 8, 1), name="img")
    x = QActivation("quantized_relu(5,1)", name="in_q")(i)
    a = QConv2D(6, 3, padding="same", name="c1", **_q())(x)
    a = QActivation("quantized_relu(6,2)", name="r1")(a)
    b = QConv2D(6, 3, padding="same", name="c2", **_q())(a)
    b = QActivation("quantized_bits(8,2)", name="q2")(b)
    s = L.Add(name="add")([b, a])
    s = QActivation("quantized_relu(6,2)", name="r_add")(s)
    s = L.MaxPooling2D(2, name="pool")(s)
    f = L.Flatten(name="flat")(s)
    d1 = QDense(16, name="d1", activation="quantized_relu(6,2)", **_q())(f)
    d2 = QDense(16, name="d2", **_q())(d1)
    r = L.Add(name="add_dense")([d1, d2])  # no activation after it: its output is the exact sum
    y = QDense(10, name="out", **_q())(r)
    return keras.Model(i, y, name="residual")


def inception():
    """Three branches of the input quantizer (a 1x1 conv, a 3x3 conv, a 3x3 'same' max pool) concatenated along
    the channels (three operands of three types), then a conv and a concatenation of two dense branches."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    L = keras.layers
    i = keras.Input((8, 8, 1), name="img")
    x = QActivation("quantized_relu(5,1)", name="in_q")(i)
    b1 = QConv2D(3, 1, name="b1", activation="quantized_relu(4,1)", **_q())(x)
    b2 = QConv2D(4, 3, padding="same", name="b2", **_q())(x)
    b2 = QActivation("quantized_relu(6,2)", name="b2_relu")(b2)
    b3 = L.MaxPooling2D(3, strides=1, padding="same", name="b3")(x)
    c = L.Concatenate(name="cat")([b1, b2, b3])
    c = QConv2D(6, 3, strides=2, name="c", activation="quantized_relu(6,2)", **_q())(c)
    f = L.Flatten(name="flat")(c)
    h1 = QDense(8, name="h1", activation="quantized_relu(5,2)", **_q())(f)
    h2 = QDense(6, name="h2", activation="quantized_bits(6,2)", **_q())(f)
    h = L.Concatenate(name="cat_dense")([h1, h2])
    y = QDense(10, name="out", **_q())(h)
    return keras.Model(i, y, name="inception")


def unet():
    """U-Net style: a pooled branch upsampled (UpSampling2D, nearest) and concatenated with the full-size skip and
    their difference (Subtract)."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    L = keras.layers
    i = keras.Input((8, 8, 1), name="img")
    x = QActivation("quantized_relu(5,1)", name="in_q")(i)
    c1 = QConv2D(4, 3, padding="same", name="c1", activation="quantized_relu(6,2)", **_q())(x)
    p = L.MaxPooling2D(2, name="down")(c1)
    c2 = QConv2D(4, 3, padding="same", name="c2", activation="quantized_relu(5,2)", **_q())(p)
    u = L.UpSampling2D(2, name="up")(c2)
    d = L.Subtract(name="sub")([c1, u])  # the detail the coarse branch misses (ufixed<6,2> - ufixed<5,2>)
    c = L.Concatenate(name="cat")([u, c1, d])
    c = QConv2D(4, 3, strides=2, name="c3", activation="quantized_relu(6,2)", **_q())(c)
    y = QDense(10, name="out", **_q())(L.Flatten(name="flat")(c))
    return keras.Model(i, y, name="unet")


MODELS = {"residual": residual, "inception": inception, "unet": unet}


def _trained(name, epochs=6):
    """The model trained briefly on the digits (seconds), so the check runs on a working classifier."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    m = MODELS[name]()
    x, y = digits()
    m.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    m.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return m


@pytest.fixture(scope="module", params=list(MODELS))
def compiled(request, tmp_path_factory):
    """(name, model, spec folder, compile summary, digits npz) of each model, compiled once."""
    from codesign.compile import compile_file

    tmp = tmp_path_factory.mktemp(request.param)
    m = _trained(request.param)
    m.save(tmp / "m.h5")
    x, y = digits()
    np.savez(tmp / "digits.npz", x=x, y=y)
    summary = compile_file(tmp / "m.h5", tmp / "spec", data=tmp / "digits.npz")
    return request.param, m, tmp / "spec", summary, tmp


def test_merges_compile_bit_exact_on_digits(compiled):
    """Through compile_file: a graph spec whose every layer equals QKeras (the compile's check on 1,000 digits),
    and the emulator equals QKeras on all 1,797 digits (every logit); the saved spec reloads as the same graph."""
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    name, m, spec_dir, summary, _ = compiled
    spec = DesignSpec.load(spec_dir)
    n = len(spec.layers)
    assert f"{n}/{n} layers bit-exact" in summary, summary
    assert spec.is_graph
    merges = {l.name: l for l in spec.layers if l.kind in ("add", "subtract", "concatenate")}
    assert set(merges) == {"residual": {"add", "add_dense"}, "inception": {"cat", "cat_dense"}, "unet": {"cat", "sub"}}[name]
    x, y = digits()
    ours = Emulator(spec).predict(x)
    theirs = m.predict(x, verbose=0).astype(np.float64)
    assert np.array_equal(ours, theirs), np.abs(ours - theirs).max()
    acc = float((ours.argmax(1) == y).mean())
    assert acc > 0.5, acc  # a trained classifier, not a constant
    if name == "residual":  # the operands' types differ and are aligned exactly (no operand rounded)
        add = merges["add"]
        assert [t.frac for t in add.operand_types()] == [5, 4] and add.types["accum"].frac == 5
        assert add.attrs["activation"] == "relu" and add.out_type.hls() == "ufixed<6,2,RND_CONV,SAT>"
        assert merges["add_dense"].out_type == merges["add_dense"].types["accum"]
    elif name == "inception":
        assert merges["cat"].output_shape == (8, 8, 8)
        # walked branch by branch: a layer names its input only where it is not the previous layer's output
        assert {l.name: l.inputs for l in spec.layers if l.inputs} == {
            "b1": ["@input"], "b3": ["@input"], "cat": ["b1", "b2", "b3"], "h2": ["flat"], "cat_dense": ["h1", "h2"]}
    else:  # the upsampled branch and the skip
        assert merges["cat"].inputs == ["up", "c1", "sub"] and spec.layer("up").output_shape == (8, 8, 4)
        assert merges["sub"].inputs == ["c1", "up"] and merges["sub"].types["accum"].hls() == "fixed<7,3>"


@pytest.mark.slow  # one g++ build per model (the fast loop's C-sim is test_byo_models' [cnn_bn])
def test_merge_csim_equals_emulator(compiled):
    """hls4ml's own Merge layers (Add, Concatenate; n operands as n - 1 two-input nodes) with the spec's
    precisions: the C-sim equals the emulator on every output integer (conftest: 300 real-valued inputs over
    the input quantizer's range and beyond, so it saturates)."""
    from codesign.spec import DesignSpec

    _, m, spec_dir, _, tmp = compiled
    csim_equals_emulator(m, DesignSpec.load(spec_dir), tmp)


def test_cli_compiles_a_residual_model(compiled, tmp_path):
    """`codesign compile MODEL.h5 --data digits.npz` end to end: the summary on stdout, a graph spec.json whose
    merges name their inputs and no other layer does (each reads the previous one)."""
    name, _, _, _, tmp = compiled
    if name != "residual":
        pytest.skip("the CLI is shown on the residual model (one more TensorFlow start)")
    proc = codesign("compile", tmp / "m.h5", "--out", tmp_path / "spec", "--data", tmp / "digits.npz")
    assert "layers bit-exact" in proc.stdout and "inputs of digits.npz" in proc.stdout, proc.stdout
    doc = json.loads((tmp_path / "spec" / "spec.json").read_text())
    with_inputs = {d["name"]: d["inputs"] for d in doc["layers"] if "inputs" in d}
    assert with_inputs == {"add": ["c2", "c1"], "add_dense": ["d1", "d2"]}, with_inputs


def _break(monkeypatch, how):
    """Patch the merge extraction: swap a concatenation's operands (types kept with their sources, so the spec
    stays valid) or give an add's output one fraction bit less than its quantizer's."""
    import codesign.extract as ex

    real = ex._merge_layer

    def broken(*a, **k):
        layer, source, i = real(*a, **k)
        if how == "order" and layer.kind == "concatenate":
            types = layer.operand_types()[::-1]
            layer.inputs = layer.inputs[::-1]
            layer.input_shape = tuple(a[2][-1].output_shape)  # the shape of the (new) first operand
            layer.types.update({"input": types[0], **{f"input_{j}": t for j, t in enumerate(types[1:], start=1)}})
        if how == "type" and layer.kind == "add" and layer.attrs["activation"] == "relu":
            out = layer.types["output"]
            layer.types["output"] = out.with_(width=out.width - 1)
        return layer, source, i

    monkeypatch.setattr(ex, "_merge_layer", broken)


@pytest.mark.parametrize("model,how,layer", [("inception", "order", "cat"), ("residual", "type", "add")])
def test_broken_merge_extraction_is_caught(tmp_path, monkeypatch, model, how, layer):
    """A merge extracted wrong (operand order, result type) stops compile at that merge; nothing is written."""
    import tensorflow as tf

    from codesign.compile import compile_file
    from codesign.verify import ExtractionMismatchError

    tf.keras.utils.set_random_seed(1)
    MODELS[model]().save(tmp_path / "m.h5")
    x, y = digits()
    np.savez(tmp_path / "d.npz", x=x[:300], y=y[:300])
    _break(monkeypatch, how)
    with pytest.raises(ExtractionMismatchError, match=f"at layer '{layer}' \\({'concatenate' if how == 'order' else 'add'}"):
        compile_file(tmp_path / "m.h5", tmp_path / "spec", data=tmp_path / "d.npz")
    assert not (tmp_path / "spec").exists()


def test_graph_spec_refused_by_the_chain_views(compiled, tmp_path):
    """A graph spec in a run folder: the fault campaign and deploy stop with one line (exit 2), the RTL step
    names the skip connections as the one reason it builds nothing, and a lock key or the fault engine refuse it."""
    import shutil

    from codesign.emulator import Emulator
    from codesign.faults.engine import Engine
    from codesign.rtl_step import rtl_unsupported
    from codesign.spec import DesignSpec, SpecError

    name, _, spec_dir, _, _ = compiled
    if name != "residual":
        pytest.skip("one graph is enough")
    run = tmp_path / "run"
    shutil.copytree(spec_dir, run / "spec")
    shutil.copy(EXAMPLES / "digits_mlp.yaml", run / "config.yaml")
    (run / "report.json").write_text("{}")
    spec = DesignSpec.load(run / "spec")
    assert rtl_unsupported(spec) == ["the skip connections merged by add, add_dense (the RTL streams a chain of "
                                     "layers; a graph spec runs in the emulator and the hls4ml C-sim)"]
    x_int = Emulator(spec).quantize_input(digits()[0][:8])
    with pytest.raises(SpecError, match="a fault campaign takes a chain of layers.*merged by 'add', 'add_dense'"):
        Engine(spec, x_int, np.zeros(8, np.int64))
    with pytest.raises(SpecError, match="a lock"):
        Emulator(spec, key="random")
    from codesign.rtl.generate import generate

    with pytest.raises(SpecError, match="the RTL generator takes a chain of layers"):
        generate(spec, tmp_path / "rtl")
    assert not (tmp_path / "rtl").exists()
    assert_user_error(codesign("faults", run, check=False), "a fault campaign takes a chain of layers", "'add'")
    assert_user_error(codesign("deploy", run, "--out", tmp_path / "pkg", check=False), "skip connections merged by add")
    assert not (tmp_path / "pkg").exists()


def test_identity_skip_from_the_input_and_an_unfusable_activation(tmp_path):
    """An Add reading the input quantizer itself (`@input`: ResNet's identity skip) and a float relu after it
    compiles bit-exact (inputs drawn over the input type); an activation whose layer is also read un-activated
    by a merge cannot be fused, and is refused in one line naming both readers."""
    from qkeras import QActivation, QConv2D, QDense
    from tensorflow import keras

    from codesign.compile import compile_file
    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract
    from codesign.spec import DesignSpec
    from test_byo_models import _randomize

    L = keras.layers
    i = keras.Input((6, 6, 2), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    c = QConv2D(2, 3, padding="same", name="c", activation="quantized_bits(6,2)", **_q())(x)
    s = L.Activation("relu", name="r")(L.Add(name="add")([c, x]))
    _randomize(keras.Model(i, QDense(3, name="o", **_q())(L.Flatten(name="f")(s))), 3).save(tmp_path / "m.h5")
    summary = compile_file(tmp_path / "m.h5", tmp_path / "spec")
    assert "4/4 layers bit-exact" in summary, summary
    assert DesignSpec.load(tmp_path / "spec").layer("add").inputs == ["c", "@input"]

    c = QConv2D(2, 3, padding="same", name="c2", **_q())(x)
    r = QActivation("quantized_relu(6,2)", name="r2")(c)
    m = keras.Model(i, L.Add(name="add2")([c, r]))
    with pytest.raises(UnsupportedLayerError) as e:
        extract(m)
    assert "'c2' is also read by 'add2' before the activation" in str(e.value) and "\n" not in str(e.value)

    # the raw input read beside its quantizer: Keras would add unquantized values the design never sees
    raw = keras.Model(i, L.Add(name="add3")([QConv2D(2, 3, padding="same", name="c3", **_q())(x), i]))
    with pytest.raises(UnsupportedLayerError) as e:
        extract(raw)
    assert "'add3'" in str(e.value) and "reads the model input before its QActivation 'in_q'" in str(e.value)


def test_upsampling_1d_compiles_bit_exact(tmp_path):
    """UpSampling1D (as a (size, 1) upsample2d over the (n, 1, c) image a sequence is held as): bit-exact with
    QKeras; the RTL view names it as a layer without an engine. (UpSampling2D: the [unet] model above.)"""
    from qkeras import QActivation, QConv1D, QDense
    from tensorflow import keras

    from codesign.compile import compile_file
    from codesign.rtl_step import rtl_unsupported
    from codesign.spec import DesignSpec
    from test_byo_models import _randomize

    L = keras.layers
    i = keras.Input((7, 2), name="seq")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    x = QConv1D(3, 3, name="c", activation="quantized_relu(5,2)", **_q())(x)
    x = L.UpSampling1D(3, name="up")(x)
    _randomize(keras.Model(i, QDense(4, name="o", **_q())(L.Flatten(name="f")(x))), 5).save(tmp_path / "m.h5")
    summary = compile_file(tmp_path / "m.h5", tmp_path / "spec")
    assert "4/4 layers bit-exact" in summary, summary
    spec = DesignSpec.load(tmp_path / "spec")
    assert spec.layer("up").output_shape == (15, 1, 3) and rtl_unsupported(spec) == ["up (upsample2d)"]


def test_bilinear_upsampling_is_refused_naming_its_cause():
    """Bilinear interpolation has no exact fixed-point value here: one line naming the interpolation (not the
    data format), and the fix."""
    from qkeras import QActivation
    from tensorflow import keras

    from codesign.errors import UnsupportedLayerError
    from codesign.extract import extract

    i = keras.Input((4, 4, 2), name="img")
    x = QActivation("quantized_bits(6,2)", name="in_q")(i)
    m = keras.Model(i, keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(x))
    with pytest.raises(UnsupportedLayerError) as e:
        extract(m)
    text = str(e.value)
    assert "'up'" in text and "interpolation 'bilinear'" in text and "channels" not in text and "\n" not in text
