"""The dense reference of a Kronecker network: the same layer list with every ``kron_dense`` layer an
ordinary ``dense`` layer of its units, factor quantizer (as the kernel's) and bias.

Why: the Kronecker example is judged against this network (bench/robustness_kron_dense_reference.yaml
writes it out by hand), and it is the teacher of `harden.distill` with ``teacher: dense``
(codesign/techniques/stq_jr/distill.py): a Kronecker student learns the dense network's soft labels
on perturbed inputs, the function the 190x smaller factors are meant to approximate.
"""
from __future__ import annotations

import copy

from ...kinds.kron_dense import BIAS_QUANTIZER, FACTOR_QUANTIZER


def dense_twin(layers: list) -> list:
    """`layers` with each ``kron_dense: {in_factors, out_factors, kernel, bias, ...}`` replaced by
    ``dense: {units: m2 * m1, kernel, bias}`` (rank, sparsity and condition have no dense meaning);
    every other entry is copied as written."""
    out = []
    for entry in layers:
        (kind, args), = entry.items()
        if kind != "kron_dense":
            out.append(copy.deepcopy(entry))
            continue
        m2, m1 = args["out_factors"]
        dense = {"units": int(m2) * int(m1), "kernel": copy.deepcopy(args.get("kernel", FACTOR_QUANTIZER)),
                 "bias": copy.deepcopy(args.get("bias", BIAS_QUANTIZER))}
        if "name" in args:
            dense["name"] = args["name"]
        out.append({"dense": dense})
    return out
