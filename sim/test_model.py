"""cocotb bench of a generated model top (codesign.rtl.generate): stream samples, compare every output.

Driven by codesign.rtl.simulate through the environment: CODESIGN_SIM_JOB names a job.json with
one entry per model top in the simulation (one for a full model; several for the unit bench, where
a wrapper holds many single-layer models under port prefixes). Each entry names an inputs .npy
(integers of the input type, padded), an expected .npy (emulator integers, or null) and load-port
writes to apply first. All samples stream back-to-back; the bench records every output integer,
the cycle of each sample's first input beat and last output beat, and counts the samples whose outputs
differ from the expected integers (the caller judges those: a fault campaign's control engine must differ).
It fails on any AXI-Stream protocol error: tlast misplaced, output beats lost (a sample incomplete
within the cycle budget, i.e. a hang) or extra (beats after the last sample's, watched for
`drain_cycles` with tready held high). Results: outputs .npy per model, one stats .json.
"""
import json
import os
import random
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import First, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time

from axis_stream import ModelStream


@cocotb.test()
async def stream_samples(dut):
    job = json.loads(Path(os.environ["CODESIGN_SIM_JOB"]).read_text())
    rng = random.Random(job["seed"])
    p_valid, p_ready = (job["p_valid"], job["p_ready"]) if job["stalls"] else (1.0, 1.0)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    streams = [ModelStream(dut, m, rng, p_valid, p_ready, job["probe"]) for m in job["models"]]
    dut.rst.value = 1
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    for st, m in zip(streams, job["models"]):
        await st.load(dut.clk, m.get("writes", []))

    t0 = time.perf_counter()
    edge = RisingEdge(dut.clk)
    period = 10
    start = get_sim_time("ns")
    skip = job.get("event_skip", True)
    clock = {"cycle": 0, "wakeups": 0}

    async def advance(until: int, stop_when_done: bool) -> None:
        """Step every stream each edge up to cycle `until` (done streams keep watching for extra beats);
        with event skip, sleep while every stream only waits."""
        while clock["cycle"] < until and not (stop_when_done and all(st.done for st in streams)):
            await edge
            clock["wakeups"] += 1
            clock["cycle"] = round((get_sim_time("ns") - start) / period)
            for st in streams:
                st.step(clock["cycle"])
            if skip and all(st.maybe_idle() for st in streams) and not (stop_when_done and all(st.done for st in streams)):
                await ReadOnly()
                trig = []
                for st in streams:
                    t = st.idle_triggers()
                    if t is None:
                        trig = None
                        break
                    trig += t
                if trig and until > clock["cycle"]:
                    await First(*trig, Timer((until - clock["cycle"]) * period, unit="ns"))

    await advance(job["max_cycles"], stop_when_done=True)
    cycle, wakeups = clock["cycle"], clock["wakeups"]
    wall = time.perf_counter() - t0
    # drain: hold tready high a while longer, so a design that sends beats beyond the last sample is caught
    await advance(cycle + job.get("drain_cycles", 100), stop_when_done=False)

    stats = {"cycles": cycle, "wall_s": wall, "wakeups": wakeups, "timeout": not all(st.done for st in streams),
             "models": []}
    failures = []
    for st, m in zip(streams, job["models"]):
        name = m.get("prefix", "") or "model"
        entry = {"prefix": m.get("prefix", ""), "result": m["result"], "samples": st.samples, "t_in_first": st.t_in_first,
                 "t_out_last": st.t_out_last, "tlast_errors": st.tlast_errors, "extra_beats": st.extra_beats,
                 "complete": st.done}
        if st.done:
            y = st.outputs()
            np.save(m["result"], y)
            if m.get("expected"):
                exp = np.load(m["expected"])
                bad = np.nonzero(np.any(y != exp, axis=1))[0]
                entry["mismatched_samples"] = int(bad.size)
                entry["first_mismatches"] = [
                    {"sample": int(i), "got": y[i].tolist(), "expected": exp[i].tolist()} for i in bad[:3]]
        else:
            failures.append(f"{name}: only {len(st.raw)} of {st.samples * st.out_per_sample} output beats "
                            f"({len(st.t_out_last)}/{st.samples} samples) after {cycle} cycles (hang or lost beats)")
        if st.tlast_errors:
            failures.append(f"{name}: tlast misplaced on {st.tlast_errors} output beats")
        if st.extra_beats:
            failures.append(f"{name}: {st.extra_beats} output beats after the last sample's")
        stats["models"].append(entry)
    Path(job["stats"]).write_text(json.dumps(stats))
    dut._log.info("%d cycles in %.2f s (%.0f cycles/s)", cycle, wall, cycle / max(wall, 1e-9))
    if failures:  # AXI-Stream protocol errors fail the test; output mismatches are the caller's to judge
        raise AssertionError("AXI-Stream protocol error: " + "; ".join(failures))
