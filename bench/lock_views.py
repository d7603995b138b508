"""Emulator = hls4ml C-sim = RTL on the whole test split of a built locked run, with the right key, with
no key and with one wrong key (codesign/techniques/lock/views.py), from the run's public artefacts and its sealed
password:

    codesign flow examples/mnist_mlp_lock.yaml --out runs/lock_mnist_mlp --set rtl.synth=false
    python bench/lock_views.py runs/lock_mnist_mlp --out bench/results/lock_views_mnist_mlp.json

The input-permutation lock (scheme input_perm: the C-sim's permutation input, the RTL's first-layer
weight rows written permuted over the load port) the same way:

    codesign flow examples/mnist_mlp_perm_lock.yaml --out runs/lock_mnist_mlp_perm --set rtl.synth=false
    python bench/lock_views.py runs/lock_mnist_mlp_perm --out bench/results/lock_views_mnist_mlp_perm.json

Writes {run, samples, equal_samples: {csim|rtl: {key|nokey|wrongkey: n}}, accuracy: {view: {key: acc}},
flow_bit_exact (the flow's own report figures), wall_s, cpu_s, load_avg_1min}. Exits 1 on any mismatch.
"""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from codesign.config import load_config
from codesign.data import load_dataset
from codesign.emulator import Emulator
from codesign.spec import DesignSpec
from codesign.techniques.lock.views import VIEWS, compare, run_keys, view_outputs


def cpu_seconds() -> float:
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--samples", type=int, default=None, help="first test samples (default: the whole split)")
    ap.add_argument("--views", nargs="+", default=list(VIEWS), choices=VIEWS)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    t0, c0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()[0]
    cfg = load_config(a.run_dir / "config.yaml")
    spec = DesignSpec.load(a.run_dir / "spec")
    d = load_dataset(cfg["data"], cfg["seed"])
    x, y = d.x_test[:a.samples], d.y_test[:a.samples]
    x_int = Emulator(spec).quantize_input(x)
    outs = view_outputs(a.run_dir, spec, x_int, run_keys(a.run_dir, spec), a.views)
    res = {"run": str(a.run_dir), "config": cfg["name"], "seed": cfg["seed"], "samples": int(len(y)),
           "command": " ".join(["python", *sys.argv]), **compare(outs, y)}
    report = a.run_dir / "report.json"
    if report.exists():
        be = json.loads(report.read_text()).get("bit_exact", {})
        res["flow_bit_exact"] = {k: v for k, v in be.items() if k.startswith("emulator_vs_") or k == "samples"}
    res.update(wall_s=round(time.perf_counter() - t0, 1), cpu_s=round(cpu_seconds() - c0, 1),
               load_avg_1min_start=load0, load_avg_1min_end=os.getloadavg()[0])
    a.out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    bad = [(v, k) for v, per in res["equal_samples"].items() for k, n in per.items() if n != len(y)]
    if bad:
        print(f"MISMATCH: {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
