"""What a worker needs to run a campaign's chunks: the run's test split, its spec and the incremental
engine on them (`Context`), and the rows a chunk of faults gives (`fault_rows`).

Shared by the campaign (campaign.py) and the executors (executor.py), which therefore do not import
each other.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .model import SiteMap, fault_key, flip_array


def model_input(x: np.ndarray, spec) -> np.ndarray:
    """uint8 samples reshaped to the design's input shape (e.g. 8 x 8 digits for a 64-input design)."""
    want = tuple(spec.input_shape)
    return x.reshape((len(x),) + want) if x.shape[1:] != want and x[0].size == int(np.prod(want)) else x


def campaign_key(run_dir: Path, spec, key: str | None, device_key=None):
    """(LockKey or None, label or None): the key a campaign scores a locked design under, from `--key`
    as `codesign evaluate` takes it (a sealed password FILE, `none`, `random`; None: the run's own
    lock/password.enc, opened with the device key). A locked design whose password cannot be opened
    stops here, naming --key: scoring it silently without its key would be a wrong answer. The label
    ("run", "none", "random" or the file's path) goes into the campaign's plan and report section."""
    from ..techniques.lock.keys import resolve_key
    from ..techniques.lock.password import (
        LockError,
        check_key,
        locked_layers,
        perm_layers,
    )

    if perm_layers(spec):  # its key permutes inputs (emulator) or first-layer weight rows (RTL): the fault
        # engines and the RTL stored-bit map model neither, and scoring it without its key would be wrong
        raise ConfigError(f"{run_dir} is an input-permutation locked design, which fault campaigns do not support "
                          "yet; run them on a neuron-locked or unlocked build of the model")
    if not locked_layers(spec):
        resolve_key(run_dir, spec, key, device_key)  # a key for an unlocked design: one line, drop --key
        return None, None
    try:
        password = resolve_key(run_dir, spec, key, device_key)
    except LockError as e:
        if key is not None:
            raise
        why = str(e).split(";")[0]  # the reason, without the lock command's own advice
        raise LockError(f"{run_dir} is a locked design and its own password does not open ({why}): give --key "
                        "FILE [--device-key KEY], or --key none to score it without its key") from None
    return (None if password is None else check_key(spec, password)), (key if key in ("none", "random") else
                                                                        str(key) if key else "run")


def load_run(run_dir: Path):
    """(config, spec, quantized test inputs, test labels, raw uint8 test inputs) of a finished run."""
    from ..config import load_config
    from ..data import load_dataset
    from ..emulator import Emulator
    from ..spec import DesignSpec

    run_dir = Path(run_dir)
    if not (run_dir / "report.json").exists() or not (run_dir / "spec" / "spec.json").exists():
        raise ConfigError(f"{run_dir} is not a finished `codesign flow` run folder (no report.json or spec/); "
                          "build one with `codesign flow CONFIG --out RUN_DIR`")
    cfg = load_config(run_dir / "config.yaml")
    spec = DesignSpec.load(run_dir / "spec")
    spec.require_chain("a fault campaign")
    d = load_dataset(cfg["data"], cfg["seed"])
    emu = Emulator(spec)
    d.x_train, d.x_test = model_input(d.x_train, spec), model_input(d.x_test, spec)
    return cfg, spec, emu.quantize_input(d.x_test), d.y_test, d


@dataclass
class Context:
    """What a worker needs for a campaign's chunks: the engine on the run's test split (under
    job["lock"], the LockKey of a locked design, or None)."""
    job: dict
    spec: object
    engine: object
    data: object

    @classmethod
    def open(cls, job: dict) -> Context:
        from .engine import Engine

        _, spec, x, y, d = load_run(Path(job["run_dir"]))
        return cls(job, spec, Engine(spec, x, y, key=job.get("lock")), d)

    def run_chunk(self, chunk: int, payload) -> dict:
        if self.job["campaign"] == "bfa":
            from .bfa import bfa_rows

            return bfa_rows(self, seed=int(payload), max_flips=self.job["max_flips"], target=self.job["target"])
        faults = [(s,) for s in range(*payload)] if self.job["campaign"] == "exhaustive" else \
            [tuple(f) for f in payload]
        return fault_rows(self.engine, faults)


def fault_rows(engine, faults: list) -> dict:
    """Rows of faults (tuples of sites): what was flipped and what it cost on the test split."""
    res = engine.run(faults)
    sm: SiteMap = engine.sites
    single = np.array([len(f) == 1 for f in faults])
    site = np.array([f[0] if len(f) == 1 else -1 for f in faults], np.int64)
    d = sm.decode(np.where(single, site, 0))
    names = np.array([b.layer_name for b in sm.blocks], dtype=object)[d["block"]]
    params = np.array([b.param for b in sm.blocks], dtype=object)[d["block"]]
    old = np.zeros(len(faults), np.int64)
    new = np.zeros(len(faults), np.int64)
    for bi in np.unique(d["block"]):
        b = sm.blocks[int(bi)]
        sel = np.nonzero(d["block"] == bi)[0]
        t = engine.spec.layers[b.layer].types[b.param]
        old[sel] = engine.spec.layers[b.layer].params[b.param].reshape(-1)[d["index"][sel]]
        new[sel] = flip_array(old[sel], d["bit"][sel], t.width, t.signed)
    blank = ~single
    return {
        "fault": [fault_key(f) for f in faults],
        "flips": np.array([len(f) for f in faults], np.int64),
        "site": site,
        "layer": np.where(blank, "", names).astype(str), "param": np.where(blank, "", params).astype(str),
        "index": np.where(blank, -1, d["index"]), "bit": np.where(blank, -1, d["bit"]),
        "old": np.where(blank, 0, old), "new": np.where(blank, 0, new),
        "correct": res["correct"], "changed": res["changed"],
        "accuracy": res["correct"] / engine.n,
    }
