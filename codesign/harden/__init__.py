"""Hardening techniques applied while training (see `harden:` in a run config).

- `stq`: stochastic ternary quantization of the chosen layers' kernels (`apply_stq` rewrites the
  layer list; training samples the ternary weights, inference is deterministic).
- `jr`: per-layer Jacobian regularization (`JacobianRegularizer`), Hoffman, Roberts & Yaida 2019.
"""
from .jr import JacobianRegularizer, apply_stq, layer_names, make_regularizer, to_q8

__all__ = ["JacobianRegularizer", "apply_stq", "layer_names", "make_regularizer", "to_q8"]
