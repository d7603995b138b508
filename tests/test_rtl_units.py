"""Unit benches of the RTL engines against the emulator, many configurations per Verilator build.

- requant: 16 random lane configurations (widths, signedness, every rounding mode, WRAP/SAT/SAT_SYM
  accumulator and output, relu) plus one control lane whose expected values use the wrong rounding
  mode, which must be reported as mismatching (so the bench is shown able to fail).
- mvau: 9 random single-layer models (ternary / multi-bit weights, shift, bias, shapes that need
  padding, several foldings) streamed concurrently with random stalls.
"""
import numpy as np
import pytest

from codesign.fixed import OVERFLOW_MODES, FixedType
from codesign.rtl import units
from codesign.rtl.random_spec import INPUT_TYPE, random_dense
from codesign.spec import DesignSpec


def _random_lane_layers(seed: int, k: int):
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(k):
        iw = int(rng.integers(2, 11))
        tin = FixedType(iw, int(rng.integers(-2, iw + 3)), bool(rng.integers(2)))
        layer = random_dense(rng, f"u{i}", int(rng.integers(1, 50)), 1, tin)
        if rng.integers(2):  # a narrower accumulator exercises its WRAP/SAT/SAT_SYM and unsigned paths
            a = layer.types["accum"]
            aw = max(2, a.width - int(rng.integers(0, 6)))
            layer.types["accum"] = FixedType(aw, aw - a.frac, bool(rng.integers(2)), overflow=str(rng.choice(OVERFLOW_MODES)))
        layers.append(layer)
    return layers


def test_requant_lanes_match_emulator(tmp_path, monkeypatch):
    layers = _random_lane_layers(7, 16)
    modes = {l.types["output"].rounding for l in layers}
    assert len(modes) >= 4, modes
    # control lane: the RTL gets RND, the expected values are computed for TRN
    ctrl = _random_lane_layers(8, 1)[0]
    acc = ctrl.types["accum"]
    ctrl.types["accum"] = FixedType(acc.width, acc.integer, True)
    ctrl.types["output"] = FixedType(6, 6 - (acc.frac - 3), True, "RND", "SAT")  # 3 bits rounded off
    layers.append(ctrl)
    out = tmp_path / "rq"
    # the control lane's expected values come from the same layer with TRN instead of RND
    orig_expected = units.requant_expected

    def expected(layer, plan, dot, shift, bias):
        if layer is ctrl:
            wrong = type(layer)(layer.name, layer.kind, layer.input_shape, layer.output_shape, layer.attrs,
                                dict(layer.types, output=layer.types["output"].with_(rounding="TRN")), layer.params)
            return orig_expected(wrong, plan, dot, shift, bias)
        return orig_expected(layer, plan, dot, shift, bias)

    monkeypatch.setattr(units, "requant_expected", expected)
    stats = units.run_requant_bundle(layers, out, vectors=300, seed=1)
    lanes = stats["lanes"]
    ctrl_name = f"r{len(layers) - 1}"
    assert lanes[ctrl_name]["mismatches"] > 0, "the bench did not notice a wrong rounding mode"
    bad = {p: s for p, s in lanes.items() if p != ctrl_name and s["mismatches"]}
    assert not bad, bad
    assert sum(s["vectors"] for s in lanes.values()) == 300 * len(layers)


def _single_layer_spec(seed: int, n: int, m: int, **kw) -> DesignSpec:
    rng = np.random.default_rng(seed)
    layer = random_dense(rng, "dense0", n, m, INPUT_TYPE, **kw)
    spec = DesignSpec(f"single_{seed}", (n,), INPUT_TYPE, [layer])
    spec.validate()
    return spec


@pytest.mark.slow
def test_mvau_engines_match_emulator(tmp_path):
    cases = [  # (n, m, layer options, folding)
        (12, 6, dict(ternary=True, shift=True, bias=True, relu=True), [{"pe": 2, "simd": 4}]),
        (10, 7, dict(ternary=False, bias=True, relu=False), [{"pe": 3, "simd": 4}]),     # padded 12 x 9
        (16, 8, dict(ternary=False, bias=False, relu=True), [{"pe": 8, "simd": 16}]),    # fully parallel
        (9, 5, dict(ternary=True, shift=False, bias=False, relu=False), [{"pe": 1, "simd": 1}]),
        (24, 4, dict(ternary=True, shift=True, bias=True, relu=False), [{"pe": 4, "simd": 3}]),
        (5, 3, dict(ternary=False, bias=True, relu=True), [{"pe": 2, "simd": 2}]),       # padded 6 x 4
    ]
    rng = np.random.default_rng(4)
    for _ in range(3):  # plus random shapes and foldings (padding wherever the lanes do not divide)
        n, m = int(rng.integers(1, 41)), int(rng.integers(1, 21))
        cases.append((n, m, {}, [{"pe": int(rng.integers(1, min(m, 6) + 1)), "simd": int(rng.integers(1, min(n, 8) + 1))}]))
    specs = [_single_layer_spec(100 + i, n, m, **kw) for i, (n, m, kw, _) in enumerate(cases)]
    rng = np.random.default_rng(3)
    xs = [rng.integers(0, 256, (30, s.input_shape[0])) for s in specs]
    metas = units.model_bundle(specs, tmp_path, [f for *_, f in cases])
    stats = units.run_model_bundle(specs, tmp_path, xs, metas, stalls=True, seed=2)
    for k, m in enumerate(stats["models"]):
        assert m["complete"], m
        assert m["mismatched_samples"] == 0, (k, m["first_mismatches"])
        assert m["tlast_errors"] == 0
        assert len(m["t_out_last"]) == 30
