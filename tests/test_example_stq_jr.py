"""examples/mnist_mlp_stq_jr.yaml as a user runs it: its full training recipe (40 epochs, STQ + JR
distilled from the float + JR model trained first), attacked on a subset of the test split, and its RTL checked on the whole split. The
three-seed five-way table of the README comes from bench/robustness_table.py; this run checks, on
seed 0, that the example as shipped still reaches the bar issue #4 set."""
import json
import time

import pytest

from conftest import EXAMPLES, codesign


@pytest.mark.slow
@pytest.mark.long  # beyond the CI budget: pytest -m long
def test_mlp_stq_jr_example_trains_robust_and_small(tmp_path, mnist_folder):
    out = tmp_path / "run"
    t0 = time.time()
    codesign("flow", EXAMPLES / "mnist_mlp_stq_jr.yaml", "--out", out,
             "--set", "hls.enabled=false", "--set", "rtl.synth=false", "--set", "rtl.cocotb_samples=64",
             "--set", "robustness.variants=[float_jr, stq_jr]",
             "--set", "robustness.attacks=[pgd, square]",
             "--set", "robustness.epsilons=[0.1]",
             "--set", "robustness.samples=300",
             "--set", "robustness.square={samples: 50, max_queries: 500}")
    minutes = (time.time() - t0) / 60
    report = json.loads((out / "report.json").read_text())
    rob, acc = report["robustness"], report["accuracy"]
    stq_jr, float_jr = rob["stq_jr"]["pgd"]["0.1"], rob["float_jr"]["pgd"]["0.1"]
    figures = dict(stq_jr=stq_jr, float_jr=float_jr, accuracy=acc, minutes=round(minutes, 1),
                   square=rob["stq_jr"]["square"]["0.1"])
    print("example figures:", figures)
    # one seed on 300 digits, so the bounds are looser than the goals the 3-seed table meets (PGD >= 0.75,
    # within 3 points of float + JR; README): measured here 0.81 vs 0.80, Square 0.86, clean -0.45, 4.3 min
    # (the minutes are printed, not asserted: wall time on a shared machine says nothing about the code)
    assert stq_jr >= 0.70 and stq_jr >= float_jr - 0.08, figures
    assert rob["stq_jr"]["square"]["0.1"] >= rob["stq_jr"]["pgd"]["0.1"] - 0.05, figures
    assert acc["emulator"] >= acc["float32_baseline"] - 0.02, figures  # clean, all 2,000 digits
    assert report["compression"]["ratio"] >= 10
    # the hardened design in RTL: every output integer of all 2,000 test digits (C++ harness; 64 under cocotb)
    be = report["bit_exact"]
    assert be["rtl_samples"] == 2000 and be["rtl_samples_cocotb"] == 64 and be["emulator_vs_rtl"] == 1.0, be
