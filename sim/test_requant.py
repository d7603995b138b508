"""cocotb unit bench of rtl/requant.sv: many lanes (one per random layer configuration) in one build.

Driven by codesign.rtl.units.run_requant_bundle through CODESIGN_SIM_JOB: per lane a .npy of rows
(dot, shift, bias, expected) where `expected` is the emulator's dense_kernel epilogue for that lane's
types (accumulator overflow, relu, rounding mode, output overflow). Every lane gets every row of its
own vectors; the bench counts mismatches per lane into the stats, and the caller judges them (the
unit test's control lane must mismatch, every other lane must not).
"""
import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.triggers import Timer


def _to_signed(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) else v


@cocotb.test()
async def requant_lanes(dut):
    job = json.loads(Path(os.environ["CODESIGN_SIM_JOB"]).read_text())
    lanes = []
    for lane in job["lanes"]:
        vec = np.load(lane["vectors"])
        pre = lane["prefix"]
        lanes.append((lane, vec, getattr(dut, pre + "_dot"), getattr(dut, pre + "_shift"),
                      getattr(dut, pre + "_bias"), getattr(dut, pre + "_y")))
    n = max(v.shape[0] for _, v, *_ in lanes)
    bad = {lane["prefix"]: [] for lane, *_ in lanes}
    for i in range(n):
        for lane, vec, d, s, b, _ in lanes:
            if i < vec.shape[0]:
                dot, sh, bias, _ = (int(a) for a in vec[i])
                d.value = dot & ((1 << lane["dot_w"]) - 1)
                s.value = sh
                b.value = bias & ((1 << lane["b_w"]) - 1)
        await Timer(1, unit="ns")
        for lane, vec, _, _, _, y in lanes:
            if i < vec.shape[0]:
                got = int(y.value)
                if lane["out_signed"]:
                    got = _to_signed(got, lane["out_w"])
                if got != int(vec[i, 3]):
                    bad[lane["prefix"]].append([int(a) for a in vec[i]] + [got])
    stats = {"lanes": {p: {"vectors": int(v.shape[0]), "mismatches": len(bad[p]), "first": bad[p][:3]}
                       for p, v in ((lane["prefix"], vec) for lane, vec, *_ in lanes)}}
    Path(job["stats"]).write_text(json.dumps(stats))
