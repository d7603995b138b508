"""Place and route (codesign/rtl/pnr.py): `codesign pnr` on a small generated design (yosys synth_ecp5 +
nextpnr-ecp5, ~1 min on CI), its bad-input errors and the critical-path parser. The flow's `rtl.pnr`
on the digits design, with its routed clock checked, is in tests/test_flow_small.py."""
import json
import shutil

import pytest
from conftest import EXAMPLES, codesign

from codesign.rtl import generate
from codesign.rtl.pnr import critical_path
from codesign.rtl.random_spec import random_mlp

# the tail of a routed nextpnr-ecp5 log (shortened from the digits MLP before the adder tree was pipelined)
LOG = """Info: Critical path report for clock 'clk' (posedge -> posedge):
Info:       type curr  total name
Info:   clk-to-q  5.83  5.83 Source u_l0.u_wmem.mem.0.0.DOB14
Info:    routing  1.57  7.40 Net u_l0.u_wmem.mem.0.0_DOB14[2] (46,22) -> (47,11)
Info:                          Sink u_l0.u_wmem.mem.0.1_DOA10_LUT4_C_Z_LUT4_Z_1_D.D
Info:                          Defined in:
Info:                               dot_simd.sv:35.34-35.79
Info:                               /share/lattice/arith_map_ccu2c.v:74.7-80.4
Info:      logic  0.44 19.62 Source u_l0.u_mac.dot2[2]_TRELLIS_FF_Q_11_DI_CCU2C_S1_COUT_CCU2C_CIN$CCU2_COMB0.F
Info:    routing  0.42 20.04 Net u_l0.u_mac.dot2[2]_TRELLIS_FF_Q_11_DI_CCU2C_S1_COUT_CCU2C_CIN_S0 (56,9) -> (56,9)
Info:                          Sink u_l0.u_mac.dot2[2]_TRELLIS_FF_Q_12.M
Info:                          Defined in:
Info:                               mac_pipe.sv:120.1-120.9
Info:      setup  0.00 20.04 Source u_l0.u_mac.dot2[2]_TRELLIS_FF_Q_12.M
Info: 10.78 ns logic, 9.26 ns routing

Warning: Max frequency for clock 'clk': 49.90 MHz (FAIL at 100.00 MHz)
"""


def test_critical_path_names_the_design_cells():
    cp = critical_path(LOG)
    assert cp == {"from": "u_l0.u_wmem.mem.0.0.DOB14", "to": "u_l0.u_mac.dot2[2]", "delay_ns": 20.04,
                  "through": ["dot_simd.sv", "mac_pipe.sv"]}
    assert critical_path("Info: no timing here\n") == {}


def test_pnr_bad_input_is_one_line(tmp_path):
    proc = codesign("pnr", tmp_path / "nothing", check=False)
    assert proc.returncode == 2 and "holds no generated RTL" in proc.stderr and "Traceback" not in proc.stderr
    run = tmp_path / "run"
    (run / "rtl").mkdir(parents=True)
    (run / "rtl" / "rtl_meta.json").write_text("{}")
    shutil.copyfile(EXAMPLES / "digits_mlp.yaml", run / "config.yaml")
    proc = codesign("pnr", run, "--mhz", "-5", check=False)
    assert proc.returncode == 2 and "--mhz must be a positive clock" in proc.stderr
    proc = codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", tmp_path / "r", "--set", "rtl.pnr=maybe",
                    check=False)
    assert proc.returncode == 2 and "rtl.pnr must be true or false" in proc.stderr
    assert not (tmp_path / "r" / "report.json").exists()


@pytest.mark.slow
@pytest.mark.long  # beyond the CI budget: pytest -m long
def test_pnr_cli_routes_a_small_design(tmp_path):
    """A 32-16-4 MLP folded SIMD 32 (a 5-level adder tree, 2 registers in it), routed through the CLI;
    the report's timing agrees with nextpnr's log (the clock the digits design must reach is checked in
    tests/test_flow_small.py)."""
    run = tmp_path / "run"
    meta = generate(random_mlp(5, [32, 16, 4]), run / "rtl", folding=[{"pe": 2, "simd": 32}, {"pe": 4, "simd": 16}])
    assert meta["folding"][0]["simd"] == 32
    shutil.copyfile(EXAMPLES / "digits_mlp.yaml", run / "config.yaml")
    (run / "report.json").write_text(json.dumps({"accuracy": {"emulator": 0.5}}))
    proc = codesign("pnr", run, "--mhz", "100")
    t = json.loads(proc.stdout)["timing"]
    report = json.loads((run / "report.json").read_text())
    assert report["timing"] == t and report["accuracy"] == {"emulator": 0.5}  # the other sections are kept
    assert t["target_mhz"] == 100.0 and t["part"] == "LFE5U-85F-6BG381C" and "nextpnr-ecp5" in t["tool"]
    assert t["fmax_mhz"] > 0 and t["met"] == (t["fmax_mhz"] >= 100.0), t
    # the log's critical path and the report's Fmax are the same number
    assert t["critical_path"]["delay_ns"] == pytest.approx(1000.0 / t["fmax_mhz"], rel=0.01)
    u = t["utilization"]
    assert 0 < u["LUT4"]["used"] < u["LUT4"]["available"] and u["FF"]["used"] > 100
    assert (run / "rtl" / "model_top_timing.json").exists()
