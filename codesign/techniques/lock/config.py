"""The `harden.lock` config block: which layers carry a lock, how many neurons, how they are locked."""
from __future__ import annotations

from ...config_schema import Lock, validate_block
from ...errors import ConfigError

# harden.lock's keys, defaults and bounds: codesign/config_schema.py `Lock`; here what depends on the layers


def lockable_layers(layers: list) -> list[str]:
    """Names of the dense/conv2d layers of a config layer list that a relu follows (their outputs are
    the neurons a lock unit forces)."""
    from ...models import layer_names, model_layers

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
    """Validate `harden.lock` (the schema's `Lock`) against the model's layers; returns it with defaults
    filled in, `layers: all` resolved to the lockable layers' names and ranges as [low, high], or None."""
    out = validate_block(Lock, value, where)
    if out is None:
        return None
    if out["scheme"] == "input_perm":
        return _check_input_perm(out, layers, where)
    lockable = lockable_layers(layers)
    if not lockable:
        raise ConfigError(f"{where}: the model has no dense/conv2d layer followed by a relu to lock")
    chosen = lockable if out["layers"] == "all" else out["layers"]
    bad = [n for n in chosen if n not in lockable]
    if bad:
        raise ConfigError(f"{where}.layers: {bad} are not layers a relu follows; choose from {lockable}")
    out["layers"] = list(chosen)
    return out


def _check_input_perm(out: dict, layers: list, where: str) -> dict:
    """An input-permutation lock permutes the flattened input of the model's first layer: the model must
    start with a flatten followed by a dense layer; `layers` resolves to [that flatten's name]."""
    from ...models import layer_names

    kinds = [next(iter(entry)) for entry in layers]
    if len(kinds) < 2 or kinds[0] != "flatten" or kinds[1] != "dense":
        raise ConfigError(f"{where}.scheme input_perm: the model must start with flatten then dense (its input is "
                          f"permuted), got {kinds[:2]}; use scheme: neuron")
    if out.get("near") is not None:
        raise ConfigError(f"{where}.near: near-miss decoys are for scheme neuron (a permutation has no neurons to "
                          f"share); drop near or use scheme: neuron")
    out["layers"] = [layer_names(layers)[0]]
    return out
