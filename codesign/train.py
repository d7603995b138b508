"""Training loop shared by every model and hardening step.

QKeras' stochastic quantizers (``stochastic_ternary``) switch on Keras' *learning phase*, not on
``training=``: ``model.fit`` leaves them deterministic. This loop therefore runs each step inside
``learning_phase_scope(1)`` when ``stochastic`` is on, so STQ is really stochastic while training,
and inference (``model.predict``, extraction) stays deterministic. tests/test_train.py checks both.

PGD adversarial training (Madry et al. 2018), ``adversarial=`` / config ``train.adversarial``: for
every batch, an L-inf PGD attack on the model input (reals p/256, clipped to [0, 255/256] like the
attacks of codesign/robustness.py) starts at a uniformly random point of the eps-ball and takes
`steps` signed-gradient steps of ``step_ratio * eps`` on the cross-entropy, each projected back onto
the ball and the pixel range. The examples are made inside the same traced step and the same
learning-phase scope as the weight update (so a stochastic-ternary layer is attacked as it trains);
they are constants for the update. The loss is ``(1 - mix) * CE(clean) + mix * CE(adversarial)``
plus the regularizer's penalty (taken on the clean batch) and the layers' own penalties. With
``warmup: N`` epsilon grows linearly from eps/N in the first epoch to eps at epoch N.
"""
from __future__ import annotations

import numpy as np

from .config_schema import Adversarial, Finetune, Train, validate_block
from .data import to_model_input

INPUT_MAX = 255.0 / 256.0  # largest model input: uint8 255 -> 255/256 (data.to_model_input)

# train.adversarial's keys, defaults and bounds: codesign/config_schema.py `Adversarial` (the defaults also here)
ADVERSARIAL_DEFAULTS = Adversarial().model_dump()


def warmup_factor(epoch: int, warmup: int) -> float:
    """Linear warm-up: epoch/warmup in epoch `epoch` (1-based) of the first `warmup` epochs, then 1
    (always 1 when `warmup` is 0). Shared by PGD training's epsilon and the JR lambdas."""
    return 1.0 if warmup <= 0 else min(1.0, epoch / warmup)


def epsilon_at(adv: dict, epoch: int) -> float:
    """Training epsilon in epoch `epoch` (1-based): linear warm-up over `warmup` epochs, then constant."""
    return adv["epsilon"] * warmup_factor(epoch, adv["warmup"])


def linf_pgd(loss_of, x, eps, steps: int, step):
    """L-inf PGD on model inputs: a uniformly random start in the eps-ball around x, then `steps`
    signed-gradient steps of size `step` up `loss_of(x')`, each projected back onto the ball and the
    pixel range [0, INPUT_MAX]. The result carries no gradient (a constant for the weight update).
    Shared by PGD adversarial training and the distillation inputs (codesign/techniques/stq_jr/distill.py)."""
    import tensorflow as tf

    lo, hi = tf.maximum(x - eps, 0.0), tf.minimum(x + eps, INPUT_MAX)
    xa = tf.clip_by_value(x + tf.random.uniform(tf.shape(x), -eps, eps), lo, hi)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(xa)
            loss = loss_of(xa)
        xa = tf.clip_by_value(xa + step * tf.sign(tape.gradient(loss, xa)), lo, hi)
    return tf.stop_gradient(xa)


