"""The fast C++ harness (codesign/rtl/harness.py): every output integer equal to the emulator, a changed
weight written through the load port shows (and is undone), a cached build is reused, and the flow's
RTL check on it fails when the RTL and the emulator disagree. One harness build (~30 s CPU) serves
the module; the cache is a temporary folder so the build is really exercised."""
from types import SimpleNamespace

import numpy as np
import pytest

from codesign.emulator import Emulator
from codesign.rtl import generate, harness
from codesign.rtl.random_spec import random_mlp

# first layer 16 lanes of 8 bits: a 128-bit input port and a >64-bit load-port word (Verilator's wide
# types); PE 4 -> SIMD 8 gathers and PE 2 -> SIMD 1 splits between engines
FOLDING = [{"pe": 4, "simd": 16}, {"pe": 2, "simd": 8}, {"pe": 5, "simd": 1}]


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("CODESIGN_CACHE", str(tmp_path_factory.mktemp("cache")))
    spec = random_mlp(11, [64, 32, 16, 10])
    rtl_dir = tmp_path_factory.mktemp("rtl")
    meta = generate(spec, rtl_dir, folding=FOLDING)
    x = np.random.default_rng(1).integers(0, 256, (300, 64))
    yield spec, rtl_dir, meta, x
    mp.undo()


def _flip(spec, x):
    """A copy of spec with bit 0 of one last-layer weight flipped, chosen so the outputs change."""
    emu = Emulator(spec)
    hidden = emu.run_int(x, upto=spec.layers[-2].name)
    i = int(np.argmax(np.abs(hidden).sum(axis=0)))
    faulty = spec.copy()
    w, t = faulty.layers[-1].params["weight"], faulty.layers[-1].types["weight"]
    code = (int(w[i, 3]) ^ 1) & ((1 << t.width) - 1)
    w[i, 3] = code - (1 << t.width) if t.signed and code > t.qmax else code
    faulty.validate()
    return faulty


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(0)
    for beat, width, signed in [(1, 8, False), (16, 8, False), (5, 19, True), (3, 32, True), (2, 40, True)]:
        lo, hi = (-(1 << (width - 1)), 1 << (width - 1)) if signed else (0, 1 << width)
        x = rng.integers(lo, hi, (7, beat * 3))
        words = harness.pack_words(x, beat, width)
        assert words.dtype == np.dtype("<u4") and words.size == 7 * 3 * -(-beat * width // 32)
        np.testing.assert_array_equal(harness.unpack_words(words, beat, width, signed).reshape(x.shape), x)


def test_harness_equals_emulator_and_detects_a_changed_weight(design):
    spec, rtl_dir, meta, x = design
    expected = Emulator(spec).run_int(x)
    with harness.Harness(rtl_dir) as h:
        r = h.run(x)
        np.testing.assert_array_equal(r.outputs, expected)
        assert r.tlast_errors == 0 and r.samples == 300
        thr = r.throughput(meta["bound_cycles"])
        assert thr["cycles_per_inference"] == 32 and thr["latency_cycles"] > 32  # the slowest engine's cycles
        faulty = _flip(spec, x)
        assert h.set_spec(faulty) == 1  # one word of the last layer's weight memory
        y = h.run(x).outputs
        assert np.any(y != expected)  # the harness sees the changed weight ...
        np.testing.assert_array_equal(y, Emulator(faulty).run_int(x))  # ... exactly as the emulator does
        assert h.set_spec(spec) == 1  # restoring costs one write too
        np.testing.assert_array_equal(h.run(x[:50]).outputs, expected[:50])


def test_second_view_reuses_the_build(design, tmp_path):
    spec, rtl_dir, _, x = design
    exe = harness.build(rtl_dir)
    again = tmp_path / "again"
    generate(spec, again, folding=FOLDING)  # the same sources in another folder: the same build
    assert harness.build(again) == exe
    np.testing.assert_array_equal(harness.run(again, x[:20]), Emulator(spec).run_int(x[:20]))


def test_flow_rtl_check_fails_when_rtl_and_emulator_differ(design, tmp_path):
    """run_rtl on a run whose emulator integers come from a spec with one changed weight: not bit-exact."""
    from codesign.flow import Run
    from codesign.rtl_step import run_rtl

    spec, _, _, x = design
    faulty = _flip(spec, x)
    expected = Emulator(faulty).run_int(x)
    cfg = {"rtl": {"folding": FOLDING, "target_cycles": None, "samples": None, "cocotb_samples": 0,
                   "stalls": True, "opt": "quick", "synth": False}, "hls": {"clock_period_ns": 10.0}}
    run = Run(cfg, tmp_path, log=lambda m: None)
    run.spec, run.x_test_int, run.emulator_out = spec, x, expected
    run.data = SimpleNamespace(y_test=np.argmax(expected, -1))
    run_rtl(run)
    be = run.report["bit_exact"]
    differ = np.mean(np.all(Emulator(spec).run_int(x) == expected, axis=1))
    assert be["rtl_samples_fast"] == 300 and be["rtl_samples_cocotb"] == 0
    assert be["emulator_vs_rtl"] == pytest.approx(differ) and differ < 1.0
