"""cocotb bench of a deploy package's DMA wrapper (codesign_axis.v around the run's model_top), run from
tests/test_deploy.py: an AXI DMA as seen from the fabric.

CODESIGN_DEPLOY_JOB names a job.json: `buffers`, a list of send buffers, each a list of input words
(tdata ints, packed by the package's own driver); MM2S raises tlast on each buffer's last word.
S2MM-like sink: every output word and its tlast are recorded. tvalid/tready stall at random. Results go
to the job's `result` json: words and the indices of beats that carried tlast. Fails on missing
words, a tkeep not all ones, or words beyond the last expected one (watched for `drain_cycles`).
"""
import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


@cocotb.test()
async def dma_streams(dut):
    job = json.loads(Path(os.environ["CODESIGN_DEPLOY_JOB"]).read_text())
    rng = random.Random(job["seed"])
    beats = [(w, i == len(buf) - 1) for buf in job["buffers"] for i, w in enumerate(buf)]
    expect_out = job["out_beats"]
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    dut.aresetn.value = 0
    dut.s_axis_tvalid.value = 0
    dut.s_axis_tlast.value = 0
    dut.m_axis_tready.value = 0
    for _ in range(4):
        await RisingEdge(dut.aclk)
    dut.aresetn.value = 1
    words, lasts = [], []
    i, valid, cycles = 0, 0, 0
    while len(words) < expect_out and cycles < job["max_cycles"]:
        # drive until the next edge
        if i < len(beats) and (valid or rng.random() < job["p_valid"]):
            dut.s_axis_tdata.value = beats[i][0]
            dut.s_axis_tlast.value = int(beats[i][1])
            valid = 1
        else:
            valid = 0
        dut.s_axis_tvalid.value = valid
        ready = 1 if rng.random() < job["p_ready"] else 0
        dut.m_axis_tready.value = ready
        await RisingEdge(dut.aclk)
        cycles += 1
        if valid and dut.s_axis_tready.value:
            i += 1
            valid = 0
        if ready and dut.m_axis_tvalid.value:
            words.append(int(dut.m_axis_tdata.value))
            if dut.m_axis_tlast.value:
                lasts.append(len(words) - 1)
            keep = int(dut.m_axis_tkeep.value)
            assert keep == (1 << len(dut.m_axis_tkeep)) - 1, f"tkeep {keep:#x} not all ones"
    # drain: tready held high a while longer; a wrapper that sends words beyond the last sample's is caught
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 1
    extra = 0
    for _ in range(job.get("drain_cycles", 200)):
        await RisingEdge(dut.aclk)
        extra += int(dut.m_axis_tvalid.value)
    Path(job["result"]).write_text(json.dumps({"words": [str(w) for w in words], "lasts": lasts,
                                               "cycles": cycles, "inputs_taken": i, "extra_words": extra}))
    assert len(words) == expect_out, f"only {len(words)}/{expect_out} output words after {cycles} cycles"
    assert not extra, f"{extra} output words after the last expected one"
