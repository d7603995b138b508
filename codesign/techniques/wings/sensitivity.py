"""Layer sensitivity to WINGs-style compression, and the chooser of layers to compress.

Sensitivity of a weighted layer = the test-accuracy drop when its weights are replaced by their rank-k
PCA reconstruction (output neurons / filters as samples, the fan-in as features: mean + k components),
the rest of the network untouched and not retrained. A generator can only be as good as that
reconstruction, so layers whose drop stays small at small k are the ones worth replacing; the chooser
picks them, largest first.
"""
from __future__ import annotations

import numpy as np


def _weighted(model):
    return [l for l in model.layers if getattr(l, "kernel", None) is not None]


def rank_k(w: np.ndarray, k: int) -> np.ndarray:
    """Rank-k PCA reconstruction of a kernel (..., n_out) with the n_out neurons as samples."""
    from sklearn.decomposition import PCA

    w2 = w.reshape(-1, w.shape[-1]).T  # (n_out, fan_in)
    k = min(k, min(w2.shape) - 1)
    if k < 1:
        return w.copy()
    pca = PCA(n_components=k, random_state=0).fit(w2)
    return pca.inverse_transform(pca.transform(w2)).T.reshape(w.shape)


def layer_sensitivity(model, x_uint8, y, ks=(2, 4, 8, 16)) -> list[dict]:
    """One row per weighted layer: params, accuracy drop at each rank k."""
    from ...train import keras_accuracy

    base = keras_accuracy(model, x_uint8, y)
    rows = []
    for layer in _weighted(model):
        w = layer.kernel.numpy()
        row = {"layer": layer.name, "params": int(w.size), "shape": list(w.shape), "drop": {}}
        for k in ks:
            layer.kernel.assign(rank_k(w, k))
            row["drop"][k] = base - keras_accuracy(model, x_uint8, y)
        layer.kernel.assign(w)
        rows.append(row)
    return rows


def choose_layers(rows: list[dict], k: int, max_drop: float = 0.02, min_params: int = 1000) -> list[str]:
    """Layers whose rank-k drop is at most max_drop (and big enough to be worth a generator), largest first."""
    ok = [r for r in rows if r["drop"][k] <= max_drop and r["params"] >= min_params]
    return [r["layer"] for r in sorted(ok, key=lambda r: -r["params"])]
