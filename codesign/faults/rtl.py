"""RTL cross-check of fault campaigns: the same faulty designs on the verilated RTL (one build, the
fast C++ harness of codesign/rtl/harness.py, faults written through the load port between
batches, no re-verilation) and on the integer emulator; every output integer must be equal.

Faults are stratified: for every stored parameter and every bit position of it, the same number of
random elements, so each (layer, parameter, bit) is exercised.

Where the time goes, and what keeps it small (MNIST MLP, 2 streamed digits a fault): a fault is the
few memory words its bits live in (`StoredBits`, mapped once), sent with the previous fault's
restoring words in one load-port command; the harness process stays up and simulates the fault
while Python prepares the next (emulator reference on a pool of digits, from the faulted layer on,
a dense/conv flip recomputing only its output column: tail.LayerCache), so the two CPU costs overlap. The simulation is the floor: the pipeline drains between faults, so a
fault costs the design's latency plus one inference interval per further digit. A WINGs
generator-parameter write restarts the weight generation: the written component's curve or basis
rows (a table: every component's), then the weight words whose curve column or basis word changed
(`WingsPlan.regen_cycles`; the full generation
after reset is `generation_cycles` in rtl_meta.json), so those faults cost that much more each.

A locked design runs under the campaign's key on both sides: the emulator reference applies its lock
units, the harness gets the key registers written once (faults never touch them).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..emulator import Emulator
from .model import SiteMap, apply, fault_key, flip_array
from .store import RowStore
from .tail import LayerCache


def stratified(sm: SiteMap, faults: int, seed: int = 0) -> list[tuple]:
    """At least `faults` single-bit faults (fewer only when the design has fewer bits), the same
    number in every (parameter, bit position) cell that has that many elements."""
    cells = [(b, bit) for b in sm.blocks for bit in range(b.width)]
    per = max(1, -(-faults // len(cells)))
    while True:
        rng = np.random.default_rng(seed)
        out = []
        for b, bit in cells:
            for idx in rng.choice(b.size, min(per, b.size), replace=False):
                out.append((b.start + int(idx) * b.width + bit,))
        if len(out) >= min(faults, sm.total):
            return out
        per += max(1, (faults - len(out)) // len(cells))


def _word_bits(words: list[int], nbytes: int) -> np.ndarray:
    """Memory words (Python ints) -> (words, nbytes*8) bit matrix, bit 0 first."""
    raw = b"".join(int(w).to_bytes(nbytes, "little") for w in words)
    return np.unpackbits(np.frombuffer(raw, np.uint8).reshape(len(words), nbytes), axis=1, bitorder="little")


class StoredBits:
    """Where every stored bit of the design lives in the RTL memories behind the load port (select,
    address, bit), so a fault is a few one-word writes and its undo the same words restored: no
    memory image is regenerated per fault.

    The map is read off the generator itself (`rtl.generate.mem_images`), never restated: every site
    of a layer gets a number 1..S, and probe k flips, all at once, the bits whose number has bit k
    set; the image bits that change under probe k spell, over all probes, the number of the site they
    hold. That is exact when the images are a bit permutation of the stored integers (packing,
    padding, lane order); it is checked: every site found in one place or more, no image bit claimed
    by a number that is no site, and one site per (parameter, bit position) flipped alone must
    change exactly the predicted bits. A parameter that fails (an image computed from it, not
    packed) has no map and its faults take the full `Harness.set_spec` path."""

    def __init__(self, spec, meta, sitemap: SiteMap, seed: int = 0):
        from dataclasses import replace

        from ..rtl.generate import load_groups, mem_images
        from ..rtl.harness import _engines

        self.sm = sitemap
        self.where: dict[int, np.ndarray] = {}  # block -> (site offset, position) rows: sel, addr, bit
        self.failed: list[str] = []
        blocks_of = {}
        for bi, b in enumerate(sitemap.blocks):
            blocks_of.setdefault(b.layer, []).append(bi)
        rng = np.random.default_rng(seed)
        for sel0, plan, layer in _engines(spec, meta):
            li = spec.layers.index(layer)
            bis = blocks_of.get(li, [])
            if not bis:
                continue
            groups = load_groups(plan)

            def images(lay, plan=plan, groups=groups, sel0=sel0):  # select -> bit matrix of its words
                img = mem_images(lay, plan)
                out = {}
                for k, group in enumerate(groups):
                    words = [w for name in group for w in img[name][0]]
                    width = max([img[name][1] for name in group] + [1])
                    out[sel0 + k] = _word_bits(words, -(-width // 8))
                return out

            base = images(layer)
            first = sitemap.blocks[bis[0]].start
            total = sum(sitemap.blocks[bi].bits for bi in bis)
            code = {sel: np.zeros(b.shape, np.int64) for sel, b in base.items()}
            number = np.arange(1, total + 1, dtype=np.int64)
            for k in range(int(total).bit_length()):
                on = (number >> k) & 1
                params = dict(layer.params)
                for bi in bis:
                    b = sitemap.blocks[bi]
                    sel = on[b.start - first:b.start - first + b.bits].reshape(b.size, b.width)
                    u = np.asarray(layer.params[b.param], np.int64).reshape(-1) & ((1 << b.width) - 1)
                    u = u ^ (sel << np.arange(b.width)).sum(axis=1)
                    if b.signed:
                        u = np.where(u >= 1 << (b.width - 1), u - (1 << b.width), u)
                    params[b.param] = u.reshape(layer.params[b.param].shape)
                try:
                    probe = images(replace(layer, params=params))
                except Exception:  # noqa: BLE001  the generator refuses a probe: no map for this layer
                    probe = None
                if probe is None:
                    break
                for sel in code:
                    code[sel] |= (probe[sel] ^ base[sel]).astype(np.int64) << k
            else:
                rows = [np.stack([np.full(len(a), sel), a, bit, c[a, bit] - 1], axis=1)
                        for sel, c in code.items() for a, bit in [np.nonzero(c)]]
                rows = np.concatenate(rows) if rows else np.zeros((0, 4), np.int64)
                rows = rows[np.argsort(rows[:, 3], kind="stable")]
                for bi in bis:
                    b = sitemap.blocks[bi]
                    lo, hi = b.start - first, b.start - first + b.bits
                    mine = rows[(rows[:, 3] >= lo) & (rows[:, 3] < hi)]
                    mine[:, 3] -= lo
                    if len(np.unique(mine[:, 3])) == b.bits and self._check(layer, b, mine, base, images, rng):
                        self.where[bi] = mine
                    else:
                        self.failed.append(f"{b.layer_name}.{b.param}")
                if len(rows) and rows[-1, 3] >= total:
                    self.failed.append(f"{layer.name}: image bits beyond its sites")
                    for bi in bis:
                        self.where.pop(bi, None)
                continue
            self.failed += [f"{sitemap.blocks[bi].layer_name}.{sitemap.blocks[bi].param}" for bi in bis]
        self._ptr = {bi: np.searchsorted(m[:, 3], np.arange(sitemap.blocks[bi].bits + 1)) for bi, m in self.where.items()}

    @staticmethod
    def _check(layer, b, mine, base, images, rng) -> bool:
        """One random element per bit position flipped alone changes exactly the mapped image bits."""
        from dataclasses import replace

        for bit in range(b.width):
            idx = int(rng.integers(b.size))
            arr = np.asarray(layer.params[b.param], np.int64).copy()
            arr.reshape(-1)[idx] = flip_array(arr.reshape(-1)[idx], bit, b.width, b.signed)
            got = images(replace(layer, params={**layer.params, b.param: arr}))
            pos = mine[mine[:, 3] == idx * b.width + bit]
            for sel in base:
                diff = np.argwhere(got[sel] != base[sel])
                want = pos[pos[:, 0] == sel][:, 1:3]
                if len(diff) != len(want) or not np.array_equal(diff[np.lexsort(diff.T[::-1])],
                                                               want[np.lexsort(want.T[::-1])]):
                    return False
        return True

    def writes(self, h, sites) -> tuple[list, list] | None:
        """(writes that flip every bit of the fault, writes that restore the words), or None when a
        site's parameter has no map. Words are read from the harness's tracked memory state."""
        d = self.sm.decode(list(sites))
        flips: dict[tuple, int] = {}
        for bi, off in zip(d["block"].tolist(), (np.asarray(sites, np.int64) - self.sm._starts[d["block"]]).tolist()):
            if bi not in self.where:
                return None
            ptr = self._ptr[bi]
            for sel, addr, bit, _ in self.where[bi][ptr[off]:ptr[off + 1]].tolist():
                flips[(sel, addr)] = flips.get((sel, addr), 0) ^ (1 << bit)
        old = {k: h.word(*k) for k in flips}
        return [(s, a, old[(s, a)] ^ m) for (s, a), m in flips.items()], [(s, a, old[(s, a)]) for (s, a) in flips]


class _Words:
    """Memory words (select -> words) read like a harness's: the fault-free design's, from which every
    fault's flips and restores are computed."""

    def __init__(self, words: dict):
        self.words = words

    def word(self, sel: int, addr: int) -> int:
        return self.words[int(sel)][int(addr)]


