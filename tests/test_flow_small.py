"""The whole flow, synthesis included, on a small real-data design (sklearn digits), then `codesign sim`;
and both commands failing (exit 2, one line, no report written) on RTL that breaks the stream protocol."""
import json

import pytest

from broken_rtl import patched_cli
from conftest import EXAMPLES, assert_user_error, codesign
from codesign.rtl.toolchain import OPT_LEVELS


@pytest.mark.slow
def test_digits_flow_with_synthesis(tmp_path):
    out = tmp_path / "digits"
    codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", out, "--set", "hls.clock_period_ns=5.0",
             "--set", "baseline.float=false")
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

    # the same run's RTL regenerated with tlast misplaced: `codesign sim` fails and leaves the report alone
    before = (out / "report.json").read_bytes()
    proc = patched_cli("misplace_tlast", "sim", out, "--samples", 20,
                       env={"CODESIGN_VERILATOR_MAKEVARS": OPT_LEVELS["quick"]})
    assert_user_error(proc, "tlast misplaced on", "sim.log")
    assert (out / "report.json").read_bytes() == before


def test_flow_fails_on_lost_output_beat(tmp_path):
    """A flow whose generated top loses one output beat stops at the RTL step: exit 2, one line naming
    the hang / lost beats, and no report.json."""
    out = tmp_path / "digits"
    proc = patched_cli("lose_first_beat", "flow", EXAMPLES / "digits_mlp.yaml", "--out", out,
                       "--set", "train.epochs=1", "--set", "hls.enabled=false", "--set", "rtl.samples=20",
                       "--set", "rtl.synth=false", "--set", "rtl.opt=quick")
    assert_user_error(proc, "RTL simulation of model_top", "(hang or lost beats)")
    assert not (out / "report.json").exists()
