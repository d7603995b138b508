"""hls4ml view of a design spec: a Vitis HLS project whose every precision comes from the spec.

The spec is rendered as a plain Keras "twin" (each layer kind's `hls_twin`, codesign/kinds: Dense/Conv2D
with the spec's exact weights as reals, ReLU as its own layer, custom layers through the Extension API),
converted by hls4ml with per-layer ``Precision`` (the kind's `hls_precision`) for weight, bias, accum
and result taken from the spec, so hls4ml infers nothing. ``compile()`` builds the C-sim and
`csim_int` returns its outputs as the spec's output integers (a non-integral value is an error,
never rounded away). hls4ml's ``bit_exact=True`` pass is not used: on hls4ml 1.3 it raised
"unexpected input layer chain" on a Sequential QKeras MLP, and the spec already fixes every type.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from .config import BOARDS
from .fixed import FixedType, to_real
from .kinds import registry as kinds
from .spec import GRAPH_INPUT, DesignSpec, Layer


def effective_weights(layer: Layer) -> tuple[np.ndarray, FixedType]:
    """Weights with any per-output power-of-two shift folded in, and a type that holds them."""
    w = layer.params["weight"].astype(np.int64)
    wt = layer.types["weight"]
    if "weight_shift" in layer.params:
        shift = int(layer.params["weight_shift"].max())
        w = w << layer.params["weight_shift"].astype(np.int64)
        wt = FixedType(wt.width + shift, wt.integer + shift, signed=True)
    return w, wt


def keras_twin(spec: DesignSpec):
    """A float Keras model computing the spec's layers with its exact parameter values."""
    from tensorflow import keras

    x = inp = keras.Input(tuple(spec.input_shape), name="input_1")
    inputs = [inp]  # + a locked design's key inputs (codesign/techniques/lock/hls.py)
    tensors = {GRAPH_INPUT: inp}  # a graph's layers read these by name (a chain: the previous one)
    for layer, srcs in zip(spec.layers, spec.reads()):
        kind = kinds.get(layer.kind)
        if kind.hls_twin is None:
            raise ValueError(f"hls4ml view: layer {layer.name!r} kind {layer.kind!r} has no hls4ml mapping")
        x = kind.hls_twin(layer, [tensors[s] for s in srcs] if kind.merge_shape is not None else tensors[srcs[0]])
        if layer.attrs.get("lock"):
            from .techniques.lock.hls import twin as lock_twin

            x = lock_twin(layer, x, inputs)
        tensors[layer.name] = x
    return keras.Model(inputs if len(inputs) > 1 else inp, x, name=spec.name)


def hls_config(spec: DesignSpec, twin, cfg_hls: dict) -> dict:
    """hls4ml config with every precision set from the spec."""
    import hls4ml

    with contextlib.redirect_stdout(io.StringIO()):
        config = hls4ml.utils.config_from_keras_model(twin, granularity="name", backend="Vitis",
                                                      default_precision="fixed<16,6>")
    config["Model"]["Strategy"] = cfg_hls.get("strategy", "Latency")
    config["Model"]["ReuseFactor"] = cfg_hls.get("reuse_factor", 1)
    names = config["LayerName"]
    names["input_1"]["Precision"] = {"result": spec.input_type.hls()}
    for layer in spec.layers:
        entry = names.setdefault(layer.name, {})
        precision = kinds.get(layer.kind).hls_precision
        if precision is not None:
            precision(layer, entry, names, config["Model"])
        else:
            entry["Precision"] = {"result": layer.out_type.hls()}
        if layer.attrs.get("lock"):
            from .techniques.lock.hls import precisions

            precisions(layer, names)
    return config


class HLSView:
    """An hls4ml project of a spec in `out_dir`, compiled to a C-sim library."""

    def __init__(self, spec: DesignSpec, out_dir: Path, cfg_hls: dict | None = None, board: str = "pynq-z2"):
        import hls4ml

        for name in dict.fromkeys(layer.kind for layer in spec.layers):  # custom layers' Extension API
            if kinds.get(name).hls_register:
                kinds.get(name).hls_register()
        if any(layer.attrs.get("lock") for layer in spec.layers):
            from .techniques.lock.hls import register as register_lock

            register_lock()

        self.spec = spec
        cfg_hls = cfg_hls or {}
        self.twin = keras_twin(spec)
        self.config = hls_config(spec, self.twin, cfg_hls)
        with contextlib.redirect_stdout(io.StringIO()):
            self.model = hls4ml.converters.convert_from_keras_model(
                self.twin, hls_config=self.config, output_dir=str(out_dir), backend="Vitis",
                part=BOARDS[board]["part"], io_type=cfg_hls.get("io_type", "io_parallel"),
                clock_period=cfg_hls.get("clock_period_ns", 10.0), project_name="codesign_top")

    def compile(self) -> "HLSView":
        with contextlib.redirect_stdout(io.StringIO()):
            self.model.compile()
        return self

    def csim_int(self, x_int: np.ndarray, batch: int = 500, key=None) -> np.ndarray:
        """C-sim outputs for input-type integers, as output-type integers (exact or an error).
        `key`: a locked design's run-time key (None: no key), fed through the top's key inputs."""
        x = to_real(x_int, self.spec.input_type)
        key_of = None
        if any(layer.attrs.get("lock") for layer in self.spec.layers):
            from .techniques.lock.hls import key_inputs
            from .techniques.lock.password import check_key

            lock_key = check_key(self.spec, key)
            key_of = lambda n: key_inputs(self.spec, lock_key, n)  # noqa: E731
        outs = []
        for start in range(0, len(x), batch):
            xb = np.ascontiguousarray(x[start:start + batch], dtype=np.float64)
            with contextlib.redirect_stdout(io.StringIO()):
                y = self.model.predict([xb] + key_of(len(xb)) if key_of else xb)
            outs.append(np.asarray(y, dtype=np.float64).reshape(len(x[start:start + batch]), -1))
        y = np.concatenate(outs)
        q = np.ldexp(y, self.spec.output_type.frac)
        if not np.all(q == np.round(q)):
            raise ArithmeticError("C-sim returned values that are not integers of the spec's output type "
                                  f"{self.spec.output_type.hls()}: the hls4ml project does not implement the spec")
        return q.astype(np.int64)
