"""Run configuration: one YAML file drives `codesign flow`, read and checked here once.

Every key is known; an unknown key, a wrong type or bad YAML raises `ConfigError` naming the
key and what is allowed, before any work starts (so a failed run writes nothing half-made).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .boards import BOARDS  # noqa: F401  (the board catalogue, boards/boards.json; re-exported)
from .config_schema import defaults, validate_config
from .errors import ConfigError
from .kinds import registry as kinds
from .models import check_layers, layer_names
from .techniques.lock.config import check_lock
from .techniques.stq_jr.layer import weighted_names
from .techniques.stq_jr.train import LOGITS

# every key's default, from the schema (codesign/config_schema.py); model.layers has none
DEFAULTS = defaults()


def load_config(path: str | Path, overrides: list[str] = ()) -> dict:
    """Read and check a YAML run config; returns the full config with defaults filled in.

    `overrides` are ``dotted.key=YAML value`` strings (the CLI's ``--set``) applied before the check,
    so an overridden key is validated like a written one.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        given = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    for assignment in overrides:
        apply_override(given, assignment)
    return check_config(given, str(path))


def apply_override(cfg: dict, assignment: str) -> None:
    """Set ``a.b.c=value`` (value parsed as YAML) in a config mapping, creating missing mappings."""
    key, sep, value = assignment.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {assignment!r}: expected dotted.key=value, e.g. --set train.epochs=5")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {assignment!r}: the value is not valid YAML: {e}") from None
    *path, last = key.split(".")
    node = cfg
    for part in path:
        if not isinstance(node.get(part, {}), dict):
            raise ConfigError(f"--set {assignment!r}: {part!r} is not a mapping in the config")
        node = node.setdefault(part, {})
    node[last] = parsed


def check_config(given, source: str = "config") -> dict:
    """A config mapping -> the full config with defaults filled in; ConfigError names the first bad key.

    The schema checks every key, type and bound; this adds what depends on the model's layers."""
    if not isinstance(given, dict):
        raise ConfigError(f"{source} must be a YAML mapping of keys {sorted(DEFAULTS)}")
    cfg = validate_config(given)
    layers = cfg["model"]["layers"]
    if not layers:
        raise ConfigError("config needs model.layers: a list of layers (see examples/mnist_mlp.yaml)")
    check_layers(layers)
    check_layer_names(cfg["harden"], layers)
    cfg["harden"]["lock"] = check_lock(cfg["harden"]["lock"], layers)
    check_rtl_checker(cfg["rtl"], layers)
    return cfg


def check_rtl_checker(rtl: dict, layers: list) -> None:
    """`rtl.checker` scans the mvau engines' memories only (codesign/rtl/checker.py): a layer whose engine
    keeps memories of its own (kron_dense, wings_dense) would be half-checked, so the config is refused
    here, before training, rather than at the RTL step."""
    if not rtl["checker"]:
        return
    bad = [f"{name} ({kind})" for entry, name in zip(layers, layer_names(layers)) for kind in entry
           if kinds.find(kind).rtl_own_memories]
    if bad:
        raise ConfigError(f"rtl.checker: true scans dense/conv2d (mvau) memories only, but {', '.join(bad)} keeps "
                          "memories of its own; set rtl.checker: false for this model")


def check_layer_names(harden: dict, layers: list) -> None:
    """The `harden:` keys that name layers (stq.layers, jr.layers) name layers they can act on, and
    `harden.wings` has wings_dense layers to fit, `harden.distill.teacher: dense` kron_dense layers to replace."""
    names, weighted = layer_names(layers), weighted_names(layers)
    stq = harden["stq"]
    if stq is not None and stq["layers"] != "all":
        bad = [n for n in stq["layers"] if n not in weighted]
        if bad:
            raise ConfigError(f"harden.stq.layers: {bad} are not dense/conv2d layers of the model; "
                              f"choose from {weighted}")
    for name in harden["jr"]["layers"]:
        if name != LOGITS and name not in weighted:
            what = "an activation/reshaping layer (its Jacobian has no gradient w.r.t. any weight)" \
                if name in names else "not a layer of the model"
            raise ConfigError(f"harden.jr.layers: {name!r} is {what}; choose from {weighted + [LOGITS]} "
                              "(a dense/conv2d layer with its activation, or `logits` = input to logits)")
    if harden["wings"] is not None and not any("wings_dense" in entry for entry in layers):
        raise ConfigError("harden.wings fits wings_dense layers, but model.layers has none; "
                          "replace a dense layer by a wings_dense one (see examples/mnist_mlp_wings.yaml)")
    distill = harden["distill"]
    if distill is not None and distill["teacher"] == "dense" and not any("kron_dense" in entry for entry in layers):
        raise ConfigError("harden.distill.teacher: dense distils from the network's dense reference (its kron_dense "
                          "layers made dense), but model.layers has no kron_dense layer; use teacher: float_jr")


def dump_config(cfg: dict, path: Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
