"""Stochastic ternary quantization + per-layer Jacobian regularization.

Jacobian regularization (Hoffman, Roberts & Yaida 2019, "Robust learning with Jacobian
regularization") adds ``lambda/2 * ||J||_F^2`` to the loss, with the squared Frobenius norm of the
Jacobian estimated by random unit projections: for v uniform on the unit sphere of the output space
(dimension C), ``E[C * ||v^T J||^2] = ||J||_F^2``, and ``v^T J`` is one vector-Jacobian product.

Here it is applied per layer: for each chosen dense/conv2d layer, J is the Jacobian of the layer's
output with respect to its input, with its own lambda, where the layer's output is taken after the
activation that directly follows it (the design spec fuses that activation into the layer too), so
J = diag(relu') W. The name ``logits`` means the whole model, input to logits (the original paper's
term). An activation alone is refused: its Jacobian is a 0/1 mask, piecewise constant in every
weight, so its penalty has zero gradient and would silently do nothing. Jacobians go through QKeras' straight-through estimators, so
the penalty also shapes stochastic-ternary and quantized-activation layers. The regularized model is
an ordinary (Q)Keras model: nothing is added to the graph, so `extract_spec` takes it as is.
"""
from __future__ import annotations

import copy
import numbers

from ..errors import ConfigError
from ..models import layer_names, model_layers, stq_kinds

LOGITS = "logits"
WEIGHTED = stq_kinds()  # config layers with a kernel quantizer: dense, conv2d (codesign/kinds)
ACTIVATIONS = ("QActivation", "ReLU", "Activation")
# harden.jr.jacobian_of: whose Jacobian is penalized while stochastic quantizers train: `sampled`, the
# network with this step's sampled weights (one pass for loss and penalty), or `deployed`, the
# deterministic network the design deploys (a second pass; the loss stays on the sampled one)
JACOBIAN_OF = ("sampled", "deployed")


def _weighted_names(layers: list) -> list[str]:
    return [n for n, e in zip(layer_names(layers), layers) if next(iter(e)) in WEIGHTED]


def apply_stq(layers: list, stq) -> list:
    """The layer list with stochastic_ternary kernels on the layers `harden.stq.layers` names.

    ``stq: null`` leaves the list as written; ``stq: {layers: all}`` makes every dense/conv kernel
    stochastic ternary except the last layer's; ``stq: {layers: [dense_1, ...]}`` names them.
    """
    if not stq:
        return layers
    out = copy.deepcopy(layers)
    names = layer_names(out)
    weighted = _weighted_names(out)
    chosen = stq.get("layers", "all")
    chosen = weighted[:-1] if chosen == "all" else list(chosen)
    for entry, name in zip(out, names):
        (kind, args), = entry.items()
        if name in chosen:
            args["kernel"] = "stochastic_ternary"
    return out


def to_q8(layers: list, bits: int = 8) -> list:
    """The 8-bit twin of a layer list: every ternary or narrower kernel becomes quantized_bits(8, 0)
    (a kernel already 8 bits wide keeps its integer bits), so `q8` is the all-8-bit network."""
    out = copy.deepcopy(layers)
    for entry in out:
        (kind, args), = entry.items()
        kernel = args.get("kernel", "stochastic_ternary")
        config_layer = model_layers().get(kind)
        if config_layer and config_layer.kernel_quantizer and (kernel in ("stochastic_ternary", "ternary") or kernel.get("bits", bits) < bits):
            args["kernel"] = {"bits": bits, "integer": 0}
    return out


def check_harden(harden: dict, layers: list) -> None:
    """Validate `harden:` against the model's layer names; raises ConfigError naming the key."""
    names = layer_names(layers)
    weighted = _weighted_names(layers)
    stq = harden.get("stq")
    if stq is not None:
        if not isinstance(stq, dict) or set(stq) - {"layers"}:
            raise ConfigError(f"harden.stq must be null or a mapping {{layers: all | [layer names]}}, got {stq!r}")
        chosen = stq.get("layers", "all")
        if chosen != "all":
            if not isinstance(chosen, list) or not all(isinstance(n, str) for n in chosen):
                raise ConfigError(f"harden.stq.layers must be `all` or a list of layer names, got {chosen!r}")
            bad = [n for n in chosen if n not in weighted]
            if bad:
                raise ConfigError(f"harden.stq.layers: {bad} are not dense/conv2d layers of the model; "
                                  f"choose from {weighted}")
    jr = harden.get("jr")
    if not isinstance(jr, dict):
        raise ConfigError(f"harden.jr must be a mapping {{layers: {{name: lambda}}, projections: N}}, got {jr!r}")
    lams = jr.get("layers") or {}
    if not isinstance(lams, dict):
        raise ConfigError(f"harden.jr.layers must map layer names (or `logits`) to lambdas, got {lams!r}")
    for name, lam in lams.items():
        if name != LOGITS and name not in weighted:
            what = "an activation/reshaping layer (its Jacobian has no gradient w.r.t. any weight)" \
                if name in names else "not a layer of the model"
            raise ConfigError(f"harden.jr.layers: {name!r} is {what}; choose from {weighted + [LOGITS]} "
                              "(a dense/conv2d layer with its activation, or `logits` = input to logits)")
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or lam < 0:
            raise ConfigError(f"harden.jr.layers.{name}: lambda must be a number >= 0, got {lam!r}")
    p = jr.get("projections")
    if isinstance(p, bool) or not isinstance(p, int) or p < 1:
        raise ConfigError(f"harden.jr.projections must be an integer >= 1, got {p!r}")
    w = jr.get("warmup", 0)
    if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 0:
        raise ConfigError(f"harden.jr.warmup must be an integer number of epochs >= 0, got {w!r}")
    if jr["jacobian_of"] not in JACOBIAN_OF:  # unknown jr keys are refused by the config merge already
        raise ConfigError(f"harden.jr.jacobian_of must be one of {list(JACOBIAN_OF)}, got {jr['jacobian_of']!r}")
    if harden.get("distill") is not None:
        from .distill import check_distill

        harden["distill"] = check_distill(harden["distill"])
        if harden["distill"] and not any(float(v) > 0 for v in lams.values()):
            raise ConfigError("harden.distill needs Jacobian regularization: its teacher is the float + JR model, "
                              "so give harden.jr.layers a lambda > 0 (e.g. {logits: 0.1}) or set distill: null")
    if "wings" in harden:
        from ..wings.harden import check_wings

        harden["wings"] = check_wings(harden["wings"], layers)


