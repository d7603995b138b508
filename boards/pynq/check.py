"""Self-test of a codesign deploy package: stream test_vectors.npz through the DMA and compare every
output integer with the emulator's (the integers the run's RTL simulation also produced).

    sudo -E python3 check.py [--bit codesign.bit] [--batch 1024]     # on the board (PYNQ >= 2.7 venv: -E)
    python3 check.py --backend sim                                    # here: the package's RTL under Verilator
    python3 check.py --backend csim                                   # here: an --ip hls package's C++ (g++)

Checks first that the hardware reports this package's spec id (AXI-Lite register 0), then prints one
JSON line of results and exits 0 only when every output integer is equal, 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from codesign_driver import CodesignOverlay  # noqa: E402


def compare(got: np.ndarray, expected: np.ndarray) -> dict:
    """Sample-by-sample integer comparison: counts and the first differing samples."""
    got = np.asarray(got, np.int64).reshape(len(expected), -1)
    expected = np.asarray(expected, np.int64)
    equal = np.all(got == expected, axis=1)
    bad = np.nonzero(~equal)[0]
    return {"samples": int(len(expected)), "equal": int(equal.sum()),
            "first_mismatches": [{"sample": int(i), "got": got[i].tolist(), "expected": expected[i].tolist()}
                                 for i in bad[:3]]}


def main(argv=None, overlay=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bit", default=str(HERE / "codesign.bit"), help="bitstream (its .hwh next to it)")
    ap.add_argument("--vectors", default=str(HERE / "test_vectors.npz"))
    ap.add_argument("--batch", type=int, default=1024, help="samples per DMA transfer")
    ap.add_argument("--backend", choices=("pynq", "sim", "csim"), default="pynq",
                    help="pynq: the board; sim: this package's RTL under Verilator (needs codesign installed); "
                         "csim: an --ip hls package's HLS IP compiled with g++")
    args = ap.parse_args(argv)
    manifest = json.loads((HERE / "manifest.json").read_text())
    vec = np.load(args.vectors)
    ov = overlay if overlay is not None else CodesignOverlay(args.bit, backend=args.backend, batch_size=args.batch)
    ov.batch_size = args.batch
    got = ov.execute(vec["x_int"])
    result = compare(got, vec["expected"])
    result["accuracy"] = float(np.mean(np.argmax(got, axis=1) == vec["y"]))
    if ov.last_seconds:
        result["inferences_per_s"] = round(result["samples"] / ov.last_seconds, 1)
    result["spec_sha256"] = manifest["spec"]["sha256"]
    ctrl = manifest.get("ctrl")  # None: an HLS IP (--ip hls), which has no id register
    result["hardware_spec_id"] = ov.spec_id() if ctrl else None
    result["backend"] = getattr(ov, "backend", args.backend)
    print(json.dumps(result))
    id_ok = ctrl is None or result["hardware_spec_id"] == ctrl["spec_id"]
    ok = result["equal"] == result["samples"] and id_ok
    print(f"{'PASS' if ok else 'FAIL'}: {result['equal']}/{result['samples']} samples equal the emulator "
          f"integer for integer ({manifest['spec']['name']} on {manifest['board']}, {result['backend']})"
          + ("" if id_ok else f"; the hardware reports spec id {result['hardware_spec_id']}, "
                              f"the package {ctrl['spec_id']}"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
