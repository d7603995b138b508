"""Cycle-level AXI-Stream source/sink for a generated model top, shared by the cocotb benches.

One `ModelStream` drives one model's input stream and drains its output stream; `step()` is
called once per rising edge by a single loop, so several models in one simulation (the unit
bench) cost one Python wake-up per cycle in total. Values read right after RisingEdge are the
values the design sampled at that edge, so `valid and ready` read there is a completed transfer.
Per cycle the work is a few signal reads, one random draw per side, and writes only on change;
and when every stream is only waiting (input beat offered but not accepted, no output offered),
the loop sleeps until tready or tvalid rises instead of waking every clock, which for a
compute-bound engine skips most cycles (cycle numbers come from simulation time, so counts are exact).

Stalls: the first `probe` samples stream with tvalid and tready held high, to measure the
stall-free steady state (cycles per inference) and latency; later samples see random tvalid
(probability p_valid) and tready (p_ready) from a seeded generator.
"""
from __future__ import annotations

import random

import numpy as np
from cocotb.triggers import RisingEdge


def pack_beats(x: np.ndarray, beat: int, width: int) -> list[int]:
    """Samples (S, n) of integers -> beats of `beat` elements, element 0 in the low bits."""
    s, n = x.shape
    mask = (1 << width) - 1
    codes = (x.astype(np.int64) & mask).reshape(s * n // beat, beat)
    out = []
    for row in codes.tolist():
        v = 0
        for k, e in enumerate(row):
            v |= e << (k * width)
        out.append(v)
    return out


def unpack_beats(raw: list[int], beat: int, width: int, signed: bool) -> np.ndarray:
    mask = (1 << width) - 1
    vals = [(v >> (k * width)) & mask for v in raw for k in range(beat)]
    a = np.array(vals, dtype=np.int64) if width < 63 else np.array(vals, dtype=object)
    if signed:
        a = np.where(a >= (1 << (width - 1)), a - (1 << width), a)
    return a.astype(np.int64)


class ModelStream:
    def __init__(self, dut, cfg: dict, rng: random.Random, p_valid: float, p_ready: float, probe: int):
        pre = cfg.get("prefix", "")
        sig = lambda name: getattr(dut, pre + name)  # noqa: E731
        self.s_tdata, self.s_tvalid, self.s_tready = sig("s_axis_tdata"), sig("s_axis_tvalid"), sig("s_axis_tready")
        self.m_tdata, self.m_tvalid, self.m_tready = sig("m_axis_tdata"), sig("m_axis_tvalid"), sig("m_axis_tready")
        self.m_tlast = sig("m_axis_tlast")
        self.wl = (sig("wl_we"), sig("wl_sel"), sig("wl_addr"), sig("wl_data"))
        self.cfg = cfg
        x = np.load(cfg["inputs"])
        self.samples = x.shape[0]
        self.beats = pack_beats(x, cfg["in_beat"], cfg["in_width"])
        self.in_per_sample = x.shape[1] // cfg["in_beat"]
        self.out_per_sample = cfg["out_padded"] // cfg["out_beat"]
        self.rng, self.p_valid, self.p_ready, self.probe = rng, p_valid, p_ready, probe
        self.i_beat = 0
        self.driven = -1
        self.raw: list[int] = []
        self.t_in_first: list[int] = []
        self.t_out_last: list[int] = []
        self.tlast_errors = 0
        self.extra_beats = 0  # output beats after the last expected one (a protocol error)
        self.valid = 0
        self.ready = 0
        self.s_tvalid.value = 0
        self.m_tready.value = 0
        for s in self.wl:
            s.value = 0

    @property
    def done(self) -> bool:
        return len(self.raw) >= self.samples * self.out_per_sample

    async def load(self, clk, writes):
        """Load-port writes [(sel, addr, data)], one per cycle (a fault flip or a weight update)."""
        we, sel, addr, data = self.wl
        for s, a, d in writes:
            sel.value, addr.value, data.value, we.value = s, a, d, 1
            await RisingEdge(clk)
        we.value = 0

    def step(self, cycle: int) -> None:
        # 1. transfers completed at this edge
        took = False
        if self.valid and self.s_tready.value:
            if self.i_beat % self.in_per_sample == 0:
                self.t_in_first.append(cycle)
            self.i_beat += 1
            took = True
        if self.ready and self.m_tvalid.value and self.done:
            self.extra_beats += 1
        elif self.ready and self.m_tvalid.value:
            self.raw.append(int(self.m_tdata.value))
            last = len(self.raw) % self.out_per_sample == 0
            if int(self.m_tlast.value) != int(last):
                self.tlast_errors += 1
            if last:
                self.t_out_last.append(cycle)
        # 2. what to drive until the next edge
        if self.i_beat < len(self.beats):
            sample = self.i_beat // self.in_per_sample
            # AXI-Stream: a raised tvalid stays up until its beat is taken; only a new beat may wait
            v = 1 if (self.valid and not took) or sample < self.probe or self.rng.random() < self.p_valid else 0
            if v and self.driven != self.i_beat:
                self.s_tdata.value = self.beats[self.i_beat]
                self.driven = self.i_beat
        else:
            v = 0
        if v != self.valid:
            self.s_tvalid.value = v
            self.valid = v
        # once every expected beat is out, tready stays high so an extra beat shows at once
        r = 1 if self.done or len(self.t_out_last) < self.probe or self.rng.random() < self.p_ready else 0
        if r != self.ready:
            self.m_tready.value = r
            self.ready = r

    def maybe_idle(self) -> bool:
        """From the values sampled at this edge: nothing for this stream to do until the design moves."""
        in_idle = self.i_beat >= len(self.beats) or self.valid
        return in_idle and not self.m_tvalid.value

    def idle_triggers(self) -> list | None:
        """In ReadOnly (after the edge): edges that end this stream's wait, or None if it is busy now.

        Waiting: the input beat is offered but the engine's buffer is full (wake when tready rises),
        and no output beat is offered (wake when tvalid rises). Both only change at clock edges.
        """
        trig = []
        if self.i_beat < len(self.beats):
            if not (self.valid and not self.s_tready.value):
                return None
            trig.append(RisingEdge(self.s_tready))
        if self.m_tvalid.value:
            return None
        trig.append(RisingEdge(self.m_tvalid))
        return trig

    def outputs(self) -> np.ndarray:
        cfg = self.cfg
        y = unpack_beats(self.raw, cfg["out_beat"], cfg["out_width"], bool(cfg["out_signed"]))
        return y.reshape(self.samples, cfg["out_padded"])[:, :cfg["outputs"]]
