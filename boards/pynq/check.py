"""On-board self-test of a codesign deploy package: stream test_vectors.npz through the DMA and compare
every output integer with the emulator's (the integers the run's RTL simulation also produced).

    sudo python3 check.py [--bit codesign.bit] [--batch 1024]

Prints one line per result and exits 0 when every output integer is equal, 1 otherwise.
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
    args = ap.parse_args(argv)
    manifest = json.loads((HERE / "manifest.json").read_text())
    vec = np.load(args.vectors)
    ov = overlay if overlay is not None else CodesignOverlay(args.bit)
    got = ov.run_int(vec["x_int"], batch=args.batch)
    result = compare(got, vec["expected"])
    result["accuracy"] = float(np.mean(np.argmax(got, axis=1) == vec["y"]))
    if ov.last_seconds:
        result["inferences_per_s"] = round(result["samples"] / ov.last_seconds, 1)
    result["spec_sha256"] = manifest["spec"]["sha256"]
    print(json.dumps(result))
    ok = result["equal"] == result["samples"]
    print(f"{'PASS' if ok else 'FAIL'}: {result['equal']}/{result['samples']} samples equal the emulator "
          f"integer for integer ({manifest['spec']['name']} on {manifest['board']})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
