"""Run configuration: one YAML file drives `codesign flow`, read and checked here once.

Every key is known; an unknown key, a wrong type or bad YAML raises `ConfigError` naming the
key and what is allowed, before any work starts (so a failed run writes nothing half-made).
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from .boards import BOARDS  # noqa: F401  (the board catalogue, boards/boards.json; re-exported)
from .errors import ConfigError
from .attack_settings import DEFAULTS as ROBUSTNESS_DEFAULTS

DEFAULTS = {
    "name": "run",
    "seed": 0,
    "data": {"dataset": "mnist", "train": None, "test": None},  # None: the dataset's default split
    "model": {"layers": None},
    # adversarial: null (off) | {epsilon, steps, step_ratio, mix, warmup}: PGD adversarial training on
    # inputs p/256, keys and defaults in codesign/train.py ADVERSARIAL_DEFAULTS (missing keys filled in)
    # finetune: null | {epochs, learning_rate}: a last phase with stochastic quantizers deterministic
    # (the deployed network), every variant alike (codesign/train.py train_from_config)
    # ema: null | momentum in (0, 1): each phase ends on the exponential moving average of its weights
    "train": {"epochs": 10, "batch_size": 64, "learning_rate": 0.001, "stochastic": True, "adversarial": None,
              "finetune": None, "ema": None},
    "baseline": {"float": True},
    # hardening while training (codesign/harden): stq null | {layers: all | [names]};
    # jr.layers {layer name or `logits`: lambda}, projections = random projections per step; jacobian_of sampled | deployed;
    # warmup = epochs over which every lambda ramps linearly up to its value (0: full from the first step)
    # wings null | {pretrain_epochs, permute}: start wings_dense layers from a PCA + SVR fit (codesign/wings/harden.py)
    # distill null | {weight, temperature, epsilon, steps, step_ratio}: the JR-trained quantized model also learns the float + JR
    # model's soft labels on perturbed inputs (codesign/harden/distill.py DISTILL_DEFAULTS)
    # lock null | {layers, fraction, value, scale, mix, ...}: EdgePro neuron-authorization lock (codesign/lock/config.py)
    "harden": {"stq": None, "jr": {"layers": {}, "projections": 1, "jacobian_of": "sampled", "warmup": 0}, "wings": None,
               "distill": None, "lock": None},
    # attacks on the trained variants (codesign/robustness.py); runs only when enabled
    "robustness": ROBUSTNESS_DEFAULTS,
    "board": "pynq-z2",
    "hls": {"enabled": True, "io_type": "io_parallel", "strategy": "Latency", "reuse_factor": 1,
            "clock_period_ns": 10.0},
    # pnr: also place and route the RTL for an ECP5 with yosys + nextpnr (codesign/rtl/pnr.py) and report
    # the routed Fmax against the clock of hls.clock_period_ns (report.json `timing`); minutes for small designs
    "rtl": {"enabled": True, "target_cycles": None, "folding": None, "stalls": True,
            "synth": True, "pnr": False, "samples": None, "opt": "quick", "cocotb_samples": 256},
}


def _merge(defaults: dict, given: dict, where: str) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in given.items():
        if key not in defaults:
            raise ConfigError(f"unknown config key {where}{key!r}; allowed: {sorted(defaults)}")
        if isinstance(defaults[key], dict) and defaults[key] and key != "model":
            if not isinstance(value, dict):
                raise ConfigError(f"config key {where}{key!r} must be a mapping, got {type(value).__name__}")
            out[key] = _merge(defaults[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


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
    if not isinstance(given, dict):
        raise ConfigError(f"{source} must be a YAML mapping of keys {sorted(DEFAULTS)}")
    cfg = _merge(DEFAULTS, given, "")
    if cfg["board"] not in BOARDS:
        raise ConfigError(f"unknown board {cfg['board']!r}; known boards: {sorted(BOARDS)}")
    if not isinstance(cfg["model"], dict) or not cfg["model"].get("layers"):
        raise ConfigError("config needs model.layers: a list of layers (see examples/mnist_mlp.yaml)")
    from .models import check_layers  # late: models pulls in nothing heavy until built

    check_layers(cfg["model"]["layers"])
    from .train import check_adversarial, check_ema, check_finetune

    cfg["train"]["adversarial"] = check_adversarial(cfg["train"]["adversarial"])
    cfg["train"]["finetune"] = check_finetune(cfg["train"]["finetune"])
    cfg["train"]["ema"] = check_ema(cfg["train"]["ema"])
    from .harden import check_harden
    from .attack_settings import check_robustness

    check_harden(cfg["harden"], cfg["model"]["layers"])
    from .lock.config import check_lock

    cfg["harden"]["lock"] = check_lock(cfg["harden"]["lock"], cfg["model"]["layers"])
    check_robustness(cfg["robustness"], cfg["harden"])
    from .data import DATASETS

    if cfg["data"]["dataset"] not in DATASETS:
        raise ConfigError(f"unknown dataset {cfg['data']['dataset']!r}; known datasets: {sorted(DATASETS)}")
    if not isinstance(cfg["rtl"]["pnr"], bool):
        raise ConfigError(f"rtl.pnr must be true or false (place and route with nextpnr-ecp5), got {cfg['rtl']['pnr']!r}")
    from .rtl.toolchain import OPT_LEVELS

    if cfg["rtl"]["opt"] not in OPT_LEVELS:
        raise ConfigError(f"rtl.opt must be one of {sorted(OPT_LEVELS)} (Verilator build optimisation), "
                          f"got {cfg['rtl']['opt']!r}")
    return cfg


def dump_config(cfg: dict, path: Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg, sort_keys=False))
