"""WINGs: the integer generator against an independent exact-rational reference, the Keras layer against
the generator, the PCA + SVR fit, bit flips with canaries, and a small MNIST design through the flow
(emulator vs hls4ml C-sim on the 2,000-sample test split)."""
import json
from fractions import Fraction

import numpy as np
import pytest

from codesign.fixed import FixedType
from codesign.spec import DesignSpec, Layer
from conftest import EXAMPLES, assert_user_error, codesign
from report_checks import check_report_in_chromium



def _t(w, i, signed=True):
    return FixedType(w, i, signed=signed, rounding="RND_CONV", overflow="SAT")


def _small_spec(rng, h=6, w=5, n=7, k=3, s=4, gr=3, gc=2):
    from codesign.techniques.wings.extract import sum_types

    types = {"alpha": _t(8, 0), "beta": _t(8, 0), "lut": _t(8, 1, False), "z": _t(8, 1), "basis": _t(6, 1),
             "curve": _t(7, 0), "weight": _t(5, 1), "bias": _t(8, 3), "input": FixedType(8, 0, signed=False)}
    types["klut"] = types["plut"] = types["lut"]
    types.update(sv=FixedType(3, 3, signed=False), prow=FixedType(3, 3, signed=False), pcol=FixedType(3, 3, signed=False))
    p = {"alpha": rng.integers(-128, 128, (k, s)), "beta": rng.integers(-128, 128, k), "sv": rng.integers(0, n, (k, s)),
         "klut": np.array([128, 100, 40, 9]), "z": rng.integers(-128, 128, (k, gr, gc)), "plut": np.array([128, 77, 17]),
         "prow": np.array([1, 3, 5]), "pcol": np.array([1, 3]), "bias": rng.integers(-128, 128, n)}
    types.update(sum_types(types, p))
    types["product"] = FixedType(13, 2)
    types["accum"] = FixedType(32, 20)  # frac 12 = input 8 + weight 4
    types["output"] = types["accum"]
    attrs = {"activation": "linear", "units": n, "components": k, "centres": s, "in_hw": [h, w], "basis_grid": [gr, gc],
             "coef_sigma": 2.0, "pixel_sigma": 1.0}
    layer = Layer("g", "wings_dense", (h * w,), (n,), attrs, types, p)
    return DesignSpec("g", (h * w,), types["input"], [layer]), layer


def _cast_ref(v: Fraction, t: FixedType) -> int:
    q = round(v * 2 ** t.frac)  # Fraction.__round__ is half to even = RND_CONV
    return min(max(q, t.qmin), t.qmax)


def test_generator_matches_exact_rational_reference():
    from codesign.emulator import Emulator
    from codesign.techniques.wings.gen import generate_int

    rng = np.random.default_rng(0)
    spec, layer = _small_spec(rng)
    p, t, (h, w), n = layer.params, layer.types, layer.attrs["in_hw"], layer.output_shape[0]
    real = lambda q, name: Fraction(int(q), 2 ** t[name].frac)  # noqa: E731
    lut = lambda table, d: real(table[d], "lut") if d < len(table) else Fraction(0)  # noqa: E731
    k_n, s_n = p["alpha"].shape
    curve = [[_cast_ref(real(p["beta"][k], "beta") + sum(real(p["alpha"][k, s], "alpha") * lut(p["klut"], abs(j - p["sv"][k, s]))
                                                           for s in range(s_n)), t["curve"]) for j in range(n)] for k in range(k_n)]
    basis = [[_cast_ref(sum(lut(p["plut"], abs(r - p["prow"][a])) * real(p["z"][k, a, b], "z") * lut(p["plut"], abs(c - p["pcol"][b]))
                            for a in range(3) for b in range(2)), t["basis"]) for r in range(h) for c in range(w)] for k in range(k_n)]
    want = np.array([[_cast_ref(sum(Fraction(basis[k][i] * curve[k][j], 2 ** (t["basis"].frac + t["curve"].frac))
                                    for k in range(k_n)), t["weight"]) for j in range(n)] for i in range(h * w)])
    got = generate_int(layer)
    assert np.array_equal(got, want)
    assert np.abs(got).max() > 0
    x = rng.integers(0, 256, (20, h * w))
    y = Emulator(spec).run_int(x)
    acc_shift = t["accum"].frac - t["input"].frac - t["weight"].frac
    ref = (x @ want) * 2 ** acc_shift + p["bias"] * 2 ** (t["accum"].frac - t["bias"].frac)
    assert acc_shift == 0
    assert np.array_equal(y, ref)


