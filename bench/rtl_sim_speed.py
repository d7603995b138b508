"""How fast does the RTL view simulate? cocotb + Verilator vs a plain Verilator C++ harness.

    python bench/rtl_sim_speed.py [--samples 500] [--spec runs/mlp/spec] [--target-cycles 512] [--no-cpp]

Runs the same samples through (1) the cocotb full-model bench (sim/test_model.py, the path the
flow uses; random stalls after a stall-free probe) and (2) a C++ main that drives the same
generated top directly (no Python per cycle, no stalls), checks both against the emulator, and
prints inferences/s, cycles/s and the ratio. Without --spec it uses the saved MLP spec under runs/
when there is one, else a random spec with the MNIST MLP's shape and types (784-256-128-10).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.emulator import Emulator  # noqa: E402
from codesign.rtl import generate, run  # noqa: E402
from codesign.rtl import toolchain  # noqa: E402
from codesign.rtl.random_spec import mnist_like  # noqa: E402
from codesign.spec import DesignSpec  # noqa: E402

HARNESS = r"""
// Plain Verilator harness: stream packed beats through model_top with tvalid/tready always high.
#include "Vmodel_top.h"
#include "verilated.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

static const int NW_IN = @NW_IN@, NW_OUT = @NW_OUT@;

int main(int argc, char** argv) {
    // argv: inputs.bin (uint32 words, NW_IN per beat), n_in_beats, outputs.bin, n_out_beats
    Verilated::commandArgs(argc, argv);
    long n_in = atol(argv[2]), n_out = atol(argv[4]);
    std::vector<uint32_t> in((size_t)n_in * NW_IN), out((size_t)n_out * NW_OUT);
    FILE* f = fopen(argv[1], "rb");
    if (fread(in.data(), 4, in.size(), f) != in.size()) return 2;
    fclose(f);
    Vmodel_top* top = new Vmodel_top;
    top->wl_we = 0;
    top->rst = 1;
    for (int i = 0; i < 3; i++) { top->clk = 0; top->eval(); top->clk = 1; top->eval(); }
    top->rst = 0;
    long ib = 0, ob = 0, cycles = 0;
    auto t0 = std::chrono::steady_clock::now();
    while (ob < n_out && cycles < 2000000000L) {
        top->s_axis_tvalid = ib < n_in;
        if (ib < n_in) { @SET_IN@ }
        top->m_axis_tready = 1;
        top->clk = 0; top->eval();
        bool in_fire = top->s_axis_tvalid && top->s_axis_tready;
        if (top->m_axis_tvalid) { @GET_OUT@ ob++; }
        top->clk = 1; top->eval();
        if (in_fire) ib++;
        cycles++;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    f = fopen(argv[3], "wb");
    fwrite(out.data(), 4, out.size(), f);
    fclose(f);
    printf("{\"cycles\": %ld, \"seconds\": %.6f}\n", cycles, s);
    top->final();
    delete top;
    return 0;
}
"""


def _port_code(name: str, width: int, nw: int, direction: str) -> str:
    if width > 64:  # VlWide: 32-bit words
        if direction == "in":
            return " ".join(f"top->{name}[{k}] = in[(size_t)ib * NW_IN + {k}];" for k in range(nw))
        return " ".join(f"out[(size_t)ob * NW_OUT + {k}] = top->{name}[{k}];" for k in range(nw))
    if direction == "in":
        expr = " | ".join(f"((uint64_t)in[(size_t)ib * NW_IN + {k}] << {32 * k})" for k in range(nw))
        return f"top->{name} = {expr};"
    return " ".join(f"out[(size_t)ob * NW_OUT + {k}] = (uint32_t)((uint64_t)top->{name} >> {32 * k});" for k in range(nw))


def _words(beats: list[int], nw: int) -> np.ndarray:
    return np.array([(b >> (32 * k)) & 0xFFFFFFFF for b in beats for k in range(nw)], dtype=np.uint32)


def cpp_harness(rtl_dir: Path, meta: dict, x: np.ndarray) -> tuple[np.ndarray, dict]:
    """Build (once) and run the C++ harness; returns outputs and {cycles, seconds}."""
    sys.path.insert(0, str(ROOT / "sim"))
    from axis_stream import pack_beats, unpack_beats

    exe_dir = rtl_dir / "cpp_build"
    in_bits, out_bits = meta["in_beat"] * meta["in_width"], meta["out_beat"] * meta["out_width"]
    nw_in, nw_out = -(-in_bits // 32), -(-out_bits // 32)
    src = (HARNESS.replace("@NW_IN@", str(nw_in)).replace("@NW_OUT@", str(nw_out))
           .replace("@SET_IN@", _port_code("s_axis_tdata", in_bits, nw_in, "in"))
           .replace("@GET_OUT@", _port_code("m_axis_tdata", out_bits, nw_out, "out")))
    exe_dir.mkdir(exist_ok=True)
    (exe_dir / "harness.cpp").write_text(src)
    exe = exe_dir / "harness"
    if not exe.exists():
        toolchain.verilator_env()
        env = dict(os.environ, MAKEFLAGS=toolchain.MAKE_VARS)  # -O3 is passed to verilator below
        cmd = ["verilator", "--cc", "--exe", "--build", "-j", "2", "-O3", "--x-assign", "fast", "--x-initial", "fast",
               "-Wno-fatal", "--top-module", "model_top", "-Mdir", str(exe_dir), "-o", "harness",
               *[str(rtl_dir / s) for s in meta["sources"]], str(exe_dir / "harness.cpp")]
        subprocess.run(cmd, check=True, env=env, capture_output=True, cwd=exe_dir)
    s = x.shape[0]
    xp = np.zeros((s, meta["in_padded"]), np.int64)
    xp[:, :x.shape[1]] = x
    beats = pack_beats(xp, meta["in_beat"], meta["in_width"])
    n_out = s * meta["out_padded"] // meta["out_beat"]
    with tempfile.TemporaryDirectory() as tmp:
        _words(beats, nw_in).tofile(Path(tmp) / "in.bin")
        proc = subprocess.run([str(exe), str(Path(tmp) / "in.bin"), str(len(beats)), str(Path(tmp) / "out.bin"), str(n_out)],
                              check=True, capture_output=True, text=True, cwd=rtl_dir)
        words = np.fromfile(Path(tmp) / "out.bin", dtype=np.uint32).astype(np.uint64).reshape(n_out, nw_out)
    raw = [sum(int(w) << (32 * k) for k, w in enumerate(row)) for row in words]
    y = unpack_beats(raw, meta["out_beat"], meta["out_width"], bool(meta["out_signed"]))
    return y.reshape(s, meta["out_padded"])[:, :meta["outputs"]], json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--spec", type=Path, default=None)
    ap.add_argument("--target-cycles", type=int, default=None)
    ap.add_argument("--out", type=Path, default=None, help="RTL folder (default: a temporary one)")
    ap.add_argument("--no-cpp", action="store_true")
    args = ap.parse_args()
    spec_dir = args.spec or (ROOT / "runs" / "mlp" / "spec")
    spec = DesignSpec.load(spec_dir) if (spec_dir / "spec.json").exists() else mnist_like(0)
    rtl_dir = (args.out or Path(tempfile.mkdtemp(prefix="rtl_speed_"))).resolve()
    meta = generate(spec, rtl_dir, target_cycles=args.target_cycles)
    emu = Emulator(spec)
    data = Path(os.environ.get("CODESIGN_DATA", ROOT.parent / "shared" / "data")) / "mnist8k.npz"
    n = int(np.prod(spec.input_shape))
    if data.exists() and n == 784:
        pixels = np.load(data)["x"][-args.samples:].reshape(-1, *spec.input_shape)
    else:
        pixels = np.random.default_rng(0).integers(0, 256, (args.samples, *spec.input_shape), dtype=np.uint8)
    x = emu.quantize_input(pixels)
    expected = emu.run_int(x)
    x = x.reshape(x.shape[0], -1)
    t = time.time()
    r = run(spec, rtl_dir, x, stalls=True)
    total = time.time() - t
    report = {
        "spec": spec.name, "samples": r.samples, "folding": meta["folding"],
        "throughput": r.throughput,
        "cocotb": {"bit_exact_samples": r.samples - (r.mismatched_samples or 0), "cycles": r.cycles,
                   "sim_seconds": round(r.wall_s, 2), "with_build_seconds": round(total, 1),
                   "inferences_per_s": round(r.inferences_per_s, 1), "cycles_per_s": round(r.cycles / r.wall_s)},
    }
    if not args.no_cpp:
        t = time.time()
        y, st = cpp_harness(rtl_dir, meta, x)
        report["verilator_cpp"] = {
            "bit_exact_samples": int(np.all(y == expected, axis=1).sum()), "cycles": st["cycles"],
            "sim_seconds": round(st["seconds"], 3), "with_build_seconds": round(time.time() - t, 1),
            "inferences_per_s": round(r.samples / st["seconds"], 1), "cycles_per_s": round(st["cycles"] / st["seconds"])}
        report["cpp_over_cocotb_speed"] = round(report["verilator_cpp"]["inferences_per_s"] / r.inferences_per_s, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
