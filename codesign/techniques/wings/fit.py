"""The WINGs fit of a trained dense layer: PCA basis + neuron-order permutation + one RBF SVR per component.

Formulation (measured against the alternatives in bench/wings_mlp.py):

1. PCA (scikit-learn) of the layer's weights with the N neurons as samples: W^T ~ mean + C V, V the
   first K-1 principal directions (images over the n_in inputs), C (N x K-1) the coefficients.
   The mean image is generator component 0 with a constant curve (SVR intercept 1, no support vectors).
2. Neuron order: the hidden neurons can be listed in any order as long as the next layer's input rows
   follow, so they are ordered to make the coefficient curves C[:, k] over the neuron index smooth:
   a greedy nearest-neighbour chain through the coefficient vectors (each coordinate weighted by its
   explained variance), started at the neuron with the smallest first coefficient.
3. SVR (scikit-learn, RBF kernel exp(-gamma (j - j')^2), gamma = 1 / (2 coef_sigma^2)): for each
   component k the input is the neuron position j in that order, the target the coefficient C[j, k].
   Its support vectors sv_k, dual coefficients alpha_k and intercept beta_k are the stored curve.
   epsilon grows until at most ``centres`` support vectors remain.
4. Basis images: stored, or least-squares fits of RBF expansions over a gr x gc pixel grid.
5. Per component the basis is scaled to fill its fixed-point type and the curve by the inverse.
6. Optional fine-tune: the `WingsDense` generator (warm-started with the above) and every other layer
   are trained together, in fixed point, for ``finetune_epochs``.
"""
from __future__ import annotations

import numpy as np

from .layer import WingsDense, fixed_types, grid_centres, kernel_matrix, lut


