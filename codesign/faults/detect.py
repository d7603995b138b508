"""Software fault detection: canary inputs with exact integer signatures, and per-group checksums
of the stored parameters.

Canaries: a few inputs (one all-255 image and the first training images) whose output integers on
the fault-free design are the signature. Re-running them (e.g. between batches) flags a fault when
any output integer differs. The views are integer-exact, so a fault-free design never differs from
its signature: false alarms are counted, not assumed, over repeated fault-free checks.

Checksums (RADAR-style, Li et al. 2021, with a CRC instead of RADAR's 2-bit sum): each stored
parameter tensor is split into `groups` interleaved groups (element e in group e mod groups) and
each group's stored codes (two's complement at the type width, as the memories hold them) get a
CRC-32. Any single-bit flip changes its group's CRC; a fault is flagged when any group's differs.

A locked design runs its canaries under the campaign's key (`key`, as Emulator(spec, key=...)).
"""
from __future__ import annotations

import zlib

import numpy as np

from ..emulator import Emulator
from .model import SiteMap, apply

CANARIES = 16
GROUPS = 64


def canary_inputs(x_train: np.ndarray, count: int = CANARIES) -> np.ndarray:
    return np.concatenate([np.full((1,) + x_train.shape[1:], 255, np.uint8), x_train[:count - 1]])


