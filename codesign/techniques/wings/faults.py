"""Single-bit flips in a layer's stored parameters, their accuracy cost, and canary detection.

A fault is one flipped bit of one stored integer (two's complement at its type's width), so a
faulty design is the same spec with one changed integer (DESIGN.md §1); every bit of the layer's
stored parameters is equally likely. For a ``wings_dense`` layer the stored parameters are the
generator's (alpha, beta, sv, klut, z, plut, prow, pcol, bias); for a ``dense`` layer its weights and
bias. A flip in the generator is amplified: one alpha or z changes a whole region of the generated
weight matrix, one table entry changes every weight.

Canary detection: a few inputs with a known output signature (their integer output vectors, computed
once on the fault-free design). A fault is flagged when any canary output differs. The emulator is
integer-exact and deterministic, so the fault-free design never differs from its signature (no false
alarm from noise); "benign alarms" counts flagged faults that changed no test prediction.
"""
from __future__ import annotations

import numpy as np

from ...emulator import Emulator
from ...faults.model import flip_value  # noqa: F401  (re-exported: the stored-integer flip of codesign/faults)
from ...spec import DesignSpec


def bit_sites(spec: DesignSpec, layer_name: str, params=None) -> list[tuple[str, int, int]]:
    """(param, flat index, bit) of every stored bit of the layer (optionally only `params`)."""
    layer = spec.layer(layer_name)
    sites = []
    for p, arr in layer.params.items():
        if params is not None and p not in params:
            continue
        w = layer.types[p].width
        sites.extend((p, i, b) for i in range(arr.size) for b in range(w))
    return sites


class FlipCampaign:
    """Runs random single-bit flips of one layer on the emulator, in place (each flip is undone)."""

    def __init__(self, spec: DesignSpec, layer_name: str, x_uint8: np.ndarray, y: np.ndarray,
                 canaries_uint8: np.ndarray | None = None):
        self.spec = spec.copy()
        self.layer = self.spec.layer(layer_name)
        self.emu = Emulator(self.spec)
        self.x = self.emu.quantize_input(x_uint8)
        self.y = np.asarray(y)
        self.clean_pred = np.argmax(self.emu.run_int(self.x), -1)
        self.clean_acc = float(np.mean(self.clean_pred == self.y))
        self.canaries = None if canaries_uint8 is None else self.emu.quantize_input(canaries_uint8)
        self.signature = None if self.canaries is None else self.emu.run_int(self.canaries)

    def run_one(self, site) -> dict:
        p, i, b = site
        arr = self.layer.params[p]
        flat = arr.reshape(-1)
        old = int(flat[i])
        flat[i] = flip_value(old, b, self.layer.types[p])
        try:
            pred = np.argmax(self.emu.run_int(self.x), -1)
            out = {"param": p, "index": i, "bit": b, "accuracy": float(np.mean(pred == self.y)),
                   "changed": int(np.sum(pred != self.clean_pred))}
            if self.canaries is not None:
                diff = self.emu.run_int(self.canaries) != self.signature
                out["canary_diff"] = diff.reshape(len(diff), -1).any(axis=1)  # per canary
                out["flagged"] = bool(out["canary_diff"].any())
        finally:
            flat[i] = old
        out["drop"] = self.clean_acc - out["accuracy"]
        return out

    def run(self, n: int, seed: int = 0, params=None) -> list[dict]:
        sites = bit_sites(self.spec, self.layer.name, params)
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(sites), size=min(n, len(sites)), replace=False)
        return [self.run_one(sites[k]) for k in pick]


def summarize(results: list[dict], harmful: float = 0.005, n_canaries: int | None = None) -> dict:
    """Mean/percentiles of the accuracy drop; detection of harmful flips (drop >= `harmful`) by the
    first `n_canaries` canaries (all when None)."""
    drops = np.array([r["drop"] for r in results])
    out = {"flips": len(results), "mean_drop": float(drops.mean()), "median_drop": float(np.median(drops)),
           "p90_drop": float(np.percentile(drops, 90)), "max_drop": float(drops.max()),
           "frac_any_prediction_changed": float(np.mean([r["changed"] > 0 for r in results])),
           "frac_drop_ge_0.5pt": float(np.mean(drops >= 0.005)), "frac_drop_ge_5pt": float(np.mean(drops >= 0.05))}
    if results and "flagged" in results[0]:
        flagged = np.array([bool(r["canary_diff"][:n_canaries].any()) for r in results])
        bad = drops >= harmful
        benign = np.array([r["changed"] == 0 for r in results])
        out["detected_all"] = float(flagged.mean())
        out["detected_harmful"] = float(flagged[bad].mean()) if bad.any() else None
        out["harmful_flips"] = int(bad.sum())
        out["benign_alarms"] = float(flagged[benign].mean()) if benign.any() else None
    by_param = {}
    for r in results:
        by_param.setdefault(r["param"], []).append(r["drop"])
    out["mean_drop_by_param"] = {p: float(np.mean(v)) for p, v in by_param.items()}
    return out