def neuron_order(coef: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Greedy nearest-neighbour chain through the rows of coef (N x k), weighted per column."""
    c = coef * (weights if weights is not None else 1.0)
    n = len(c)
    left = np.ones(n, bool)
    cur = int(np.argmin(c[:, 0]))
    order = [cur]
    left[cur] = False
    for _ in range(n - 1):
        d = np.where(left, ((c - c[cur]) ** 2).sum(1), np.inf)
        cur = int(np.argmin(d))
        order.append(cur)
        left[cur] = False
    return np.asarray(order)


def svr_curve(y: np.ndarray, sigma: float, max_sv: int, c_reg: float | None = None):
    """RBF SVR of y over j = 0..N-1 with at most max_sv support vectors: (sv, alpha, beta, fit)."""
    from sklearn.svm import SVR

    j = np.arange(len(y), dtype=np.float64).reshape(-1, 1)
    scale = float(np.std(y)) or 1.0
    c_reg = c_reg if c_reg is not None else 10.0 * scale
    for eps_rel in (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7, 2.2, 3.0):
        m = SVR(kernel="rbf", gamma=1.0 / (2 * sigma ** 2), C=c_reg, epsilon=eps_rel * scale).fit(j, y)
        if len(m.support_) <= max_sv:
            break
    sv, alpha = m.support_.astype(np.int64), m.dual_coef_.ravel()
    if len(sv) > max_sv:  # keep the largest |alpha| if even the widest tube has too many
        keep = np.argsort(-np.abs(alpha))[:max_sv]
        sv, alpha = sv[keep], alpha[keep]
    return sv, alpha, float(m.intercept_[0]), m.predict(j)


def fit_generator(w: np.ndarray, components: int = 16, centres: int = 32, coef_sigma: float = 4.0,
                  basis_grid=(14, 14), in_hw=(28, 28), pixel_sigma: float = 1.0, types=None, permute: bool = True):
    """Generator parameters (floats, WingsDense variable layout) approximating w (n_in x N) + the order."""
    from sklearn.decomposition import PCA

    n_in, n = w.shape
    t = fixed_types(types)
    pca = PCA(n_components=components - 1, random_state=0).fit(w.T)
    coef = pca.transform(w.T)  # (N, K-1)
    order = neuron_order(coef, np.sqrt(pca.explained_variance_ratio_)) if permute else np.arange(n)
    coef = coef[order]
    basis = np.vstack([pca.mean_[None, :], pca.components_])  # (K, n_in)
    curves = np.vstack([np.ones((1, n)), coef.T])  # (K, N)
    if basis_grid:  # least-squares RBF expansion of each basis image over the pixel grid
        h, wd = in_hw
        plut = lut(pixel_sigma, t["lut"], max(in_hw)) / 2.0 ** t["lut"].frac
        pr = kernel_matrix(plut, grid_centres(h, basis_grid[0]), h)  # (gr, H)
        pc = kernel_matrix(plut, grid_centres(wd, basis_grid[1]), wd)  # (gc, W)
        b3 = basis.reshape(components, h, wd)
        z = np.einsum("ra,krc,cb->kab", np.linalg.pinv(pr), b3, np.linalg.pinv(pc))
        basis = np.einsum("ar,kab,bc->krc", pr, z, pc).reshape(components, n_in)
    # scale each component so its basis fills 90% of the basis type, its curve by the inverse
    s = 0.9 * t["basis"].qmax / 2.0 ** t["basis"].frac / np.maximum(np.abs(basis).max(1), 1e-12)
    basis, curves = basis * s[:, None], curves / s[:, None]
    out = {"basis": basis, "order": order, "sv": [], "alpha": [], "beta": [], "fit_curves": []}
    if basis_grid:
        out["z"] = z * s[:, None, None]
    klut = lut(coef_sigma, t["lut"], n) / 2.0 ** t["lut"].frac
    for k in range(components):
        if k == 0:  # the mean: constant curve
            sv, alpha, beta, fit = np.zeros(0, np.int64), np.zeros(0), float(curves[0, 0]), curves[0]
        else:
            sv, alpha, beta, fit = svr_curve(curves[k], coef_sigma, centres)
        # the stored kernel is the quantized LUT: refit alpha, beta by least squares on it (same sv)
        if len(sv):
            kc = kernel_matrix(klut, sv, n).T  # (N, S)
            a = np.linalg.lstsq(np.hstack([kc, np.ones((n, 1))]), curves[k], rcond=None)[0]
            alpha, beta = a[:-1], a[-1]
            fit = kc @ alpha + beta
        pad = centres - len(sv)
        out["sv"].append(np.concatenate([sv, np.zeros(pad, np.int64)]))
        out["alpha"].append(np.concatenate([alpha, np.zeros(pad)]))
        out["beta"].append(beta)
        out["fit_curves"].append(fit)
    for key in ("sv", "alpha", "beta", "fit_curves"):
        out[key] = np.asarray(out[key])
    out["curves"] = curves
    out["explained_variance"] = float(pca.explained_variance_ratio_.sum())
    out["curve_r2"] = float(1 - ((curves - out["fit_curves"]) ** 2).sum() / ((curves - curves.mean(1, keepdims=True)) ** 2).sum())
    return out


def wings_model_from_dense(model, layer_name: str, fit: dict, wings_args: dict):
    """A copy of `model` (QKeras/Keras Sequential-style chain) with `layer_name` replaced by WingsDense.

    The WingsDense is initialised from `fit`; the replaced layer's bias and the next weighted layer's
    input rows are permuted to the fitted neuron order, every other layer keeps its weights.
    """
    from tensorflow import keras

    order = fit["order"]
    x = inp = keras.Input(model.input_shape[1:], name="input")
    after, new_layer, permuted = False, None, False
    for layer in model.layers[1:]:
        if layer.name == layer_name:
            new_layer = WingsDense(layer.units, name=layer.name, **wings_args)
            x = new_layer(x)
            new_layer.set_weights(_wings_weights(new_layer, fit, layer.get_weights()[1][order]))
            after = True
            continue
        clone = layer.__class__.from_config(layer.get_config())
        x = clone(x)
        weights = layer.get_weights()
        if after and not permuted and weights:
            weights[0] = weights[0][order]
            permuted = True
        clone.set_weights(weights)
    return keras.Model(inp, x, name=model.name)


def _wings_weights(layer: WingsDense, fit: dict, bias: np.ndarray) -> list:
    """Values for layer.get_weights() order, from a fit."""
    values = {"sv": fit["sv"], "klut": layer.klut, "alpha": fit["alpha"], "beta": fit["beta"], "bias": bias}
    if layer.basis_grid:
        values.update(plut=layer.plut, prow=grid_centres(layer.in_hw[0], layer.basis_grid[0]),
                      pcol=grid_centres(layer.in_hw[1], layer.basis_grid[1]), z=fit["z"])
    else:
        values["basis"] = fit["basis"]
    return [np.asarray(values[v.name.split("/")[-1].split(":")[0]], np.float32) for v in layer.weights]
