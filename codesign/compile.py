"""`codesign compile`: a user's own QKeras model -> design spec, checked against the model first.

The spec is written only after the check of codesign/verify.py passed, so a wrong extraction
never leaves a spec behind.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError
from .fixed import FixedType


def check_inputs(spec, data: Path | None) -> tuple[np.ndarray, str]:
    """Input-type integers to check the spec on, and what they are (for the summary)."""
    from .emulator import Emulator
    from .verify import CHECK_SAMPLES, draw_inputs

    if data is None:
        return draw_inputs(spec), f"{500} inputs drawn over {spec.input_type.hls()}"
    data = Path(data)
    if not data.exists():
        raise DataError(f"data file {data} does not exist")
    with np.load(data) as npz:
        if "x" not in npz.files:
            raise DataError(f"{data} has no array `x` (the inputs to check the spec on)")
        x = npz["x"][:CHECK_SAMPLES]
    return Emulator(spec).quantize_input(x), f"{len(x)} inputs of {data.name}"


def load_user_model(path: Path, weights: Path | None = None):
    """A QKeras model from a full .h5, or from hls4ml's zoo form: architecture .json + weights .h5
    (`weights`, default ``<stem>_weights.h5`` next to the json)."""
    from .models import load_model_file

    if path.suffix != ".json":
        return load_model_file(path)
    weights = Path(weights) if weights else path.with_name(path.stem + "_weights.h5")
    if not weights.exists():
        raise DataError(f"{path} holds the architecture only and its weights {weights} do not exist; pass --weights")
    from qkeras.utils import _add_supported_quantized_objects
    from tensorflow import keras

    objects = {}
    _add_supported_quantized_objects(objects)
    model = keras.models.model_from_json(path.read_text(), custom_objects=objects)
    model.load_weights(str(weights))
    return model


def compile_file(model_path, out, input_type: str | None = None, data=None, weights=None) -> str:
    """Extract, check against Keras, save; returns the one-line summary."""
    from .extract import extract
    from .verify import check_against_model

    model_path, out = Path(model_path), Path(out)
    if not model_path.exists():
        raise DataError(f"model file {model_path} does not exist")
    declared = FixedType.parse(input_type) if input_type else None
    model = load_user_model(model_path, weights)
    ex = extract(model, input_type=declared)
    x_int, what = check_inputs(ex.spec, data)
    check = check_against_model(model, ex.spec, ex.sources, ex.post, x_int)
    ex.spec.save(out)
    notes = "".join(f"; note: {n}" for n in ex.spec.meta.get("notes", []))
    return (f"spec of {len(ex.spec.layers)} layers, {ex.spec.total_macs()} MACs, input {ex.spec.input_type.hls()}; "
            f"equals Keras on {what} ({check['exact_layers']}/{check['layers']} layers bit-exact): "
            f"{out / 'spec.json'}{notes}")
