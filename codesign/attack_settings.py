"""Settings of the robustness step: attack names, the `robustness:` config defaults and their check.

Kept apart from the attacks themselves (codesign/robustness.py) so that the config module can hold
these defaults without importing TensorFlow/ART code, and without an import circle.
"""
from __future__ import annotations

from .errors import ConfigError

WHITE_BOX = ("fgsm", "pgd", "apgd_ce", "apgd_dlr")
BLACK_BOX = ("square", "hopskipjump")
EMULATOR_ATTACKS = ("pgd_emulator",)  # scored on the integer design; needs the variant's spec
ATTACKS = WHITE_BOX + BLACK_BOX + EMULATOR_ATTACKS
STRONG = ("apgd_ce", "apgd_dlr", "square")  # compared with PGD for the masking flag
VARIANTS = ("float", "float_jr", "q8", "stq", "stq_jr")
CLIP = (0.0, 255.0 / 256.0)

DEFAULTS = {
    "enabled": False,
    "variants": list(VARIANTS),
    "attacks": ["fgsm", "pgd", "apgd_ce", "apgd_dlr", "square", "hopskipjump", "pgd_emulator"],
    "epsilons": [0.05, 0.1, 0.2, 0.3],
    "samples": 500,              # test digits for clean, FGSM and PGD (the first N of the test split)
    "batch_size": 250,
    "pgd": {"steps": 20, "step_ratio": 0.25, "random_init": 0},
    "apgd": {"steps": 100, "restarts": 1},          # APGD-CE and APGD-DLR on the first `samples` digits
    "pgd_emulator": {"steps": 50, "step_ratio": 0.1},  # random start, scored on the integer emulator
    "square": {"samples": 200, "max_queries": 5000, "restarts": 1, "p_init": 0.8},
    "hopskipjump": {"samples": 20, "max_iter": 10, "max_eval": 1000, "init_eval": 100, "init_size": 100},
    "masking_tolerance": 0.0,    # flag when black-box accuracy < white-box accuracy - tolerance
    "masking_margin": 0.02,      # flag when the APGD/Square worst case < PGD - margin (same samples)
}


def eps_key(e: float) -> str:
    return f"{float(e):g}"


def check_robustness(r: dict, harden: dict) -> None:
    """Validate the `robustness:` section; ConfigError names the key and what is allowed."""
    for key, allowed in (("variants", VARIANTS), ("attacks", ATTACKS)):
        v = r[key]
        if not isinstance(v, list) or not v or set(v) - set(allowed):
            raise ConfigError(f"robustness.{key} must be a non-empty list drawn from {list(allowed)}, got {v!r}")
    if not set(r["attacks"]) - set(EMULATOR_ATTACKS):
        raise ConfigError(f"robustness.attacks needs at least one attack on the Keras model besides "
                          f"{list(EMULATOR_ATTACKS)}, e.g. [pgd, apgd_ce, square]")
    eps = r["epsilons"]
    if not isinstance(eps, list) or not eps or not all(isinstance(e, (int, float)) and 0 < e <= 1 for e in eps):
        raise ConfigError(f"robustness.epsilons must be a non-empty list of L-inf radii in (0, 1], got {eps!r}")
    for key in ("samples", "batch_size"):
        if isinstance(r[key], bool) or not isinstance(r[key], int) or r[key] < 1:
            raise ConfigError(f"robustness.{key} must be a positive integer, got {r[key]!r}")
    for attack in ("pgd", "apgd", "pgd_emulator", "square", "hopskipjump"):
        if not isinstance(r[attack], dict):
            raise ConfigError(f"robustness.{attack} must be a mapping of its settings, got {r[attack]!r}")
        for k, v in r[attack].items():
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
            if not ok or (k in ("samples", "steps", "max_queries", "max_iter", "max_eval", "restarts") and v < 1):
                raise ConfigError(f"robustness.{attack}.{k} must be a positive number, got {v!r}")
    jr_set = bool(((harden or {}).get("jr") or {}).get("layers"))
    if r["enabled"] and not jr_set and {"float_jr", "stq_jr"} & set(r["variants"]):
        raise ConfigError("robustness.variants asks for float_jr/stq_jr but harden.jr.layers sets no lambda; "
                          "add e.g. `harden: {jr: {layers: {logits: 0.1}}}` or drop the *_jr variants")
