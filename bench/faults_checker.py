"""The RTL weight-memory checker (rtl.checker: true) measured on a run built with it: detection of the
campaign's faults and of every BFA design on the RTL (each alarm compared with the reference model and
the software group-CRC detector), false alarms over 10,000 fault-free RTL inferences, and the LUT/FF
overhead from yosys synth_xilinx, the run's design generated with the checker off and on (same folding).

    codesign flow examples/mnist_mlp.yaml --out RUN --set rtl.checker=true
    codesign faults RUN --campaign bfa --seeds 5                 # the BFA designs to check (optional)
    CODESIGN_DATA=/work/shared/data python bench/faults_checker.py RUN --campaign exhaustive
    ... --no-synth / --no-campaign                               # one half only

Writes bench/results/faults_checker.json and puts the overhead into RUN/report.json under
faults.detection.overhead (the contract's field) and faults.detection.rtl.checker.overhead.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def _cpu() -> float:
    return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
               for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def overhead(run: Path, log=print) -> dict:
    """yosys synth_xilinx of the run's design with the checker off and on (the run's folding)."""
    from codesign.rtl.generate import generate, read_meta
    from codesign.rtl.synth import synthesize
    from codesign.spec import DesignSpec

    spec = DesignSpec.load(run / "spec")
    folding = read_meta(run / "rtl")["folding"]
    out = {}
    with tempfile.TemporaryDirectory(prefix="faults_checker_") as tmp:
        for name, on in (("off", False), ("on", True)):
            d = Path(tmp) / name
            generate(spec, d, folding=folding, checker=on)
            t, c = time.perf_counter(), _cpu()
            r = synthesize(d, keep_log=False)
            out[name] = {k: r[k] for k in ("LUT", "FF", "DSP", "BRAM36", "fits")}
            out[name].update(yosys_wall_s=round(time.perf_counter() - t, 1), yosys_cpu_s=round(_cpu() - c, 1))
            log(f"checker {name}: {out[name]}")
    out["overhead"] = {k: out["on"][k] - out["off"][k] for k in ("LUT", "FF", "DSP", "BRAM36")}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--campaign", default="exhaustive", choices=["exhaustive", "random"])
    ap.add_argument("--rtl-faults", type=int, default=2000)
    ap.add_argument("--no-campaign", action="store_true", help="read the detection of the run's report.json")
    ap.add_argument("--no-synth", action="store_true", help="skip the yosys overhead")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "faults_checker.json"))
    args = ap.parse_args()

    run = Path(args.run)
    from codesign.rtl.generate import read_meta

    ck = read_meta(run / "rtl").get("checker")
    if not ck:
        raise SystemExit(f"{run}: its RTL has no weight-memory checker; build it with --set rtl.checker=true")
    out = Path(args.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    res.update(run=str(run), cpus=os.cpu_count(), checker={k: v for k, v in ck.items() if k != "memories"},
               memories=ck["memories"])
    if not args.no_campaign:
        from codesign.faults.campaign import run_campaign

        load0, t, c = os.getloadavg()[0], time.perf_counter(), _cpu()
        run_campaign(run, args.campaign, detect=True, rtl=True, rtl_faults=args.rtl_faults,
                     log=lambda m: print(m, flush=True))
        res["campaign"] = {"command": f"codesign faults {run} --campaign {args.campaign} --detect --views emulator,rtl "
                                      f"--rtl-faults {args.rtl_faults}",
                           "wall_s": round(time.perf_counter() - t, 1), "cpu_s": round(_cpu() - c, 1),
                           "load_avg_1min_start": load0, "load_avg_1min_end": os.getloadavg()[0]}
    report = json.loads((run / "report.json").read_text())
    det = report.get("faults", {}).get("detection", {})
    if "checker" not in det.get("rtl", {}):
        raise SystemExit(f"{run}: report.json has no faults.detection.rtl.checker; run without --no-campaign")
    if not args.no_synth:
        load0 = os.getloadavg()[0]
        res["synth"] = overhead(run)
        res["synth"]["load_avg_1min_start"] = load0
    if "synth" in res:
        det["overhead"] = det["rtl"]["checker"]["overhead"] = dict(res["synth"]["overhead"], source="yosys synth_xilinx, "
                                                                   "checker on minus off (bench/faults_checker.py)")
        (run / "report.json").write_text(json.dumps(report, indent=1))
    c = det["rtl"]["checker"]
    res["detection"] = {
        "rtl_checker": {k: c.get(k) for k in ("faults", "rate", "harmful_faults", "harmful_rate", "harmless_alarm_fraction",
                                              "bfa_flips", "bfa_rate", "equal_to_model", "equal_to_software_checksum",
                                              "software_checksum_disagreements", "false_alarms", "clean_inferences",
                                              "clean_scans", "scan_cycles", "fault_s" if "fault_s" in c else "reference_s")},
        "rtl_canaries": {k: det["rtl"].get(k) for k in ("rate", "harmful_rate", "harmless_alarm_fraction", "bfa_rate",
                                                         "equal_to_emulator", "false_alarms", "clean_inferences")},
        "software": {k: det.get(k) for k in ("faults", "rate", "checksum_rate", "canary_rate", "harmful_rate", "bfa_rate",
                                             "bfa_checksum_rate", "false_alarms", "clean_inferences")},
        "rtl_fault_s": det["rtl"].get("fault_s"), "rtl_clean_s": det["rtl"].get("clean_s")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: res[k] for k in ("detection", "synth") if k in res}, indent=1))


if __name__ == "__main__":
    main()
