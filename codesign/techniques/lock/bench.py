"""The lock unit's cocotb bench run (sim/test_lock_unit.py) on a generated model top.

Apart from codesign/rtl/lock.py, which the RTL generator reads: running the bench needs the
generator and the simulator, which would otherwise import each other through the lock package.
"""
from __future__ import annotations

from ...rtl.lock import key_writes


def run_lock_bench(spec, key, x_int, work_dir, stalls: bool = True, opt: str = "quick"):
    """sim/test_lock_unit.py on `spec`'s generated top with `key` in its registers: returns the stats
    of the bench (mismatches against the emulator under that key counted by the bench)."""
    from pathlib import Path

    import numpy as np

    from ...emulator import Emulator
    from ...rtl.generate import generate
    from ...rtl.simulate import _model_entry, run_job
    from .password import check_key

    key = check_key(spec, key)
    work_dir = Path(work_dir)
    meta = generate(spec, work_dir / "rtl")
    x = np.asarray(x_int, np.int64).reshape(len(x_int), -1)
    expected = Emulator(spec, key=key).run_int(x.reshape((len(x),) + tuple(spec.input_shape)))
    stats, _ = run_job(work_dir / "rtl", meta["top"], meta["sources"],
                       lambda w: [_model_entry(meta, w, x, expected, key_writes(meta, key), "")],
                       stalls=stalls, seed=1, p_valid=0.7, p_ready=0.7, probe=4,
                       max_cycles=int(meta["slowest_layer_cycles"] * len(x) * 8 + 10000), work_dir=work_dir / "sim",
                       opt=opt, test_module="test_lock_unit")
    return stats["models"][0]
