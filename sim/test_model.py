"""cocotb bench of a generated model top (codesign.rtl.generate): stream samples, compare every output.

Driven by codesign.rtl.simulate through the environment: CODESIGN_SIM_JOB names a job.json with
one entry per model top in the simulation (one for a full model; several for the unit bench, where
a wrapper holds many single-layer models under port prefixes). Each entry names an inputs .npy
(integers of the input type, padded), an expected .npy (emulator integers, or null) and load-port
writes to apply first. All samples stream back-to-back; the bench records every output integer,
the cycle of each sample's first input beat and last output beat, and fails if any output differs
from the expected integer or tlast is misplaced. Results: outputs .npy per model, one stats .json.
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
    cycle = 0
    limit = job["max_cycles"]
    skip = job.get("event_skip", True)
    pending = list(streams)
    wakeups = 0
    while pending and cycle < limit:
        await edge
        wakeups += 1
        cycle = round((get_sim_time("ns") - start) / period)
        for st in pending:
            st.step(cycle)
        if any(st.done for st in pending):
            pending = [st for st in pending if not st.done]
        if skip and pending and all(st.maybe_idle() for st in pending):
            await ReadOnly()
            trig = []
            for st in pending:
                t = st.idle_triggers()
                if t is None:
                    trig = None
                    break
                trig += t
            if trig:
                await First(*trig, Timer((limit - cycle) * period, unit="ns"))
    wall = time.perf_counter() - t0

    stats = {"cycles": cycle, "wall_s": wall, "wakeups": wakeups, "timeout": bool(pending), "models": []}
    failures = []
    for st, m in zip(streams, job["models"]):
        entry = {"prefix": m.get("prefix", ""), "result": m["result"], "samples": st.samples, "t_in_first": st.t_in_first,
                 "t_out_last": st.t_out_last, "tlast_errors": st.tlast_errors, "complete": st.done}
        if st.done:
            y = st.outputs()
            np.save(m["result"], y)
            if m.get("expected"):
                exp = np.load(m["expected"])
                bad = np.nonzero(np.any(y != exp, axis=1))[0]
                entry["mismatched_samples"] = int(bad.size)
                entry["first_mismatches"] = [
                    {"sample": int(i), "got": y[i].tolist(), "expected": exp[i].tolist()} for i in bad[:3]]
                if bad.size:
                    failures.append(f"{m.get('prefix', '') or 'model'}: {bad.size}/{st.samples} samples differ "
                                    f"(first sample {int(bad[0])})")
        else:
            failures.append(f"{m.get('prefix', '') or 'model'}: only {len(st.t_out_last)}/{st.samples} samples out "
                            f"after {cycle} cycles")
        if st.tlast_errors:
            failures.append(f"{m.get('prefix', '') or 'model'}: tlast misplaced on {st.tlast_errors} beats")
        stats["models"].append(entry)
    Path(job["stats"]).write_text(json.dumps(stats))
    dut._log.info("%d cycles in %.2f s (%.0f cycles/s)", cycle, wall, cycle / max(wall, 1e-9))
    assert not failures, "; ".join(failures)
