"""Resource estimate before and after the synthesis speed change, both scripts on the same RTL.

    nice -n 10 python bench/synth_compare.py --runs RUNS [--compare mnist_mlp mnist_cnn]
        [--fit mnist_mlp:256 mnist_cnn:392] [--timeout 3600] [--out bench/results/synth_compare.json]

The change (commits 5e91447, b1dc8d0, ca58375, 7563ea6; codesign/rtl/synth.py): yosys `synth_xilinx`
used to map the whole design flattened ("flat", `SynthJob(flat=True)`); it now keeps the hierarchy of
the replicated PE lanes (dot_simd: identical instances, mapped once per unique parameter set by
techmap, opt and ABC), then flattens the mapped netlist and merges identical cells before counting
("per_module", the flow's default). Both are run one after the other (never side by side, so neither
slows the other) on one copy of the same RTL; per script: LUT / FF / DSP / BRAM36, the yosys cell
counts, wall and CPU seconds, the load average, and the change per resource in % (after vs before).

--compare EXAMPLE[:TARGET] runs both scripts, --fit EXAMPLE[:TARGET] the flow's script only (the
PYNQ-Z2 check at a faster target). Without TARGET the RTL is RUNS/EXAMPLE/rtl (what `codesign flow`
generated, e.g. the runs bench/flow_time.py leaves); with it, the RTL is generated again from
RUNS/EXAMPLE/spec at TARGET cycles per inference by the folding chooser. Every row records each
resource as a fraction of the board's capacity (boards/boards.json) and whether it fits.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESOURCES = ("LUT", "FF", "DSP", "BRAM36")
SCRIPTS = {"flat": True, "per_module": False}  # name -> SynthJob(flat=...)


def resource_diff(before: dict, after: dict) -> dict:
    """Per resource: {before, after, delta, pct} with pct = 100 * (after - before) / before
    (None when before is 0 and after is not; 0.0 when both are 0)."""
    out = {}
    for k in RESOURCES:
        b, a = before[k], after[k]
        pct = 0.0 if a == b else (None if b == 0 else round(100.0 * (a - b) / b, 2))
        out[k] = {"before": b, "after": a, "delta": round(a - b, 2), "pct": pct}
    return out


def board_fit(res: dict, board: str) -> dict:
    """Each resource as a fraction of the board's capacity (boards/boards.json), whether all fit,
    and the resource closest to its capacity."""
    from codesign.boards import BOARDS

    b = BOARDS[board]
    frac = {k: round(res[k] / b[k], 4) for k in RESOURCES}
    binding = max(RESOURCES, key=lambda k: frac[k])
    return {"board": board, "capacity": {k: b[k] for k in RESOURCES}, "fraction": frac,
            "fits": all(res[k] <= b[k] for k in RESOURCES), "binding": binding}


def cell_diff(before: dict, after: dict, top: int = 12) -> dict:
    """The yosys cell types whose counts differ most between two netlists: {cell: [before, after]}."""
    names = sorted(set(before) | set(after), key=lambda c: -abs(after.get(c, 0) - before.get(c, 0)))
    return {c: [before.get(c, 0), after.get(c, 0)] for c in names[:top] if before.get(c, 0) != after.get(c, 0)}


def yosys_log_times(log: str) -> dict:
    """yosys' own account at the end of its log: seconds of the whole script and the passes it spent
    most time in ("Time spent: 18% 12x techmap (181 sec), ..."). Under YoWASP (WebAssembly) its "time"
    and "user" are both the wall clock (equal within 0.1 s in the logs seen), not CPU time: CPU
    seconds come from getrusage around the run (`cpu_s`)."""
    import re

    out = {}
    if m := re.search(r"End of script\..*time: ([\d.]+)s, user: ([\d.]+)s", log):
        out["yosys_time_s"], out["yosys_user_s"] = float(m.group(1)), float(m.group(2))
    if m := re.search(r"^Time spent: (.*)$", log, re.MULTILINE):
        out["passes"] = [{"pass": p, "calls": int(n), "pct": int(pc), "s": int(sec)} for pc, n, p, sec in
                         re.findall(r"(\d+)% (\d+)x (\S+) \((\d+) sec\)", m.group(1))]
    return out


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_script(rtl_dir: Path, flat: bool, board: str, timeout: float) -> dict:
    """One yosys run on rtl_dir: resources, cell counts, wall and CPU seconds, load average."""
    from codesign.rtl.synth import SynthJob
    from codesign.rtl.toolchain import ToolchainError

    load0, t, c = [round(v, 2) for v in os.getloadavg()], time.time(), _cpu_children()
    try:
        res = SynthJob(rtl_dir, board=board, timeout=timeout, flat=flat).result()
    except ToolchainError as e:
        return {"error": str(e).splitlines()[0], "wall_s": round(time.time() - t, 1),
                "cpu_s": round(_cpu_children() - c, 1), "load_avg_start": load0}
    detail = json.loads((rtl_dir / "model_top_resources.json").read_text())
    log = rtl_dir / "synth" / "model_top" / "yosys.log"
    return {**{k: res[k] for k in RESOURCES}, "wall_s": round(time.time() - t, 1),
            "cpu_s": round(_cpu_children() - c, 1), "load_avg_start": load0,
            "load_avg_end": [round(v, 2) for v in os.getloadavg()],
            "yosys_log": yosys_log_times(log.read_text()) if log.exists() else {}, "cells": detail["cells"],
            "fit": board_fit(res, board)}


def flow_synthesis(run: Path) -> dict:
    """The per-module result `codesign flow` left in RUN/rtl (it ran beside the simulation, so its wall
    time is the flow's rtl_parts.yosys and its CPU time yosys' own user seconds from the log)."""
    detail = json.loads((run / "rtl" / "model_top_resources.json").read_text())
    if detail.get("flat"):
        raise SystemExit(f"{run}/rtl was synthesized with the flat script, not the flow's")
    log = run / "rtl" / "synth" / "model_top" / "yosys.log"
    times = yosys_log_times(log.read_text()) if log.exists() else {}
    report = json.loads((run / "report.json").read_text())
    res = {k: detail[k] for k in RESOURCES}
    return {**res, "wall_s": report["timing_s"]["rtl_parts"]["yosys"], "cpu_s": None,  # lumped in the rtl step's
            "reused": f"{run}/rtl (codesign flow, yosys beside the simulation)", "yosys_log": times,
            "cells": detail["cells"], "fit": board_fit(res, detail["board"])}


def design_error(runs: Path, design: str) -> str | None:
    """Why EXAMPLE[:TARGET] cannot be synthesized from RUNS (one line naming the fix), or None."""
    name, _, tgt = design.partition(":")
    if tgt and (not tgt.isdigit() or not (runs / name / "spec").is_dir()):
        return f"design {design!r}: give EXAMPLE:TARGET (cycles) with a finished run's spec in {runs / name}/spec"
    if not tgt and not (runs / name / "rtl" / "rtl_meta.json").exists():
        return (f"design {design!r}: no generated RTL in {runs / name}/rtl (run `codesign flow "
                f"examples/{name}.yaml --out {runs / name}` first)")
    return None


def prepare(runs: Path, design: str, work: Path) -> tuple[Path, dict]:
    """A private copy of the design's RTL (the flow's, or generated again at a target) and its origin."""
    from codesign.rtl import generate
    from codesign.spec import DesignSpec

    name, _, tgt = design.partition(":")
    dst = work / design.replace(":", "_")
    shutil.rmtree(dst, ignore_errors=True)
    if tgt:
        meta = generate(DesignSpec.load(runs / name / "spec"), dst, target_cycles=int(tgt))
        return dst, {"rtl": f"generated from {runs / name / 'spec'} at target {tgt}", "target_cycles": int(tgt),
                     "folding": meta["folding"], "slowest_layer_cycles": meta["slowest_layer_cycles"]}
    src = runs / name / "rtl"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("synth", "*_resources.json"))
    meta = json.loads((src / "rtl_meta.json").read_text())
    return dst, {"rtl": str(src), "folding": meta.get("folding"), "slowest_layer_cycles": meta.get("slowest_layer_cycles")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, required=True, help="folder of finished flow runs, one per example")
    ap.add_argument("--compare", nargs="*", default=["mnist_mlp", "mnist_cnn"], help="EXAMPLE[:TARGET], both scripts")
    ap.add_argument("--fit", nargs="*", default=[], help="EXAMPLE[:TARGET], the flow's script only")
    ap.add_argument("--reuse-flow-synth", nargs="*", default=[], metavar="EXAMPLE",
                    help="take the per-module row of these --compare designs from the flow run's own yosys "
                         "(RUNS/EXAMPLE/rtl) instead of running it again")
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per yosys run")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "synth_compare")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "synth_compare.json")
    args = ap.parse_args()
    for d in [*args.compare, *args.fit]:
        if err := design_error(args.runs, d):
            ap.error(err)  # exit 2, nothing written
    doc = json.loads(args.out.read_text()) if args.out.exists() else {}  # keep other designs' rows
    doc.update(note="yosys synth_xilinx resources before (flat) and after (per-module) the synthesis speed change, "
                    "both on the same RTL, with wall/CPU seconds and the board fit", machine={"cpus": os.cpu_count()},
               board=args.board,
               scripts={"flat": "synth_xilinx -flatten on the whole design (before)",
                        "per_module": "dot_simd kept as a module (mapped once per parameter set), then "
                                      "flatten + opt_merge before counting (after; the flow's default)"},
               why_counts_differ="per_module maps each kept lane (dot_simd) on its own, so techmap/ABC cannot "
                                 "optimise across its boundary: logic and registers fed by lane output bits that "
                                 "the flat run finds constant or equal (a narrow dot product's sign extension into "
                                 "a wider accumulator) stay as separate cells; opt_merge after flattening removes "
                                 "only structurally identical ones. Hence a few % more FF/LUT (see each design's "
                                 "cells_differing)")
    todo = [(d, ("flat", "per_module")) for d in args.compare] + [(d, ("per_module",)) for d in args.fit]
    for design, scripts in todo:
        rtl, origin = prepare(args.runs, design, args.work)
        row = {**origin, "command": " ".join(["python", "bench/synth_compare.py", *sys.argv[1:]])}
        for s in scripts:
            print(f"{design}: yosys {s} ...", flush=True)
            if s == "per_module" and design in args.reuse_flow_synth:
                row[s] = flow_synthesis(args.runs / design)
            else:
                row[s] = run_script(rtl, SCRIPTS[s], args.board, args.timeout)
            r = row[s]
            print(f"  {', '.join(f'{k} {r[k]}' for k in RESOURCES if k in r) or r.get('error')}; "
                  f"{r['wall_s']} s wall, {r['cpu_s']} CPU-s, load {r.get('load_avg_start', 'n/a (reused from a flow run)')}",
                  flush=True)
        if all("error" not in row.get(s, {"error": 1}) for s in ("flat", "per_module")):
            row["diff_pct"] = resource_diff(row["flat"], row["per_module"])
            row["cells_differing"] = cell_diff(row["flat"]["cells"], row["per_module"]["cells"])
            row["speedup_wall"] = round(row["flat"]["wall_s"] / row["per_module"]["wall_s"], 2)
            if row["per_module"]["cpu_s"]:  # (None when reused from a flow: its CPU is the whole rtl step's)
                row["speedup_cpu"] = round(row["flat"]["cpu_s"] / row["per_module"]["cpu_s"], 2)
            print(f"  per_module vs flat: {({k: v['pct'] for k, v in row['diff_pct'].items()})} %, "
                  f"{row['speedup_wall']}x wall, {row.get('speedup_cpu')}x CPU", flush=True)
        doc.setdefault("designs", {})[design] = row
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
