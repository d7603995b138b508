"""Robustness step end to end on real MNIST: a small STQ MLP trained with and without Jacobian
regularization, attacked white-box (FGSM, PGD) and black-box (Square, HopSkipJump), the deployed
integer emulator run on the adversarial pixels, report.json/report.md/plot written, and the
gradient-masking flag checked on a model that really masks its gradients.
"""
import json

import numpy as np
import pytest
import yaml
from conftest import assert_user_error, codesign

EPS = 0.1
CONFIG = {
    "name": "mlp_jr_small",
    "seed": 0,
    "data": {"dataset": "mnist", "train": 4000, "test": 500},
    "model": {"layers": [
        {"flatten": {}},
        {"dense": {"units": 128, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
        {"relu": {"bits": 8, "integer": 3}},
        {"dense": {"units": 64, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
        {"relu": {"bits": 8, "integer": 3}},
        {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}, "bias": {"bits": 8, "integer": 3}}}]},
    "train": {"epochs": 5, "batch_size": 64, "learning_rate": 0.001},
    "baseline": {"float": False},
    "hls": {"enabled": False},
    "harden": {"stq": {"layers": "all"}, "jr": {"layers": {"logits": 0.1}, "projections": 1}},
    "robustness": {"enabled": True, "variants": ["float", "stq", "stq_jr"],
                   "attacks": ["fgsm", "pgd", "square", "hopskipjump"], "epsilons": [0.05, EPS],
                   "samples": 150, "pgd": {"steps": 10, "step_ratio": 0.25},
                   "square": {"samples": 60, "max_queries": 150},
                   "hopskipjump": {"samples": 8, "max_iter": 3, "max_eval": 200, "init_eval": 20, "init_size": 20}},
}


@pytest.fixture(scope="module")
def jr_run(tmp_path_factory, mnist_folder):
    folder = tmp_path_factory.mktemp("jr")
    (folder / "cfg.yaml").write_text(yaml.safe_dump(CONFIG))
    out = folder / "run"
    codesign("flow", folder / "cfg.yaml", "--out", out, "--no-rtl")
    return out, json.loads((out / "report.json").read_text())


def test_report_contract(jr_run):
    out, report = jr_run
    rob = report["robustness"]
    assert list(rob) == ["float", "stq", "stq_jr"]
    for variant, res in rob.items():
        for attack in ("fgsm", "pgd", "square", "hopskipjump"):
            assert set(res[attack]) == {"0.05", "0.1"}, (variant, attack)
            assert all(0.0 <= a <= 1.0 for a in res[attack].values())
        assert res["samples"] == {"clean": 150, "clean_test": 500, "fgsm": 150, "pgd": 150, "square": 60,
                                  "hopskipjump": 8, "worst_case": 60}
        assert isinstance(res["gradient_masking"]["detected"], bool)
        for e in ("0.05", "0.1"):
            assert res["pgd"][e] <= res["clean_accuracy"]
    assert "emulator" not in rob["float"]  # no integer design for the float baseline
    for v in ("stq", "stq_jr"):
        assert set(rob[v]["emulator"]) == {"fgsm", "pgd", "square", "hopskipjump"}
    # stored weights: ternary + 8-bit vs float32, >= 10x
    assert rob["float"]["size_kb"] / rob["stq_jr"]["size_kb"] >= 10
    assert rob["stq_jr"]["weight_bits"] == report["compression"]["weight_bits"]
    assert (out / "plots" / "robustness.png").stat().st_size > 5000
    md = (out / "report.md").read_text()
    assert "## robustness (tables)" in md and "| stq_jr |" in md
    for v in ("float", "stq", "stq_jr"):
        assert (out / "robustness" / v / "model.h5").exists()


def test_jr_improves_pgd_robustness(jr_run):
    rob = jr_run[1]["robustness"]
    assert rob["stq_jr"]["pgd"]["0.1"] >= rob["stq"]["pgd"]["0.1"] + 0.15, rob
    assert rob["stq_jr"]["clean_accuracy"] >= 0.8
    # the deployed integer design keeps the gain on the adversarial pixels
    assert rob["stq_jr"]["emulator"]["pgd"]["0.1"] >= rob["stq"]["emulator"]["pgd"]["0.1"] + 0.15


def test_hardened_model_flows_through_spec_and_emulator(jr_run):
    acc = jr_run[1]["accuracy"]
    assert abs(acc["keras"] - acc["emulator"]) <= 0.005
    assert jr_run[1]["robustness"]["stq_jr"]["emulator_clean_accuracy"] == pytest.approx(
        jr_run[1]["robustness"]["stq_jr"]["clean_accuracy"], abs=0.02)
    # clean accuracy on the whole test split: the train step's and the emulator step's own figures
    rob = jr_run[1]["robustness"]["stq_jr"]
    assert rob["clean_accuracy_test"] == pytest.approx(acc["keras"], abs=1e-9)
    assert rob["emulator_clean_accuracy_test"] == pytest.approx(acc["emulator"], abs=1e-9)


def test_emulator_accuracy_comes_from_integer_outputs(jr_run):
    """Recompute PGD at eps=0.1 (deterministic), push the adversarial reals through floor(x*256) ->
    uint8 -> Emulator.run_int ourselves, and find the report's number; a spec with the output layer's
    weights zeroed must give a different number (the figure depends on the integer design)."""
    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.emulator import Emulator
    from codesign.models import load_model
    from codesign.robustness import classifier, image_model, run_attack, to_pixels
    from codesign.spec import DesignSpec

    out, report = jr_run
    cfg = load_config(out / "config.yaml")
    d = load_dataset(cfg["data"], cfg["seed"])
    model = image_model(load_model(out / "model"))
    x = (d.x_test[:150].astype(np.float32) / 256).reshape(150, 28, 28, 1)
    y = d.y_test[:150]
    xa = run_attack("pgd", classifier(model), x, y, EPS, cfg["robustness"])
    pix = to_pixels(xa)
    assert pix.dtype == np.uint8 and np.all(np.abs(pix.astype(int) - d.x_test[:150, :, :, None]) <= 26)
    spec = DesignSpec.load(out / "spec")
    q = Emulator(spec).run_int(Emulator(spec).quantize_input(pix))
    assert q.dtype.kind == "i"
    acc = float(np.mean(np.argmax(q, -1) == y))
    assert acc == report["robustness"]["stq_jr"]["emulator"]["pgd"]["0.1"]
    broken = spec.copy()
    last = [l for l in broken.layers if l.params][-1]
    last.params["weight"] = np.zeros_like(last.params["weight"])
    qb = Emulator(broken).run_int(Emulator(broken).quantize_input(pix))
    assert float(np.mean(np.argmax(qb, -1) == y)) != acc


def test_attack_model_holds_the_quantized_weights_and_gives_the_model_s_logits(jr_run):
    """The traced model the attacks call computes every weight quantizer once (frozen_quantizers):
    its logits equal the QKeras model's own on real digits bit for bit, the layers get their own
    quantizers back, and a wrong held weight is caught by `check`. Each attack's time is recorded."""
    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.models import load_model
    from codesign.robustness import _Compiled, image_model

    out, report = jr_run
    cfg = load_config(out / "config.yaml")
    d = load_dataset(cfg["data"], cfg["seed"])
    model = image_model(load_model(out / "robustness" / "stq_jr"))
    x = (d.x_test[:200].astype(np.float32) / 256).reshape(200, 28, 28, 1)
    compiled = _Compiled(model)
    assert len(compiled.held) == 6  # three kernels and three biases
    compiled.check(x)
    inner = [l for l in model.layers if hasattr(l, "layers")][0]
    dense = [l for l in inner.layers if hasattr(l, "kernel_quantizer_internal")]
    assert all(not getattr(l.kernel_quantizer_internal, "__name__", "") == "<lambda>" for l in dense)
    compiled.held[0].assign(compiled.held[0] * 0)
    with pytest.raises(AssertionError, match="differs from the model"):
        compiled.check(x)
    for res in report["robustness"].values():
        assert set(res["seconds"]) == {"fgsm", "pgd", "square", "hopskipjump"}
        assert all(t["wall"] > 0 and t["cpu"] > 0 for t in res["seconds"].values())


def test_to_pixels_is_what_the_fpga_receives():
    from codesign.robustness import to_pixels

    x = np.array([0.0, 1 / 256, 1 / 256 - 1e-6, 0.5, 255 / 256, 1.3, -0.2])
    assert to_pixels(x).tolist() == [0, 1, 0, 128, 255, 255, 0]


def test_worst_case_counts_a_sample_only_if_it_survives_every_attack():
    """Hand-made per-sample outcomes: over the samples the black-box attack covered (the first four),
    only sample 0 survives PGD, FGSM and Square; with white-box attacks alone, samples 0, 3 and 4 of six."""
    from codesign.robustness import worst_case

    t, f = True, False
    pgd, fgsm, square = np.array([t, t, f, t, t, f]), np.array([t, f, t, t, t, t]), np.array([t, t, t, f])
    pgd2 = np.array([f, t, f, t, t, t])  # at 0.2 every one of the first four falls to some attack
    correct = {"pgd": {"0.1": pgd, "0.2": pgd2}, "fgsm": {"0.1": fgsm, "0.2": fgsm}, "square": {"0.1": square, "0.2": square}}
    assert worst_case(correct, [0.1, 0.2]) == ({"0.1": 0.25, "0.2": 0.0}, 4)
    assert worst_case({"pgd": {"0.1": pgd}, "fgsm": {"0.1": fgsm}}, [0.1]) == ({"0.1": 0.5}, 6)


def test_gradient_masking_flag_synthetic():
    from codesign.robustness import detect_masking

    ok = np.ones(100, bool)
    beaten = ok.copy()
    beaten[:20] = False
    flagged = detect_masking({"pgd": {"0.1": ok}, "fgsm": {"0.1": ok}, "square": {"0.1": beaten[:50]}})
    assert flagged["detected"] and flagged["cases"][0]["black_box"] == "square"
    assert flagged["cases"][0]["white_box_accuracy"] == 1.0 and flagged["cases"][0]["black_box_accuracy"] == 0.6
    # black-box weaker than white-box on the same samples: no flag
    assert not detect_masking({"pgd": {"0.1": beaten}, "square": {"0.1": ok[:50]}})["detected"]
    # only the samples the black-box attack ran on are compared (pgd loses on the first 20 too)
    assert not detect_masking({"pgd": {"0.1": beaten}, "square": {"0.1": beaten[:50]}})["detected"]


def test_gradient_masking_flag_on_a_masking_model(jr_run):
    """A model behind a zero-gradient identity: white-box attacks see zero gradients and do nothing, Square
    still succeeds, so the flag must be raised and the worst case must not quote PGD."""
    import tensorflow as tf
    from tensorflow import keras

    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.models import load_model
    from codesign.robustness import evaluate_model

    out, _ = jr_run
    cfg = load_config(out / "config.yaml")
    d = load_dataset(cfg["data"], cfg["seed"])
    inner = load_model(out / "robustness" / "float")
    inp = keras.Input((28, 28))
    masked = keras.Model(inp, inner(keras.layers.Lambda(lambda x: 0.0 * x + tf.stop_gradient(x))(inp)))
    r = dict(cfg["robustness"], attacks=["pgd", "square"], epsilons=[0.2], samples=40,
             square={"samples": 40, "max_queries": 100, "restarts": 1, "p_init": 0.8})
    res = evaluate_model(masked, d.x_test, d.y_test, r, log=lambda m: None)
    assert res["pgd"]["0.2"] == res["clean_accuracy"]  # zero gradients: PGD moved nothing
    assert res["square"]["0.2"] < res["pgd"]["0.2"]
    assert res["gradient_masking"]["detected"]
    assert res["worst_case"]["0.2"] == res["square"]["0.2"]


def test_cli_reruns_the_evaluation(jr_run, tmp_path):
    import shutil

    out, report = jr_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["robustness"].update(variants=["stq", "stq_jr"], attacks=["pgd"])  # a quicker re-run
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    summary = json.loads(codesign("robustness", run).stdout)
    assert set(summary) == {"stq", "stq_jr"}
    new = json.loads((run / "report.json").read_text())["robustness"]
    for v in ("stq", "stq_jr"):  # PGD without random start is deterministic: same numbers again
        assert new[v]["pgd"] == report["robustness"][v]["pgd"]
        assert new[v]["emulator"]["pgd"] == report["robustness"][v]["emulator"]["pgd"]


def _bench_main(script: str, *args) -> None:
    """Run bench/SCRIPT's main() in this process with these arguments."""
    import importlib.util
    import sys

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location(script[:-3], ROOT / "bench" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv, sys.argv = sys.argv, [script, *map(str, args)]
    try:
        module.main()
    finally:
        sys.argv = argv


def test_bench_attacks_one_variant_of_an_unfinished_seed(jr_run, tmp_path):
    """bench/robustness_variant.py on a seed folder without report.json (the flow's evaluation cut
    short): the main variant attacked with its spec gives the flow's own deterministic PGD figures,
    and robustness_table.py --merge tabulates the seed from that result."""
    import shutil

    out, report = jr_run
    run = tmp_path / "runs" / "seed0"
    shutil.copytree(out, run)
    (run / "report.json").unlink()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["robustness"].update(variants=["stq_jr"], attacks=["pgd"])
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    _bench_main("robustness_variant.py", run, "stq_jr")  # in this process: no second TensorFlow start-up
    res = json.loads((run / "robustness/stq_jr/result.json").read_text())
    old = report["robustness"]["stq_jr"]
    assert res["pgd"] == old["pgd"] and res["emulator"]["pgd"] == old["emulator"]["pgd"]
    assert res["clean_accuracy_test"] == report["accuracy"]["keras"]
    _bench_main("robustness_table.py", "x", "--merge", tmp_path / "runs", "--out", tmp_path / "table")
    table = json.loads((tmp_path / "table/table.json").read_text())["table"]
    assert table["stq_jr"]["pgd@0.1"]["values"] == [old["pgd"]["0.1"]]


def test_cli_robustness_needs_a_built_run(tmp_path):
    proc = codesign("robustness", tmp_path, check=False)
    assert_user_error(proc, "report.json")
