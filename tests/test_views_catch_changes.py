"""The emulator-vs-C-sim comparison catches one changed rounding mode, accumulator width or weight.

Each mutation is made in a copy of the spec handed to ONE view; the other view runs the original.
If the comparison stayed equal, the test fails: the check would be blind to that kind of drift.
"""
import numpy as np
import pytest

from codesign.data import load_dataset
from codesign.emulator import Emulator
from codesign.hls_view import HLSView
from codesign.spec import DesignSpec


@pytest.fixture(scope="module")
def built(mlp_run):
    """The MLP run's spec and test split. Its flow compared the C-sim of this spec with the emulator on
    these 2,000 digits and found every output integer equal, so the emulator's integers stand for the
    original C-sim here (one hls4ml compile fewer)."""
    out, report = mlp_run
    assert report["bit_exact"]["samples"] == 2000 and report["bit_exact"]["emulator_vs_csim"] == 1.0
    spec = DesignSpec.load(out / "spec")
    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    x = Emulator(spec).quantize_input(d.x_test)
    return spec, x, Emulator(spec).run_int(x)


def _rounding(spec):
    layer = spec.layer("dense_1")
    layer.types["output"] = layer.types["output"].with_(rounding="TRN")


def _accumulator(spec):
    layer = spec.layer("dense_1")
    acc = layer.types["accum"]
    layer.types["accum"] = acc.with_(width=acc.width - 4, integer=acc.integer - 4)


def _weight(spec):
    w = spec.layer("dense_3").params["weight"]
    w[0, 0] += 1


@pytest.mark.parametrize("mutate", [_rounding, _accumulator, _weight], ids=["rounding", "accum_width", "weight"])
def test_emulator_side_change_is_caught(built, mutate):
    spec, x, csim = built
    changed = spec.copy()
    mutate(changed)
    emu = Emulator(changed).run_int(x)
    assert not np.array_equal(emu, csim)


def test_hls_side_rounding_change_is_caught(built, tmp_path):
    spec, x, csim = built
    changed = spec.copy()
    _rounding(changed)
    mutated_csim = HLSView(changed, tmp_path / "hls").compile().csim_int(x)
    equal = np.all(mutated_csim == Emulator(spec).run_int(x), axis=1)
    assert equal.mean() < 1.0
    assert np.array_equal(mutated_csim, Emulator(changed).run_int(x))  # and the views agree on the new spec
