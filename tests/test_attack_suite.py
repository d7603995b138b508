"""The standard attack suite (issue 22): APGD-CE / APGD-DLR through ART, our vectorized DLR loss
checked against its definition and against ART's own (slow) DLR, PGD scored on the integer emulator,
the strong-vs-PGD masking flag, and the whole suite through `codesign flow` on scikit-learn's digits.
"""
import json

import numpy as np
import pytest
import yaml

from conftest import codesign

CONFIG = {
    "name": "digits_attacks",
    "seed": 0,
    "data": {"dataset": "digits"},
    "model": {"layers": [
        {"flatten": {}},
        {"dense": {"units": 32, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
        {"relu": {"bits": 8, "integer": 3}},
        {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]},
    "train": {"epochs": 8, "batch_size": 32, "learning_rate": 0.003},
    "baseline": {"float": False},
    "hls": {"enabled": False},
    "robustness": {"enabled": True, "variants": ["float", "stq"],
                   "attacks": ["pgd", "apgd_ce", "apgd_dlr", "square", "pgd_emulator"], "epsilons": [0.1],
                   "samples": 120, "pgd": {"steps": 10, "step_ratio": 0.25}, "apgd": {"steps": 20, "restarts": 1},
                   "pgd_emulator": {"steps": 10, "step_ratio": 0.25},
                   "square": {"samples": 40, "max_queries": 200}},
}


def _dlr_numpy(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Croce & Hein's DLR, written out per sample."""
    out = []
    for yi, zi in zip(y, z):
        order = np.sort(zi)[::-1]
        best_other = max(zi[j] for j in range(len(zi)) if j != yi)
        out.append(-(zi[yi] - best_other) / (order[0] - order[2] + 1e-12))
    return np.array(out)


def test_dlr_loss_matches_its_definition():
    from codesign.robustness import DifferenceOfLogitsRatio

    rng = np.random.default_rng(0)
    z = rng.normal(size=(64, 10)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    z[:8, :] += 5 * np.eye(10, dtype=np.float32)[y[:8]]  # some samples correctly classified
    loss = DifferenceOfLogitsRatio()
    loss.reduction = "none"
    got = loss(np.eye(10, dtype=np.float32)[y], z).numpy()
    np.testing.assert_allclose(got, _dlr_numpy(y, z), rtol=1e-5, atol=1e-6)
    loss.reduction = "sum_over_batch_size"
    assert np.isclose(float(loss(np.eye(10, dtype=np.float32)[y], z)), got.mean(), rtol=1e-5)


@pytest.fixture(scope="module")
def small_model():
    from sklearn.datasets import load_digits
    from tensorflow import keras

    keras.utils.set_random_seed(0)
    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0 * (255 / 256))[..., None]
    m = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(10)])
    m.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x[:1400], d.target[:1400], epochs=15, verbose=0)
    return m, x[1400:1430], d.target[1400:1430]


def test_apgd_dlr_equals_arts_own_dlr(small_model):
    """Our DLR path (loss_type=None on a DLR classifier) gives ART's built-in DLR attack's examples."""
    from art.attacks.evasion import AutoProjectedGradientDescent

    from codesign.robustness import DEFAULTS, classifier, run_attack

    model, x, y = small_model
    r = {**DEFAULTS, "apgd": {"steps": 8, "restarts": 1}, "batch_size": 30}
    np.random.seed(1)
    ours = run_attack("apgd_dlr", classifier(model), x, y, 0.1, r)
    np.random.seed(1)
    arts = AutoProjectedGradientDescent(classifier(model), norm=np.inf, eps=0.1, eps_step=0.2, max_iter=8,
                                        nb_random_init=1, batch_size=30, loss_type="difference_logits_ratio",
                                        verbose=False).generate(x=x, y=np.eye(10, dtype=np.float32)[y])
    np.testing.assert_allclose(ours, arts, atol=1e-6)
    assert np.abs(ours - x).max() <= 0.1 + 1e-6
    assert (model.predict(ours, verbose=0).argmax(1) == y).mean() < (model.predict(x, verbose=0).argmax(1) == y).mean()


def test_masking_flag_strong_below_pgd():
    from codesign.robustness import detect_masking

    ok = np.ones(100, bool)
    beaten = ok.copy()
    beaten[:30] = False  # APGD-DLR breaks 30 samples PGD did not
    flags = detect_masking({"pgd": {"0.1": ok}, "apgd_dlr": {"0.1": beaten}}, margin=0.02)
    assert flags["detected"]
    case = flags["cases"][0]
    assert case["kind"] == "strong_below_pgd" and case["strong_accuracy"] == 0.7 and case["pgd_accuracy"] == 1.0
    assert not detect_masking({"pgd": {"0.1": ok}, "apgd_dlr": {"0.1": beaten}}, margin=0.5)["detected"]
    assert not detect_masking({"pgd": {"0.1": beaten}, "apgd_dlr": {"0.1": beaten}}, margin=0.02)["detected"]


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suite")
    (folder / "cfg.yaml").write_text(yaml.safe_dump(CONFIG))
    out = folder / "run"
    codesign("flow", folder / "cfg.yaml", "--out", out, "--no-rtl")
    return out, json.loads((out / "report.json").read_text())


@pytest.mark.slow
def test_suite_through_the_flow(suite_run):
    out, report = suite_run
    rob = report["robustness"]
    assert set(rob) == {"float", "stq"}
    assert "pgd_emulator" not in rob["float"] and "emulator_worst_case" not in rob["float"]
    stq = rob["stq"]
    for attack in ("pgd", "apgd_ce", "apgd_dlr", "square", "pgd_emulator"):
        assert 0.0 <= stq[attack]["0.1"] <= 1.0
    assert stq["samples"]["apgd_ce"] == 120 and stq["samples"]["square"] == 40
    # the emulator worst case counts pgd_emulator, which attacks the integer design directly
    assert stq["emulator_worst_case"]["0.1"] <= stq["pgd_emulator"]["0.1"]
    md = (out / "report.md").read_text()
    assert "apgd_dlr" in md and "emulator worst-case" in md


@pytest.mark.slow
def test_pgd_emulator_scores_the_integer_design(suite_run):
    """pgd_on_emulator's `correct` is what the emulator says of its own examples, recomputed here."""
    from codesign.data import to_model_input
    from codesign.emulator import Emulator
    from codesign.models import load_model
    from codesign.robustness import classifier, emulator_classes, image_model, pgd_on_emulator, to_pixels
    from codesign.spec import DesignSpec
    from sklearn.datasets import load_digits

    out, _ = suite_run
    spec = DesignSpec.load(out / "spec")
    model = image_model(load_model(out / "robustness" / "stq"))
    emu = Emulator(spec)
    d = load_digits()
    pix = np.clip(d.images[:60] * 16, 0, 255).astype(np.uint8)
    x = to_model_input(pix).reshape((60,) + tuple(model.input_shape[1:]))
    y = d.target[:60]
    xa, correct = pgd_on_emulator(classifier(model), emu, x, y, 0.1, {"steps": 5, "step_ratio": 0.25})
    assert np.abs(xa - x).max() <= 0.1 + 1e-6
    q = emu.run_int(emu.quantize_input(to_pixels(xa)))
    np.testing.assert_array_equal(correct, q.reshape(60, -1).argmax(-1) == y)
    assert correct.mean() <= (emulator_classes(emu, x) == y).mean()
