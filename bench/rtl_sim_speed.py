"""How fast does the RTL view simulate? cocotb + Verilator vs a plain Verilator C++ harness.

    python bench/rtl_sim_speed.py [--samples 500] [--spec runs/mlp/spec] [--target-cycles 512] [--no-cpp]

Runs the same samples through (1) the cocotb full-model bench (sim/test_model.py, the path the
flow uses for its stall sample; random stalls after a stall-free probe) and (2) the flow's C++
harness (codesign/rtl/harness.py: no Python per cycle, no stalls), checks both against the emulator, and
prints inferences/s, cycles/s and the ratio. Without --spec it uses the saved MLP spec under runs/
when there is one, else a random spec with the MNIST MLP's shape and types (784-256-128-10).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.emulator import Emulator  # noqa: E402
from codesign.rtl import generate, run  # noqa: E402
from codesign.rtl.harness import Harness  # noqa: E402
from codesign.rtl.random_spec import mnist_like  # noqa: E402
from codesign.spec import DesignSpec  # noqa: E402

def cpp_harness(rtl_dir: Path, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """The flow's C++ harness (codesign/rtl/harness.py); outputs and {cycles, seconds, build_seconds}."""
    t = time.time()
    with Harness(rtl_dir) as h:
        built = time.time() - t
        r = h.run(x)
    return r.outputs, {"cycles": r.cycles, "seconds": r.wall_s, "cpu_seconds": r.sim_cpu_seconds,
                       "build_seconds": built}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--spec", type=Path, default=None)
    ap.add_argument("--target-cycles", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="RTL folder (default: a temporary one)")
    ap.add_argument("--no-cpp", action="store_true")
    args = ap.parse_args()
    spec_dir = args.spec or (ROOT / "runs" / "mlp" / "spec")
    spec = DesignSpec.load(spec_dir) if (spec_dir / "spec.json").exists() else mnist_like(0)
    rtl_dir = (args.out or Path(tempfile.mkdtemp(prefix="rtl_speed_"))).resolve()
    meta = generate(spec, rtl_dir, target_cycles=args.target_cycles)
    emu = Emulator(spec)
    data = Path(os.environ.get("CODESIGN_DATA", ROOT.parent / "shared" / "data")) / "mnist8k.npz"
    n = int(np.prod(spec.input_shape))
    if data.exists() and n == 784:
        pixels = np.load(data)["x"][-args.samples:].reshape(-1, *spec.input_shape)
    else:
        pixels = np.random.default_rng(0).integers(0, 256, (args.samples, *spec.input_shape), dtype=np.uint8)
    x = emu.quantize_input(pixels)
    expected = emu.run_int(x)
    x = x.reshape(x.shape[0], -1)
    t = time.time()
    r = run(spec, rtl_dir, x, stalls=True)
    total = time.time() - t
    report = {
        "spec": spec.name, "samples": r.samples, "folding": meta["folding"],
        "throughput": r.throughput,
        "cocotb": {"bit_exact_samples": r.samples - (r.mismatched_samples or 0), "cycles": r.cycles,
                   "sim_seconds": round(r.wall_s, 2), "with_build_seconds": round(total, 1),
                   "inferences_per_s": round(r.inferences_per_s, 1), "cycles_per_s": round(r.cycles / r.wall_s)},
    }
    if not args.no_cpp:
        t = time.time()
        y, st = cpp_harness(rtl_dir, x)
        report["verilator_cpp"] = {
            "bit_exact_samples": int(np.all(y == expected, axis=1).sum()), "cycles": st["cycles"],
            "sim_seconds": round(st["seconds"], 3), "sim_cpu_seconds": round(st["cpu_seconds"], 3),
            "with_build_seconds": round(time.time() - t, 1),
            "inferences_per_s": round(r.samples / st["seconds"], 1), "cycles_per_s": round(st["cycles"] / st["seconds"])}
        report["cpp_over_cocotb_speed"] = round(report["verilator_cpp"]["inferences_per_s"] / r.inferences_per_s, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
