"""The spine end to end on real MNIST: `codesign flow examples/mnist_mlp.yaml`, then `codesign evaluate`."""
import json

import numpy as np
import pytest

from codesign.data import load_dataset
from codesign.spec import DesignSpec
from conftest import assert_user_error, codesign


def test_mlp_flow_meets_the_spine_bar(mlp_run):
    out, report = mlp_run
    acc, be = report["accuracy"], report["bit_exact"]
    assert acc["emulator"] >= 0.94
    assert acc["float32_baseline"] - acc["emulator"] <= 0.015
    assert abs(acc["keras"] - acc["emulator"]) <= 0.005
    assert be["samples"] == 2000 and be["emulator_vs_csim"] == 1.0
    assert acc["csim"] == acc["emulator"]
    for part in ("config.yaml", "model/model.h5", "spec/spec.json", "spec/params.npz", "report.md"):
        assert (out / part).exists(), part


def test_mlp_rtl_is_bit_exact_and_busy(mlp_run):
    _, report = mlp_run
    be, thr = report["bit_exact"], report["throughput"]
    assert be["rtl_samples"] == 2000 and be["emulator_vs_rtl"] == 1.0  # streamed with random stalls
    assert report["accuracy"]["rtl"] == report["accuracy"]["emulator"]
    assert thr["cycles_per_inference"] >= thr["bound_cycles"]
    assert thr["mac_utilization"] >= 0.9
    assert "resources" not in report  # synthesis was switched off: the section is omitted, not faked


def test_spec_is_integer_and_typed(mlp_run):
    spec = DesignSpec.load(mlp_run[0] / "spec")
    dense = [l for l in spec.layers if l.kind == "dense"]
    assert [l.params["weight"].shape for l in dense] == [(784, 256), (256, 128), (128, 10)]
    for layer in dense[:2]:  # stochastic_ternary hidden layers stay ternary
        assert set(np.unique(layer.params["weight"])) <= {-1, 0, 1}
        assert layer.out_type.hls() == "ufixed<8,3,RND_CONV,SAT>"
    for layer in dense:
        assert layer.params["weight"].dtype == np.int64
        assert {"input", "weight", "product", "accum", "output"} <= set(layer.types)


@pytest.mark.parametrize("view", ["emulator", "keras", "csim"])
def test_evaluate_views_on_an_npz(mlp_run, tmp_path, view, mnist_folder):
    out, report = mlp_run
    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    np.savez(tmp_path / "test.npz", x=d.x_test, y=d.y_test)
    result = json.loads(codesign("evaluate", out, "--data", tmp_path / "test.npz", "--view", view).stdout)
    assert result == {"view": view, "samples": 2000, "accuracy": report["accuracy"][view]}


def test_evaluate_rtl_view_on_a_subset(mlp_run, tmp_path):
    """The RTL view on new data (300 digits, to keep CI short) agrees with the emulator."""
    out, _ = mlp_run
    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    x, y = d.x_test[-300:], d.y_test[-300:]
    np.savez(tmp_path / "sub.npz", x=x, y=y)
    rtl = json.loads(codesign("evaluate", out, "--data", tmp_path / "sub.npz", "--view", "rtl").stdout)
    emu = json.loads(codesign("evaluate", out, "--data", tmp_path / "sub.npz", "--view", "emulator").stdout)
    assert rtl["samples"] == 300 and rtl["accuracy"] == emu["accuracy"]


def test_evaluate_rejects_wrong_shape(mlp_run, tmp_path):
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 8, 8), np.uint8), y=np.zeros(3, np.uint8))
    proc = codesign("evaluate", mlp_run[0], "--data", tmp_path / "bad.npz", check=False)
    assert_user_error(proc, "(8, 8)", "(28, 28)")


def test_compile_cli_gives_the_flows_spec(mlp_run, tmp_path):
    """`codesign compile` on the run's saved .h5 (a user's own QKeras model) makes the spec the flow made."""
    out, _ = mlp_run
    proc = codesign("compile", out / "model" / "model.h5", "--out", tmp_path / "spec")
    assert proc.stdout.startswith("spec of 4 layers"), proc.stdout
    mine, flows = DesignSpec.load(tmp_path / "spec"), DesignSpec.load(out / "spec")
    assert tuple(mine.input_shape) == tuple(flows.input_shape) and mine.input_type == flows.input_type
    assert [(l.name, l.kind, l.types) for l in mine.layers] == [(l.name, l.kind, l.types) for l in flows.layers]
    for a, b in zip(mine.layers, flows.layers):
        assert sorted(a.params) == sorted(b.params)
        for k in a.params:
            assert np.array_equal(a.params[k], b.params[k]), (a.name, k)
