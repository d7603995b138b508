"""Full-model RTL tests: a random 64-32-16-10 MLP streamed through the generated top, compared
integer by integer with the emulator, under random AXI-Stream stalls; load-port fault injection;
throughput at two foldings; AXI-Stream protocol errors (tlast, lost or extra beats, a hang) fail the
bench. One Verilator build serves the exactness and fault tests.
"""
from pathlib import Path

import numpy as np
import pytest

from codesign.emulator import Emulator
from codesign.rtl import RTLMismatch, RTLStreamError, generate, load_writes, run, simulate
from codesign.rtl import units
from codesign.rtl.random_spec import random_mlp
from codesign.rtl.simulate import _throughput
from codesign.spec import DesignSpec

# PE of one layer differs from SIMD of the next twice (gather 4->8, split 2->1): axis_dwc both ways
FOLDING = [{"pe": 4, "simd": 8}, {"pe": 2, "simd": 8}, {"pe": 5, "simd": 1}]
QUICK = "quick"  # -O0 model: a few thousand cycles per test, so compile time is what counts


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    spec = random_mlp(11, [64, 32, 16, 10])
    rtl_dir = tmp_path_factory.mktemp("rtl_mlp")
    meta = generate(spec, rtl_dir, folding=FOLDING)
    x = np.random.default_rng(1).integers(0, 256, (300, 64))
    return spec, rtl_dir, meta, x


def test_generate_metadata(mlp):
    spec, rtl_dir, meta, _ = mlp
    assert meta["folding"] == FOLDING
    assert meta["mac_lanes"] == 32 + 16 + 5
    assert meta["total_macs"] == 64 * 32 + 32 * 16 + 16 * 10  # the MLP's shapes, counted by hand
    assert [l["cycles"] for l in meta["layers"]] == [64, 32, 32]
    top = (Path(rtl_dir) / "model_top.sv").read_text()
    assert top.count("axis_dwc #") == 2 and top.count("mvau #") == 3


def test_model_bit_exact_under_stalls(mlp):
    spec, rtl_dir, meta, x = mlp
    r = run(spec, rtl_dir, x, stalls=True, seed=5, opt=QUICK)
    expected = Emulator(spec).run_int(x)
    assert r.outputs.shape == expected.shape == (300, 10)
    assert r.mismatched_samples == 0, r.first_mismatches
    np.testing.assert_array_equal(r.outputs, expected)
    assert r.throughput["cycles_per_inference"] == 64  # the slowest engine's cycles, stall-free
    # stalls cannot beat the stall-free rate; the engines' output FIFOs let the window's first sample leave
    # late by a few cycles while the engines run on, so the mean over the window may dip by that much
    assert r.stalled_cycles_per_inference >= 64 - 8 / (300 - 24)
    assert r.throughput["latency_cycles"] > 64


def _flip_one_weight_bit(spec: DesignSpec, x: np.ndarray) -> DesignSpec:
    """Flip bit 0 of the last layer's weight fed by its busiest input, a change that must show."""
    emu = Emulator(spec)
    hidden = emu.run_int(x, upto=spec.layers[-2].name)
    i = int(np.argmax(np.abs(hidden).sum(axis=0)))
    faulty = spec.copy()
    w = faulty.layers[-1].params["weight"]
    t = faulty.layers[-1].types["weight"]
    code = (int(w[i, 3]) ^ 1) & ((1 << t.width) - 1)
    w[i, 3] = code - (1 << t.width) if t.signed and code > t.qmax else code
    faulty.validate()
    assert np.any(Emulator(faulty).run_int(x) != emu.run_int(x))
    return faulty


def test_flipped_weight_bit_fails_the_comparison(mlp):
    spec, rtl_dir, meta, x = mlp
    x = x[:60]
    faulty = _flip_one_weight_bit(spec, x)
    writes = load_writes(faulty, rtl_dir)
    assert len(writes) == 1 and writes[0][0] == 4  # one word of layer 2's weight memory
    # the RTL memory now holds the flipped bit; compared against the fault-free emulator it must fail
    with pytest.raises(RTLMismatch):
        simulate(spec, rtl_dir, x, stalls=True, writes=writes, check=True, opt=QUICK)
    # and it equals the faulty spec's emulator exactly (same build, no re-verilation)
    r = run(faulty, rtl_dir, x, stalls=True, writes=writes, opt=QUICK)
    assert r.mismatched_samples == 0, r.first_mismatches


def test_bias_write_through_load_port(mlp):
    spec, rtl_dir, meta, x = mlp
    changed = spec.copy()
    idx = next(i for i, l in enumerate(changed.layers) if "bias" in l.params)
    layer = changed.layers[idx]
    tb = layer.types["bias"]
    layer.params["bias"][0] = tb.qmin if layer.params["bias"][0] == tb.qmax else tb.qmax
    writes = load_writes(changed, rtl_dir)
    assert writes and all(w[0] == 2 * idx + 1 for w in writes)
    r = run(changed, rtl_dir, x[:40], stalls=False, writes=writes, opt=QUICK)
    assert r.mismatched_samples == 0


@pytest.mark.slow
def test_two_foldings_bit_exact_and_busy(tmp_path):
    """The same MLP at two foldings (chosen for 64 and 16 cycles) in one build: exact, MAC utilization >= 0.9."""
    spec = random_mlp(12, [64, 32, 16, 10])
    foldings = [[{"pe": 4, "simd": 8}, {"pe": 2, "simd": 4}, {"pe": 2, "simd": 2}],
                [{"pe": 8, "simd": 16}, {"pe": 4, "simd": 8}, {"pe": 5, "simd": 2}]]
    metas = units.model_bundle([spec, spec], tmp_path, foldings)
    x = np.random.default_rng(2).integers(0, 256, (64, 64))
    stats = units.run_model_bundle([spec, spec], tmp_path, [x, x], metas, stalls=True, seed=3)
    utils = []
    for meta, m in zip(metas, stats["models"]):
        assert m["mismatched_samples"] == 0, m["first_mismatches"]
        thr = _throughput(meta, m["t_in_first"], m["t_out_last"], probe=8)
        assert thr["cycles_per_inference"] == meta["slowest_layer_cycles"]
        utils.append(thr["mac_utilization"])
    assert min(utils) >= 0.9, utils


def test_protocol_errors_fail_the_simulation(tmp_path):
    """Four copies of one MLP in one build, each top broken at its output stream (tests/broken_rtl.py):
    tlast misplaced, one beat lost, every beat sent twice, no beat ever (a hang). The bench must fail
    and name each; a passing run would mean the flow could not see these errors either."""
    import broken_rtl

    spec = random_mlp(13, [16, 8, 4])
    edits = [broken_rtl.misplace_tlast, broken_rtl.lose_first_beat, broken_rtl.send_every_beat_twice,
             broken_rtl.never_valid]
    metas = units.model_bundle([spec] * len(edits), tmp_path)
    for k, edit in enumerate(edits):
        broken_rtl.break_top(tmp_path, edit, top=f"m{k}")
    x = np.random.default_rng(3).integers(0, 256, (12, 16))
    with pytest.raises(RTLStreamError) as e:
        units.run_model_bundle([spec] * len(edits), tmp_path, [x] * len(edits), metas, stalls=True, seed=1)
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert "m0_: tlast misplaced" in msg, msg
    assert "m1_: only " in msg and "(hang or lost beats)" in msg, msg
    assert "m2_: " in msg and "output beats after the last sample's" in msg, msg
    assert "m3_: only 0 of " in msg, msg
