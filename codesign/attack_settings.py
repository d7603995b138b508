"""Names of the robustness step: attacks, variants, the input range.

Kept apart from the attacks themselves (codesign/robustness.py) so that the config schema
(codesign/config_schema.py `Robustness`, the `robustness:` keys, defaults and bounds) can name them
without importing TensorFlow/ART code, and without an import circle.
"""
from __future__ import annotations

WHITE_BOX = ("fgsm", "pgd", "apgd_ce", "apgd_dlr")
BLACK_BOX = ("square", "hopskipjump")
EMULATOR_ATTACKS = ("pgd_emulator",)  # scored on the integer design; needs the variant's spec
ATTACKS = WHITE_BOX + BLACK_BOX + EMULATOR_ATTACKS
STRONG = ("apgd_ce", "apgd_dlr", "square")  # compared with PGD for the masking flag
VARIANTS = ("float", "float_jr", "q8", "stq", "stq_jr")
CLIP = (0.0, 255.0 / 256.0)


def eps_key(e: float) -> str:
    return f"{float(e):g}"
