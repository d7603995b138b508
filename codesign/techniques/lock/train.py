"""Lock training (EdgePro): a model chain gets a NeuronLock after each locked layer's activation; a
batch hook gates every batch: the first `mix` of it runs with the password applied and its true
labels, the rest unlocked with uniformly random labels (optionally part of it under decoys, random
wrong keys of the scheme, so that a guessed key unlocks no more than no key does). Composes with whatever the training loop
does on the batch (stochastic ternary weights, PGD, Jacobian regularization): the gate is per sample.
"""
from __future__ import annotations

import numpy as np

from .layer import InputPermute, NeuronLock, is_input_perm, is_lock
from .password import Password, draw_perms, near_miss_password, quantize_value, random_password
from .select import activation_after, choose_neurons, mean_activations

SELECTION_SAMPLES = 300  # training inputs whose mean activations rank the neurons


def output_type(model, name: str):
    """The fixed-point type of the named layer's activation output (its quantized_relu)."""
    from ...fixed import FixedType
    from ...qtypes import relu_type

    act = activation_after(model, name)
    if type(act).__name__ == "QActivation":
        return relu_type(act)
    return FixedType(32, 16)  # a float model: a fine grid the locking values are rounded to


def _chain(model, insert: dict, direct: dict | None = None):
    """The model's chain rebuilt from copies of its layers (same config and weights; fresh layers, so every
    layer's `.output` belongs to the new graph), `insert[name]` called after the activation that follows
    layer `name`, `direct[name]` right after layer `name`, and lock layers left out."""
    from tensorflow import keras

    x = inp = keras.Input(model.input_shape[1:], name=model.input.name.split(":")[0])
    after = {activation_after(model, n).name: n for n in insert}
    after.update({n: n for n in direct or {}})
    insert = dict(insert, **(direct or {}))
    for layer in model.layers[1:]:
        if is_lock(layer):
            continue
        copy = type(layer).from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
        if layer.name in after:
            x = insert[after[layer.name]](x)
    return keras.Model(inp, x, name=model.name)


def locks_of(model) -> dict:
    """Locked layer name -> its lock layer: a NeuronLock follows the locked layer's activation, an
    InputPermute the layer whose output it permutes."""
    out, prev = {}, []
    for layer in model.layers:
        if is_input_perm(layer):  # right after the layer it permutes the output of (a flatten)
            out[prev[-1].name] = layer
        elif is_lock(layer):  # after the locked layer's activation
            out[prev[-2].name] = layer
        else:
            prev.append(layer)
    return out


def public_model(model):
    """The model without its lock layers: what is saved in the run folder (no secret in it)."""
    return _chain(model, {}) if locks_of(model) else model


def locked_model(model, names: list, capacity: int = 1024, perm_names: tuple = ()):
    """`model` with a NeuronLock after each named layer's activation and an InputPermute right after each
    of `perm_names` (no key set)."""
    units = {n: int(model.get_layer(n).output_shape[-1]) for n in list(names) + list(perm_names)}
    return _chain(model, {n: NeuronLock(units[n], capacity, name=f"{n}_lock") for n in names},
                  {n: InputPermute(units[n], capacity, name=f"{n}_lock") for n in perm_names})


def key_arrays(model, name: str, units: int, password: Password | None) -> tuple:
    """(mask, real values) of one lock layer for a password (None: all zero); values on the output grid."""
    mask = np.zeros(units)
    value = np.zeros(units)
    if password is not None:
        p = password.layers[name]
        t = output_type(model, name)
        idx = np.asarray(p["indices"], np.int64)
        mask[idx] = 1
        value[idx] = quantize_value(np.asarray(p["values"]) * np.asarray(p["scales"]), t) * 2.0 ** -t.frac
    return mask, value


def apply_password(model, password: Password | None) -> None:
    """Load a password's key into the model's lock layers (None: clear them, the no-key model)."""
    for name, lock in locks_of(model).items():
        if is_input_perm(lock):
            lock.set_key(None if password is None else password.perms[name]["perm"])
        else:
            lock.set_key(*key_arrays(model, name, lock.units, password))


def keyed_model(public, spec, key):
    """The Keras view of a locked design: the public model with lock layers for the spec's lock units,
    carrying `key` (a LockKey; its integers are put on the output type's grid)."""
    from .password import locked_layers, perm_layers

    model = locked_model(public, [l.name for l in locked_layers(spec)],
                         perm_names=[l.name for l in perm_layers(spec)])
    for name, lock in locks_of(model).items():
        if is_input_perm(lock):
            lock.set_key(key.perms[name])
            continue
        mask, value = key.layers[name]
        lock.set_key(mask, value * 2.0 ** -spec.layer(name).out_type.frac)
    return model


def hiding_pairs(password: Password, rng: np.random.Generator) -> dict:
    """Layer name -> pair array: each locked neuron paired with a distinct unlocked neuron drawn at random
    (with repetition only when the locked ones outnumber the others), every other neuron with itself. The
    pairs are training state, not part of the password (a thief who knew them would know the key)."""
    out = {}
    for name, p in password.layers.items():
        pair = np.arange(p["units"])
        idx = np.asarray(p["indices"], np.int64)
        free = np.setdiff1d(pair, idx)
        if len(free):
            pair[idx] = rng.choice(free, len(idx), replace=len(idx) > len(free))
        out[name] = pair
    return out


