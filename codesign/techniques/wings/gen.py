"""The WINGs weight generator in integers: the reference every view reproduces (emulator kernel ``wings_gen``).

Stages (types from the spec layer; every cast is `fixed.cast`, round half to even + saturate):

1. curve[k, j] = cast( sum_s alpha[k, s] * klut[|j - sv[k, s]|] + beta[k],  curve )
2. basis[k, r*W + c] = cast( sum_{a,b} plut[|r - prow[a]|] * z[k, a, b] * plut[|c - pcol[b]|],  basis )
   (or the stored ``basis`` parameter)
3. w[i, j] = cast( sum_k basis[k, i] * curve[k, j],  weight )

Sums are exact int64 (bounds checked); a table read beyond its length is 0.
"""
from __future__ import annotations

import numpy as np

from ...fixed import cast
from ...spec import Layer


def table_matrix(table: np.ndarray, centres: np.ndarray, size: int) -> np.ndarray:
    """M[..., p] = table[|p - centre|], 0 where the distance is past the table's end."""
    table = np.asarray(table, np.int64)
    d = np.abs(np.arange(size, dtype=np.int64) - np.asarray(centres, np.int64)[..., None])
    return np.where(d < len(table), table[np.minimum(d, len(table) - 1)], 0)


def _check_int64(*bounds) -> None:
    if max(bounds) >= 2 ** 62:
        raise OverflowError("WINGs generator sum could exceed int64; narrow the generator types")


def curves_int(layer: Layer) -> np.ndarray:
    p, t = layer.params, layer.types
    n = layer.output_shape[-1]
    kc = table_matrix(p["klut"], p["sv"], n)  # (K, S, N)
    frac = t["alpha"].frac + t["lut"].frac
    a = p["alpha"].astype(np.int64)
    _check_int64(a.shape[1] * max(abs(t["alpha"].qmin), t["alpha"].qmax) * t["lut"].qmax)
    acc = np.einsum("ks,ksj->kj", a, kc)
    bshift = frac - t["beta"].frac
    beta = p["beta"].astype(np.int64)
    acc = (acc + (beta << bshift)[:, None]) if bshift >= 0 else ((acc << -bshift) + beta[:, None])
    return cast(acc, max(frac, t["beta"].frac), t["curve"])


def basis_int(layer: Layer) -> np.ndarray:
    p, t = layer.params, layer.types
    if "basis" in p:
        return p["basis"].astype(np.int64)
    h, w = layer.attrs["in_hw"]
    pr = table_matrix(p["plut"], p["prow"], h)  # (gr, H)
    pc = table_matrix(p["plut"], p["pcol"], w)  # (gc, W)
    z = p["z"].astype(np.int64)
    _check_int64(z.shape[1] * z.shape[2] * max(abs(t["z"].qmin), t["z"].qmax) * t["lut"].qmax ** 2)
    acc = np.einsum("ar,kab,bc->krc", pr, z, pc, optimize=True)
    return cast(acc.reshape(z.shape[0], h * w), t["z"].frac + 2 * t["lut"].frac, t["basis"])


def generate_int(layer: Layer) -> np.ndarray:
    """The layer's integer weight matrix (n_in x N) in its ``weight`` type."""
    t = layer.types
    b, c = basis_int(layer), curves_int(layer)
    bmax, cmax = max(abs(t["basis"].qmin), t["basis"].qmax), max(abs(t["curve"].qmin), t["curve"].qmax)
    if b.shape[0] * bmax * cmax < 2 ** 53:  # exact in float64 BLAS
        acc = (b.T.astype(np.float64) @ c.astype(np.float64)).astype(np.int64)
    else:
        acc = b.T @ c
    return cast(acc, t["basis"].frac + t["curve"].frac, t["weight"])
