"""Canary detection run on the RTL: the faulty design's memories (written through the load port of
one Verilator build) compute the canary inputs in the real datapath, and their output integers are
compared with the fault-free signature.

What the hardware checks and what it does not: the canaries go through the generated design itself
(the stored parameters as the memories hold them, every pipeline stage, the lock units under the
campaign's key); the comparison with the 16 x outputs signature is done by the host that streams
them (on PYNQ, the ARM side), so the fabric gains nothing: 0 LUT, 0 FF. The cost is time: the
canaries are inferences, run between batches. The parameter checksums (per-group CRCs of
codesign/faults/detect.py) are computed in software from the parameters the host loaded; no RTL
block reads the weight memories back to recompute them, so a flip that happens in the memories
after loading is caught only through the canaries.

Every RTL alarm is checked against the emulator's canary alarm on the same fault (a difference is a
bug, reported as `equal_to_emulator` < 1, never hidden), and fault-free operation is measured on the
RTL: `inferences` test inferences in batches, every output integer compared with the emulator's and
the canaries re-run after every batch.

A run generated with rtl.checker: true also has the weight-memory checker (rtl/wmem_check.sv,
codesign/rtl/checker.py): per fault, after its canaries, the harness resets the design (clearing the
sticky alarm, restarting the scans; the memories keep the fault) and runs one scan of the longest
memory, then reads `ck_alarm`. Each alarm is compared with the checker's reference
(checker.Reference: the faulty spec's memory CRCs against the golden ones) and with the software
group-CRC detector's verdict (Detector.checksum_alarm), fault for fault. During the fault-free
inferences the checker scans beside the MAC (never reset), and its alarm is read after every batch.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..emulator import Emulator
from .model import apply


def rtl_canaries(run_dir, det, faults: list[tuple], emulator_alarms: np.ndarray, x_int: np.ndarray,
                 inferences: int = 10_000, batch: int = 500, log=print) -> tuple[np.ndarray, dict]:
    """(RTL canary alarm per fault, summary): faults are tuples of sites of det.spec (a BFA design
    after k flips is a k-site fault); emulator_alarms the software canary alarms of the same faults."""
    from ..rtl.checker import Reference
    from ..rtl.harness import Harness, _engines
    from .rtl import StoredBits, _Words

    spec = det.spec
    rtl_dir = Path(run_dir) / "rtl"
    alarms = np.zeros(len(faults), bool)
    ck_rtl = np.zeros(len(faults), bool)   # the RTL checker's alarm per fault (rtl.checker)
    t0 = time.perf_counter()
    with Harness(rtl_dir) as h:
        ck_meta = h.meta.get("checker")
        if ck_meta:
            plans = [p for _, p, _ in _engines(spec, h.meta)]
        lock = Emulator(spec, key=det.key).key
        if lock:  # key registers first (set_spec tracks the memories only), as the RTL cross-check
            from ..techniques.lock.password import check_key
            from ..rtl.lock import key_writes

            h.write(key_writes(h.meta, check_key(spec, det.key)))
        h.set_spec(spec)
        clean_sig = h.run_checked(det.canaries).outputs
        if not np.array_equal(clean_sig.reshape(det.signature.shape), det.signature):
            raise AssertionError("RTL canary signature of the fault-free design differs from the emulator's")
        if ck_meta and h.check():
            raise AssertionError("the RTL weight-memory checker alarms on the fault-free design")
        bits = StoredBits(spec, h.meta, det.sites)
        clean = _Words(h.snapshot())
        sig = det.signature.reshape(len(det.canaries), -1)
        pending, undo = None, []

        def finish(p):
            k, ticket, cticket = p
            alarms[k] = _alarm(h.collect(ticket), sig)
            if cticket is not None:
                ck_rtl[k] = h.collect_check(cticket)

        for k, f in enumerate(faults):
            w = bits.writes(clean, f)
            if w is None:  # a parameter without a stored-bit map: whole images where they differ
                if pending:
                    finish(pending)
                    pending = None
                h.write(undo)
                undo = []
                h.set_spec(apply(spec, f, det.sites))
                alarms[k] = _alarm(h.run_checked(det.canaries), sig)
                if ck_meta:
                    ck_rtl[k] = h.check()
                h.set_spec(spec)
                continue
            words = {(s, a): v for s, a, v in undo} | {(s, a): v for s, a, v in w[0]}
            ticket = h.submit(det.canaries, before=[(s, a, v) for (s, a), v in words.items()])
            cticket = h.submit_check() if ck_meta else None
            undo = w[1]
            if pending:
                finish(pending)
            pending = (k, ticket, cticket)
        if pending:
            finish(pending)
        h.write(undo)
        fault_s = time.perf_counter() - t0
        ck_model = ck_crc = None
        if ck_meta:  # the references of every RTL checker alarm
            t_ref = time.perf_counter()
            ref_ck = Reference(spec, plans, ck_meta)
            ck_model = np.array([ref_ck.alarm(apply(spec, f, det.sites)) for f in faults], bool)
            ck_crc = np.array([det.checksum_alarm(apply(spec, f, det.sites)) for f in faults], bool)
            ref_s = time.perf_counter() - t_ref
            if h.check():
                raise AssertionError("the RTL weight-memory checker alarms on the restored design")
        # fault-free operation on the RTL: test inferences, canaries after every batch
        ref = Emulator(spec, key=det.key).run_int(x_int).reshape(len(x_int), -1)
        false_alarms = wrong = done = ck_false = clean_cycles = 0
        t1 = time.perf_counter()
        while done < inferences:
            n = min(batch, inferences - done)
            idx = np.arange(done, done + n) % len(x_int)
            r = h.run_checked(x_int[idx])
            y = r.outputs.reshape(n, -1)
            wrong += int((y != ref[idx]).any(axis=1).sum())
            ck_false += int(r.alarm)  # sticky: once up it would count every later batch too
            clean_cycles += r.cycles
            false_alarms += int(_alarm(h.run_checked(det.canaries), sig))
            done += n
        clean_s = time.perf_counter() - t1
    summary = {"faults": len(faults), "equal_to_emulator": float(np.mean(alarms == emulator_alarms)) if len(faults) else None,
               "false_alarms": false_alarms, "clean_inferences": done, "clean_outputs_differing": wrong,
               "checks": (len(faults) + done // batch), "canaries": len(det.canaries),
               "fault_s": round(fault_s, 2), "clean_s": round(clean_s, 2),
               # the canary check runs in the design's own datapath, compared on the host: nothing is added
               "overhead": {"LUT": 0, "FF": 0},
               "in_rtl": "canary inputs through the generated design; signature compared by the host",
               "not_in_rtl": "parameter checksums (no weight-memory read-back checker)"}
    if ck_meta:
        summary["not_in_rtl"] = None
        summary["checker"] = {
            "faults": len(faults), "alarms": int(ck_rtl.sum()),
            "equal_to_model": float(np.mean(ck_rtl == ck_model)) if len(faults) else None,
            "equal_to_software_checksum": float(np.mean(ck_rtl == ck_crc)) if len(faults) else None,
            "software_checksum_disagreements": int((ck_rtl != ck_crc).sum()),
            "false_alarms": ck_false, "clean_inferences": done, "clean_checks": -(-done // batch),
            "scan_cycles": ck_meta["scan_cycles"],
            # whole scans of the longest memory beside the fault-free inferences
            "clean_scans": clean_cycles // ck_meta["scan_cycles"],
            "checksum": ck_meta["checksum"], "memories": len(ck_meta["memories"]),
            "reference_s": round(ref_s, 2),
            "in_rtl": "a CRC-64 of every dense/conv memory, scanned through its second port"}
    return (alarms, ck_rtl if ck_meta else None), summary


def _alarm(run, sig: np.ndarray) -> bool:
    return not np.array_equal(run.outputs.reshape(sig.shape), sig)
