"""RTL cross-check of fault campaigns: the same faulty designs on the verilated RTL (one build, the
fast C++ harness of codesign/rtl/harness.py, faults written through the load port between
batches, no re-verilation) and on the integer emulator; every output integer must be equal.

Faults are stratified: for every stored parameter and every bit position of it, `per_cell` random
elements, so each (layer, parameter, bit) is exercised.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..emulator import Emulator
from .model import SiteMap, apply, fault_key
from .store import RowStore


def stratified(sm: SiteMap, faults: int, seed: int = 0) -> list[tuple]:
    """About `faults` single-bit faults, the same number in every (parameter, bit position) cell."""
    cells = [(b, bit) for b in sm.blocks for bit in range(b.width)]
    per = max(1, -(-faults // len(cells)))
    rng = np.random.default_rng(seed)
    out = []
    for b, bit in cells:
        for idx in rng.choice(b.size, min(per, b.size), replace=False):
            out.append((b.start + int(idx) * b.width + bit,))
    return out


class WeightWords:
    """Where each stored bit of a dense engine's weight memory lives (load-port select, word, bit), so
    a single weight flip is one load-port write of one word (no image regeneration). The lane order is
    the one `rtl/plan.weight_words` packs (word of*SF + sf, lane (p*SIMD + s)); the cross-check
    itself proves it: a wrong word would make the RTL differ from the emulator."""

    def __init__(self, spec, meta):
        from ..rtl.harness import _engines

        self.map = {}
        for sel, plan, layer in _engines(spec, meta):
            if layer.kind != "dense" or getattr(plan, "module", "mvau") != "mvau":
                continue
            pos = np.arange(plan.np_ * plan.mp).reshape(plan.sf, plan.simd, plan.nf, plan.pe).transpose(2, 0, 3, 1)
            where = np.empty(plan.np_ * plan.mp, np.int64)
            where[pos.reshape(-1)] = np.arange(pos.size)  # element (padded row-major) -> word * lanes + lane
            where = where.reshape(plan.np_, plan.mp)[:plan.n, :plan.m].reshape(-1)
            self.map[layer.name] = (sel, where // plan.lanes, (where % plan.lanes) * plan.WW, plan.WW)

    def write(self, h, layer: str, index: int, bit: int) -> tuple | None:
        """Flip the stored bit in the harness memory (one write); the write that undoes it, or None
        when this parameter has no direct map."""
        if layer not in self.map:
            return None
        sel, word, off, _ = self.map[layer]
        addr = int(word[index])
        old = h._state[sel][addr]
        h.write([(sel, addr, old ^ (1 << (int(off[index]) + bit)))])
        return (sel, addr, old)


def crosscheck(run_dir, spec, x_int, faults: int = 2000, samples: int = 20, seed: int = 0, log=print) -> dict:
    """Run stratified faults on RTL and emulator over the first `samples` test inputs; rows in
    RUN/faults/rtl/, returns the report's `rtl` section. A mismatch is reported, never hidden."""
    from ..errors import CodesignError
    from ..progress import advance
    from ..rtl.harness import Harness
    from ..rtl_step import rtl_unsupported

    run_dir = Path(run_dir)
    rtl_dir = run_dir / "rtl"
    if rtl_unsupported(spec) or not (rtl_dir / "rtl_meta.json").exists():
        raise CodesignError(f"{run_dir} has no generated RTL; build the run with RTL (without --no-rtl) for --views rtl")
    sm = SiteMap(spec)
    fl = stratified(sm, faults, seed)
    x = np.asarray(x_int)[:samples]
    store = RowStore(run_dir / "faults" / "rtl", {"campaign": "rtl", "faults": len(fl), "samples": len(x),
                                                   "seed": seed}, fresh=True)
    equal = np.zeros(len(fl), bool)
    visible = np.zeros(len(fl), bool)  # the fault changed some output integer (the check can see it)
    clean_out = Emulator(spec).run_int(x).reshape(len(x), -1)
    rtl_s = run_s = 0.0
    log(f"faults: RTL cross-check, {len(fl)} stratified faults x {len(x)} samples")
    with Harness(rtl_dir) as h:
        h.set_spec(spec)  # memories as generated (no write when the run's images are this spec's)
        direct = WeightWords(spec, h.meta)
        for k, f in enumerate(fl):
            faulty = apply(spec, f, sm)
            lname, param, index, bit = sm.describe(f[0])
            t = time.perf_counter()
            undo = direct.write(h, lname, index, bit) if param == "weight" else None
            if undo is None:
                h.set_spec(faulty)
            t_run = time.perf_counter()
            y = h.run_checked(x).outputs  # a protocol error fails the campaign, as everywhere RTL runs
            run_s += time.perf_counter() - t_run
            if undo is not None:
                h.write([undo])
            else:
                h.set_spec(spec)
            rtl_s += time.perf_counter() - t
            ref = Emulator(faulty).run_int(x).reshape(len(x), -1)
            equal[k] = np.array_equal(y.reshape(len(x), -1), ref)
            visible[k] = not np.array_equal(ref, clean_out)
            advance("faults: RTL cross-check faults", k + 1, len(fl))
        h.set_spec(spec)
        clean_ok = np.array_equal(h.run_checked(x).outputs.reshape(len(x), -1), Emulator(spec).run_int(x).reshape(len(x), -1))
    d = sm.decode([f[0] for f in fl])
    store.write(0, {"fault": [fault_key(f) for f in fl], "site": np.array([f[0] for f in fl], np.int64),
                    "layer": [sm.blocks[b].layer_name for b in d["block"]], "param": [sm.blocks[b].param for b in d["block"]],
                    "index": d["index"], "bit": d["bit"], "equal": equal, "visible": visible})
    return {"faults": len(fl), "equal_fraction": float(equal.mean()), "faults_changing_outputs": int(visible.sum()), "faults_per_s": len(fl) / rtl_s,
            "samples_per_fault": len(x), "restored_design_equal": bool(clean_ok),
            "stream_s": run_s, "load_and_stream_s": rtl_s,
            "cells": len({(sm.blocks[b].layer_name, sm.blocks[b].param, int(bit)) for b, bit in zip(d["block"], d["bit"])})}
