"""The `csim` backend of codesign_driver: a package's HLS IP (codesign deploy --ip hls) in C simulation.

The IP is C++ (hls/codesign_axi.cpp around the hls4ml project in hls/firmware/); compiled here with
g++ against hls4ml's ap_types (hls/csim_main.cpp) it runs on the same DMA words the driver packs for
the board, so `check.py --backend csim` checks the HLS IP integer for integer before Vitis HLS and
Vivado build it. The build is made once per package (hls/.csim_build/). It models no timing: the
transfer time it returns is the C simulation's wall time.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


class CSimDevice:
    """Same methods as codesign_driver.PynqDevice, on the C simulation of the HLS IP."""

    def __init__(self, manifest: dict, hls_dir=None, cxx: str | None = None):
        self.manifest = manifest
        self.hls = Path(hls_dir or HERE.parent / "hls").resolve()
        if manifest.get("ip") != "hls" or not (self.hls / "codesign_axi.cpp").exists():
            raise RuntimeError("the csim backend runs a package's HLS IP (codesign deploy --ip hls); this package's "
                               "IP is its RTL: use --backend sim")
        self.cxx = cxx or os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
        if not self.cxx:
            raise RuntimeError("the csim backend needs a C++ compiler (g++) on PATH")
        self.in_buffer = self.out_buffer = None
        self._exe = None

    def _build(self) -> Path:
        if self._exe is None:
            srcs = [self.hls / "csim_main.cpp", self.hls / "codesign_axi.cpp",
                    *sorted((self.hls / "firmware").rglob("*.h")), *sorted((self.hls / "firmware").rglob("*.cpp"))]
            key = hashlib.sha256(b"".join(p.read_bytes() for p in srcs)).hexdigest()[:16]
            exe = self.hls / ".csim_build" / key / "csim"
            if not exe.exists():
                exe.parent.mkdir(parents=True, exist_ok=True)
                fw = self.hls / "firmware"
                cmd = [self.cxx, "-O1", "-std=c++14", f"-I{self.hls}", f"-I{fw}", f"-I{fw / 'ap_types'}",
                       f'-DWEIGHTS_DIR="{fw / "weights"}"',
                       str(self.hls / "csim_main.cpp"), *map(str, sorted(fw.glob("*.cpp"))), "-o", str(exe) + ".tmp"]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    raise RuntimeError(f"compiling the HLS IP for C simulation failed:\n{proc.stderr[-3000:]}")
                os.replace(str(exe) + ".tmp", exe)
            self._exe = exe
        return self._exe

    def allocate(self, in_shape, out_shape) -> None:
        self.in_buffer = np.zeros(in_shape, np.uint8)
        self.out_buffer = np.zeros(out_shape, np.uint8)

    def free(self) -> None:
        self.in_buffer = self.out_buffer = None

    def transfer(self, in_beats: int, out_beats: int) -> float:
        """One send buffer through the C simulation; the receive buffer must end on the only tlast."""
        exe = self._build()
        out_bytes = self.out_buffer.shape[1]
        with tempfile.TemporaryDirectory(prefix="codesign_csim_") as tmp:
            src, dst = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
            src.write_bytes(np.ascontiguousarray(self.in_buffer[:in_beats]).tobytes())
            t0 = time.perf_counter()
            proc = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True)
            seconds = time.perf_counter() - t0
            if proc.returncode != 0:
                raise RuntimeError(f"the HLS IP's C simulation failed: {proc.stderr.strip()[-2000:]}")
            raw = np.frombuffer(dst.read_bytes(), np.uint8)
        words = len(raw) // (out_bytes + 1)
        data, last = raw[:words * out_bytes].reshape(words, out_bytes), raw[words * out_bytes:]
        if words != out_beats or last.tolist() != [0] * (words - 1) + [1]:
            raise TimeoutError(f"the HLS IP wrote {words} words (tlast at {np.nonzero(last)[0].tolist()}), the receive "
                               f"buffer expects {out_beats} ending on tlast")
        self.out_buffer[:out_beats] = data
        return seconds

    def write(self, offset: int, value: int) -> None:
        raise RuntimeError("this package's IP is the hls4ml project (--ip hls): it has no load-port registers; "
                           "run-time weights and keys need codesign deploy --ip rtl")

    def read(self, offset: int) -> int:
        raise RuntimeError("this package's IP is the hls4ml project (--ip hls): it has no AXI-Lite registers to read")

    def reset(self) -> None:
        """Nothing to reset: every transfer is a fresh C simulation."""