class _PoolRef:
    """The emulator's output integers of faulty designs on a fixed pool of samples, from the faulted
    layer on (the fault-free inputs of every layer kept): the reference each RTL run is checked against."""

    def __init__(self, spec, x, key=None):
        from ..emulator import KERNELS

        self.spec, self.kernels = spec, KERNELS
        self.lock = Emulator(spec, key=key).key or {}
        self.inputs, q = [], np.asarray(x, np.int64)
        for layer in spec.layers:
            self.inputs.append(q)
            q = self._layer(layer, q)
        if not np.array_equal(q, Emulator(spec, key=key).run_int(x)):
            raise AssertionError("fault cross-check: cached forward pass differs from the emulator's")
        self.clean = q.reshape(len(x), -1)

    def _layer(self, layer, q):
        from ..techniques.lock.kernel import lock_unit

        q = self.kernels[layer.kind](q, layer)
        return lock_unit(q, *self.lock[layer.name]) if layer.name in self.lock else q

    def outputs(self, faulty, first: int) -> np.ndarray:
        q = self.inputs[first]
        for layer in faulty.layers[first:]:
            q = self._layer(layer, q)
        return q.reshape(len(self.clean), -1)


def crosscheck(run_dir, spec, x_int, faults: int = 2000, samples: int = 2, seed: int = 0, pool: int = 32,
               log=print, key=None, harnesses: int = 1) -> dict:
    """Run stratified faults on RTL and emulator; rows in RUN/faults/rtl/, returns the report's `rtl`
    section. A mismatch is reported, never hidden.

    Per fault the emulator runs the faulty design on a pool of the first `pool` test inputs; the RTL
    streams `samples` of them: the ones whose output integers the fault changes first (so the check
    sees the fault where it shows), then unchanged ones. Faults are pipelined: the harness simulates
    one fault while the emulator computes the next.

    harnesses > 1: that many harness processes of the same build, each driven by a thread on an
    interleaved share of the faults (fault k to process k mod harnesses, so each keeps the stratified
    order and a WINGs generator parameter's faults still follow one another: one generation each).
    The simulation is the floor of a regenerating design (WINGs: ~418k cycles a generator-parameter
    fault), and the processes share nothing but the pipe reads, so 2 processes on 2 free cores
    simulate two faults at once. Rows are the same whatever the count."""
    import threading

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
    xp = np.asarray(x_int)[:max(pool, samples)]
    samples = min(samples, len(xp))
    harnesses = max(1, min(int(harnesses), len(fl)))
    store = RowStore(run_dir / "faults" / "rtl", {"campaign": "rtl", "faults": len(fl), "samples": samples,
                                                   "pool": len(xp), "seed": seed}, fresh=True)
    equal = np.zeros(len(fl), bool)
    visible = np.zeros(len(fl), bool)  # the fault changed some output integer of the streamed samples
    direct = np.zeros(len(fl), bool)   # written through the stored-bit map (else set_spec)
    ref = _PoolRef(spec, xp, key)
    cols = LayerCache(spec, xp, key, sm)  # read-only once built: shared by the threads
    log(f"faults: RTL cross-check, {len(fl)} stratified faults x {samples} samples (chosen from {len(xp)})"
        + (f", {harnesses} harness processes" if harnesses > 1 else ""))
    t0 = time.perf_counter()
    cycles = np.zeros(len(fl), np.int64)  # simulated cycles of each fault's run (writes excluded)
    sim_wall = np.zeros(len(fl))          # the harness loop's wall and CPU seconds of each fault's run
    sim_cpu = np.zeros(len(fl))
    done = [0]
    hs = [Harness(rtl_dir)]  # builds (or reuses) the model once; the others reuse the cached build
    try:
        hs += [Harness(rtl_dir) for _ in range(harnesses - 1)]
        for h in hs:
            if ref.lock:  # a locked design: its key registers (load-port selects of their own, never faulted;
                # written before set_spec, which tracks the memories only)
                from ..techniques.lock.password import check_key
                from ..rtl.lock import key_writes

                h.write(key_writes(h.meta, check_key(spec, key)))
            h.set_spec(spec)  # memories as generated (no write when the run's images are this spec's)
        t_map = time.perf_counter()
        bits = StoredBits(spec, hs[0].meta, sm, seed)
        map_s = time.perf_counter() - t_map
        if bits.failed:
            log(f"faults: no stored-bit map for {', '.join(bits.failed)} (full image writes for those)")
        clean = _Words(hs[0].snapshot())
        errors: list[BaseException] = []

        def drive(h, todo):
            """One harness process through its faults (pipelined: it simulates one while this thread
            prepares the next); ends with the design restored."""
            pending, undo = None, []  # undo: the previous fault's restoring writes, sent with the next flip

            def finish(p):
                k, y_ref, ticket = p
                r = h.collect(ticket)
                sim_wall[k], sim_cpu[k], cycles[k] = r.sim_seconds, r.sim_cpu_seconds, r.cycles
                equal[k] = np.array_equal(r.outputs.reshape(len(y_ref), -1), y_ref)
                done[0] += 1
                advance("faults: RTL cross-check faults", done[0], len(fl))

            for k in todo:
                if errors:  # another process failed: stop here (its error is raised by the caller)
                    break
                f = fl[k]
                faulty = apply(spec, f, sm)
                # a single flip: from its layer on, a dense/conv flip recomputing its one output column
                y_pool = cols.flipped(faulty, f[0]) if len(f) == 1 else ref.outputs(faulty, min(sm.layers_of(f)))
                changed = (y_pool != ref.clean).any(axis=1)
                pick = np.r_[np.nonzero(changed)[0], np.nonzero(~changed)[0]][:samples]
                visible[k] = bool(changed[pick].any())
                w = bits.writes(clean, f)
                if w is None:  # no map: the whole design's images, written where they differ (synchronous)
                    if pending:
                        finish(pending)
                        pending = None
                    h.set_spec(faulty)  # (its writes include the previous fault's undo: the state is tracked)
                    undo = []
                    finish((k, y_pool[pick], h.submit(xp[pick])))
                    h.set_spec(spec)
                    continue
                direct[k] = True
                # one load-port command restores the previous fault's words and flips this one's (a WINGs
                # generator parameter write restarts the weight generation: once per fault, not twice)
                words = {(sel, a): v for sel, a, v in undo} | {(sel, a): v for sel, a, v in w[0]}
                ticket = h.submit(xp[pick], before=[(sel, a, v) for (sel, a), v in words.items()])
                undo = w[1]
                if pending:
                    finish(pending)
                pending = (k, y_pool[pick], ticket)
            if pending:
                finish(pending)
            h.write(undo)

        def guarded(h, todo):
            try:
                drive(h, todo)
            except BaseException as e:  # noqa: BLE001 -- re-raised in the calling thread below
                errors.append(e)

        t_run, c_run = time.perf_counter(), time.process_time()
        shares = [list(range(i, len(fl), harnesses)) for i in range(harnesses)]
        if harnesses == 1:
            drive(hs[0], shares[0])
        else:
            threads = [threading.Thread(target=guarded, args=(h, share)) for h, share in zip(hs, shares)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
        run_s, py_cpu = time.perf_counter() - t_run, time.process_time() - c_run
        clean_ok = True
        for h in hs:
            h.set_spec(spec)
            clean_ok &= np.array_equal(h.run_checked(xp).outputs.reshape(len(xp), -1), ref.clean)
        gen = int(hs[0].meta.get("generation_cycles", 0))
    finally:
        for h in hs:
            h.close()
    d = sm.decode([f[0] for f in fl])
    names = [f"{sm.blocks[b].layer_name}.{sm.blocks[b].param}" for b in d["block"]]
    covered = {}  # layer.param -> faults, bit positions, elements, mean simulated cycles a fault
    for name in dict.fromkeys(names):
        on = np.array([n == name for n in names])
        covered[name] = {"faults": int(on.sum()), "bits": sorted({int(b) for b in d["bit"][on]}),
                         "elements": len(np.unique(d["index"][on])),
                         "cycles_per_fault": int(cycles[on].mean()),
                         "sim_cpu_s_per_fault": round(float(sim_cpu[on].mean()), 5),
                         "equal": int(equal[on].sum()), "visible": int(visible[on].sum())}
    # where the simulated time goes: faults whose run re-ran a weight generation (a WINGs generator
    # parameter write restarts it: the stale components' curve or basis, then the weights they change; the full
    # generation after reset is rtl_meta.json generation_cycles) and the others
    regen = np.array([spec.layers[sm.blocks[b].layer].kind == "wings_dense" and sm.blocks[b].param != "bias"
                      for b in d["block"]], bool)
    by_cost = {}
    for name, on in (("regenerating", regen), ("direct", ~regen)):
        if on.any():
            by_cost[name] = {"faults": int(on.sum()), "cycles_per_fault": int(cycles[on].mean()),
                             "sim_cpu_s": round(float(sim_cpu[on].sum()), 2),
                             "faults_per_sim_cpu_s": float(on.sum() / max(sim_cpu[on].sum(), 1e-9))}
    store.write(0, {"fault": [fault_key(f) for f in fl], "site": np.array([f[0] for f in fl], np.int64),
                    "layer": [sm.blocks[b].layer_name for b in d["block"]], "param": [sm.blocks[b].param for b in d["block"]],
                    "index": d["index"], "bit": d["bit"], "equal": equal, "visible": visible, "direct": direct,
                    "cycles": cycles})
    sim_cpu_s = float(sim_cpu.sum())
    return {"faults": len(fl), "equal_fraction": float(equal.mean()), "faults_changing_outputs": int(visible.sum()),
            "faults_per_s": len(fl) / run_s, "samples_per_fault": samples, "pool": len(xp),
            "harness_processes": harnesses,
            "restored_design_equal": bool(clean_ok), "direct_fraction": float(direct.mean()),
            "unmapped_params": bits.failed, "map_s": round(map_s, 2), "run_s": round(run_s, 2),
            "sim_s": round(float(sim_wall.sum()), 2), "setup_s": round(t_run - t0, 2),
            # CPU seconds of Python and of the harness processes over the faults (they overlap: a harness
            # simulates one fault while Python prepares the next): the rate an unshared machine with a
            # core for each would approach; per harness process the simulation's share
            "python_cpu_s": round(py_cpu, 2), "sim_cpu_s": round(sim_cpu_s, 2),
            "faults_per_cpu_s_bound": len(fl) / max(py_cpu, sim_cpu_s / harnesses, 1e-9),
            "faults_per_sim_cpu_s": len(fl) / max(sim_cpu_s, 1e-9),
            # all the CPU the campaign took (Python + every harness process): faults per CPU-second
            "faults_per_cpu_s": len(fl) / max(py_cpu + sim_cpu_s, 1e-9),
            "generation_cycles": gen, "by_cost": by_cost,
            "cycles_simulated": int(cycles.sum()), "covered": covered,
            "cells": len({(sm.blocks[b].layer_name, sm.blocks[b].param, int(bit)) for b, bit in zip(d["block"], d["bit"])})}