class JacobianRegularizer:
    """Forward pass plus ``sum_l lambda_l/2 * ||J_l||_F^2`` (random-projection estimate).

    Called as ``logits, penalty, terms = jr(model, x)`` inside the training tape; the model must be a
    chain of layers (every model `build_model` makes is). `terms` maps each layer to its ||J||_F^2.
    """

    def __init__(self, layers: dict, projections: int = 1, jacobian_of: str = "sampled", warmup: int = 0):
        self.lambdas = {str(k): float(v) for k, v in layers.items() if float(v) > 0}
        self.projections = int(projections)
        self.jacobian_of = jacobian_of
        self.warmup = int(warmup)

    def scale_at(self, epoch: int) -> float:
        """Factor on every lambda in epoch `epoch` (1-based) of the main training phase: a linear
        warm-up over `warmup` epochs (the network first fits the data, then is flattened), then 1."""
        from ..train import warmup_factor

        return warmup_factor(epoch, self.warmup)

    def __bool__(self) -> bool:
        return bool(self.lambdas)

    @staticmethod
    def _chain(model):
        layers = [l for l in model.layers if l.__class__.__name__ != "InputLayer"]
        for prev, layer in zip([None] + layers[:-1], layers):
            inbound = layer.inbound_nodes[0].inbound_layers
            inbound = inbound if isinstance(inbound, list) else [inbound]
            if len(inbound) != 1 or (prev is not None and inbound[0] is not prev):
                raise ConfigError(f"Jacobian regularization needs a chain of layers; {layer.name!r} does not "
                                  "take exactly the previous layer's output")
        return layers

    def __call__(self, model, x):
        """(logits, penalty, terms). With ``jacobian_of: deployed`` the logits come from the sampled
        (stochastic) network as usual, and the Jacobians from a second pass with every stochastic
        quantizer in its deterministic form, i.e. of the network that is deployed."""
        if self.jacobian_of == "deployed":
            from tensorflow import keras

            with keras.backend.learning_phase_scope(0):
                _, penalty, terms = self._jacobians(model, x)
            return model(x, training=True), penalty, terms
        return self._jacobians(model, x)

    def _jacobians(self, model, x):
        import tensorflow as tf

        layers = self._chain(model)
        missing = set(self.lambdas) - {l.name for l in layers} - {LOGITS}
        if missing:
            raise ConfigError(f"harden.jr.layers: {sorted(missing)} not in model {[l.name for l in layers]}")
        ins, outs = {}, {}
        with tf.GradientTape(persistent=True) as inner:
            inner.watch(x)
            h = x
            for layer in layers:
                if layer.name in self.lambdas:
                    inner.watch(h)
                    ins[layer.name] = h
                h = layer(h, training=True)
                outs[layer.name] = h
        ins[LOGITS], outs[LOGITS] = x, h
        for i, layer in enumerate(layers[:-1]):  # a weighted layer's output: after its activation
            if layer.name in self.lambdas and layers[i + 1].__class__.__name__ in ACTIVATIONS:
                outs[layer.name] = outs[layers[i + 1].name]
        penalty = tf.constant(0.0)
        terms = {}
        for name, lam in self.lambdas.items():
            src, out = ins[name], outs[name]
            dim = float(tf.reduce_prod(out.shape[1:]))
            est = tf.constant(0.0)
            for _ in range(self.projections):
                v = tf.random.normal(tf.shape(out))
                v = v / tf.norm(tf.reshape(v, (tf.shape(v)[0], -1)), axis=1)[(...,) + (None,) * (len(out.shape) - 1)]
                vjp = inner.gradient(out, src, output_gradients=v)
                est += dim * tf.reduce_mean(tf.reduce_sum(tf.reshape(vjp, (tf.shape(vjp)[0], -1)) ** 2, axis=1))
            terms[name] = est / self.projections
            penalty += 0.5 * lam * terms[name]
        del inner
        return h, penalty, terms


def make_regularizer(harden: dict | None):
    """The JacobianRegularizer `harden.jr` asks for, or None when no lambda is set."""
    jr = (harden or {}).get("jr") or {}
    reg = JacobianRegularizer(jr.get("layers") or {}, jr.get("projections", 1), jr.get("jacobian_of", "sampled"),
                              jr.get("warmup", 0))
    return reg if reg else None