def train_model(model, x_uint8, y, epochs=10, batch_size=64, learning_rate=1e-3, seed=0, stochastic=True,
                progress=None, regularizer=None, adversarial=None, warm_up=True, ema=None, batch_hook=None):
    """Adam on softmax cross-entropy of the logits; returns per-epoch mean loss.

    `regularizer` (optional, e.g. `codesign.techniques.stq_jr.train.JacobianRegularizer`) is called as
    ``logits, penalty, terms = regularizer(model, xb)`` in place of the plain forward pass, inside the
    same learning-phase scope; the loss becomes cross-entropy + penalty, the penalty times
    ``regularizer.scale_at(epoch)`` (its lambda warm-up) when `warm_up` is on, else in full.

    `adversarial` (optional, a `train.adversarial` mapping, see ADVERSARIAL_DEFAULTS): PGD adversarial
    training as described in the module docstring.

    `ema` (optional momentum, config `train.ema`): Keras' optimizer keeps an exponential moving average
    of every trainable variable, and the model ends on those averages. With stochastic ternary kernels
    the deployed (deterministic) quantizer then rounds averaged float weights rather than the last
    step's, which are moved by the noise of sampled-weight gradients.

    `batch_hook` (optional): called with each batch's labels before its step, returns the labels to
    train on (lock training, codesign/techniques/lock/train.py, gates the batch and relabels its unlocked part).
    """
    import tensorflow as tf
    from tensorflow import keras

    adv = validate_block(Adversarial, adversarial, "adversarial")
    tf.keras.utils.set_random_seed(seed)
    if ema is not None:
        ema = validate_block(Train, {"ema": ema}, "train")["ema"]
    opt = keras.optimizers.Adam(learning_rate, use_ema=ema is not None, ema_momentum=ema or 0.99)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x = to_model_input(x_uint8)
    y = np.asarray(y, dtype=np.int64)

    def pgd(xb, yb, eps):
        return linf_pgd(lambda xa: loss_fn(yb, model(xa, training=True)), xb, eps, adv["steps"],
                        adv["step_ratio"] * eps)

    def forward(xb, yb, x_adv, jr_scale):
        penalty = 0.0
        if regularizer is None:
            clean = loss_fn(yb, model(xb, training=True)) if not adv or adv["mix"] < 1 else 0.0
        else:
            logits, penalty, _ = regularizer(model, xb)
            penalty = jr_scale * penalty
            clean = loss_fn(yb, logits)
        if adv:
            loss = (1.0 - adv["mix"]) * clean + adv["mix"] * loss_fn(yb, model(x_adv, training=True)) + penalty
        else:
            loss = clean + penalty
        if model.losses:  # layer penalties (add_loss), e.g. KronDense sparsity and conditioning
            loss = loss + tf.add_n(model.losses)
        return loss

    def update(xb, yb, eps, jr_scale):
        x_adv = pgd(xb, yb, eps) if adv else None  # outside the weight tape: nothing of the attack is recorded
        with tf.GradientTape() as tape:
            loss = forward(xb, yb, x_adv, jr_scale)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function
    def step(xb, yb, eps, jr_scale):
        if stochastic:
            with keras.backend.learning_phase_scope(1):
                return update(xb, yb, eps, jr_scale)
        return update(xb, yb, eps, jr_scale)

    rng = np.random.default_rng(seed)
    history = []
    for epoch in range(epochs):
        eps = tf.constant(epsilon_at(adv, epoch + 1) if adv else 0.0, tf.float32)
        jr_scale = tf.constant(regularizer.scale_at(epoch + 1) if regularizer is not None and warm_up else 1.0,
                               tf.float32)
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            yb = y[idx] if batch_hook is None else batch_hook(y[idx])
            losses.append(float(step(x[idx], yb, eps, jr_scale)))
        history.append(float(np.mean(losses)))
        if progress:
            progress(epoch + 1, epochs, history[-1])
    if ema is not None:
        opt.finalize_variable_values(model.trainable_variables)
    return history


def train_from_config(model, x_uint8, y, t: dict, seed: int, stochastic: bool, regularizer=None, progress=None,
                      batch_hook=None):
    """The `train:` recipe of a config: the main phase, then the optional deterministic fine-tune.

    `train.finetune` adds a last phase at its own learning rate with stochastic quantizers in their
    deterministic (deployed) form: STQ is trained stochastically, but what is attacked and deployed
    is the deterministic ternary network, so the last epochs fit and regularize exactly that network
    (bench/stq_jr_sweep.py measures what this adds). Float and 8-bit models run the same phase (for
    them it is only more epochs at a lower learning rate), so variants stay trained the same way.
    Returns the per-epoch losses of both phases.
    """
    kw = dict(batch_size=t["batch_size"], regularizer=regularizer, adversarial=t.get("adversarial"), ema=t.get("ema"),
              batch_hook=batch_hook)
    history = train_model(model, x_uint8, y, epochs=t["epochs"], learning_rate=t["learning_rate"], seed=seed,
                          stochastic=stochastic, progress=progress, **kw)
    ft = validate_block(Finetune, t.get("finetune"), "train.finetune")
    if ft and ft["epochs"]:
        total = t["epochs"] + ft["epochs"]
        history += train_model(model, x_uint8, y, epochs=ft["epochs"], learning_rate=ft["learning_rate"],
                               seed=seed + 1, stochastic=False, warm_up=False, **kw,
                               progress=progress and (lambda e, n, l: progress(t["epochs"] + e, total, l)))
    return history


def keras_accuracy(model, x_uint8, y) -> float:
    logits = model.predict(to_model_input(x_uint8), batch_size=500, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(y)))
