"""Model zoo: QKeras models built from a YAML layer list, and their float32 twins.

A config's ``model.layers`` is a list of one-key-per-kind mappings, for example::

    - flatten: {}
    - dense: {units: 256, kernel: stochastic_ternary, bias: {bits: 8, integer: 3}}
    - relu: {bits: 8, integer: 3}
    - conv2d: {filters: 8, kernel_size: 3, padding: valid, kernel: ternary}
    - maxpool2d: {pool_size: 2}

A ``kernel``/``bias`` quantizer is ``stochastic_ternary`` (trained stochastically, deterministic
ternary with a power-of-two scale per output at inference), ``ternary``, or
``{bits: B, integer: I}`` (QKeras ``quantized_bits(B, I, alpha=1)``); ``bias: null`` drops the bias.
``kron_dense`` (separable Kronecker FC, codesign/techniques/kron) takes ``in_factors: [n2, n1]``,
``out_factors: [m2, m1]``, ``rank``, factor quantizer ``kernel``, ``sparsity`` and ``condition``. The same list with
``quantized=False`` builds the float32 model of the same shape, the baseline it is judged against.
"""
from __future__ import annotations

from .errors import ConfigError
from .kinds import registry as kinds
from .kinds.registry import ModelLayer


def relu_layer(a: dict, x, quantized: bool, name: str):
    """``relu: {bits, integer}``: a QKeras quantized_relu (a plain ReLU in the float model). Not a layer
    kind of the spec: extraction fuses it into the layer before it."""
    from qkeras import QActivation, quantized_relu
    from tensorflow import keras

    return (QActivation(quantized_relu(a["bits"], a["integer"]), name=name) if quantized
            else keras.layers.ReLU(name=name))(x)


RELU = ModelLayer(frozenset({"name", "bits", "integer"}), relu_layer, frozenset({"bits", "integer"}))


def stq_kinds() -> tuple:
    """Config layers whose `kernel` quantizer STQ / q8 rewrite (dense, conv2d)."""
    return tuple(k for k, m in model_layers().items() if m.kernel_quantizer)


def model_layers() -> dict:
    """Config layer name -> ModelLayer: every registered kind that has one (codesign/kinds) + relu."""
    out = {name: kinds.get(name).model_layer for name in kinds.names() if kinds.get(name).model_layer}
    out["relu"] = RELU
    return out


# the config layers' keys and required keys as plain data (the config schema reads them), from model_layers()
LAYER_KEYS = {k: set(m.keys) for k, m in model_layers().items()}
REQUIRED = {k: set(m.required) for k, m in model_layers().items() if m.required}
QUANTIZER_NAMES = ("stochastic_ternary", "ternary")


def layer_names(layers: list) -> list[str]:
    """Keras layer names `build_model` gives a layer list (without building it)."""
    counts: dict[str, int] = {}
    names = []
    for entry in layers:
        (kind, args), = entry.items()
        counts[kind] = counts.get(kind, 0) + 1
        names.append((args or {}).get("name", f"{kind}_{counts[kind]}"))
    return names


def _kind_and_args(i: int, entry) -> tuple[str, dict]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigError(f"model.layers[{i}] must be a one-key mapping like `dense: {{units: 10}}`, got {entry!r}")
    (kind, args), = entry.items()
    known = model_layers()
    if kind not in known:
        raise ConfigError(f"model.layers[{i}]: unknown layer {kind!r}; known layers: {sorted(known)}")
    layer = known[kind]
    args = args or {}
    if not isinstance(args, dict):
        raise ConfigError(f"model.layers[{i}] ({kind}): arguments must be a mapping, got {args!r}")
    extra = set(args) - layer.keys
    if extra:
        raise ConfigError(f"model.layers[{i}] ({kind}): unknown key(s) {sorted(extra)}; allowed: {sorted(layer.keys)}")
    missing = layer.required - set(args)
    if missing:
        raise ConfigError(f"model.layers[{i}] ({kind}): missing key(s) {sorted(missing)}")
    for q in ("kernel", "bias"):
        if q in args and not (q == "bias" and args[q] is None):  # bias: null -> no bias
            _check_quantizer(args[q], f"model.layers[{i}] ({kind}).{q}")
    if layer.check:
        layer.check(i, args)
    return kind, args


def _check_quantizer(q, where):
    if isinstance(q, str) and q in QUANTIZER_NAMES:
        return
    if isinstance(q, dict) and set(q) <= {"bits", "integer"} and "bits" in q:
        return
    raise ConfigError(f"{where}: quantizer {q!r} unknown; use one of {QUANTIZER_NAMES} or {{bits: B, integer: I}}")


def check_layers(layers) -> None:
    if not isinstance(layers, list) or not layers:
        raise ConfigError("model.layers must be a non-empty list")
    for i, entry in enumerate(layers):
        _kind_and_args(i, entry)


def _quantizer(q, default):
    from qkeras import quantized_bits, stochastic_ternary, ternary

    q = default if q is None else q
    if q == "stochastic_ternary":
        return stochastic_ternary(alpha="auto_po2")
    if q == "ternary":
        return ternary(alpha="auto_po2")
    return quantized_bits(q["bits"], q.get("integer", 0), alpha=1)


def build_model(layers: list, input_shape: tuple, num_classes: int | None = None, quantized: bool = True,
                seed: int = 0, name: str = "model"):
    """The Keras model of a layer list: QKeras layers if `quantized`, plain float32 otherwise."""
    import tensorflow as tf
    from tensorflow import keras

    check_layers(layers)
    tf.keras.utils.set_random_seed(seed)
    x = inp = keras.Input(tuple(input_shape), name="input")
    counts: dict[str, int] = {}
    for i, entry in enumerate(layers):
        kind, a = _kind_and_args(i, entry)
        counts[kind] = counts.get(kind, 0) + 1
        x = model_layers()[kind].build(a, x, quantized, a.get("name", f"{kind}_{counts[kind]}"))
    if num_classes is not None and x.shape[-1] != num_classes:
        raise ConfigError(f"the model ends with {x.shape[-1]} outputs but the dataset has {num_classes} classes; "
                          "make the last dense layer's units match")
    return keras.Model(inp, x, name=name)


def save_model(model, folder) -> None:
    from pathlib import Path

    Path(folder).mkdir(parents=True, exist_ok=True)
    model.save(Path(folder) / "model.h5")


def load_model_file(path):
    """A saved QKeras model (with codesign's custom layers) from an .h5 file."""
    from qkeras.utils import load_qmodel

    from .techniques.kron.layer import KronDense
    from .techniques.wings.layer import WingsDense

    return load_qmodel(str(path), custom_objects={"KronDense": KronDense, "WingsDense": WingsDense}, compile=False)


def load_model(folder):
    from pathlib import Path

    path = Path(folder) / "model.h5"
    if not path.exists():
        raise FileNotFoundError(f"no Keras model at {path}; the run folder was not built by `codesign flow`")
    return load_model_file(path)
