"""The state of one run: what `codesign flow`'s steps (and `codesign sim`) read and add to.

Its own module so the steps (codesign/flow.py, codesign/rtl_step.py, ...) can share it without
importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import Dataset


@dataclass
class Run:
    cfg: dict
    out: Path
    log: callable = print
    data: Dataset | None = None
    model: object = None
    # variant name -> model the train step trained besides `model`: the float32 baseline (`float`), the
    # distillation teacher (`float_jr`); the robustness step reuses them instead of training them again
    variants: dict = field(default_factory=dict)
    spec: object = None
    x_test_int: np.ndarray | None = None
    emulator_out: np.ndarray | None = None
    report: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)
    lock: object = None  # codesign.techniques.lock.train.LockTraining of a locked run (harden.lock): holds the password

    def section(self, name: str) -> dict:
        return self.report.setdefault(name, {})
