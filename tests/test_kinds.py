"""The layer-kind registry (codesign/kinds, issue #17): views look kinds up, so a new kind is one module.

tests/toy_kind.py defines an elementwise integer scale kind outside codesign; here it runs through the
emulator (checked against real arithmetic), the hls4ml C-sim and the RTL (Verilator, through the flow's
C++ harness), and the three must give the same integers on every sample.
"""
import numpy as np
import pytest

from codesign import kinds
from codesign.fixed import FixedType, quantize_real, to_real
from codesign.rtl.random_spec import INPUT_TYPE, random_dense
from codesign.spec import DesignSpec, SpecError


def test_built_in_kinds_are_registered_and_an_unknown_kind_is_named():
    assert set(kinds.names()) >= {"dense", "conv2d", "maxpool2d", "flatten", "kron_dense", "wings_dense"}
    with pytest.raises(kinds.UnknownKindError, match="'bilinear2d' unknown; known kinds: .*'dense'"):
        kinds.get("bilinear2d")
    spec = DesignSpec("s", (4,), INPUT_TYPE, [random_dense(np.random.default_rng(0), "d", 4, 2, INPUT_TYPE)])
    spec.layers[0].kind = "bilinear2d"
    with pytest.raises(SpecError, match="kind 'bilinear2d' unknown"):
        spec.validate()
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(kinds.Kind("dense", kernel=lambda x, layer: x))


def _toy_spec():
    import toy_kind

    rng = np.random.default_rng(4)
    scale = np.array([-8, -5, -1, 0, 3, 7])  # fixed<4,2>: -2.0 .. 1.75, both signs and zero
    # output fixed<5,1, RND_CONV, SAT>: 12 product fraction bits rounded to 4, |x * s| up to 1.75 saturated at 0.9375
    toy = toy_kind.toy_layer("scale0", 6, INPUT_TYPE, scale, FixedType(4, 2, True),
                             FixedType(5, 1, True, rounding="RND_CONV", overflow="SAT"))
    d1 = random_dense(rng, "dense1", 6, 3, toy.out_type, relu=False, exact_output=True)
    spec = DesignSpec("toy_chain", (6,), INPUT_TYPE, [toy, d1])
    spec.validate()
    return spec


@pytest.mark.slow
def test_toy_kind_runs_bit_exact_through_emulator_csim_and_rtl(tmp_path):
    from codesign.emulator import Emulator
    from codesign.hls_view import HLSView
    from codesign.rtl import harness

    spec = _toy_spec()
    toy = spec.layer("scale0")
    x = np.random.default_rng(5).integers(0, 256, (48, 6))
    emu = Emulator(spec)
    # the toy layer against real arithmetic: exact real products, rounded and saturated by the output type
    real = to_real(x, toy.in_type) * to_real(toy.params["scale"], toy.types["scale"])
    want = quantize_real(real, toy.out_type)
    got = emu.run_int(x, upto="scale0")
    assert np.array_equal(got, want)
    t = toy.out_type
    assert len(np.unique(got)) > 10 and (got == t.qmax).any() and (got == t.qmin).any()  # rounds and saturates
    y = emu.run_int(x)
    assert spec.total_macs() == 6 + 6 * 3

    csim = HLSView(spec, tmp_path / "hls").compile().csim_int(x)
    assert np.array_equal(csim.reshape(y.shape), y)

    # the generated RTL under Verilator through the flow's C++ harness (the mvau's AXI-Stream handshakes
    # under stalls are the cocotb benches' job: tests/test_rtl_*); ~40 % cheaper than the cocotb bench here
    rtl = harness.run(spec, x, folding=[{"pe": 2, "simd": 3}, {"pe": 3, "simd": 2}])
    assert np.array_equal(np.asarray(rtl).reshape(y.shape), y)


def test_toy_kind_takes_fault_campaigns_from_its_module_alone():
    """The fault view reads the toy's stored parameters from its Kind (toy_kind.py `stored_params`):
    every bit of its scales is a site, the campaign engine's counts on each equal copying the spec and
    running the emulator, and the bit-flip twin, which has no gradient for the toy, ranks only the
    dense layer after it. A parameter the kind does not list is refused in one line naming the kind."""
    from dataclasses import replace

    from codesign.emulator import Emulator
    from codesign.faults import bfa
    from codesign.faults.engine import Engine
    from codesign.faults.model import SiteMap

    spec = _toy_spec()
    toy = spec.layer("scale0")
    sm = SiteMap(spec)
    blocks = [(b.layer_name, b.param) for b in sm.blocks]
    assert blocks[0] == ("scale0", "scale") and sm.blocks[0].bits == toy.params["scale"].size * toy.types["scale"].width
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (200, 6)).astype(np.uint8)
    xi = Emulator(spec).quantize_input(x)
    y = rng.integers(0, 3, 200)
    eng = Engine(spec, xi, y)
    faults = [(s,) for s in range(sm.blocks[0].bits)] + [(0, 5, 17)]
    fast, naive = eng.run(faults), eng.naive(faults)
    assert np.array_equal(fast["correct"], naive["correct"]) and np.array_equal(fast["changed"], naive["changed"])
    assert (naive["changed"] > 0).any()
    assert bfa.attackable(spec) == [1]
    extra = replace(toy, params={**toy.params, "gain": toy.params["scale"]}, types={**toy.types, "gain": toy.types["scale"]})
    with pytest.raises(SpecError, match=r"parameters \['gain'\] have no fault addressing \(kind 'toy_scale' lists \['scale'\]"):
        SiteMap(DesignSpec("s", (6,), INPUT_TYPE, [extra]))


def test_artefact_digest_is_reproducible_and_sees_a_change(tmp_path):
    """tests/artefact_digest.py (the before/after comparison of issue #17) digests the same artefacts
    twice to the same values from different folders, and a changed integer shows in the spec, the
    emulator and the RTL digests: a comparison with it is neither noisy nor blind."""
    import artefact_digest as ad

    specs = [s for s in ad.random_specs() if s.name in ("random_cnn_2", "kron_chain")]
    runs = []
    for i in range(2):
        out = {}
        for spec in specs:
            ad.digest_spec(spec.copy(), tmp_path / f"run{i}", out, hls=False)
        runs.append(out)
    assert runs[0] == runs[1] and len(runs[0]) > 40
    changed = specs[1].copy()
    changed.layers[1].params["weight"][0, 0] ^= 1
    out = {}
    ad.digest_spec(changed, tmp_path / "changed", out, hls=False)
    differ = {k.split("/")[1] for k in out if out[k] != runs[0][k]}
    assert {"spec", "emulator", "rtl"} <= differ
