"""MAC utilization of the MNIST CNN's RTL: the folding chooser with and without the window generator's
parallelism (rtl/swg.sv PP pixels a beat, output FIFO), measured on the C++ harness.

    nice python bench/cnn_mac_utilization.py [--samples 200] [--spec RUN/spec] [--target 784]
                                             [--out bench/results/cnn_mac_utilization.json]

For the spec (a trained run's spec/, or a random-parameter CNN with examples/mnist_cnn.yaml's shapes
and types when none is given), generates the RTL at the example's target (784 cycles) twice: with the
chooser's folding, and with the same chooser held to one pixel a beat and no output FIFO (what it
could pick before). Each design streams the last MNIST digits of mnist8k.npz through the flow's C++
harness (codesign/rtl/harness.py); every output integer is compared with the emulator's, and the
measured cycles per inference give the MAC utilization (total MACs / lanes / cycles).
--target T (another target, e.g. the faster 392) measures the chooser's folding at T and the same
chooser held to one window a beat, one pixel a beat into the pools and window generators that emit
SF beats a window (what it could pick before: the target was raised to the first window generator's
pace); the rows go under `target_T` in --out, the other rows kept.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mac_utilization import measure  # noqa: E402  (bench/ is this script's folder, first on sys.path)

from codesign.emulator import Emulator  # noqa: E402
from codesign.rtl import conv  # noqa: E402
from codesign.rtl.random_spec import random_cnn  # noqa: E402
from codesign.spec import DesignSpec  # noqa: E402

TARGET = 784  # examples/mnist_cnn.yaml rtl.target_cycles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--spec", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cnn_mac_utilization.json")
    ap.add_argument("--target", type=int, default=TARGET, help="cycles per inference to plan for")
    args = ap.parse_args()
    if args.target < 1:
        raise SystemExit(f"--target must be >= 1 cycle, got {args.target}")
    spec = DesignSpec.load(args.spec) if args.spec else random_cnn(0, in_shape=(28, 28, 1), filters=(16, 16), classes=10)
    data = Path(os.environ.get("CODESIGN_DATA", ROOT.parent / "shared" / "data")) / "mnist8k.npz"
    emu = Emulator(spec)
    x = emu.quantize_input(np.load(data)["x"][-args.samples:].reshape(-1, 28, 28, 1))
    expected = np.asarray(emu.run_int(x))
    x = np.asarray(x, np.int64).reshape(len(x), -1)
    rows = {}
    if args.target != TARGET:
        with tempfile.TemporaryDirectory(prefix="cnn_util_") as tmp:
            rows["chooser"] = measure(spec, args.target, Path(tmp) / "chooser", x, expected)
            print("chooser:", json.dumps(rows["chooser"]), flush=True)
            # the chooser held to what it could pick before: one window a beat, pools of one pixel a beat,
            # window generators of SF beats a window
            saved = conv.mw_options, conv.pool_pp_options, conv.swg_width
            conv.mw_options = lambda g, pp: [1]
            conv.pool_pp_options = lambda h, w, ph, pw: [1]
            conv.swg_width = lambda g, pe, simd, pp=1, mw=1: simd
            try:
                rows["one_window_a_beat"] = measure(spec, args.target, Path(tmp) / "one_window", x, expected)
            finally:
                conv.mw_options, conv.pool_pp_options, conv.swg_width = saved
            print("one window a beat:", json.dumps(rows["one_window_a_beat"]), flush=True)
        doc = json.loads(args.out.read_text()) if args.out.exists() else {}
        doc[f"target_{args.target}"] = {
            "spec": spec.name if args.spec else "random CNN with examples/mnist_cnn.yaml's shapes (random_cnn seed 0)",
            "target_cycles": args.target, "data": f"last {args.samples} digits of mnist8k.npz", **rows}
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
        return
    with tempfile.TemporaryDirectory(prefix="cnn_util_") as tmp:
        rows["chooser"] = measure(spec, TARGET, Path(tmp) / "chooser", x, expected)
        print("chooser:", json.dumps(rows["chooser"]), flush=True)
        # the chooser held to what it could pick before: one pixel a beat, no output FIFO
        pp, fifo = conv.pp_options, conv.window_fifo
        conv.pp_options = lambda g: [1]
        conv.window_fifo = lambda g, pe, simd, pp=1: 0
        try:
            rows["one_pixel_a_beat"] = measure(spec, TARGET, Path(tmp) / "one_pixel", x, expected)
        finally:
            conv.pp_options, conv.window_fifo = pp, fifo
        print("one pixel a beat:", json.dumps(rows["one_pixel_a_beat"]), flush=True)
    doc = {k: v for k, v in (json.loads(args.out.read_text()) if args.out.exists() else {}).items()
           if k.startswith("target_")}
    doc.update({"spec": spec.name if args.spec else "random CNN with examples/mnist_cnn.yaml's shapes (random_cnn seed 0)",
                "target_cycles": TARGET, "data": f"last {args.samples} digits of mnist8k.npz", **rows})
    args.out.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
