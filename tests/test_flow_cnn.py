"""The CNN example through `codesign flow`: conv + pooling layers in the spec, emulator and hls4ml C-sim."""
import json

from conftest import EXAMPLES, codesign


def test_cnn_flow(tmp_path, mnist_folder):
    out = tmp_path / "cnn"
    codesign("flow", EXAMPLES / "mnist_cnn.yaml", "--out", out)
    report = json.loads((out / "report.json").read_text())
    acc, be = report["accuracy"], report["bit_exact"]
    assert acc["emulator"] >= 0.965
    assert abs(acc["keras"] - acc["emulator"]) <= 0.005
    assert be["samples"] == 2000 and be["emulator_vs_csim"] == 1.0
    spec = json.loads((out / "spec" / "spec.json").read_text())
    assert [l["kind"] for l in spec["layers"]][:3] == ["conv2d", "maxpool2d", "conv2d"]
