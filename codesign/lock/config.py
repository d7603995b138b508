"""The `harden.lock` config block: which layers carry a lock, how many neurons, how they are locked."""
from __future__ import annotations

import numbers

from ..errors import ConfigError
from ..options import check_number, optional_block

# harden.lock: null (off) or a mapping of these keys; missing keys take these values
LOCK_DEFAULTS = {
    "layers": "all",      # `all` (every dense/conv2d layer followed by a relu) or a list of those layer names
    "fraction": 0.1,      # neurons locked per layer (EdgePro: ~10%)
    "top": 0.3,           # the draw is among the top `top` of neurons ranked by mean activation
    "seed": None,         # null: the secret is drawn from os.urandom; an integer: reproducible (experiments only)
    "value": 0.0,         # locking value: a number, or [low, high] drawn uniformly per neuron (secret)
    "scale": 1.0,         # its scale: a number, or [low, high] drawn uniformly per neuron (secret)
    "mix": 0.5,           # fraction of every batch run locked with true labels (the rest: unlocked, random labels)
    "device_key": None,   # device key file to seal the password under; null: RUN_DIR/lock/device.key is made
    "random_keys": 1000,  # random keys tried by the report's accuracy_random_key_{best,mean}
    "baseline": False,    # also train the same network unlocked the same way (report's accuracy_unlocked)
    "attacks": None,      # null | {epochs}: run the thief's attacks (codesign/lock/attacks.py) in the flow
}


def _check_range(block: dict, key: str, where: str) -> None:
    v = block[key]
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        block[key] = [float(v), float(v)]
        return
    if (isinstance(v, list) and len(v) == 2 and all(isinstance(e, numbers.Real) and not isinstance(e, bool) for e in v)
            and v[0] <= v[1]):
        block[key] = [float(v[0]), float(v[1])]
        return
    raise ConfigError(f"{where}.{key} must be a number or [low, high] with low <= high, got {v!r}")


def lockable_layers(layers: list) -> list[str]:
    """Names of the dense/conv2d layers of a config layer list that a relu follows (their outputs are
    the neurons a lock unit forces)."""
    from ..harden.jr import layer_names
    from ..models import model_layers

    names = layer_names(layers)
    out = []
    for i, entry in enumerate(layers):
        (kind, _), = entry.items()
        nxt = next(iter(layers[i + 1])) if i + 1 < len(layers) else None
        config_layer = model_layers().get(kind)
        if config_layer and config_layer.neurons and nxt == "relu":
            out.append(names[i])
    return out


def check_lock(value, layers: list, where: str = "harden.lock") -> dict | None:
    """Validate `harden.lock`; returns it with defaults filled in (ranges as [low, high]), or None."""
    out = optional_block(value, LOCK_DEFAULTS, where)
    if out is None:
        return None
    lockable = lockable_layers(layers)
    chosen = out["layers"]
    if chosen == "all":
        chosen = lockable
    if not isinstance(chosen, list) or not chosen or not all(isinstance(n, str) for n in chosen):
        raise ConfigError(f"{where}.layers must be `all` or a non-empty list of layer names, got {out['layers']!r}")
    bad = [n for n in chosen if n not in lockable]
    if bad:
        raise ConfigError(f"{where}.layers: {bad} are not layers a relu follows; choose from {lockable}")
    out["layers"] = list(chosen)
    check_number(out, "fraction", lambda v: 0 < v <= 1, "a fraction in (0, 1]", where)
    check_number(out, "top", lambda v: 0 < v <= 1, "a fraction in (0, 1]", where)
    check_number(out, "mix", lambda v: 0 < v < 1, "a fraction in (0, 1) (locked part of a batch)", where)
    check_number(out, "random_keys", lambda v: v >= 1, "an integer >= 1", where, integer=True)
    if out["seed"] is not None:
        check_number(out, "seed", lambda v: v >= 0, "null or an integer >= 0", where, integer=True)
    _check_range(out, "value", where)
    _check_range(out, "scale", where)
    if not isinstance(out["baseline"], bool):
        raise ConfigError(f"{where}.baseline must be true or false, got {out['baseline']!r}")
    if out["attacks"] is not None:
        out["attacks"] = optional_block(out["attacks"], {"epochs": 20}, f"{where}.attacks")
        if out["attacks"] is not None:
            check_number(out["attacks"], "epochs", lambda v: v >= 1, "an integer >= 1", f"{where}.attacks", integer=True)
    if out["device_key"] is not None and not isinstance(out["device_key"], str):
        raise ConfigError(f"{where}.device_key must be null or a path to a device key file, got {out['device_key']!r}")
    return out