def _group_crcs(arr: np.ndarray, width: int, groups: int) -> list[int]:
    codes = (np.asarray(arr, np.int64).reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
    return [zlib.crc32(codes[g::groups].tobytes()) for g in range(groups)]


class Detector:
    """Canary signature and parameter checksums of the fault-free `spec`."""

    def __init__(self, spec, canaries_uint8: np.ndarray, groups: int = GROUPS, key=None):
        self.spec = spec
        self.key = key
        self.sites = SiteMap(spec)
        self.groups = groups
        self.canaries = Emulator(spec).quantize_input(canaries_uint8)
        self.signature = Emulator(spec, key=key).run_int(self.canaries)
        self.crcs = {(b.layer, b.param): _group_crcs(spec.layers[b.layer].params[b.param], b.width, groups)
                     for b in self.sites.blocks}

    @property
    def checksum_bits(self) -> int:
        return 32 * sum(len(v) for v in self.crcs.values())

    def canary_alarm(self, design) -> bool:
        return not np.array_equal(Emulator(design, key=self.key).run_int(self.canaries), self.signature)

    def checksum_alarm(self, design) -> bool:
        return any(_group_crcs(design.layers[b.layer].params[b.param], b.width, self.groups) != self.crcs[(b.layer, b.param)]
                   for b in self.sites.blocks)

    def check(self, faults: list) -> dict:
        """Canary and checksum alarms for each fault (tuple of sites) applied to the design."""
        can, crc = np.zeros(len(faults), bool), np.zeros(len(faults), bool)
        for k, f in enumerate(faults):
            design = apply(self.spec, f, self.sites)
            can[k], crc[k] = self.canary_alarm(design), self.checksum_alarm(design)
        return {"canary": can, "checksum": crc}


def false_alarms(det: Detector, x_int: np.ndarray, inferences: int, batch: int = 500) -> tuple[int, int]:
    """Fault-free operation: `inferences` test inferences in batches, the canaries re-run and the
    checksums recomputed after every batch; returns (alarms, inferences run)."""
    emu = Emulator(det.spec, key=det.key)
    alarms = done = 0
    while done < inferences:
        n = min(batch, inferences - done)
        emu.run_int(x_int[np.arange(done, done + n) % len(x_int)])
        done += n
        alarms += int(det.canary_alarm(det.spec) or det.checksum_alarm(det.spec))
    return alarms, done


def detection_section(ctx_spec, data, x_int, random_rows: dict | None, bfa_rows: dict | None,
                      clean_accuracy: float, harmful: float, inferences: int = 10_000, max_faults: int = 2000,
                      key=None, rtl_run=None, log=print) -> dict:
    """Detection rates over a campaign's faults (a seeded sample of max_faults rows plus up to
    max_faults harmful ones, and the design after every BFA flip) and false alarms over `inferences`
    fault-free inferences. rtl_run: a run folder with generated RTL, where the canaries of the same
    faults and the fault-free inferences also run (codesign/faults/detect_rtl.py): the `rtl` entry."""
    det = Detector(ctx_spec, canary_inputs(data.x_train), key=key)
    out = {"canaries": len(det.canaries), "checksum_groups": det.groups, "checksum_bits": det.checksum_bits}
    on_rtl = []  # (faults, emulator canary alarms, harmful mask or None, name) for the RTL check
    if random_rows:
        n = len(random_rows["fault"])
        harm = np.nonzero(clean_accuracy - random_rows["accuracy"] >= harmful)[0][:max_faults]
        pick = np.union1d(np.random.default_rng(0).choice(n, min(max_faults, n), replace=False), harm)
        faults = [tuple(int(s) for s in k.split("+")) for k in random_rows["fault"][pick]]
        res = det.check(faults)
        flag = res["canary"] | res["checksum"]
        drop = clean_accuracy - random_rows["accuracy"][pick]
        bad = drop >= harmful
        harmless = random_rows["changed"][pick] == 0
        out.update(faults=len(faults), rate=float(flag.mean()), canary_rate=float(res["canary"].mean()),
                   checksum_rate=float(res["checksum"].mean()), harmful_faults=int(bad.sum()),
                   harmful_rate=float(flag[bad].mean()) if bad.any() else None,
                   canary_harmful_rate=float(res["canary"][bad].mean()) if bad.any() else None,
                   harmless_alarm_fraction=float(flag[harmless].mean()) if harmless.any() else None,
                   canary_harmless_alarm_fraction=float(res["canary"][harmless].mean()) if harmless.any() else None)
        on_rtl.append((faults, res["canary"], (bad, harmless), "random"))
    if bfa_rows:
        sel = bfa_rows["method"] == "bfa"
        flips = []
        for s in sorted(set(bfa_rows["seed"][sel].tolist())):
            m = sel & (bfa_rows["seed"] == s)
            order = np.argsort(bfa_rows["step"][m])
            sites = bfa_rows["site"][m][order]
            flips += [tuple(int(v) for v in sites[:k + 1]) for k in range(len(sites))]  # the design after each flip
        res = det.check(flips)
        out.update(bfa_flips=len(flips), bfa_rate=float((res["canary"] | res["checksum"]).mean()),
                   bfa_canary_rate=float(res["canary"].mean()), bfa_checksum_rate=float(res["checksum"].mean()))
        on_rtl.append((flips, res["canary"], None, "bfa"))
    alarms, n = false_alarms(det, x_int, inferences)
    out.update(false_alarms=alarms, clean_inferences=n)
    if rtl_run is not None:
        from .detect_rtl import rtl_canaries

        log("faults: detection on the RTL (canaries of every checked fault, fault-free inferences)")
        faults = [f for group in on_rtl for f in group[0]]
        emu = np.concatenate([g[1] for g in on_rtl]) if on_rtl else np.zeros(0, bool)
        (got, ck), rtl = rtl_canaries(rtl_run, det, faults, emu, x_int, inferences, log=log)
        at = 0
        for group, _, masks, name in on_rtl:
            a = got[at:at + len(group)]
            c = ck[at:at + len(group)] if ck is not None else None
            at += len(group)
            if name == "random":
                bad, harmless = masks
                rtl.update(_rates(a, bad, harmless))
                if c is not None:  # the weight-memory checker alone, and with the canaries
                    rtl["checker"].update(_rates(c, bad, harmless))
                    rtl["checker"]["with_canaries"] = _rates(c | a, bad, harmless)
            else:
                rtl.update(bfa_flips=len(group), bfa_rate=float(a.mean()))
                if c is not None:
                    rtl["checker"].update(bfa_flips=len(group), bfa_rate=float(c.mean()))
                    rtl["checker"].setdefault("with_canaries", {})["bfa_rate"] = float((c | a).mean())
        out["rtl"] = rtl

    return out


def _rates(alarm: np.ndarray, bad: np.ndarray, harmless: np.ndarray) -> dict:
    """Detection rate over the checked random faults, over the harmful ones and the harmless ones."""
    return {"rate": float(alarm.mean()), "harmful_faults": int(bad.sum()),
            "harmful_rate": float(alarm[bad].mean()) if bad.any() else None,
            "harmless_alarm_fraction": float(alarm[harmless].mean()) if harmless.any() else None}
