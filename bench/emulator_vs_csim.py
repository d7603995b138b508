"""Emulator speed over hls4ml's C-sim `predict` on the same samples, measured side by side.

    python bench/emulator_vs_csim.py RUN_DIR        (a run built by `codesign flow`)

Prints both times, their ratio, and whether the integer outputs are equal.
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from codesign.config import load_config
from codesign.data import load_dataset
from codesign.emulator import Emulator
from codesign.hls_view import HLSView
from codesign.spec import DesignSpec


def main(run_dir: Path, repeats: int = 3) -> None:
    spec = DesignSpec.load(run_dir / "spec")
    cfg = load_config(run_dir / "config.yaml")
    x = load_dataset(cfg["data"], cfg["seed"]).x_test
    emu = Emulator(spec)
    xq = emu.quantize_input(x)
    with tempfile.TemporaryDirectory() as tmp:
        hv = HLSView(spec, Path(tmp) / "hls", cfg["hls"], cfg["board"]).compile()
        t_emu, t_csim = [], []
        for _ in range(repeats):
            t = time.perf_counter(); e = emu.run_int(xq); t_emu.append(time.perf_counter() - t)
            t = time.perf_counter(); c = hv.csim_int(xq); t_csim.append(time.perf_counter() - t)
    print(f"samples            {len(x)}")
    print(f"emulator           {min(t_emu) * 1e3:9.1f} ms (best of {repeats})")
    print(f"hls4ml C-sim       {min(t_csim) * 1e3:9.1f} ms (best of {repeats})")
    print(f"speed-up           {min(t_csim) / min(t_emu):9.1f}x")
    print(f"integer-equal      {np.array_equal(e, c)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