def test_keras_layer_equals_integer_generator():
    import tensorflow as tf

    from codesign.extract import INPUT_TYPE
    from codesign.fixed import to_real
    from codesign.techniques.wings.extract import wings_layer_spec
    from codesign.techniques.wings.gen import generate_int
    from codesign.techniques.wings.layer import WingsDense

    layer = WingsDense(40, components=5, centres=8, coef_sigma=3.0, basis_grid=(7, 7), in_hw=(14, 14))
    x = np.random.default_rng(1).integers(0, 256, (16, 196)).astype(np.float32) / 256
    layer(tf.constant(x))
    spec_layer = wings_layer_spec(layer, (196,), INPUT_TYPE, (40,), None)
    w_int = generate_int(spec_layer)
    w_keras = layer.generated_float().numpy()
    assert np.mean(to_real(w_int, spec_layer.types["weight"]) == w_keras) > 0.999  # float32 sum order aside
    assert spec_layer.kind == "wings_dense" and np.abs(w_int).max() > 0


def test_fit_orders_neurons_and_bounds_support_vectors():
    from codesign.techniques.wings.fit import fit_generator

    rng = np.random.default_rng(2)
    n, n_in = 64, 196
    phase = rng.permutation(n) / n * 2 * np.pi  # smooth in a hidden order, shuffled
    basis = rng.normal(size=(3, n_in))
    w = (np.stack([np.cos(phase), np.sin(phase), np.cos(2 * phase)], 1) @ basis).T + 0.01 * rng.normal(size=(n_in, n))
    kw = dict(components=4, centres=10, coef_sigma=3.0, basis_grid=None)
    perm, plain = fit_generator(w, permute=True, **kw), fit_generator(w, permute=False, **kw)
    assert sorted(perm["order"]) == list(range(n))
    assert perm["curve_r2"] > 0.8 > plain["curve_r2"]
    assert perm["alpha"].shape == (4, 10) and perm["explained_variance"] > 0.95


def test_bit_flips_and_canaries():
    from codesign.techniques.wings.faults import FlipCampaign, bit_sites, flip_value, summarize

    t = FixedType(8, 1)
    assert flip_value(-1, 7, t) == 127 and flip_value(5, 0, t) == 4 and flip_value(0, 3, FixedType(4, 4, False)) == 8
    rng = np.random.default_rng(3)
    spec, layer = _small_spec(rng)
    x = rng.integers(0, 256, (60, 30)).astype(np.uint8)
    from codesign.emulator import Emulator

    y = np.argmax(Emulator(spec).run_int(Emulator(spec).quantize_input(x)), -1)
    camp = FlipCampaign(spec, "g", x, y, canaries_uint8=x[:5])
    assert camp.clean_acc == 1.0
    res = camp.run(40, seed=0)
    assert np.array_equal(camp.layer.params["alpha"], layer.params["alpha"])  # every flip undone
    # each flip redone here on a fresh copy of the spec: predictions changed, canaries flagged
    emu = Emulator(spec)
    clean_out = emu.run_int(emu.quantize_input(x))
    flagged = []
    for r in res:
        faulty = spec.copy()
        arr = faulty.layer("g").params[r["param"]]
        idx = np.unravel_index(r["index"], arr.shape)
        arr[idx] = flip_value(arr[idx], r["bit"], layer.types[r["param"]])
        out = Emulator(faulty).run_int(emu.quantize_input(x))
        assert r["changed"] == int(np.sum(np.argmax(out, -1) != y)), r
        flagged.append(bool(np.any(out[:5] != clean_out[:5])))
        assert r["flagged"] == flagged[-1], r
        if np.any(np.argmax(out[:5], -1) != y[:5]):  # a canary's own prediction moved: it must be flagged
            assert r["flagged"], r
    assert 0 < sum(flagged) < len(res), flagged  # the sample holds flagged and silent flips alike
    assert any(r["changed"] for r in res) and not all(r["changed"] for r in res)
    s = summarize(res)
    assert s["flips"] == 40 and s["detected_all"] == np.mean(flagged)
    assert len(bit_sites(spec, "g")) == sum(a.size * layer.types[k].width for k, a in layer.params.items())


@pytest.fixture(scope="module")
def wings_run(tmp_path_factory, mnist_folder):
    """examples/mnist_mlp_wings.yaml with a small WINGs layer (784 -> 64 generated -> 10) through
    `codesign flow` once: harden.wings pretrains the dense twin, fits PCA + SVR, fine-tunes; C-sim on."""
    out = tmp_path_factory.mktemp("wings") / "run"
    codesign("flow", EXAMPLES / "mnist_mlp_wings.yaml", "--out", out, "--no-rtl",
             "--set", "model.layers=[{flatten: {}}, {wings_dense: {units: 64, components: 6, centres: 12, "
             "basis_grid: [10, 10], pixel_sigma: 1.4}}, {relu: {bits: 8, integer: 3}}, {dense: {units: 10, "
             "kernel: {bits: 8, integer: 0}, bias: {bits: 8, integer: 3}}}]",
             "--set", "harden.wings={pretrain_epochs: 3}", "--set", "train.epochs=2", "--set", "baseline.float=false")
    return out, json.loads((out / "report.json").read_text())


