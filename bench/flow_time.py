"""Wall time of each `codesign flow` step for the examples, beside the previous implementation.

    python bench/flow_time.py [--examples mnist_mlp,mnist_cnn,mnist_mlp_kron,mnist_mlp_wings]
                              [--set train.epochs=2 ...] [--no-previous] [--runs runs/flow_time]
                              [--previous-samples N] [--no-previous-synth] [--reuse]

Each example runs through the public CLI (`codesign flow`), and its report.json `timing_s` gives the
wall seconds of every step and of the RTL step's parts (generate, cocotb stall sample, C++ harness
build and run, yosys; the harness build and yosys overlap the cocotb run). Then, on the same
generated RTL, the previous implementation of the RTL step (every example has one: the RTL step is
the only one that changed): every test sample under cocotb with stalls (the old bulk check, -O2
model; --previous-samples N runs the first N and projects all of them from the measured rate), then
yosys `synth_xilinx -flatten` (the old script; --no-previous-synth leaves it to
bench/synth_compare.py, which runs both scripts alone on the same RTL), timed the same way; the row's
`rtl_side_by_side` puts the two RTL steps next to each other and `board_fit` the resource estimate
against the board's capacity (boards/boards.json). CPU seconds are recorded too, for the whole flow process and per step
(report.json `timing_s.cpu_s`: the flow's own and its children's user + system seconds), with the
load average (1, 5, 15 min) at the start and the end: the machine is shared, so wall time depends on
what else runs, CPU seconds much less. Results: bench/results/flow_time.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_compare import board_fit  # bench/ is this script's folder, first on sys.path

EXAMPLES = ["mnist_mlp", "mnist_cnn", "mnist_mlp_kron", "mnist_mlp_wings"]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _loads() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


def collect(out: Path) -> dict:
    """The timing and checks of a finished run folder (report.json)."""
    report = json.loads((out / "report.json").read_text())
    return {"steps_s": report.get("timing_s", {}), "bit_exact": report.get("bit_exact"),
            "throughput": {k: report.get("throughput", {}).get(k) for k in
                           ("cycles_per_inference", "bound_cycles", "mac_utilization", "sim_inferences_per_s",
                            "sim_inferences_per_s_cocotb")},
            "resources": report.get("resources")}


def run_flow(name: str, out: Path, sets: list[str]) -> dict:
    cmd = [sys.executable, "-m", "codesign", "flow", str(ROOT / "examples" / f"{name}.yaml"), "--out", str(out)]
    for s in sets:
        cmd += ["--set", s]
    t, c, load0 = time.time(), _cpu_children(), _loads()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"codesign flow {name} failed:\n{proc.stderr[-3000:]}")
    load1 = _loads()
    return {"wall_s": round(time.time() - t, 1), "cpu_s": round(_cpu_children() - c, 1),
            "load_avg_1min": [load0[0], load1[0]], "load_avg_start": load0, "load_avg_end": load1,
            "command": " ".join(["codesign", *cmd[3:]]), **collect(out)}


def previous_rtl(run_dir: Path, samples: int | None = None, synth: bool = True) -> dict:
    """The old RTL step on the same RTL, one part after the other as it ran: cocotb on the test
    samples (stalls, -O2 model; `samples` caps how many, and the time of all of them is then
    projected from the measured rate, build included once), then yosys `synth_xilinx -flatten`."""
    import numpy as np

    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.emulator import Emulator
    from codesign.rtl import run as cocotb_run
    from codesign.rtl.synth import SynthJob
    from codesign.spec import DesignSpec

    cfg = load_config(run_dir / "config.yaml")
    spec = DesignSpec.load(run_dir / "spec")
    data = load_dataset(cfg["data"], cfg["seed"])
    emu = Emulator(spec)
    x = emu.quantize_input(data.x_test)
    expected = np.asarray(emu.run_int(x)).reshape(len(x), -1)
    n = min(samples or len(x), len(x))
    out = {"load_avg_start": _loads()}
    t1, c1 = time.time(), _cpu_children()
    r = cocotb_run(spec, run_dir / "rtl", x[:n], stalls=True, expected=expected[:n], work_dir=run_dir / "sim_previous",
                   opt="fast")
    wall = time.time() - t1
    equal = int(np.sum(np.all(np.asarray(r.outputs).reshape(n, -1) == expected[:n], axis=1)))
    out["cocotb"] = {"wall_s": round(wall, 1), "cpu_s": round(_cpu_children() - c1, 1), "samples": r.samples,
                     "of_test_samples": len(x), "equal_to_emulator": equal, "mismatched": r.mismatched_samples,
                     "inferences_per_s": round(r.inferences_per_s, 1)}
    if n < len(x):  # build + n samples measured; the rest at the measured per-sample rate
        out["cocotb"]["all_samples_projected_s"] = round(wall + (len(x) - n) / r.inferences_per_s, 1)
    if synth and cfg["rtl"]["synth"]:
        t, c = time.time(), _cpu_children()
        res = SynthJob(run_dir / "rtl", board=cfg["board"], top="model_top", flat=True, keep_log=False).result()
        out["yosys_flat"] = {"wall_s": round(time.time() - t, 1), "cpu_s": round(_cpu_children() - c, 1),
                             "resources": res}
    out["load_avg_end"] = _loads()
    return out


def side_by_side(row: dict) -> dict:
    """The RTL step now (flow) beside the previous one (cocotb on every sample, then flat yosys), in wall s.

    Without a measured previous step (--no-previous), the previous bulk check is projected from the
    flow's own cocotb stall sample: its wall time (build + k samples) plus the other n - k samples at
    its rate (sim_inferences_per_s_cocotb; the flow builds that model at rtl.opt, default "quick")."""
    f = row["flow"]
    s, p = f["steps_s"], row.get("previous_rtl")
    parts = s.get("rtl_parts", {})
    now = {"rtl_step_s": s.get("rtl"), "sim_s": round(parts.get("cocotb", 0) + parts.get("harness_run", 0), 1),
           "yosys_s": parts.get("yosys")}
    if p:
        c = p["cocotb"]
        sim, how = c.get("all_samples_projected_s", c["wall_s"]), ("projected from a measured cocotb run of "
                                                                 f"{c['samples']}" if "all_samples_projected_s" in c
                                                                 else "measured")
        yosys = p.get("yosys_flat", {}).get("wall_s")
    else:
        be, rate = f.get("bit_exact") or {}, (f.get("throughput") or {}).get("sim_inferences_per_s_cocotb")
        n, k = be.get("rtl_samples"), be.get("rtl_samples_cocotb")
        if not (rate and n and k and "cocotb" in parts):
            return {"now": now}
        sim, yosys = parts["cocotb"] + (n - k) / rate, None
        how = (f"projected from the flow's cocotb sample of {k} (rtl.opt build, stalls, beside the harness build "
               "and yosys; the old check built at -O2 and ran alone, so this overstates it)")
    before = {"sim_s": round(sim, 1), "sim": how, "yosys_s": yosys,
              "rtl_step_s": round(sim + yosys, 1) if yosys is not None else None}
    return {"now": now, "before": before}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", default=",".join(EXAMPLES))
    ap.add_argument("--set", action="append", default=[], help="config override for every example (dotted=value)")
    ap.add_argument("--no-previous", action="store_true", help="skip the previous implementation's RTL step")
    ap.add_argument("--previous-samples", type=int, default=None,
                    help="cocotb on the first N test samples only in the previous RTL step (all of them projected)")
    ap.add_argument("--no-previous-synth", action="store_true",
                    help="leave flat yosys out of the previous RTL step (bench/synth_compare.py measures it alone)")
    ap.add_argument("--runs", type=Path, default=ROOT / "runs" / "flow_time")
    ap.add_argument("--reuse", action="store_true", help="read RUNS/<example>/report.json where it exists "
                    "instead of running the flow again")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "flow_time.json")
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
               "note": "wall seconds on a machine shared with other jobs: see load_avg_1min (start, end) and cpu_s",
               "overrides": args.set, "examples": {}}
    if args.out.exists():  # keep other examples' rows from an earlier call
        results["examples"] = json.loads(args.out.read_text()).get("examples", {})
    for name in args.examples.split(","):
        out = args.runs / name
        reuse = args.reuse and (out / "report.json").exists()
        old = results["examples"].get(name, {}).get("flow", {})
        if reuse and old.get("command", "").endswith(f"--out {out}"):
            row = {"flow": old}  # this run's own row, timed when it ran (wall, CPU, load kept)
        else:
            row = {"flow": dict(collect(out), reused=str(out)) if reuse else run_flow(name, out, args.set)}
        if not args.no_previous:
            row["previous_rtl"] = previous_rtl(out, args.previous_samples, synth=not args.no_previous_synth)
        row["rtl_side_by_side"] = side_by_side(row)
        if row["flow"].get("resources"):  # the resource estimate against the board's capacity
            res = row["flow"]["resources"]
            row["board_fit"] = board_fit(res, res["board"])
        results["examples"][name] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))
        s = row["flow"]["steps_s"]
        cpu = s.get("cpu_s", {})
        line = ", ".join(f"{k} {v} s" + (f" ({cpu[k]} CPU-s)" if k in cpu else "") for k, v in s.items()
                         if not isinstance(v, dict))
        f = row["flow"]
        print(f"{name}: {line}; rtl parts {s.get('rtl_parts')}; whole flow {f.get('wall_s')} s wall, "
              f"{f.get('cpu_s')} CPU-s, load {f.get('load_avg_start')} -> {f.get('load_avg_end')}")
        sbs = row["rtl_side_by_side"]
        if "before" in sbs:
            print(f"  RTL step now {sbs['now']}; before {sbs['before']}")
        if "board_fit" in row:
            print(f"  fits {row['board_fit']['board']}: {row['board_fit']['fits']} {row['board_fit']['fraction']}")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
