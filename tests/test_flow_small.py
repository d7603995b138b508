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
             "--set", "baseline.float=false", "--set", "rtl.pnr=true")
    report = json.loads((out / "report.json").read_text())
    from report_checks import check_report_html  # report.html: every section filled, every figure decodes

    check_report_html(out, expect_figures=("throughput", "resources", "compression"))
    assert report["throughput"]["clock_mhz"] == 200.0  # the --set override reached the run
    # rtl.pnr: placed and routed for an ECP5 (yosys + nextpnr); the pipelined engines run above 100 MHz
    # (49.9 MHz before the adder trees were pipelined), though not at the 200 MHz asked for here
    t = report["timing"]
    assert t["target_mhz"] == 200.0 and t["met"] == (t["fmax_mhz"] >= 200.0)
    assert t["fmax_mhz"] >= 100.0, t
    acc, be = report["accuracy"], report["bit_exact"]
    assert acc["emulator"] >= 0.85
    assert be["emulator_vs_csim"] == 1.0 and be["emulator_vs_rtl"] == 1.0
    assert be["rtl_samples"] == be["rtl_samples_fast"] == be["samples"] == 397  # every sample on the C++ harness
    assert be["rtl_samples_cocotb"] == 256 and be["rtl_tlast_errors"] == 0  # the stall/protocol sample
    res = report["resources"]
    assert res["board"] == "pynq-z2" and res["fits"] and res["LUT"] > 0 and res["DSP"] >= 0
    assert report["throughput"]["mac_utilization"] >= 0.9

    # `codesign sim` re-verifies the built run's RTL and rewrites the report's RTL sections (timing is
    # dropped as stale: the RTL is regenerated, and routed again only with rtl.pnr, switched off here)
    cfg = (out / "config.yaml").read_text()
    assert "pnr: true" in cfg
    (out / "config.yaml").write_text(cfg.replace("pnr: true", "pnr: false"))
    sim = codesign("sim", out, "--samples", 100)
    again = json.loads((out / "report.json").read_text())
    assert again["bit_exact"]["rtl_samples"] == 100 and again["bit_exact"]["emulator_vs_rtl"] == 1.0
    assert again["bit_exact"]["rtl_samples_cocotb"] == 100
    assert "resources" in again and "cycles_per_inference" in sim.stdout
    assert "timing" not in again

    # the same run's RTL regenerated with tlast misplaced: `codesign sim` fails and leaves the report alone
    before = (out / "report.json").read_bytes()
    proc = patched_cli("misplace_tlast", "sim", out, "--samples", 20,
                       env={"CODESIGN_VERILATOR_MAKEVARS": OPT_LEVELS["quick"]})
    assert_user_error(proc, "tlast misplaced on", "sim.log")
    assert (out / "report.json").read_bytes() == before


@pytest.mark.parametrize("edit, cocotb_samples, needle", [
    pytest.param("lose_first_beat", 20, "(hang or lost beats)",  # caught by the cocotb stall/protocol sample
                 marks=pytest.mark.slow),  # a C-sim build and a cocotb run: outside the fast loop
    ("misplace_tlast", 0, "(C++ harness, 20 samples) failed: tlast misplaced on"),  # by the C++ harness alone
])
def test_flow_fails_on_a_protocol_error(tmp_path, edit, cocotb_samples, needle):
    """A flow whose generated top breaks the output stream stops at the RTL step: exit 2, one line
    naming the error, and no report.json."""
    out = tmp_path / "digits"
    proc = patched_cli(edit, "flow", EXAMPLES / "digits_mlp.yaml", "--out", out,
                       "--set", "train.epochs=1", "--set", "rtl.samples=20", "--set", f"rtl.cocotb_samples={cocotb_samples}",
                       "--set", "rtl.synth=false", "--set", "rtl.opt=quick", "--set", "baseline.float=false",
                       "--set", f"hls.enabled={'true' if cocotb_samples else 'false'}")  # C-sim once: the fast loop touches it
    assert_user_error(proc, "RTL simulation of model_top", needle)
    assert not (out / "report.json").exists()
