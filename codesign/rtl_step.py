"""The flow's RTL step: generate the SystemVerilog of the spec, simulate the whole test split on the
fast C++ harness (codesign/rtl/harness.py) and a sample under cocotb + Verilator with random
stalls, compare every output integer with the emulator, time it, and estimate resources with yosys
(in the background, on the other core). Results go to report.json `bit_exact`, `accuracy.rtl`,
`throughput` and `resources` (omitted, with the reason logged, when yosys cannot run).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def rtl_unsupported(spec) -> list[str]:
    """Layers the RTL view cannot implement, each with the reason (a kind without an engine, or a
    maxpool the streaming engine does not do: overlapping windows, padding)."""
    from .kinds import registry as kinds

    out = []
    if spec.is_graph:  # the engines stream a chain: a merge (skip connection) has no stream to join
        merges = [l.name for l in spec.layers if kinds.find(l.kind).merge_shape is not None]
        out.append(f"the skip connections merged by {', '.join(merges)} (the RTL streams a chain of layers; "
                   "a graph spec runs in the emulator and the hls4ml C-sim)")
    for l in spec.layers:
        kind = kinds.find(l.kind)
        if spec.is_graph and kind.merge_shape is not None:
            continue
        if kind.rtl_plan is None and not kind.rtl_passthrough:  # flatten: a no-op on the stream
            out.append(f"{l.name} ({l.kind})")
        elif kind.rtl_unsupported and (reason := kind.rtl_unsupported(l)):
            out.append(f"{l.name} ({l.kind}: {reason})")
    return out


def run_rtl(run) -> None:
    """Generate the RTL, then on both cores at once: yosys (background), the cocotb stall/protocol
    sample (random valid/ready stalls on the first `cocotb_samples` samples) while the fast C++
    harness builds, then the harness on every test sample; every output integer is compared."""
    import threading

    from .rtl import generate
    from .rtl import run as rtl_run
    from .rtl.harness import Harness

    cfg = run.cfg["rtl"]
    missing = rtl_unsupported(run.spec)
    if missing:
        reason = f"no RTL view: the engines cannot implement {', '.join(missing)}"
        run.report.setdefault("notes", []).append(reason)
        run.log(f"rtl: skipped: {reason}")
        return
    rtl_dir = run.out / "rtl"
    t0 = time.time()
    parts = {}  # wall seconds of the RTL step's parts (the cocotb run, the harness build and yosys overlap)
    meta = generate(run.spec, rtl_dir, folding=cfg["folding"], target_cycles=cfg["target_cycles"],
                    checker=cfg.get("checker", False))
    parts["generate"] = round(time.time() - t0, 2)
    n = cfg["samples"] or len(run.x_test_int)
    k = min(n, cfg["cocotb_samples"])
    expected = run.emulator_out[:n].reshape(n, -1)
    synth = _start_synthesis(run, rtl_dir) if cfg["synth"] else None
    resources = None
    writes = None
    if run.lock:  # the run-time key through the load port (codesign/rtl/lock.py)
        from .rtl.lock import key_writes

        writes = key_writes(meta, run.lock.views["keys"]["key"], rtl_dir)
    try:
        built: dict = {}

        def build_harness():  # verilating + compiling in a thread: the subprocess leaves the GIL free
            try:
                t = time.time()
                built["harness"] = Harness(rtl_dir)
                parts["harness_build"] = round(time.time() - t, 2)
            except BaseException as e:  # noqa: BLE001 -- re-raised in the main thread below
                built["error"] = e

        builder = threading.Thread(target=build_harness)
        builder.start()
        run.log(f"rtl: folding {meta['folding']}; cocotb on {k} samples (stalls {'on' if cfg['stalls'] else 'off'}), "
                f"the C++ harness on all {n}")
        t = time.time()
        try:
            cocotb = rtl_run(run.spec, rtl_dir, run.x_test_int[:k], stalls=cfg["stalls"], expected=expected[:k],
                             work_dir=run.out / "sim", opt=cfg["opt"], writes=writes) if k else None
        except BaseException:
            builder.join()
            if "harness" in built:
                built["harness"].close()
            raise
        parts["cocotb"] = round(time.time() - t, 2)
        from .progress import advance

        advance("rtl: simulated samples (cocotb sample, then the C++ harness)", k, k + n)
        builder.join()
        if "error" in built:
            raise built["error"]
        with built["harness"] as h:
            if writes:
                h.write(writes)
            fast = h.run_checked(run.x_test_int[:n])
            if fast.alarm:  # rtl.checker: the spec's own parameters must never alarm
                from .rtl.simulate import RTLStreamError

                raise RTLStreamError(f"the weight-memory checker raised its alarm on the fault-free design ({rtl_dir})")
            advance("rtl: simulated samples (cocotb sample, then the C++ harness)", k + n, k + n)
            if run.lock:  # the same build under no key and a wrong key, against the emulator
                from .techniques.lock.flow import check_view

                def under(key):
                    h.write(key_writes(meta, key, rtl_dir))
                    return h.run_checked(run.x_test_int[:n]).outputs

                check_view(run, "rtl", under, n)
        parts["harness_run"] = round(fast.wall_s, 2)
        parts["harness_run_cpu"] = round(fast.sim_cpu_seconds, 2)  # the C++ loop's CPU time: the machine may be shared
        _record_simulation(run, meta, fast, cocotb, expected)  # logged now, while yosys may still run
        if synth is not None:
            t = time.time()
            resources = _finish_synthesis(run, synth)
            parts["synth_wait"] = round(time.time() - t, 2)
            parts["yosys"] = round(time.time() - synth.t0, 2)
    finally:
        if synth is not None:
            synth.cancel()  # a failed simulation: stop yosys too (no-op when it has finished)
    run.timing["rtl_parts"] = parts
    if resources is not None:
        run.report["resources"] = r = resources
        run.log(f"rtl: yosys {r['LUT']} LUT, {r['FF']} FF, {r['DSP']} DSP, {r['BRAM36']} BRAM36, fits {r['board']}: "
                f"{r['fits']} ({r['binding']} binds at {r['binding_fraction']:.0%})")
    if cfg.get("pnr"):  # (configs built by hand may leave it out)
        _timing(run, rtl_dir)


def _record_simulation(run, meta: dict, fast, cocotb, expected: np.ndarray) -> None:
    """bit_exact, accuracy.rtl and throughput from the harness run (every sample) and the cocotb sample."""
    n, k = len(expected), (cocotb.samples if cocotb is not None else 0)
    equal = np.all(fast.outputs == expected, axis=1)
    if cocotb is not None:
        equal[:k] &= np.all(cocotb.outputs.reshape(k, -1) == expected[:k], axis=1)
    be = run.section("bit_exact")
    be["rtl_samples"] = int(n)
    be["rtl_samples_fast"] = int(n)
    be["rtl_samples_cocotb"] = int(k)
    be["emulator_vs_rtl"] = float(np.mean(equal))
    be["rtl_tlast_errors"] = int(fast.tlast_errors)
    run.section("accuracy")["rtl"] = float(np.mean(np.argmax(fast.outputs, -1) == run.data.y_test[:n]))
    thr = run.section("throughput")
    thr.update(fast.throughput(meta["bound_cycles"]))
    thr["clock_mhz"] = target_mhz(run.cfg)
    thr["folding"] = meta["folding"]
    thr["mac_lanes"] = meta["mac_lanes"]
    thr["layers"] = layer_cycles(run.spec, meta)
    if meta.get("generation_cycles"):  # wings_gen: one-time weight generation after reset / a parameter load
        thr["generation_cycles"] = meta["generation_cycles"]
    if cocotb is not None and cocotb.stalled_cycles_per_inference is not None:
        thr["cycles_per_inference_with_stalls"] = cocotb.stalled_cycles_per_inference
    thr["sim_inferences_per_s"] = round(n / fast.wall_s, 1)
    if cocotb is not None and cocotb.wall_s:
        thr["sim_inferences_per_s_cocotb"] = round(k / cocotb.wall_s, 1)
    run.log(f"rtl: C++ harness: {int(np.all(fast.outputs == expected, axis=1).sum())}/{n} samples equal the emulator "
            f"({thr['sim_inferences_per_s']:.0f} inferences/s); cocotb with stalls: "
            f"{k - (cocotb.mismatched_samples or 0) if cocotb else 0}/{k}; "
            f"{thr['cycles_per_inference']:.0f} cycles/inference vs bound {thr['bound_cycles']:.0f}")


def layer_cycles(spec, meta: dict) -> dict:
    """Per layer engine: its folding, cycles per sample, MAC bound (MACs / lanes) and MAC utilization
    (MACs / (lanes x cycles): what zero padding and a pool's idle lanes cost), from the RTL plan."""
    from .rtl.plan import dense_layers

    out = {}
    for layer, p in zip(dense_layers(spec), meta["layers"]):
        if not p["lanes"]:  # a maxpool engine: no MAC lanes, so no bound and no utilization (null)
            out[layer.name] = {"kind": layer.kind, "macs": 0, "lanes": 0, "cycles": p["cycles"],
                               "bound_cycles": None, "mac_utilization": None}
            continue
        bound = p["macs"] / p["lanes"]
        out[layer.name] = {"kind": layer.kind, "pe": p["pe"], "simd": p["simd"], "macs": p["macs"],
                           "lanes": p["lanes"], "cycles": p["cycles"], "bound_cycles": bound,
                           "mac_utilization": bound / p["cycles"] if p["cycles"] else 0.0}
    return out


def _start_synthesis(run, rtl_dir: Path):
    from .rtl.synth import SynthJob
    from .rtl.toolchain import ToolchainError

    try:
        return SynthJob(rtl_dir, board=run.cfg["board"])
    except ToolchainError as e:
        _note_no_resources(run, e)
        return None


def _finish_synthesis(run, job) -> dict | None:
    from .rtl.toolchain import ToolchainError

    try:
        return job.result()
    except ToolchainError as e:
        _note_no_resources(run, e)
        return None


def _note_no_resources(run, e) -> None:
    reason = f"resources omitted: yosys could not run ({str(e).splitlines()[0]})"
    run.report.setdefault("notes", []).append(reason)
    run.log(f"rtl: {reason}")


def target_mhz(cfg: dict) -> float:
    """The clock the design is meant to run at: the HLS clock period of the config."""
    return round(1000.0 / cfg["hls"]["clock_period_ns"], 3)


def _timing(run, rtl_dir: Path) -> None:
    """report.json `timing` from a real place and route; omitted (reason noted) when the tools cannot run."""
    from .rtl.pnr import place_and_route
    from .rtl.toolchain import ToolchainError

    run.log(f"rtl: place and route (yosys synth_ecp5 + nextpnr-ecp5) at {target_mhz(run.cfg):g} MHz")
    try:
        run.report["timing"] = place_and_route(rtl_dir, target_mhz=target_mhz(run.cfg))
    except ToolchainError as e:
        reason = f"timing omitted: place and route could not run ({str(e).splitlines()[0]})"
        run.report.setdefault("notes", []).append(reason)
        run.log(f"rtl: {reason}")
        return
    t = run.report["timing"]
    run.log(f"rtl: routed Fmax {t['fmax_mhz']} MHz on {t['part']} (target {t['target_mhz']:g} MHz, met: {t['met']})")


def route(run_dir: Path, log=print, target: float | None = None) -> dict:
    """`codesign pnr RUN_DIR`: place and route a built run's generated RTL; set its report's `timing`."""
    import json

    from .config import load_config
    from .errors import CodesignError
    from .report import write_reports
    from .rtl.pnr import place_and_route

    run_dir = Path(run_dir)
    rtl_dir = run_dir / "rtl"
    if not (rtl_dir / "rtl_meta.json").exists():
        raise CodesignError(f"{rtl_dir} holds no generated RTL; build the run with rtl.enabled: true first")
    if target is not None and not target > 0:
        raise CodesignError(f"--mhz must be a positive clock in MHz, got {target}")
    cfg = load_config(run_dir / "config.yaml")
    mhz = target if target is not None else target_mhz(cfg)
    log(f"pnr: yosys synth_ecp5 + nextpnr-ecp5 of {rtl_dir} at {mhz:g} MHz")
    timing = place_and_route(rtl_dir, target_mhz=mhz)
    report_path = run_dir / "report.json"
    if report_path.exists():
        report = json.loads(report_path.read_text())
        report["timing"] = timing
        write_reports(report, run_dir, cfg)
    return timing


def rtl_outputs(run_dir: Path, spec, x_int: np.ndarray, key=None) -> np.ndarray:
    """Output integers of a built run's RTL for new inputs (the fast C++ harness, no stalls); `key`: a
    locked design's password (None: no key), written to its key registers first."""
    from .errors import CodesignError
    from .rtl.harness import Harness

    missing = rtl_unsupported(spec)
    if missing:
        raise CodesignError(f"this run has no RTL view: the engines cannot implement {', '.join(missing)}")
    rtl_dir = Path(run_dir) / "rtl"
    if not (rtl_dir / "rtl_meta.json").exists():
        raise CodesignError(f"{rtl_dir} holds no generated RTL; rebuild the run without --no-rtl")
    with Harness(rtl_dir) as h:
        if any(layer.attrs.get("lock") for layer in spec.layers):
            from .rtl.generate import read_meta
            from .techniques.lock.password import check_key
            from .rtl.lock import key_writes

            h.write(key_writes(read_meta(rtl_dir), check_key(spec, key), rtl_dir))
        return h.run_checked(x_int).outputs


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
    run.spec.require_chain("codesign sim (the RTL view)")
    run.data = load_dataset(cfg["data"], cfg["seed"])
    emu = Emulator(run.spec)
    run.x_test_int = emu.quantize_input(run.data.x_test)
    run.emulator_out = emu.run_int(run.x_test_int)
    report_path = run_dir / "report.json"
    run.report = json.loads(report_path.read_text()) if report_path.exists() else {}
    for stale in ("throughput", "resources", "timing"):  # of the RTL regenerated below (timing: again if rtl.pnr)
        run.report.pop(stale, None)
    run_rtl(run)
    write_reports(run.report, run_dir, cfg)
    return run.report
