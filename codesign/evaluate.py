"""`codesign evaluate`: accuracy of one view of a built run on an arbitrary labelled npz."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .data import read_npz, to_model_input
from .errors import DataError
from .spec import DesignSpec


def _run_view(run_dir: Path, spec: DesignSpec, x: np.ndarray, view: str, key=None) -> np.ndarray:
    """Predicted classes of one view for real-valued (or uint8 pixel) inputs shaped like the model input;
    every view but Keras gets them quantized as the spec's input type says (`Emulator.quantize_input`).
    `key`: a locked design's password (None: no key)."""
    from .emulator import Emulator

    emu = Emulator(spec, key=key)
    x_int = emu.quantize_input(x)
    x = x.reshape((len(x),) + tuple(spec.input_shape))
    if view == "emulator":
        return np.argmax(emu.run_int(x_int), -1)
    if view == "keras":
        from .models import load_model

        model = load_model(run_dir / "model")
        if emu.key:  # a locked design: the public model with the spec's lock units carrying the key
            from .techniques.lock.password import check_key
            from .techniques.lock.train import keyed_model

            model = keyed_model(model, spec, check_key(spec, key))
        xin = to_model_input(x) if x.dtype == np.uint8 else x.astype(np.float32)
        xin = xin.reshape((len(x),) + tuple(model.input_shape[1:]))
        return np.argmax(model.predict(xin, batch_size=500, verbose=0), -1)
    if view == "csim":
        from .config import load_config
        from .hls_view import HLSView

        cfg = load_config(run_dir / "config.yaml")
        with tempfile.TemporaryDirectory(prefix="codesign_csim_") as tmp:
            hv = HLSView(spec, Path(tmp) / "hls", cfg["hls"], cfg["board"]).compile()
            return np.argmax(hv.csim_int(x_int, key=key), -1)
    if view == "rtl":
        from .rtl_step import rtl_outputs

        return np.argmax(rtl_outputs(run_dir, spec, x_int, key=key), -1)
    raise ValueError(f"unknown view {view!r}")


def evaluate_view(run_dir, data, view: str, key: str | None = None, device_key=None) -> dict:
    """`key`: a locked design's `--key` (a sealed password file, "none", "random"; None: the run's own)."""
    from .techniques.lock.keys import resolve_key

    run_dir = Path(run_dir)
    spec = DesignSpec.load(run_dir / "spec")
    password = resolve_key(run_dir, spec, key, device_key)
    x, y = read_npz(data, reals=True)
    want = tuple(spec.input_shape)
    squeeze = lambda s: tuple(d for d in s if d != 1)  # only size-1 axes may differ
    if x.shape[1:] != want and squeeze(x.shape[1:]) != squeeze(want):
        raise DataError(f"{data}: `x` has samples of shape {x.shape[1:]} but the model takes {want} (channels "
                        "last); reshape or transpose the data to that shape")
    pred = _run_view(run_dir, spec, x, view, password)
    out = {"view": view, "samples": len(y), "accuracy": float(np.mean(pred == y))}
    if key is not None or password is not None:
        out["key"] = key or "run"
    return out
