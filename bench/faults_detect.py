"""Fault detection in software and on the RTL, for a run built with RTL that holds campaign rows
(an exhaustive or random campaign, and a bfa campaign): `codesign faults RUN --campaign C --detect
--views emulator,rtl` (the campaign resumes: only detection and the RTL cross-check run), then the
report's `faults.detection` section (software canaries + per-group CRCs, and under `rtl` the
canaries of the same faults run through the verilated design, alarms checked equal to the
emulator's, and 10,000 fault-free RTL inferences) with the machine's load and the CPU seconds.

    CODESIGN_DATA=/work/shared/data python bench/faults_detect.py RUN --campaign exhaustive
    ... --report-only    # the section of a run that already ran the command above (no recomputation)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--campaign", default="exhaustive", choices=["exhaustive", "random"])
    ap.add_argument("--rtl-faults", type=int, default=2000)
    ap.add_argument("--report-only", action="store_true", help="read the run's report.json instead of running")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults_detect.json"))
    args = ap.parse_args()

    run = Path(args.run)
    res = {"run": str(run), "cpus": os.cpu_count(),
           "command": f"codesign faults {run} --campaign {args.campaign} --detect --views emulator,rtl "
                      f"--rtl-faults {args.rtl_faults}"}
    if not args.report_only:
        from codesign.faults.campaign import run_campaign

        load0, t = os.getloadavg()[0], time.perf_counter()
        run_campaign(run, args.campaign, detect=True, rtl=True, rtl_faults=args.rtl_faults,
                     log=lambda m: print(m, flush=True))
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        res.update(wall_s=round(time.perf_counter() - t, 1), cpu_s=round(cpu, 1), load_avg_1min_start=load0,
                   load_avg_1min_end=os.getloadavg()[0])
    report = json.loads((run / "report.json").read_text())
    faults = report.get("faults", {})
    if "detection" not in faults or "rtl" not in faults["detection"]:
        raise SystemExit(f"{run}: report.json has no faults.detection.rtl; run without --report-only")
    res.update(spec=json.loads((run / "spec" / "spec.json").read_text()).get("name"), detection=faults["detection"],
               rtl_crosscheck={k: v for k, v in faults.get("rtl", {}).items() if k != "covered"})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res["detection"]))


if __name__ == "__main__":
    main()
