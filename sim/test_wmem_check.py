"""cocotb unit bench of rtl/wmem_check.sv (quartet: codesign/rtl/checker.py fold_words / rtl/wmem_check.sv /
this file), driven by tests/test_faults_checker.py through CODESIGN_SIM_JOB.

The job holds the memory image (words), its depth and word width, the scan period (cycles), and a
list of faults (sets of (address, bit)). The bench checks, with port A reading random addresses the whole time (every
read compared with the bench's copy of the memory: the checker must not disturb the engine's port):
- fault-free scans never alarm, also while the load port rewrites words with their own value (the
  scanner stalls on those cycles);
- a bit written flipped mid-scan raises the alarm within two scan periods of the write, and after
  a reset within one;
- per fault of the list: reset, one scan, the alarm; the caller compares it with crc_words.
"""
import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge, Timer


class Bench:
    def __init__(self, dut, job, rng_seed=1):
        import random

        self.dut, self.job = dut, job
        self.mem = [int(w, 16) for w in job["words"]]
        self.depth, self.dw = job["depth"], job["dw"]
        self.rng = random.Random(rng_seed)
        self.port_a_errors = 0
        self.pending = None  # the address port A read last cycle

    async def cycle(self, write=None):
        """One clock: port A reads a random address (checked one cycle later), an optional write."""
        d = self.dut
        a = self.rng.randrange(self.depth)
        d.re.value = 1
        d.raddr.value = a
        if write is not None:
            d.we.value, d.waddr.value, d.wdata.value = 1, write[0], write[1]
        else:
            d.we.value = 0
        await RisingEdge(d.clk)
        await ReadOnly()
        if int(d.rdata.value) != self.mem[a]:
            self.port_a_errors += 1
        alarm = int(d.alarm.value)
        if write is not None:
            self.mem[write[0]] = write[1]
        return alarm

    async def reset(self):
        d = self.dut
        await RisingEdge(d.clk)
        d.rst.value = 1
        d.we.value = 0
        await RisingEdge(d.clk)
        await RisingEdge(d.clk)
        d.rst.value = 0

    async def run(self, n, writes=None):
        """n cycles; returns the first cycle (1-based) with the alarm up, or 0."""
        first = 0
        for i in range(n):
            w = writes.get(i) if writes else None
            await self._settle()
            if await self.cycle(w) and not first:
                first = i + 1
        return first

    async def _settle(self):
        # leave the ReadOnly phase before driving
        await Timer(1, unit="ns")


@cocotb.test()
async def checker(dut):
    job = json.loads(Path(os.environ["CODESIGN_SIM_JOB"]).read_text())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    b = Bench(dut, job)
    dut.re.value = 0
    dut.we.value = 0
    dut.raddr.value = 0
    dut.waddr.value = 0
    dut.wdata.value = 0
    await b.reset()
    depth = b.depth
    scan = job["scan"]
    stats = {}
    # fault-free scans, with same-value rewrites through the load port in the middle of them
    rewrites = {i: (a, b.mem[a]) for i, a in ((b.rng.randrange(5 * scan), b.rng.randrange(depth)) for _ in range(12))}
    stats["clean_alarm_cycle"] = await b.run(5 * scan, rewrites)
    # a flip written mid-scan
    a, bit = b.rng.randrange(depth), b.rng.randrange(b.dw)
    at = scan // 2 + 1
    t = await b.run(3 * scan, {at: (a, b.mem[a] ^ (1 << bit))})
    stats["flip_after_write_cycles"] = t - (at + 1) if t else None
    # the same flip still in memory: reset clears the alarm, the first scan raises it again
    await b.reset()
    stats["flip_after_reset_cycles"] = await b.run(2 * scan)
    # restored: no alarm after a reset
    await b.run(1, {0: (a, b.mem[a] ^ (1 << bit))})
    await b.reset()
    stats["restored_alarm_cycle"] = await b.run(3 * scan)
    # the fault list: write, reset, one scan, the alarm, undo
    got = []
    for fault in job["faults"]:
        flips = {}
        for addr, bt in fault:
            flips[addr] = flips.get(addr, b.mem[addr]) ^ (1 << bt)
        old = {addr: b.mem[addr] for addr in flips}
        await b.run(len(flips), {k: w for k, w in enumerate(flips.items())})
        await b.reset()
        got.append(bool(await b.run(scan)))
        await b.run(len(old), {k: w for k, w in enumerate(old.items())})
    await b.reset()
    stats["after_faults_alarm_cycle"] = await b.run(2 * scan)
    stats["fault_alarms"] = got
    stats["port_a_errors"] = b.port_a_errors
    Path(job["stats"]).write_text(json.dumps(stats))
