"""MAC utilization of the examples' RTL at their default and at faster cycle targets, measured on the
C++ harness (codesign/rtl/harness.py), every output integer compared with the emulator's.

    nice python bench/mac_utilization.py --runs /tmp/timing_pnr/after [--samples 200]
        [--designs mnist_mlp:512 mnist_mlp:256 mnist_cnn:784 mnist_mlp_kron:512 mnist_mlp_wings:2048]
        [--out bench/results/mac_utilization.json]

Each design is EXAMPLE:TARGET: the trained spec of RUNS/EXAMPLE/spec (a finished `codesign flow` of
examples/EXAMPLE.yaml, e.g. the runs bench/pnr_fmax.py leaves) generated at TARGET cycles per inference
by the folding chooser (codesign/rtl/folding.py), streamed with the last SAMPLES MNIST digits of
mnist8k.npz back to back. MAC utilization = total MACs / MAC lanes / measured cycles per inference;
the chooser's plan (slowest engine's cycles) is recorded beside it. A target below what the chain can
reach (folding.fastest_cycles: a window generator's or pool's pixel rate) is raised to it by the chooser;
the row says so (`fastest_cycles`).
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
from codesign.rtl import generate  # noqa: E402
from codesign.rtl.folding import fastest_cycles  # noqa: E402
from codesign.rtl.generate import _shape  # noqa: E402
from codesign.rtl.plan import dense_layers  # noqa: E402
from codesign.rtl.harness import Harness  # noqa: E402
from codesign.spec import DesignSpec  # noqa: E402

DEFAULT = ["mnist_mlp:512", "mnist_mlp:256", "mnist_cnn:784", "mnist_mlp_kron:512", "mnist_mlp_wings:2048"]


def measure(spec, target: int, rtl_dir: Path, x: np.ndarray, expected: np.ndarray) -> dict:
    t0 = time.time()
    meta = generate(spec, rtl_dir, target_cycles=target)
    with Harness(rtl_dir) as h:
        built = time.time() - t0
        r = h.run(x)
    equal = np.all(r.outputs.reshape(len(x), -1) == expected.reshape(len(x), -1), axis=1)
    thr = r.throughput(meta["bound_cycles"])
    return {"target_cycles": target, "fastest_cycles": fastest_cycles([_shape(l) for l in dense_layers(spec)]),
            "folding": meta["folding"], "mac_lanes": meta["mac_lanes"],
            "planned_cycles": meta["slowest_layer_cycles"], "layers_cycles": [l["cycles"] for l in meta["layers"]],
            "cycles_per_inference": thr["cycles_per_inference"], "bound_cycles": round(meta["bound_cycles"], 1),
            "planned_utilization": round(meta["bound_cycles"] / meta["slowest_layer_cycles"], 4),
            "mac_utilization": round(thr["mac_utilization"], 4), "samples": int(len(x)),
            "emulator_vs_rtl": float(np.mean(equal)), "build_seconds": round(built, 1), "run_seconds": round(r.wall_s, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, required=True, help="folder of finished flow runs, one per example")
    ap.add_argument("--designs", nargs="+", default=DEFAULT, help="EXAMPLE:TARGET_CYCLES")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "mac_utilization.json")
    args = ap.parse_args()
    todo = []
    for d in args.designs:
        name, _, tgt = d.partition(":")
        if not tgt.isdigit() or not (args.runs / name / "spec").is_dir():
            raise SystemExit(f"design {d!r}: give EXAMPLE:TARGET with a finished run in {args.runs / name}")
        todo.append((name, int(tgt)))
    data = Path(os.environ.get("CODESIGN_DATA", ROOT.parent / "shared" / "data")) / "mnist8k.npz"
    digits = np.load(data)["x"][-args.samples:]
    doc = json.loads(args.out.read_text()) if args.out.exists() else {}
    doc["data"] = f"last {args.samples} digits of mnist8k.npz"
    for name, tgt in todo:
        spec = DesignSpec.load(args.runs / name / "spec")
        emu = Emulator(spec)
        x = emu.quantize_input(digits.reshape((len(digits),) + tuple(spec.input_shape)))
        expected = np.asarray(emu.run_int(x))
        x = np.asarray(x, np.int64).reshape(len(x), -1)
        with tempfile.TemporaryDirectory(prefix="mac_util_") as tmp:
            row = measure(spec, tgt, Path(tmp) / "rtl", x, expected)
        row["spec"] = str(args.runs / name / "spec")
        doc.setdefault("designs", {})[f"{name}:{tgt}"] = row
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"{name} at {tgt}: {row['cycles_per_inference']} cycles (planned {row['planned_cycles']}), "
              f"utilization {row['mac_utilization']}, {row['mac_lanes']} lanes, bit-exact {row['emulator_vs_rtl']}",
              flush=True)


if __name__ == "__main__":
    main()
