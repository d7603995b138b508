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
``kron_dense`` (separable Kronecker FC, codesign/kron) takes ``in_factors: [n2, n1]``,
``out_factors: [m2, m1]``, ``rank``, factor quantizer ``kernel``, ``sparsity`` and ``condition``. The same list with
``quantized=False`` builds the float32 model of the same shape, the baseline it is judged against.
"""
from __future__ import annotations

from .errors import ConfigError

LAYER_KEYS = {
    "flatten": {"name"},
    "dense": {"name", "units", "kernel", "bias"},
    "conv2d": {"name", "filters", "kernel_size", "strides", "padding", "kernel", "bias"},
    "relu": {"name", "bits", "integer"},
    "maxpool2d": {"name", "pool_size", "strides"},
    "kron_dense": {"name", "in_factors", "out_factors", "rank", "kernel", "bias", "sparsity", "condition"},
    # WINGs generated dense layer (codesign/wings/layer.py); types: {alpha|beta|z|basis|curve|weight|bias|lut: [W, I]}
    "wings_dense": {"name", "units", "components", "centres", "coef_sigma", "basis_grid", "in_hw", "pixel_sigma",
                    "types"},
}
REQUIRED = {"dense": {"units"}, "conv2d": {"filters", "kernel_size"}, "relu": {"bits", "integer"},
            "kron_dense": {"in_factors", "out_factors"}, "wings_dense": {"units"}}
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
    if kind not in LAYER_KEYS:
        raise ConfigError(f"model.layers[{i}]: unknown layer {kind!r}; known layers: {sorted(LAYER_KEYS)}")
    args = args or {}
    if not isinstance(args, dict):
        raise ConfigError(f"model.layers[{i}] ({kind}): arguments must be a mapping, got {args!r}")
    extra = set(args) - LAYER_KEYS[kind]
    if extra:
        raise ConfigError(f"model.layers[{i}] ({kind}): unknown key(s) {sorted(extra)}; allowed: {sorted(LAYER_KEYS[kind])}")
    missing = REQUIRED.get(kind, set()) - set(args)
    if missing:
        raise ConfigError(f"model.layers[{i}] ({kind}): missing key(s) {sorted(missing)}")
    for q in ("kernel", "bias"):
        if q in args and not (q == "bias" and args[q] is None):  # bias: null -> no bias
            _check_quantizer(args[q], f"model.layers[{i}] ({kind}).{q}")
    if kind == "kron_dense":
        for key in ("in_factors", "out_factors"):
            v = args[key]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(n, int) and n > 0 for n in v)):
                raise ConfigError(f"model.layers[{i}] (kron_dense).{key} must be two positive integers [rows, cols], "
                                  f"got {v!r}")
        if isinstance(args.get("kernel"), str):
            raise ConfigError(f"model.layers[{i}] (kron_dense).kernel: factors take {{bits: B, integer: I}}, "
                              f"not {args['kernel']!r}")
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
    from qkeras import QActivation, QConv2D, QDense, quantized_relu

    check_layers(layers)
    tf.keras.utils.set_random_seed(seed)
    x = inp = keras.Input(tuple(input_shape), name="input")
    counts: dict[str, int] = {}
    for i, entry in enumerate(layers):
        kind, a = _kind_and_args(i, entry)
        counts[kind] = counts.get(kind, 0) + 1
        lname = a.get("name", f"{kind}_{counts[kind]}")
        if kind == "flatten":
            x = keras.layers.Flatten(name=lname)(x)
        elif kind == "maxpool2d":
            x = keras.layers.MaxPooling2D(a.get("pool_size", 2), a.get("strides"), name=lname)(x)
        elif kind == "relu":
            x = (QActivation(quantized_relu(a["bits"], a["integer"]), name=lname) if quantized
                 else keras.layers.ReLU(name=lname))(x)
        elif kind == "dense":
            if quantized:
                has_bias = not ("bias" in a and a["bias"] is None)
                x = QDense(a["units"], kernel_quantizer=_quantizer(a.get("kernel"), "stochastic_ternary"),
                           bias_quantizer=_quantizer(a.get("bias"), {"bits": 8, "integer": 3}) if has_bias else None,
                           use_bias=has_bias, name=lname)(x)
            else:
                x = keras.layers.Dense(a["units"], use_bias=not ("bias" in a and a["bias"] is None), name=lname)(x)
        elif kind == "kron_dense":
            from .kron.layer import KronDense

            fq = a.get("kernel", {"bits": 8, "integer": 0})
            bq = a.get("bias", {"bits": 8, "integer": 3})
            x = KronDense(a["in_factors"], a["out_factors"], rank=a.get("rank", 1),
                          factor_bits=fq["bits"] if quantized else None, factor_integer=fq.get("integer", 0),
                          bias_bits=bq["bits"] if quantized and bq else None,
                          bias_integer=bq.get("integer", 0) if bq else 0, use_bias=bq is not None,
                          sparsity=a.get("sparsity", 0.0), condition=a.get("condition", 0.0), name=lname)(x)
        elif kind == "wings_dense":  # the generator always runs in fixed point (its float twin is `dense`)
            if quantized:
                from .wings.layer import WingsDense

                x = WingsDense(a["units"], **{k: v for k, v in a.items() if k not in ("units", "name")}, name=lname)(x)
            else:
                x = keras.layers.Dense(a["units"], name=lname)(x)
        elif kind == "conv2d":
            if len(x.shape) == 3:  # a single-channel image: add the channel axis
                x = keras.layers.Reshape(tuple(x.shape[1:]) + (1,), name=f"{lname}_channels")(x)
            common = dict(kernel_size=a["kernel_size"], strides=a.get("strides", 1), padding=a.get("padding", "valid"),
                          name=lname)
            if quantized:
                x = QConv2D(a["filters"], kernel_quantizer=_quantizer(a.get("kernel"), "stochastic_ternary"),
                            bias_quantizer=_quantizer(a.get("bias"), {"bits": 8, "integer": 3}), **common)(x)
            else:
                x = keras.layers.Conv2D(a["filters"], **common)(x)
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

    from .kron.layer import KronDense
    from .wings.layer import WingsDense

    return load_qmodel(str(path), custom_objects={"KronDense": KronDense, "WingsDense": WingsDense}, compile=False)


def load_model(folder):
    from pathlib import Path

    path = Path(folder) / "model.h5"
    if not path.exists():
        raise FileNotFoundError(f"no Keras model at {path}; the run folder was not built by `codesign flow`")
    return load_model_file(path)
