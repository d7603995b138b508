"""Routed Fmax and utilization of the example designs on an ECP5 (yosys synth_ecp5 + nextpnr-ecp5).

    nice python bench/pnr_fmax.py --label after [--examples mnist_mlp mnist_cnn ...] [--runs /tmp/pnr_runs]
                                  [--mhz 100] [--out bench/results/pnr_fmax.json] [--reuse]

For each example config it builds the run once (`codesign flow` with synthesis and hls4ml off; the RTL
is still checked bit-exact against the emulator on the whole test split), or reuses a finished run in
--runs, then places and routes its RTL with `codesign pnr` and records the timing section with the
run's cycles per inference. --standin routes a random-parameter design of each example's layer shapes
instead (no training; for designs whose training takes too long here); --rtl-only routes the RTL a
run folder already holds without the flow's checks. Results merge into --out under `label` (e.g. `main` and `after` for the
RTL before and after the adder trees were pipelined), one example at a time: the MNIST designs take
tens of minutes each on two busy cores, so run it in the background with nice.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "examples"
DEFAULT = ["digits_mlp", "mnist_mlp", "mnist_cnn", "mnist_mlp_kron", "mnist_mlp_wings"]
# Config settings an example is routed with (`codesign flow --set`), each with its reason. WINGs at its
# 2048 cycles has 115 8-bit MAC lanes + 52 generator multipliers, 167 MULT18X18D, more than the
# LFE5U-85F's 156 (nextpnr: "no BELs remaining"); at 4096 the dense part takes half the lanes (110).
ROUTE_SETTINGS = {"mnist_mlp_wings": {"rtl.target_cycles": 4096}}


def codesign(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"codesign {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc


def git_rev() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()


def routed(run: Path, mhz: float, reuse: bool) -> dict:
    """`codesign pnr` of the run, or (reuse) the timing of the place and route already in its rtl/pnr folder."""
    work = run / "rtl" / "pnr" / "model_top"
    if reuse and (work / "report.json").exists():
        from codesign.rtl.pnr import summarize

        timing = summarize(work, mhz)
        old = run / "rtl" / "model_top_timing.json"
        if old.exists():
            timing["seconds"] = json.loads(old.read_text()).get("seconds")
        return timing
    return json.loads(codesign("pnr", str(run), "--mhz", str(mhz)).stdout)["timing"]


def measure_rtl_only(example: str, runs: Path, mhz: float) -> dict:
    """Route the RTL a run folder already holds (the flow's generated rtl/, e.g. a flow stopped after its
    RTL generation on a busy machine): cycles from the generator's plan (rtl_meta.json), no RTL check here."""
    run = runs / example
    meta_path = run / "rtl" / "rtl_meta.json"
    if not meta_path.exists():
        raise SystemExit(f"{run} holds no generated RTL (rtl/rtl_meta.json); run without --rtl-only")
    meta = json.loads(meta_path.read_text())["model_top"]
    timing = json.loads(codesign("pnr", str(run), "--mhz", str(mhz)).stdout)["timing"]
    return {"timing": timing, "rtl_only": True, "cycles_per_inference": meta["slowest_layer_cycles"],
            "folding": meta["folding"], "spec": meta["spec"]}


def measure(example: str, runs: Path, mhz: float, reuse: bool = False) -> dict:
    run = runs / example
    t0 = time.time()
    settings = ROUTE_SETTINGS.get(example, {})
    if not (run / "report.json").exists():
        codesign("flow", str(EXAMPLES / f"{example}.yaml"), "--out", str(run), "--set", "rtl.synth=false",
                 "--set", "hls.enabled=false", "--set", "baseline.float=false",
                 *[a for k, v in settings.items() for a in ("--set", f"{k}={v}")])
    flow_s = time.time() - t0
    report = json.loads((run / "report.json").read_text())
    timing = routed(run, mhz, reuse)
    thr = report.get("throughput", {})
    return {"timing": timing, "cycles_per_inference": thr.get("cycles_per_inference"),
            "latency_cycles": thr.get("latency_cycles"), "folding": thr.get("folding"),
            "emulator_vs_rtl": report.get("bit_exact", {}).get("emulator_vs_rtl"),
            "rtl_samples": report.get("bit_exact", {}).get("rtl_samples"),
            "rtl_samples_cocotb": report.get("bit_exact", {}).get("rtl_samples_cocotb"),
            "flow_seconds": round(flow_s, 1), **({"settings": settings} if settings else {})}


