"""STQ + JR's training hook: per-layer Jacobian regularization (config `harden.jr`).

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

from ...errors import ConfigError

LOGITS = "logits"
ACTIVATIONS = ("QActivation", "ReLU", "Activation")


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
        from ...train import warmup_factor

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