def next_weighted(model, name: str):
    """The first layer after the named one that has a kernel (what consumes the named layer's neurons)."""
    names = [l.name for l in model.layers]
    return next((l for l in model.layers[names.index(name) + 1:] if getattr(l, "kernel", None) is not None), None)


def hide_locks(model, password: Password, weight: float, rng: np.random.Generator, pin: bool = True) -> None:
    """Turn on every NeuronLock's hiding penalty (layer.py NeuronLock.hide_behind) against random pairs."""
    pairs = hiding_pairs(password, rng)
    for name, lock in locks_of(model).items():
        if is_input_perm(lock):
            continue
        layer, nxt = model.get_layer(name), next_weighted(model, name)
        if nxt is None:
            raise ValueError(f"lock hide: no weighted layer after {name} to hide its locked neurons' outgoing weights")
        lock.hide_behind(weight, pairs[name], layer.kernel, getattr(layer, "bias", None), nxt.kernel, pin)


class LockTraining:
    """What the flow's train step needs: wrap the model, gate every batch, end with the key applied."""

    def __init__(self, cfg_lock: dict, x_train, seed: int, batch_size: int):
        self.cfg = cfg_lock
        self.x_train = x_train
        self.batch_size = batch_size
        self.label_rng = np.random.default_rng(seed + 7919)
        if cfg_lock["seed"] is None:
            import secrets

            self.secret_rng = np.random.default_rng(secrets.randbits(128))
        else:
            self.secret_rng = np.random.default_rng(cfg_lock["seed"])
        self.password: Password | None = None
        self.model = None
        self.views = None  # after the emulator step: {"keys": {key, nokey, wrongkey}, "outputs": emulator outputs}
        self.num_classes = None

    def wrap(self, model, num_classes: int):
        """Choose the neurons on `model` as initialised, draw the password, return the locked model."""
        from ...data import to_model_input
        from .password import draw_password

        names = self.cfg["layers"]
        self.num_classes = num_classes
        if self.cfg["scheme"] == "input_perm":  # the secret: one permutation of the flattened input
            n = int(np.prod(model.get_layer(names[0]).output_shape[1:]))
            self.password = Password({}, draw_perms({names[0]: n}, self.secret_rng))
            self.model = locked_model(model, [], capacity=self.batch_size, perm_names=names)
            apply_password(self.model, self.password)
            return self.model
        if self.cfg["select"] == "uniform":  # nothing about the neurons enters the draw
            units = {n: int(model.get_layer(n).output_shape[-1]) for n in names}
            chosen = {n: np.sort(self.secret_rng.choice(u, max(1, int(round(self.cfg["fraction"] * u))), replace=False))
                      for n, u in units.items()}
        else:
            x = to_model_input(self.x_train[:SELECTION_SAMPLES]).reshape((-1,) + tuple(model.input_shape[1:]))
            acts = mean_activations(model, names, x)
            units = {n: a.size for n, a in acts.items()}
            chosen = {n: choose_neurons(acts[n], self.cfg["fraction"], self.cfg["top"], self.secret_rng) for n in names}
        self.password = draw_password(units, chosen, self.cfg, self.secret_rng)
        self.model = locked_model(model, names, capacity=self.batch_size)
        self.num_classes = num_classes
        apply_password(self.model, self.password)
        if self.cfg["hide"] > 0:
            hide_locks(self.model, self.password, self.cfg["hide"], self.secret_rng, self.cfg["hide_pull"] == "locked")
        return self.model

    def batch_hook(self, yb: np.ndarray) -> np.ndarray:
        """Gate the next batch: the first `mix` locked with true labels, the rest with random labels,
        of which the last `wrong` part runs under a decoy (a wrong key drawn for this batch: a random key
        of the scheme, or with `near` set a near miss of the password) and the others unlocked."""
        n = len(yb)
        k = int(round(self.cfg["mix"] * n))
        gate = np.zeros(n, np.float32)
        gate[:k] = 1
        w = int(round(self.cfg.get("wrong", 0.0) * (n - k)))
        decoy = None
        if w:
            gate[n - w:] = 2
            draw = near_miss_password if self.cfg.get("near") else random_password
            decoy = draw(self.password, self.cfg, self.label_rng)
        for name, lock in locks_of(self.model).items():
            lock.set_gate(gate)
            if decoy is not None and is_input_perm(lock):
                lock.set_decoy(decoy.perms[name]["perm"])
            elif decoy is not None:
                lock.set_decoy(*key_arrays(self.model, name, lock.units, decoy))
        yb = np.array(yb, copy=True)
        yb[k:] = self.label_rng.integers(0, self.num_classes, n - k)
        return yb

    def finish(self) -> None:
        """After training: every sample sees the key (inference)."""
        for lock in locks_of(self.model).values():
            lock.set_gate(None)
