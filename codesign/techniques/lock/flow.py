"""The lock's part in `codesign flow` (hooks called from codesign/flow.py, kept here so the flow stays
technique-free): wrap the model before training, seal the password after the spec, measure the
emulator with the key, without it and with random keys, cross-check other views under all three."""
from __future__ import annotations

import numpy as np

from .password import LockKey, check_key, locked_layers, random_password
from .train import LockTraining, apply_password


def start(run) -> LockTraining:
    """Before training: choose neurons, draw the password, put lock layers into run.model."""
    cfg = run.cfg
    lock = LockTraining(cfg["harden"]["lock"], run.data.x_train, cfg["seed"], cfg["train"]["batch_size"])
    run.model = lock.wrap(run.model, run.data.num_classes)
    if lock.password.perms:
        run.log(f"lock: input permutation of the {lock.password.neurons()} outputs of {list(lock.password.perms)} "
                f"(mix {lock.cfg['mix']}, decoys {lock.cfg['wrong']})")
    else:
        run.log(f"lock: {lock.password.neurons()} neurons of {list(lock.password.layers)} locked "
                f"(mix {lock.cfg['mix']}, value {lock.cfg['value']}, scale {lock.cfg['scale']})")
    return lock


def after_train(run) -> None:
    """Gate off, then the Keras accuracies with and without the key (and of the unlocked twin if asked)."""
    from ...train import keras_accuracy

    lock, d = run.lock, run.data
    lock.finish()
    sec = run.section("lock")
    apply_password(run.model, None)
    sec["keras_without_key"] = keras_accuracy(run.model, d.x_test, d.y_test)
    apply_password(run.model, lock.password)
    if lock.cfg["baseline"]:
        from ...models import build_model
        from ...train import train_from_config
        from ...variants import training_regularizer
        from ..stq_jr.layer import apply_stq

        cfg = run.cfg
        layers = apply_stq(cfg["model"]["layers"], cfg["harden"]["stq"])
        twin = build_model(layers, d.input_shape, d.num_classes, quantized=True, seed=cfg["seed"], name="unlocked")
        # trained exactly as the locked model was (the same recipe and regularizer), only without the lock
        jr = training_regularizer(cfg, d, quantized=True, log=run.log, trained=run.variants)
        train_from_config(twin, d.x_train, d.y_train, cfg["train"], cfg["seed"], stochastic=cfg["train"]["stochastic"],
                          regularizer=jr)
        sec["accuracy_unlocked"] = keras_accuracy(twin, d.x_test, d.y_test)
        run.log(f"lock: the same network trained unlocked: {sec['accuracy_unlocked']:.4f}")


def after_spec(run) -> None:
    """Seal the password under the device key with the saved spec's hash (RUN_DIR/lock/password.enc)."""
    from .seal import (
        device_key_path,
        read_device_key,
        seal,
        spec_digest,
        write_device_key,
    )

    path = device_key_path(run.out, run.lock.cfg["device_key"])
    if not path.exists() and run.lock.cfg["device_key"] is None:
        write_device_key(path)
        run.log(f"lock: made device key {path}: it belongs on the device, not with the design")
    seal(run.lock.password, read_device_key(path), spec_digest(run.out / "spec"), run.out / "lock" / "password.enc")


def keyed_outputs(spec, x_int: np.ndarray, keys: list) -> list:
    """Emulator outputs under several keys; the layers up to the first lock unit (that layer's output
    before its unit included: the key acts after it) run once."""
    from ...emulator import KERNELS, Emulator
    from .kernel import lock_unit
    from .password import perm_layers

    if perm_layers(spec):  # the permutation acts before the first layer's products: nothing to share
        return [Emulator(spec, key=key).run_int(x_int) for key in keys]
    first = next(i for i, l in enumerate(spec.layers) if l.attrs.get("lock"))
    q0 = x_int
    for layer in spec.layers[:first + 1]:
        q0 = KERNELS[layer.kind](q0, layer)
    outs = []
    for key in keys:
        q = lock_unit(q0, *key.layers[spec.layers[first].name])
        for layer in spec.layers[first + 1:]:
            q = KERNELS[layer.kind](q, layer)
            if layer.name in key.layers:
                q = lock_unit(q, *key.layers[layer.name])
        outs.append(q)
    return outs


def view_keys(run) -> dict:
    """The keys every view is checked under: the password, no key, one wrong key (seeded by the run)."""
    lock = run.lock
    wrong = random_password(lock.password, lock.cfg, np.random.default_rng(run.cfg["seed"] + 104729))
    return {"key": check_key(run.spec, lock.password), "nokey": LockKey.empty(run.spec),
            "wrongkey": check_key(run.spec, wrong)}


def after_emulator(run) -> None:
    """The report's lock section from the emulator: with/without key, random keys; outputs kept for the
    other views' checks."""
    lock, y = run.lock, run.data.y_test
    keys = view_keys(run)
    outs = dict(zip(keys, keyed_outputs(run.spec, run.x_test_int, list(keys.values()))))
    lock.views = {"keys": keys, "outputs": outs}
    acc = {k: float(np.mean(np.argmax(o, -1) == y)) for k, o in outs.items()}
    rng = np.random.default_rng(run.cfg["seed"] + 15485863)
    n = lock.cfg["random_keys"]
    randoms = [check_key(run.spec, random_password(lock.password, lock.cfg, rng)) for _ in range(n)]
    racc = [float(np.mean(np.argmax(o, -1) == y)) for o in keyed_outputs(run.spec, run.x_test_int, randoms)]
    value_bits = {l.name: (l.out_type.width if lock.cfg["value"][0] != lock.cfg["value"][1]
                           or lock.cfg["scale"][0] != lock.cfg["scale"][1] else 0) for l in locked_layers(run.spec)}
    sec = run.section("lock")
    sec.update(scheme=lock.cfg["scheme"], layers=list(lock.password.layers) + list(lock.password.perms), neurons=lock.password.neurons(),
               key_bits=lock.password.key_bits(value_bits), accuracy_with_key=acc["key"],
               accuracy_without_key=acc["nokey"], accuracy_wrong_key=acc["wrongkey"],
               accuracy_random_key_best=max(racc), accuracy_random_key_mean=float(np.mean(racc)), random_keys=n)
    run.log(f"lock: emulator with key {acc['key']:.4f}, without {acc['nokey']:.4f}, random keys best "
            f"{max(racc):.4f} mean {np.mean(racc):.4f} ({n})")
    if lock.cfg["attacks"]:
        from .attacks import attack_model, lock_report

        out = attack_model(run.model, lock.password, lock.cfg, run.data, run.cfg, lock.cfg["attacks"]["epochs"], n,
                           run.log)
        sec.update({k: v for k, v in lock_report(out).items() if not k.startswith("accuracy_")})


def check_view(run, view: str, outputs_of, samples: int | None = None) -> None:
    """bit_exact.emulator_vs_<view>_{nokey,wrongkey}: `outputs_of(LockKey)` runs the view under a key
    (on the first `samples` test samples; None: all)."""
    be = run.section("bit_exact")
    for name in ("nokey", "wrongkey"):
        out = outputs_of(run.lock.views["keys"][name])
        ref = run.lock.views["outputs"][name][:samples]
        eq = np.all(out.reshape(len(out), -1) == ref.reshape(len(ref), -1), axis=1)
        be[f"emulator_vs_{view}_{name}"] = float(np.mean(eq))
        run.log(f"lock: {view} equals the emulator {name} on {int(eq.sum())}/{len(eq)} test samples")
