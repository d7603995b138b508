"""Checks shared by the optional config blocks (`train.adversarial`, `train.finetune`, `harden.distill`,
`harden.wings`): each is null (off), `true` (its defaults) or a mapping of some of its keys, and every
mistake is one ConfigError naming the dotted key."""
from __future__ import annotations

import numbers

from .errors import ConfigError


def optional_block(value, defaults: dict, where: str) -> dict | None:
    """None when off (null/false); else `defaults` updated by the mapping given (`true`: defaults)."""
    if value is None or value is False:
        return None
    if value is True:
        return dict(defaults)
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be null or a mapping of {sorted(defaults)}, got {value!r}")
    unknown = set(value) - set(defaults)
    if unknown:
        raise ConfigError(f"unknown config key {where}.{sorted(unknown)[0]!r}; allowed: {sorted(defaults)}")
    return {**defaults, **value}


def check_number(block: dict, key: str, ok, what: str, where: str, integer: bool = False) -> None:
    """`block[key]` must be a real number (an integer if `integer`) for which `ok` holds; it is
    stored back as float or int. `what` completes "WHERE.KEY must be ..."."""
    v = block[key]
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(v, bool) or not isinstance(v, kind) or not ok(v):
        raise ConfigError(f"{where}.{key} must be {what}, got {v!r}")
    block[key] = int(v) if integer else float(v)


def check_pgd_steps(block: dict, where: str) -> None:
    """The `steps` and `step_ratio` keys of a block that makes inputs by L-inf PGD
    (`codesign.train.linf_pgd`: `train.adversarial`, `harden.distill`)."""
    check_number(block, "steps", lambda v: v >= 1, "an integer >= 1", where, integer=True)
    check_number(block, "step_ratio", lambda v: 0 < v <= 1, "a number in (0, 1] (step = step_ratio * epsilon)", where)