def test_wings_flow_views_and_compression(wings_run):
    """Keras vs emulator and emulator vs C-sim on the full test split, compression accounting against
    both baselines counted here from the saved spec."""
    out, report = wings_run
    acc, be, comp = report["accuracy"], report["bit_exact"], report["compression"]
    assert be["samples"] == 2000 and be["emulator_vs_csim"] == 1.0
    assert acc["emulator"] >= 0.6 and abs(acc["keras"] - acc["emulator"]) <= 0.005
    lay = comp["layers"]["wings_dense_1"]
    # stored bits counted here from the saved spec: every generator parameter at its type's width, against
    # the 784 x 64 dense layer it stands for (weights at the generated width + bias), and against float32
    g = DesignSpec.load(out / "spec").layer("wings_dense_1")
    stored = sum(int(np.prod(a.shape)) * g.types[k].width for k, a in g.params.items())
    assert lay["weight_bits"] == stored
    assert lay["ratio"] == (784 * 64 * g.types["weight"].width + 64 * g.types["bias"].width) / stored > 10
    assert lay["ratio_float32"] == 32 * (784 * 64 + 64) / stored
    assert (out / "hls" / "firmware" / "nnet_utils" / "nnet_wings_gen.h").exists()


def test_wings_report_renders_in_chromium(wings_run, tmp_path):
    check_report_in_chromium(wings_run[0], tmp_path, "mnist_mlp_wings")


def test_wings_fit_step_in_flow(wings_run):
    """harden.wings: pretrain the dense twin, fit PCA + SVR, fine-tune, all inside `codesign flow`."""
    _, report = wings_run
    fit, acc = report["wings_fit"], report["accuracy"]
    assert fit["pretrain_epochs"] == 3 and fit["permute"] is True
    assert fit["dense_accuracy"] > 0.85 and fit["fitted_accuracy"] > 0.3  # the fit alone already classifies
    assert 0 < fit["layers"]["wings_dense_1"]["pca_explained_variance"] <= 1
    assert acc["keras"] >= fit["fitted_accuracy"] and report["bit_exact"]["emulator_vs_csim"] == 1.0


def test_wings_fit_needs_a_wings_layer(tmp_path):
    out = tmp_path / "run"
    proc = codesign("flow", EXAMPLES / "mnist_mlp.yaml", "--out", out, "--set", "harden.wings={pretrain_epochs: 3}",
                    check=False)
    assert_user_error(proc, "harden.wings fits wings_dense layers")
    assert not (out / "report.json").exists()


def test_sensitivity_rank_and_chooser():
    from codesign.techniques.wings.sensitivity import choose_layers, rank_k

    rng = np.random.default_rng(4)
    w = rng.normal(size=(30, 2)) @ rng.normal(size=(2, 12)) + 0.5  # mean + rank 2, 12 neurons
    assert np.allclose(rank_k(w, 2), w) and not np.allclose(rank_k(w, 1), w)
    rows = [{"layer": "a", "params": 5000, "drop": {4: 0.01}}, {"layer": "b", "params": 90000, "drop": {4: 0.015}},
            {"layer": "c", "params": 90000, "drop": {4: 0.2}}, {"layer": "d", "params": 100, "drop": {4: 0.0}}]
    assert choose_layers(rows, 4, max_drop=0.02) == ["b", "a"]


