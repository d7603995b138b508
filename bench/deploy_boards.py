"""Every board of the catalogue, end to end without Vivado or a board: package, build.tcl run to the end
under tclsh with the recording model of the Vivado commands (tests/vivado_stub.tcl), and the package's
self-test `python PKG/pynq/check.py --backend sim` (its own RTL under Verilator).

    python bench/deploy_boards.py RUN_DIR [RUN_DIR ...] --vectors N [--out bench/results/deploy_boards.json]

For each run and board: the part and clock the TCL gave Vivado, the DMA stream widths, whether every
.mem image is in the IP's synthesis files with an absolute name, whether the TCL ran to its end and
wrote the bitstream, and check.py's exit code and samples equal. One Verilator build per RTL is shared
by all boards (CODESIGN_SIM_BUILD).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUB = ROOT / "tests" / "vivado_stub.tcl"


def stub_run(pkg: Path, work: Path) -> dict:
    log, state = work / "calls.jsonl", work / "state.json"
    proc = subprocess.run(["tclsh", str(STUB), str(log), str(state), str(pkg / "vivado" / "build.tcl")], check=False,
                          capture_output=True, text=True, timeout=300)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    st = json.loads(state.read_text())
    m = json.loads((pkg / "manifest.json").read_text())
    parts = [c["args"][c["args"].index("-part") + 1] for c in calls if c["cmd"] == "create_project"]
    dma = next(c["args"][1] for c in calls if c["cmd"] == "set_property" and c["args"][0] == "-dict"
               and c["args"][2] == "/axi_dma_0").split()
    dma = dict(zip(dma[::2], dma[1::2]))
    ps = next(c["args"][1] for c in calls if c["cmd"] == "set_property" and c["args"][0] == "-dict"
              and c["args"][2] == "/ps").split()
    rtl = (pkg / "rtl").resolve()
    top = next(Path(f) for f in st["ipgroup"] if f.endswith(f"{m['model_top']}.sv"))
    named = re.findall(r'\.\w+\s*\(\s*"([^"]+\.mem)"\s*\)', top.read_text())
    order = [c["cmd"] for c in calls]
    return {
        "exit": proc.returncode, "ran_to_end": bool(calls) and calls[-1]["cmd"] == "__end__",
        "vivado_calls": len(calls), "parts": parts, "ps_config": dict(zip(ps[::2], ps[1::2])),
        "dma_stream_widths": [int(dma["CONFIG.c_m_axis_mm2s_tdata_width"]), int(dma["CONFIG.c_s_axis_s2mm_tdata_width"])],
        "dma_memory_widths": [int(dma["CONFIG.c_m_axi_mm2s_data_width"]), int(dma["CONFIG.c_m_axi_s2mm_data_width"])],
        "mem_in_ip_synthesis_files": all(str(rtl / f) in st["ipgroup"] for f in m["mem_files"]),
        "mem_names_absolute_and_exist": sorted(Path(n).name for n in named) == sorted(m["mem_files"])
        and all(Path(n).is_absolute() and Path(n).exists() for n in named),
        "synth_8_4445_error_before_synthesis": "Synth 8-4445" in st["msg_error"]
        and order.index("set_msg_config") < order.index("launch_runs"),
        "bitstream_written": (pkg / "pynq" / "codesign.bit").exists(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, nargs="+")
    ap.add_argument("--vectors", type=int, default=100000, help="test vectors per package (default: the whole split)")
    ap.add_argument("--boards", default="", help="comma-separated subset (default: every board of the catalogue)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "deploy_boards.json")
    ap.add_argument("--work", type=Path, default=None, help="where packages are written (default: a temp folder)")
    ap.add_argument("--update", action="store_true", help="replace only the boards measured now in an existing --out")
    args = ap.parse_args(argv)
    from codesign.boards import BOARDS

    boards = [b for b in args.boards.split(",") if b] or list(BOARDS)
    work = args.work or Path(tempfile.mkdtemp(prefix="deploy_boards_"))
    env = dict(os.environ, CODESIGN_SIM_BUILD=str(work / "sim_build"))
    doc = {"command": "python bench/deploy_boards.py " + " ".join(map(str, args.runs)) + f" --vectors {args.vectors}",
           "runs": {}}
    ok = True
    for run in args.runs:
        res = {}
        for b in boards:
            pkg = work / f"{run.name}_{b}"
            if pkg.exists():
                shutil.rmtree(pkg)
            t0 = time.time()
            subprocess.run([sys.executable, "-m", "codesign", "deploy", str(run), "--out", str(pkg), "--board", b,
                            "--vectors", str(args.vectors)], check=True, capture_output=True, text=True)
            (work / "stub").mkdir(exist_ok=True)
            tcl = stub_run(pkg, work / "stub")
            for f in ("codesign.bit", "codesign.hwh", "build.json"):  # the stub's stand-ins stay out of check.py's way
                (pkg / "pynq" / f).unlink(missing_ok=True)
            t1 = time.time()
            proc = subprocess.run([sys.executable, str(pkg / "pynq" / "check.py"), "--backend", "sim"], env=env,
                                  capture_output=True, text=True)
            line = next((json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")), {})
            res[b] = {"part": json.loads((pkg / "manifest.json").read_text())["part"], "tcl": tcl,
                      "check_sim": {"exit": proc.returncode, "samples": line.get("samples"), "equal": line.get("equal"),
                                    "accuracy": line.get("accuracy"), "hardware_spec_id": line.get("hardware_spec_id"),
                                    "last_line": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:],
                                    "seconds": round(time.time() - t1, 1)},
                      "package_and_tcl_seconds": round(t1 - t0, 1)}
            ok &= proc.returncode == 0 and tcl["exit"] == 0 and tcl["ran_to_end"]
            print(f"{run.name} {b}: tcl exit {tcl['exit']} ({tcl['vivado_calls']} Vivado calls), check.py --backend sim "
                  f"exit {proc.returncode}: {res[b]['check_sim']['last_line']}", flush=True)
        doc["runs"][str(run)] = res
    if args.update and args.out.exists():  # earlier measurements of the other boards stay, each with its command
        old = json.loads(args.out.read_text())
        for run, res in doc["runs"].items():
            for b, r in res.items():
                r["command"] = doc["command"]
            old["runs"].setdefault(run, {}).update(res)
        doc = old
        ok = all(r["check_sim"]["exit"] == 0 and r["tcl"]["exit"] == 0 and r["tcl"]["ran_to_end"]
                 for res in doc["runs"].values() for r in res.values())
    doc["all_passed"] = bool(ok)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