def standin(name: str):
    """A random-parameter design with an example's layer shapes (no training): the MAC widths, foldings
    and engines of the example, so its routed clock is the example's up to the types the training picks."""
    import numpy as np

    from codesign.rtl.random_spec import (INPUT_TYPE, random_cnn, random_dense, random_kron, random_mlp,
                                          random_wings)
    from codesign.spec import DesignSpec

    rng = np.random.default_rng(0)
    if name == "mnist_mlp":
        return random_mlp(0, [784, 256, 128, 10]), 512
    if name == "mnist_cnn":
        return random_cnn(0, in_shape=(28, 28, 1), filters=(16, 16), classes=10), 784
    if name == "mnist_mlp_kron":
        k = random_kron(rng, "kron0", 28, 28, 16, 16, 2, INPUT_TYPE, relu=True, factor_bits=(8, 8))
        d1 = random_dense(rng, "fc1", 256, 128, k.out_type, ternary=True, relu=True)
        d2 = random_dense(rng, "fc2", 128, 10, d1.out_type, ternary=False, relu=False, exact_output=True)
        layers, tail = [k, d1, d2], 512
    elif name == "mnist_mlp_wings":
        g = random_wings(rng, "wings0", 28, 28, 256, 20, 24, INPUT_TYPE, grid=(10, 10), relu=True)
        d1 = random_dense(rng, "fc1", 256, 128, g.out_type, ternary=False, relu=True)
        d2 = random_dense(rng, "fc2", 128, 10, d1.out_type, ternary=False, relu=False, exact_output=True)
        layers, tail = [g, d1, d2], ROUTE_SETTINGS[name]["rtl.target_cycles"]
    else:
        raise SystemExit(f"no stand-in for {name}")
    spec = DesignSpec(f"{name}_standin", (784,), INPUT_TYPE, layers)
    spec.validate()
    return spec, tail


def measure_standin(example: str, runs: Path, mhz: float) -> dict:
    """Generate the stand-in's RTL (example's target cycles) and place and route it with `codesign pnr`."""
    import shutil

    from codesign.rtl import generate

    run = runs / f"{example}_standin"
    spec, target = standin(example)
    meta = generate(spec, run / "rtl", target_cycles=target)
    shutil.copyfile(EXAMPLES / f"{example}.yaml", run / "config.yaml")
    timing = json.loads(codesign("pnr", str(run), "--mhz", str(mhz)).stdout)["timing"]
    return {"timing": timing, "standin": True, "cycles_per_inference": max(l["cycles"] for l in meta["layers"]),
            "folding": meta["folding"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True, help="name of this RTL version, e.g. main or after")
    ap.add_argument("--examples", nargs="+", default=DEFAULT)
    ap.add_argument("--runs", type=Path, default=Path("/tmp/pnr_runs"))
    ap.add_argument("--mhz", type=float, default=100.0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pnr_fmax.json")
    ap.add_argument("--reuse", action="store_true", help="take a run's finished place and route (rtl/pnr) as is")
    ap.add_argument("--standin", action="store_true",
                    help="route a random-parameter design of each example's shapes instead of a trained run")
    ap.add_argument("--rtl-only", action="store_true",
                    help="route the generated RTL already in each run folder of --runs/LABEL, without the flow's checks")
    ap.add_argument("--rev", default=None, help="git revision the runs' RTL came from (default: this checkout's HEAD)")
    args = ap.parse_args()
    for ex in args.examples:
        if not (EXAMPLES / f"{ex}.yaml").exists():
            raise SystemExit(f"no example config examples/{ex}.yaml")
    runs = args.runs / args.label
    runs.mkdir(parents=True, exist_ok=True)
    for ex in args.examples:
        print(f"{ex}: building and routing ...", flush=True)
        if args.standin:
            row = dict(measure_standin(ex, runs, args.mhz), rev=args.rev or git_rev())
        elif args.rtl_only:
            row = dict(measure_rtl_only(ex, runs, args.mhz), rev=args.rev or git_rev())
        else:
            row = dict(measure(ex, runs, args.mhz, args.reuse), rev=args.rev or git_rev())
        doc = json.loads(args.out.read_text()) if args.out.exists() else {}
        doc.setdefault(args.label, {})[ex + ("_standin" if args.standin else "")] = row
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
        t = row["timing"]
        print(f"{ex}: {t['fmax_mhz']} MHz (target {t['target_mhz']:g}, met {t['met']}), "
              f"{row['cycles_per_inference']} cycles/inference, critical path {t['critical_path']}", flush=True)


if __name__ == "__main__":
    main()
