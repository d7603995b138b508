"""What a lock unit costs in hardware: the RTL of a locked run's spec against the same spec without its
lock units, same folding, both synthesized with yosys synth_xilinx and simulated (no stalls):

    python bench/lock_overhead.py RUN_DIR --out bench/results/lock_overhead_digits.json

Writes {locked, unlocked, overhead: {cycles_per_inference, LUT, FF, LUT_percent, FF_percent}}.
"""
import argparse
import json
import tempfile
from pathlib import Path

from codesign.config import load_config
from codesign.data import load_dataset
from codesign.emulator import Emulator
from codesign.rtl import generate
from codesign.rtl.simulate import run as rtl_run
from codesign.rtl.synth import synthesize
from codesign.spec import DesignSpec


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    cfg = load_config(a.run_dir / "config.yaml")
    locked = DesignSpec.load(a.run_dir / "spec")
    unlocked = locked.copy()
    for layer in unlocked.layers:
        layer.attrs.pop("lock", None)
    folding = json.loads((a.run_dir / "rtl" / "rtl_meta.json").read_text())["model_top"]["folding"]
    x = Emulator(unlocked).quantize_input(load_dataset(cfg["data"], cfg["seed"]).x_test[:a.samples])
    out = {"run": str(a.run_dir), "board": cfg["board"], "folding": folding}
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in (("unlocked", unlocked), ("locked", locked)):
            rtl = Path(tmp) / name
            generate(spec, rtl, folding=folding)
            sim = rtl_run(spec, rtl, x, stalls=False, opt="quick", work_dir=Path(tmp) / f"{name}_sim")
            res = synthesize(rtl, board=cfg["board"])
            out[name] = {"cycles_per_inference": sim.throughput["cycles_per_inference"],
                         "latency_cycles": sim.throughput["latency_cycles"], "LUT": res["LUT"], "FF": res["FF"],
                         "DSP": res["DSP"], "BRAM36": res["BRAM36"], "mismatched_samples": sim.mismatched_samples}
            print(name, out[name], flush=True)
    u, lk = out["unlocked"], out["locked"]
    out["overhead"] = {k: lk[k] - u[k] for k in ("cycles_per_inference", "latency_cycles", "LUT", "FF")}
    out["overhead"]["LUT_percent"] = round(100 * (lk["LUT"] - u["LUT"]) / u["LUT"], 3)
    out["overhead"]["FF_percent"] = round(100 * (lk["FF"] - u["FF"]) / u["FF"], 3)
    a.out.write_text(json.dumps(out, indent=1))
    print(json.dumps(out["overhead"]))


if __name__ == "__main__":
    main()