WINGS_DIGITS = [{"flatten": {}},
                {"wings_dense": {"units": 16, "components": 4, "centres": 6, "coef_sigma": 2.0, "basis_grid": [4, 4],
                                 "in_hw": [8, 8], "pixel_sigma": 1.0}},
                {"relu": {"bits": 8, "integer": 3}},
                {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]


@pytest.fixture(scope="module")
def tiny_wings():
    """The harden.wings hook (techniques/wings/train.py) on digits: a 64 -> 16 generated -> 10 model whose
    dense twin is pretrained 3 epochs and fitted (PCA + SVR); (model, report section, spec, data), seconds."""
    from codesign.data import load_dataset
    from codesign.extract import extract_spec
    from codesign.techniques.wings.train import fitted_wings_model

    d = load_dataset({"dataset": "digits", "train": None, "test": None}, 0)
    cfg = {"seed": 0, "name": "tiny_wings", "harden": {"wings": {"pretrain_epochs": 3, "permute": True}},
           "train": {"batch_size": 32, "learning_rate": 3e-3}}
    logged = []
    model, section = fitted_wings_model(cfg, d, WINGS_DIGITS, log=logged.append)
    assert any("wings fit: dense" in line for line in logged)
    return model, section, extract_spec(model, "tiny_wings"), d


def test_tiny_wings_fit_hook_gives_an_emulator_equal_to_keras(tiny_wings):
    """wings/train.py: the dense twin keeps the wings layer's name as an 8-bit dense layer; after the fit the
    model holds a WingsDense whose spec's emulator equals Keras exactly on the whole digits test split, and the
    fitted generator alone (before any fine-tune) already classifies."""
    from codesign.data import to_model_input
    from codesign.emulator import Emulator
    from codesign.techniques.wings.layer import WingsDense
    from codesign.techniques.wings.train import dense_twin_layers

    twin, args = dense_twin_layers(WINGS_DIGITS)
    assert twin[1] == {"dense": {"units": 16, "name": "wings_dense_1", "kernel": {"bits": 8, "integer": 0},
                                 "bias": {"bits": 8, "integer": 3}}}
    assert args == {"wings_dense_1": {k: v for k, v in WINGS_DIGITS[1]["wings_dense"].items() if k != "units"}}
    assert "wings_dense" in WINGS_DIGITS[1]  # the caller's list is left as it was
    model, section, spec, d = tiny_wings
    assert isinstance(model.get_layer("wings_dense_1"), WingsDense)
    assert section["pretrain_epochs"] == 3 and section["permute"] is True
    assert section["dense_accuracy"] > 0.8 and section["fitted_accuracy"] > 0.2  # chance: 0.1
    assert 0 < section["layers"]["wings_dense_1"]["pca_explained_variance"] <= 1
    layer = spec.layer("wings_dense_1")
    assert layer.kind == "wings_dense" and layer.attrs["in_hw"] == [8, 8] and layer.params["alpha"].shape == (4, 6)
    keras = model.predict(to_model_input(d.x_test), verbose=0)
    emu = Emulator(spec).run(d.x_test)[1]
    np.testing.assert_array_equal(emu, keras)  # every output of every test digit
    assert np.mean(np.argmax(emu, -1) == d.y_test) == section["fitted_accuracy"]


def test_tiny_wings_hls_project_names_the_generator(tiny_wings, tmp_path):
    """wings/hls.py: the hls4ml project of the spec (written, then compiled) calls nnet::wings_gen with the
    layer's geometry, types its generated weight with the spec's weight type, and stores the spec's alpha
    integers; a spec storing its basis directly is refused in one line."""
    from codesign.hls_view import HLSView

    from codesign.emulator import Emulator

    _, _, spec, _ = tiny_wings
    hv = HLSView(spec, tmp_path / "hls")
    hv.model.write()
    fw = tmp_path / "hls" / "firmware"
    assert (fw / "nnet_utils" / "nnet_wings_gen.h").exists()
    assert "nnet::wings_gen<" in (fw / "codesign_top.cpp").read_text()
    params = (fw / "parameters.h").read_text()
    for n in ("n_in = 64", "n_out = 16", "n_comp = 4", "n_sv = 6", "height = 8", "width = 8", "grid_rows = 4",
              "grid_cols = 4"):
        assert f"static const unsigned {n};" in params, n
    layer = spec.layer("wings_dense_1")
    w = layer.types["weight"]
    assert f"ap_fixed<{w.width},{w.integer}" in (fw / "defines.h").read_text() + params
    alpha = [p for p in (fw / "weights").glob("*.txt") if p.stem.startswith("alpha")]
    assert alpha, sorted(p.name for p in (fw / "weights").iterdir())
    real = np.array([float(v) for v in alpha[0].read_text().split(",")])
    np.testing.assert_array_equal(real * 2 ** layer.types["alpha"].frac, layer.params["alpha"].reshape(-1))
    # compiled (g++, seconds for this size): C-sim integers = emulator integers on the whole test split
    _, _, _, d = tiny_wings
    x_int = Emulator(spec).quantize_input(d.x_test)
    np.testing.assert_array_equal(hv.compile().csim_int(x_int), Emulator(spec).run_int(x_int).reshape(len(x_int), -1))
    direct = spec.copy()
    direct.layer("wings_dense_1").attrs["basis_grid"] = None
    with pytest.raises(ValueError, match="'wings_dense_1' \\(wings_dense\\) stores its basis directly"):
        HLSView(direct, tmp_path / "hls_direct")
