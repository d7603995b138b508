"""cocotb bench of the sim backend (sim_backend.py): a deploy package's wrapper top driven as the
board drives it. AXI-Lite writes of the PS first (load-port words, soft reset), then one MM2S send
buffer (tlast on its last word) while an S2MM-like sink takes the output words, then AXI-Lite reads.

CODESIGN_DEPLOY_JOB names a job.json: in_words (.npy of uint8 words), out_beats, out_bytes,
reg_writes [[offset, value]], reads [offset], p_valid / p_ready (stall probabilities, 1.0 = none),
seed, max_cycles, result (json) and out_words (.npy). The result names an error instead of raising,
so the driver reports it like a DMA fault: an early tlast (S2MM would stop short), no tlast on the
last word (S2MM would wait forever), too few words within max_cycles (a stalled stream), or words
after the last one (watched for drain_cycles, default 200).
"""
import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge


async def _until(clk, ready, limit: int, what: str) -> None:
    """Clock until ready() holds (checked after each edge); TimeoutError naming `what` after `limit` edges."""
    for _ in range(limit):
        await clk
        if ready():
            return
    raise TimeoutError(what)


async def axil_write(dut, clk, offset, value, limit=1000):
    dut.s_axi_ctrl_awaddr.value = offset
    dut.s_axi_ctrl_wdata.value = value
    dut.s_axi_ctrl_wstrb.value = 0xF
    dut.s_axi_ctrl_awvalid.value = 1
    dut.s_axi_ctrl_wvalid.value = 1
    dut.s_axi_ctrl_bready.value = 1
    await _until(clk, lambda: dut.s_axi_ctrl_awready.value and dut.s_axi_ctrl_wready.value, limit,
                 f"AXI-Lite write to {offset:#x} not accepted")
    dut.s_axi_ctrl_awvalid.value = 0
    dut.s_axi_ctrl_wvalid.value = 0
    await _until(clk, lambda: dut.s_axi_ctrl_bvalid.value, limit, f"AXI-Lite write to {offset:#x}: no response")
    assert int(dut.s_axi_ctrl_bresp.value) == 0


async def axil_read(dut, clk, offset, limit=1000):
    dut.s_axi_ctrl_araddr.value = offset
    dut.s_axi_ctrl_arvalid.value = 1
    dut.s_axi_ctrl_rready.value = 1
    await _until(clk, lambda: dut.s_axi_ctrl_arready.value, limit, f"AXI-Lite read of {offset:#x} not accepted")
    dut.s_axi_ctrl_arvalid.value = 0
    await _until(clk, lambda: dut.s_axi_ctrl_rvalid.value, limit, f"AXI-Lite read of {offset:#x}: no data")
    return int(dut.s_axi_ctrl_rdata.value)


@cocotb.test()
async def dma(dut):
    job = json.loads(Path(os.environ["CODESIGN_DEPLOY_JOB"]).read_text())
    rng = random.Random(job["seed"])
    p_valid, p_ready = job["p_valid"], job["p_ready"]
    in_words = np.load(job["in_words"])
    beats = [int.from_bytes(r.tobytes(), "little") for r in in_words]
    n_in, n_out, max_cycles = len(beats), job["out_beats"], job["max_cycles"]
    cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
    clk = RisingEdge(dut.aclk)
    dut.aresetn.value = 0
    for name in ("s_axis_tvalid", "s_axis_tlast", "m_axis_tready", "s_axi_ctrl_awvalid", "s_axi_ctrl_wvalid",
                 "s_axi_ctrl_bready", "s_axi_ctrl_arvalid", "s_axi_ctrl_rready"):
        getattr(dut, name).value = 0
    dut.s_axis_tdata.value = 0
    for _ in range(4):
        await clk
    dut.aresetn.value = 1
    await clk
    for offset, value in job["reg_writes"]:
        await axil_write(dut, clk, offset, value)

    out, lasts, error = [], [], None
    i, valid, cycles, first, last_out = 0, 0, 0, None, 0
    stalls = p_valid < 1.0 or p_ready < 1.0
    dut.m_axis_tready.value = 1
    while (i < n_in or len(out) < n_out) and cycles < max_cycles:
        if i < n_in and (valid or not stalls or rng.random() < p_valid):
            if not valid:
                dut.s_axis_tdata.value = beats[i]
                dut.s_axis_tlast.value = int(i == n_in - 1)
                valid = 1
        else:
            valid = 0
        dut.s_axis_tvalid.value = valid
        ready = 1 if not stalls or rng.random() < p_ready else 0
        if stalls:
            dut.m_axis_tready.value = ready
        await clk
        cycles += 1
        if valid and dut.s_axis_tready.value:
            if first is None:
                first = cycles
            i += 1
            valid = 0
        if ready and dut.m_axis_tvalid.value:
            out.append(int(dut.m_axis_tdata.value))
            last_out = cycles
            if dut.m_axis_tlast.value:
                lasts.append(len(out) - 1)
            if len(out) > n_out:
                break
    dut.s_axis_tvalid.value = 0
    # drain: the receive side stays ready a while; a wrapper that sends words beyond the buffer's last is caught
    dut.m_axis_tready.value = 1
    extra = 0
    for _ in range(job.get("drain_cycles", 200) if len(out) == n_out else 0):
        await clk
        extra += int(dut.m_axis_tvalid.value)
    if extra:
        error = f"{extra} output words after the last of the {n_out} expected (the next transfer would receive them)"
    elif len(out) != n_out:
        error = f"{len(out)} of {n_out} output words after {cycles} cycles ({i} of {n_in} input words taken)"
    elif n_out and lasts != [n_out - 1]:
        error = (f"tlast on output words {lasts[:5]} of {n_out}: the S2MM transfer would "
                 + ("stop short" if lasts and lasts[0] < n_out - 1 else "never end"))
    nb = job["out_bytes"]
    words = np.frombuffer(b"".join(w.to_bytes(nb, "little") for w in out[:n_out]), np.uint8).reshape(-1, nb)
    if n_out:
        np.save(job["out_words"], words)
    regs = {}
    for offset in job["reads"]:
        regs[offset] = await axil_read(dut, clk, offset)
    Path(job["result"]).write_text(json.dumps({
        "error": error, "cycles": cycles, "stream_cycles": (last_out - first + 1) if first and out else 0,
        "inputs_taken": i, "lasts": lasts, "extra_words": extra, "regs": regs}))
