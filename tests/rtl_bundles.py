"""The cocotb bundle shape the custom-engine tests share: engines under test, one fault engine, one control.

One Verilator build holds every engine. The second-to-last engine is a copy of another whose parameters
are rewritten through the load port to a faulty spec (it must then equal that spec's emulator); the last
is a control engine built wrong on purpose, which the bench must catch. tests/test_rtl_kron.py and
tests/test_rtl_wings.py each add their own schedule and write checks on top.
"""
import numpy as np

from codesign.emulator import Emulator
from codesign.rtl import load_writes, units


def run_with_fault_and_control(specs, foldings, xs, make_faulty, tmp_path, test_module: str, control_miss: str):
    """Run the bundle with random stalls and assert what every such bench must hold.

    Returns (per-engine stats without the control, metas, the fault engine's index, its load-port
    writes, the expected outputs); the control's stats are checked and dropped.
    """
    metas = units.model_bundle(specs, tmp_path, foldings)
    fk = len(specs) - 2
    faulty = make_faulty(specs[fk], xs[fk])
    writes = [None] * len(specs)
    writes[fk] = load_writes(faulty, tmp_path, top=f"m{fk}")
    expected = [Emulator(faulty if k == fk else s).run_int(x) for k, (s, x) in enumerate(zip(specs, xs))]
    stats = units.run_model_bundle(specs, tmp_path, xs, metas, stalls=True, seed=2, writes=writes,
                                   expected=expected, test_module=test_module)
    ctrl = stats["models"].pop()
    assert ctrl["complete"] and ctrl["mismatched_samples"] > 0, control_miss
    for k, m in enumerate(stats["models"]):
        assert m["complete"], (k, m)
        assert m["mismatched_samples"] == 0, (k, m["first_mismatches"])
        assert m["tlast_errors"] == 0
    outs = np.concatenate([e.reshape(-1) for e in expected[:-1]])
    assert np.unique(outs).size > 20  # the outputs are not a constant the engines could get right by chance
    return stats["models"], metas, fk, writes[fk], expected
