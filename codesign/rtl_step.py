"""The flow's RTL step: generate the SystemVerilog of the spec, simulate the test split under
cocotb + Verilator with stalls, compare every output integer with the emulator, time it, and
estimate resources with yosys. Results go to report.json `bit_exact`, `accuracy.rtl`,
`throughput` and `resources` (omitted, with the reason logged, when yosys cannot run).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np


def rtl_unsupported(spec) -> list[str]:
    """Layers the RTL view cannot implement, each with the reason (a kind without an engine, or a
    maxpool the streaming engine does not do: overlapping windows, padding)."""
    from .rtl.conv import pool_unsupported
    from .rtl.plan import RTL_LAYER_KINDS

    out = []
    for l in spec.layers:
        if l.kind not in RTL_LAYER_KINDS + ("flatten",):  # flatten: a no-op on the stream
            out.append(f"{l.name} ({l.kind})")
        elif l.kind == "maxpool2d" and (reason := pool_unsupported(l)):
            out.append(f"{l.name} ({l.kind}: {reason})")
    return out


def run_rtl(run) -> None:
    from .rtl import generate
    from .rtl import run as rtl_run

    cfg = run.cfg["rtl"]
    missing = rtl_unsupported(run.spec)
    if missing:
        reason = f"no RTL view: the engines cannot implement {', '.join(missing)}"
        run.report.setdefault("notes", []).append(reason)
        run.log(f"rtl: skipped: {reason}")
        return
    rtl_dir = run.out / "rtl"
    meta = generate(run.spec, rtl_dir, folding=cfg["folding"], target_cycles=cfg["target_cycles"])
    n = cfg["samples"] or len(run.x_test_int)
    expected = run.emulator_out[:n]
    run.log(f"rtl: folding {meta['folding']}, simulating {n} samples (stalls {'on' if cfg['stalls'] else 'off'})")
    # opt: "fast" (-O2 model) for the full split; "quick" (-O0) compiles ~5x faster and suits a few hundred samples
    result = rtl_run(run.spec, rtl_dir, run.x_test_int[:n], stalls=cfg["stalls"], expected=expected,
                     work_dir=run.out / "sim", opt=cfg.get("opt", "fast"))
    equal = np.all(result.outputs.reshape(n, -1) == expected.reshape(n, -1), axis=1)
    be = run.section("bit_exact")
    be["rtl_samples"] = int(n)
    be["emulator_vs_rtl"] = float(np.mean(equal))
    run.section("accuracy")["rtl"] = float(np.mean(np.argmax(result.outputs.reshape(n, -1), -1)
                                                    == run.data.y_test[:n]))
    thr = run.section("throughput")
    thr.update(result.throughput)
    thr["clock_mhz"] = round(1000.0 / run.cfg["hls"]["clock_period_ns"], 3)
    thr["folding"] = meta["folding"]
    thr["mac_lanes"] = meta["mac_lanes"]
    if meta.get("generation_cycles"):  # wings_gen: one-time weight generation after reset / a parameter load
        thr["generation_cycles"] = meta["generation_cycles"]
    if result.stalled_cycles_per_inference is not None:
        thr["cycles_per_inference_with_stalls"] = result.stalled_cycles_per_inference
    thr["sim_inferences_per_s"] = round(n / result.wall_s, 1) if result.wall_s else None
    run.log(f"rtl: {int(equal.sum())}/{n} samples equal the emulator; "
            f"{thr['cycles_per_inference']:.0f} cycles/inference vs bound {thr['bound_cycles']:.0f}")
    if cfg["synth"]:
        _resources(run, rtl_dir)


def _resources(run, rtl_dir: Path) -> None:
    from .rtl.synth import synthesize
    from .rtl.toolchain import ToolchainError

    try:
        run.report["resources"] = synthesize(rtl_dir, board=run.cfg["board"])
    except ToolchainError as e:
        reason = f"resources omitted: yosys could not run ({str(e).splitlines()[0]})"
        run.report.setdefault("notes", []).append(reason)
        run.log(f"rtl: {reason}")
        return
    r = run.report["resources"]
    run.log(f"rtl: yosys {r['LUT']} LUT, {r['FF']} FF, {r['DSP']} DSP, {r['BRAM36']} BRAM36, fits {r['board']}: {r['fits']}")


def rtl_outputs(run_dir: Path, spec, x_int: np.ndarray) -> np.ndarray:
    """Output integers of a built run's RTL for new inputs (no stalls, no expected values)."""
    from .errors import CodesignError
    from .rtl import run as rtl_run

    missing = rtl_unsupported(spec)
    if missing:
        raise CodesignError(f"this run has no RTL view: the engines cannot implement {', '.join(missing)}")
    rtl_dir = Path(run_dir) / "rtl"
    if not (rtl_dir / "rtl_meta.json").exists():
        raise CodesignError(f"{rtl_dir} holds no generated RTL; rebuild the run without --no-rtl")
    with tempfile.TemporaryDirectory(prefix="codesign_rtl_") as tmp:
        result = rtl_run(spec, rtl_dir, x_int, stalls=False, expected=None, work_dir=Path(tmp))
    return result.outputs.reshape(len(x_int), -1)


def resimulate(run_dir: Path, log=print, samples: int | None = None) -> dict:
    """`codesign sim RUN_DIR`: regenerate and re-verify the RTL of a built run; update its report."""
    import json

    from .config import load_config
    from .data import load_dataset
    from .emulator import Emulator
    from .report import write_reports
    from .run import Run
    from .spec import DesignSpec

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.yaml")
    if samples is not None:
        cfg["rtl"]["samples"] = samples
    run = Run(cfg, run_dir, log)
    run.spec = DesignSpec.load(run_dir / "spec")
    run.data = load_dataset(cfg["data"], cfg["seed"])
    emu = Emulator(run.spec)
    run.x_test_int = emu.quantize_input(run.data.x_test)
    run.emulator_out = emu.run_int(run.x_test_int)
    report_path = run_dir / "report.json"
    run.report = json.loads(report_path.read_text()) if report_path.exists() else {}
    for stale in ("throughput", "resources"):
        run.report.pop(stale, None)
    run_rtl(run)
    write_reports(run.report, run_dir, cfg)
    return run.report
