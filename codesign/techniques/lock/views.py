"""Every view of a built locked run against the emulator under the right key, no key and one wrong key,
sample by sample as integers: the check behind bench/lock_views.py, independent of the flow's own
(codesign/techniques/lock/flow.py check_view), from the run folder's public artefacts and its sealed password."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .password import LockKey, check_key

VIEWS = ("csim", "rtl")


def run_keys(run_dir, spec, device_key=None, wrong_seed: int = 1) -> dict:
    """name -> LockKey: the run's sealed password ("key"), none ("nokey"), a random key of the run's
    scheme ("wrongkey", seeded): what a thief who knows the config but not the password would try."""
    from .keys import open_run_password, scheme_random_password

    return {"key": check_key(spec, open_run_password(run_dir, device_key=device_key)),
            "nokey": LockKey.empty(spec),
            "wrongkey": check_key(spec, scheme_random_password(run_dir, spec, np.random.default_rng(wrong_seed)))}


def view_outputs(run_dir: Path, spec, x_int: np.ndarray, keys: dict, views=VIEWS, log=print) -> dict:
    """{view: {key name: output integers (samples, outputs)}} for the emulator and `views`."""
    from ...emulator import Emulator

    flat = lambda a: np.asarray(a).reshape(len(a), -1)  # noqa: E731
    out = {"emulator": {k: flat(Emulator(spec, key=key).run_int(x_int)) for k, key in keys.items()}}
    if "csim" in views:
        from ...config import load_config
        from ...hls_view import HLSView

        cfg = load_config(Path(run_dir) / "config.yaml")
        with tempfile.TemporaryDirectory(prefix="codesign_lockviews_") as tmp:
            log("csim: compiling the hls4ml project")
            hv = HLSView(spec, Path(tmp) / "hls", cfg["hls"], cfg["board"]).compile()
            out["csim"] = {k: flat(hv.csim_int(x_int, key=key)) for k, key in keys.items()}
    if "rtl" in views:
        from ...rtl_step import rtl_outputs

        out["rtl"] = {}
        for k, key in keys.items():
            log(f"rtl: {len(x_int)} samples under {k}")
            out["rtl"][k] = flat(rtl_outputs(Path(run_dir), spec, x_int, key=key))
    return out


def compare(outputs: dict, y: np.ndarray) -> dict:
    """Per view and key: samples whose every output integer equals the emulator's, and accuracies."""
    emu = outputs["emulator"]
    res = {"accuracy": {v: {k: float(np.mean(np.argmax(o, -1) == y)) for k, o in per.items()}
                        for v, per in outputs.items()}, "equal_samples": {}}
    for v, per in outputs.items():
        if v == "emulator":
            continue
        res["equal_samples"][v] = {}
        for k, o in per.items():
            if o.shape != emu[k].shape:
                raise ValueError(f"{v} under {k}: outputs shaped {o.shape}, the emulator's {emu[k].shape}")
            res["equal_samples"][v][k] = int(np.all(o == emu[k], axis=1).sum())
    return res
