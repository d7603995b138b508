"""The whole flow, synthesis included, on a small real-data design (sklearn digits), then `codesign sim`."""
import json

from conftest import EXAMPLES, codesign


def test_digits_flow_with_synthesis(tmp_path):
    out = tmp_path / "digits"
    codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", out, "--set", "hls.clock_period_ns=5.0")
    report = json.loads((out / "report.json").read_text())
    assert report["throughput"]["clock_mhz"] == 200.0  # the --set override reached the run
    acc, be = report["accuracy"], report["bit_exact"]
    assert acc["emulator"] >= 0.85
    assert be["emulator_vs_csim"] == 1.0 and be["emulator_vs_rtl"] == 1.0
    assert be["rtl_samples"] == be["rtl_samples_fast"] == be["samples"] == 397  # every sample on the C++ harness
    assert be["rtl_samples_cocotb"] == 256 and be["rtl_tlast_errors"] == 0  # the stall/protocol sample
    res = report["resources"]
    assert res["board"] == "pynq-z2" and res["fits"] and res["LUT"] > 0 and res["DSP"] >= 0
    assert report["throughput"]["mac_utilization"] >= 0.9

    # `codesign sim` re-verifies the built run's RTL and rewrites the report's RTL sections
    (out / "report.json").unlink()
    sim = codesign("sim", out, "--samples", 100)
    again = json.loads((out / "report.json").read_text())
    assert again["bit_exact"]["rtl_samples"] == 100 and again["bit_exact"]["emulator_vs_rtl"] == 1.0
    assert again["bit_exact"]["rtl_samples_cocotb"] == 100
    assert "resources" in again and "cycles_per_inference" in sim.stdout
