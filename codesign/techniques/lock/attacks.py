"""Attacks on a locked model, as a thief who holds the public weights but not the password would run them.

- no key, and `random_keys` random passwords of the scheme (indices, values and scales drawn as the
  config draws them: the thief knows the scheme, not the secret);
- fine-tuning the stolen weights without the key on a fraction f of the training data, against the
  same architecture trained from scratch on the same samples with the same epochs; each side gets the
  best test accuracy of a small learning-rate sweep. The head start H(f) is the difference, in points;
- magnitude pruning of 10-50% of every kernel, then the same fine-tuning (f = 10%);
- an adaptive thief who knows the scheme (not the key), at each fraction: ranks every locked layer's
  neurons by each statistic it can read off the public weights and its own data (activation mean, root
  mean square, active share, incoming and outgoing weight magnitude, bias; highest and lowest), forces
  the k it picks to the scheme's mean locking value or to their own mean activation, runs every such
  guess, and fine-tunes from the one that scores best on its labelled data (ranked_guesses,
  adaptive_attacks). EdgePro draws the key among the most active neurons, and lock training makes
  value-0 neurons the most active: "the k most active, zeroed" is one of the guesses.
- adaptive thieves who know the key acts in layer epilogues, after the products: one drops every
  trained bias (the epilogue's offsets the lock was trained around) and fine-tunes the stolen kernels;
  one keeps only the first layer's kernel (the features the lock cannot touch) and trains everything
  else from a fresh initialisation. The second bounds every lock whose key acts after the first
  layer's products: its head start is what the public first-layer kernel is worth.
- an input-permutation lock (scheme input_perm) instead meets a thief who knows the scheme: it
  guesses the permutation by matching the stolen first kernel's row norms to the pixels' mean
  intensity on its data, improves the guess by a greedy swap search on its labelled samples (keep a
  swap if the loss drops), and fine-tunes from it; and one who keeps the stolen hidden and output
  layers under a fresh first layer (what the rest of the model is worth).
All accuracies are on the test split; models are Keras (float or QKeras) chains.
"""
from __future__ import annotations

import numpy as np

from ...data import to_model_input
from .password import Password, random_password
from .train import apply_password, locked_model, public_model

LEARNING_RATES = (3e-4, 1e-3, 3e-3)


def accuracy(model, x_uint8, y) -> float:
    x = to_model_input(x_uint8).reshape((len(x_uint8),) + tuple(model.input_shape[1:]))
    out = np.concatenate([np.asarray(model(x[i:i + 1000], training=False)) for i in range(0, len(x), 1000)])
    return float(np.mean(np.argmax(out, -1) == np.asarray(y)))


def random_keys(model, password: Password, cfg: dict, x, y, n: int, seed: int = 0) -> list[float]:
    """Accuracies of the locked model under n random passwords of the scheme (the key restored after)."""
    rng = np.random.default_rng(seed)
    accs = []
    for _ in range(n):
        apply_password(model, random_password(password, cfg, rng))
        accs.append(accuracy(model, x, y))
    apply_password(model, password)
    return accs


def _clone(model):
    """A fresh copy of a (lock-free) chain model with the same weights."""
    from tensorflow import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def best_finetune(make_model, x, y, x_test, y_test, epochs: int, seed: int, lrs=LEARNING_RATES,
                  stochastic: bool = False) -> dict:
    """Best test accuracy over a learning-rate sweep of `epochs` epochs on (x, y); make_model() -> model."""
    from ...train import train_model

    by_lr = {}
    for lr in lrs:
        model = make_model()
        train_model(model, x, y, epochs=epochs, batch_size=32, learning_rate=lr, seed=seed, stochastic=stochastic)
        by_lr[str(lr)] = accuracy(model, x_test, y_test)
    return {"best": max(by_lr.values()), "by_lr": by_lr}


def magnitude_prune(model, fraction: float) -> None:
    """Zero the `fraction` smallest-magnitude weights of every kernel (in place)."""
    for layer in model.layers:
        if getattr(layer, "kernel", None) is not None:
            w = layer.kernel.numpy()
            cut = np.quantile(np.abs(w), fraction)
            layer.kernel.assign(np.where(np.abs(w) <= cut, 0.0, w))


def _zero_biases(model):
    """Every bias of a chain set to 0 (in place; returns the model)."""
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.zeros(layer.bias.shape, np.float32))
    return model


def _first_kernel_only(stolen, fresh):
    """`fresh` (a newly initialised model of the same architecture) with the stolen first layer's kernel."""
    src = next(l for l in stolen.layers if getattr(l, "kernel", None) is not None)
    dst = next(l for l in fresh.layers if getattr(l, "kernel", None) is not None)
    dst.kernel.assign(src.kernel.numpy())
    return fresh


def adaptive_guess(model, password: Password, cfg: dict, x_attacker) -> Password:
    """The thief's password: per locked layer, the k most active neurons on its data, each forced to the
    scheme's mean locking value x scale (k and the layers are public parts of the scheme)."""
    from .select import mean_activations

    pub = public_model(model)
    x = to_model_input(x_attacker).reshape((len(x_attacker),) + tuple(pub.input_shape[1:]))
    acts = mean_activations(pub, list(password.layers), x)
    layers = {}
    for name, p in password.layers.items():
        k = len(p["indices"])
        idx = sorted(int(i) for i in np.argsort(-acts[name], kind="stable")[:k])
        layers[name] = {"units": p["units"], "indices": idx, "values": [float(np.mean(cfg["value"]))] * k,
                        "scales": [float(np.mean(cfg["scale"]))] * k}
    return Password(layers)


STATISTICS = ("act_mean", "act_rms", "act_active", "kernel_l1", "bias", "out_l1")


def neuron_statistics(stolen, names: list, x_attacker) -> dict:
    """What a thief can rank the neurons of each locked layer by, from the public weights and its own data:
    activation mean, root mean square and active share (ReLU output > 0), mean |incoming kernel|, bias, and
    mean |outgoing kernel| (the next weighted layer's weights reading the neuron)."""
    from .select import activation_after
    from .train import next_weighted

    x = to_model_input(x_attacker).reshape((len(x_attacker),) + tuple(stolen.input_shape[1:]))
    out = {}
    for name in names:
        stop = activation_after(stolen, name).name
        h = x
        for layer in stolen.layers[1:]:
            h = layer(h, training=False)
            if layer.name == stop:
                break
        a = np.asarray(h).reshape(-1, np.asarray(h).shape[-1])
        units = a.shape[-1]
        layer, nxt = stolen.get_layer(name), next_weighted(stolen, name)
        bias = getattr(layer, "bias", None)
        out[name] = {"act_mean": a.mean(0), "act_rms": np.sqrt((a * a).mean(0)), "act_active": (a > 0).mean(0),
                     "kernel_l1": np.abs(layer.kernel.numpy().reshape(-1, units)).mean(0),
                     "bias": bias.numpy() if bias is not None else np.zeros(units),
                     "out_l1": np.abs(nxt.kernel.numpy().reshape(-1, units, nxt.kernel.shape[-1])).mean((0, 2))}
    return out


def ranked_guesses(stolen, password: Password, cfg: dict, x_attacker) -> dict:
    """The adaptive thief's candidate keys (it knows the scheme: layers, neurons per layer, value range):
    per statistic of neuron_statistics and direction (the k highest or the k lowest per layer), the guessed
    neurons forced to the scheme's mean locking value x scale, or to each neuron's own mean activation on
    the thief's data (mean ablation: a constant that keeps the next layer's input mean)."""
    names = list(password.layers)
    stats = neuron_statistics(stolen, names, x_attacker)
    value = float(np.mean(cfg["value"])) * float(np.mean(cfg["scale"]))
    out = {}
    for stat in STATISTICS:
        for direction, sign in (("high", -1.0), ("low", 1.0)):
            for fill in ("value", "mean"):
                layers = {}
                for name, p in password.layers.items():
                    k = len(p["indices"])
                    idx = sorted(int(i) for i in np.argsort(sign * stats[name][stat], kind="stable")[:k])
                    vals = [value] * k if fill == "value" else [float(stats[name]["act_mean"][i]) for i in idx]
                    layers[name] = {"units": p["units"], "indices": idx, "values": vals, "scales": [1.0] * k}
                out[f"{stat}_{direction}_{fill}"] = Password(layers)
    return out


def adaptive_attacks(model, stolen, password: Password, cfg: dict, xs, ys, d, f, epochs, seed, stochastic,
                     attacks: dict, out: dict) -> None:
    """The neuron lock's adaptive thief at fraction f: every ranked guess (ranked_guesses, ranked on its
    xs) run on the test split; the guess it would pick (best accuracy on its own labelled xs) fine-tuned with
    the guess in place. attacks gets adaptive_guess_<f> (the best guess on the test split: the strictest
    reading) and adaptive_guess_finetune_<f>; out["adaptive_guesses"][f] every guess's test accuracy and
    its hits on the password's neurons."""
    names = list(password.layers)
    guesses = ranked_guesses(stolen, password, cfg, xs)
    m = locked_model(_clone(stolen), names)
    test, own = {}, {}
    for g, pw in guesses.items():
        apply_password(m, pw)
        test[g], own[g] = accuracy(m, d.x_test, d.y_test), accuracy(m, xs, ys)
    pick = max(own, key=own.get)
    hits = {g: sum(len(set(pw.layers[n]["indices"]) & set(password.layers[n]["indices"])) for n in names)
            for g, pw in guesses.items()}

    def guessed():
        mm = locked_model(_clone(stolen), names)
        apply_password(mm, guesses[pick])
        return mm
    attacks[f"adaptive_guess_{f}"] = max(test.values())
    attacks[f"adaptive_guess_finetune_{f}"] = best_finetune(guessed, xs, ys, d.x_test, d.y_test, epochs, seed,
                                                            stochastic=stochastic)["best"]
    out.setdefault("adaptive_guesses", {})[str(f)] = {
        "picked": pick, "neurons": password.neurons(),
        "by_guess": {g: {"accuracy": test[g], "own_accuracy": own[g], "hits": hits[g]} for g in guesses}}


GREEDY_SWAPS = 2000  # steps of the adaptive thief's swap search on an input permutation


def _permute(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Pixel j of the permuted sample is pixel perm[j] of the original."""
    return x.reshape(len(x), -1)[:, perm].reshape(x.shape)


def _loss(model, x_uint8, y) -> float:
    import tensorflow as tf

    x = to_model_input(x_uint8).reshape((len(x_uint8),) + tuple(model.input_shape[1:]))
    logits = model(x, training=False)
    return float(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)))


def perm_guess(stolen, x_attacker, ys, steps: int, seed: int) -> np.ndarray:
    """The adaptive thief's permutation: the stolen first kernel's rows ranked by norm mapped onto the
    pixels ranked by mean intensity on its data, then a greedy swap search among the pixels active in
    its data, keeping a swap when its loss drops."""
    w1 = next(l for l in stolen.layers if getattr(l, "kernel", None) is not None).kernel.numpy()
    flat = x_attacker.reshape(len(x_attacker), -1).astype(np.float64)
    guess = np.empty(w1.shape[0], np.int64)
    guess[np.argsort(-np.linalg.norm(w1, axis=1), kind="stable")] = np.argsort(-flat.mean(0), kind="stable")
    rng = np.random.default_rng(seed + 3)
    pos = np.flatnonzero(np.isin(guess, np.flatnonzero(flat.mean(0) > 0)))
    best = _loss(stolen, _permute(x_attacker, guess), ys)
    for _ in range(steps if len(pos) > 1 else 0):
        i, j = rng.choice(pos, 2, replace=False)
        guess[[i, j]] = guess[[j, i]]
        loss = _loss(stolen, _permute(x_attacker, guess), ys)
        if loss < best:
            best = loss
        else:
            guess[[i, j]] = guess[[j, i]]
    return guess


def _perm_attacks(stolen, password: Password, d, xs, ys, f, make_scratch, epochs, seed, stochastic, attacks, out):
    """The input-permutation lock's adaptive attacks at fraction f (module docstring)."""
    (name, p), = password.perms.items()
    guess = perm_guess(stolen, xs, ys, GREEDY_SWAPS, seed)
    pw = Password({}, {name: {"units": p["units"], "perm": [int(i) for i in guess]}})

    def guessed():
        m = locked_model(_clone(stolen), [], perm_names=[name])
        apply_password(m, pw)
        return m

    def head_only():
        fresh = make_scratch()
        src = [l for l in stolen.layers if getattr(l, "kernel", None) is not None]
        dst = [l for l in fresh.layers if getattr(l, "kernel", None) is not None]
        for a, b in list(zip(src, dst))[1:]:
            b.set_weights(a.get_weights())
        return fresh
    attacks[f"perm_guess_{f}"] = accuracy(guessed(), d.x_test, d.y_test)
    attacks[f"perm_guess_finetune_{f}"] = best_finetune(guessed, xs, ys, d.x_test, d.y_test, epochs, seed,
                                                        stochastic=stochastic)["best"]
    attacks[f"stolen_head_finetune_{f}"] = best_finetune(head_only, xs, ys, d.x_test, d.y_test, epochs, seed,
                                                         stochastic=stochastic)["best"]
    out.setdefault("perm_guess_hits", {})[str(f)] = f"{int(np.sum(guess == np.asarray(p['perm'])))}/{p['units']}"


def attack_suite(model, password: Password, cfg: dict, data, make_scratch, *, fractions=(0.01, 0.1),
                 epochs: int = 20, prune=(0.1, 0.2, 0.3, 0.4, 0.5), n_random: int = 1000, seed: int = 0,
                 stochastic: bool = False, log=print) -> dict:
    """Every attack of the module docstring on a lock-trained `model` carrying `password`."""
    d = data
    out = {"accuracy_with_key": accuracy(model, d.x_test, d.y_test)}
    apply_password(model, None)
    out["accuracy_without_key"] = accuracy(model, d.x_test, d.y_test)
    apply_password(model, password)
    if n_random:  # 0: the caller sweeps random keys itself
        racc = random_keys(model, password, cfg, d.x_test, d.y_test, n_random, seed)
        out.update(accuracy_random_key_best=max(racc), accuracy_random_key_mean=float(np.mean(racc)),
                   random_keys=n_random)
    log(f"attacks: key {out['accuracy_with_key']:.4f} no key {out['accuracy_without_key']:.4f} "
        f"random best {out.get('accuracy_random_key_best')}")
    stolen = public_model(model)
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(d.x_train))
    out["finetune"], out["scratch"], out["head_start"] = {}, {}, {}
    attacks = {}
    for f in fractions:
        idx = order[:int(round(f * len(d.x_train)))]
        xs, ys = d.x_train[idx], d.y_train[idx]
        ft = best_finetune(lambda: _clone(stolen), xs, ys, d.x_test, d.y_test, epochs, seed, stochastic=stochastic)
        sc = best_finetune(make_scratch, xs, ys, d.x_test, d.y_test, epochs, seed, stochastic=stochastic)
        out["finetune"][str(f)], out["scratch"][str(f)] = ft, sc
        out["head_start"][str(f)] = round(100 * (ft["best"] - sc["best"]), 2)
        attacks[f"finetune_{f}"] = ft["best"]
        for name, make in (("zero_bias_finetune", lambda: _zero_biases(_clone(stolen))),
                           ("first_kernel_finetune", lambda: _first_kernel_only(stolen, make_scratch()))):
            attacks[f"{name}_{f}"] = best_finetune(make, xs, ys, d.x_test, d.y_test, epochs, seed,
                                                   stochastic=stochastic)["best"]
        if password.layers:
            adaptive_attacks(model, stolen, password, cfg, xs, ys, d, f, epochs, seed, stochastic, attacks, out)
        if password.perms:
            _perm_attacks(stolen, password, d, xs, ys, f, make_scratch, epochs, seed, stochastic, attacks, out)
        log(f"attacks: f={f}: fine-tune {ft['best']:.4f} scratch {sc['best']:.4f} H {out['head_start'][str(f)]}")
    idx = order[:int(round(max(fractions) * len(d.x_train)))]
    xs, ys = d.x_train[idx], d.y_train[idx]
    for p in prune:
        def pruned(p=p):
            m = _clone(stolen)
            magnitude_prune(m, p)
            return m
        attacks[f"prune_{p}_finetune"] = best_finetune(pruned, xs, ys, d.x_test, d.y_test, epochs, seed,
                                                       stochastic=stochastic)["best"]
    out["attacks"] = attacks
    # worst head start per fraction over the attacks run at it (pruning at the largest)
    out["head_start_worst"] = {}
    for f in fractions:
        at_f = [v for k, v in attacks.items() if k.endswith(f"_{f}")]
        if f == max(fractions):
            at_f += [v for k, v in attacks.items() if k.startswith("prune_")]
        out["head_start_worst"][str(f)] = round(100 * (max(at_f) - out["scratch"][str(f)]["best"]), 2)
    out["max_attack_head_start"] = max(out["head_start_worst"].values())
    log(f"attacks: {attacks}")
    return out


def lock_report(out: dict) -> dict:
    """The report's lock entries of an attack_suite result (contract: head_start, attacks)."""
    keep = ("accuracy_without_key", "accuracy_random_key_best", "accuracy_random_key_mean", "random_keys",
            "head_start", "head_start_worst", "attacks", "max_attack_head_start", "adaptive_guesses",
            "perm_guess_hits")
    return {k: out[k] for k in keep if k in out} | {"attack_scratch": {f: s["best"] for f, s in out["scratch"].items()}}


def attack_model(model, password: Password, cfg: dict, data, run_cfg: dict, epochs: int, n_random: int, log=print,
                 **suite):
    """attack_suite with the run's architecture trained from scratch as the reference."""
    from ...models import build_model
    from ..stq_jr.layer import apply_stq

    layers = apply_stq(run_cfg["model"]["layers"], run_cfg["harden"]["stq"])
    quantized = any(type(l).__module__.startswith("qkeras") for l in model.layers)
    stochastic = quantized and run_cfg["train"]["stochastic"]
    return attack_suite(model, password, cfg, data,
                        lambda: build_model(layers, data.input_shape, data.num_classes, quantized=quantized,
                                            seed=run_cfg["seed"] + 100),
                        epochs=epochs, n_random=n_random, seed=run_cfg["seed"], stochastic=stochastic, log=log, **suite)


def run_attacks(run_dir, epochs: int = 20, n_random: int | None = None, device_key=None, log=print) -> dict:
    """`codesign lock attacks RUN_DIR`: every attack on a built locked run; updates its report's lock section."""
    import json
    from pathlib import Path

    from ...config import load_config
    from ...data import load_dataset
    from ...models import load_model
    from ...report import write_reports
    from ...spec import DesignSpec
    from .keys import open_run_password
    from .password import LockError, check_key
    from .train import keyed_model

    run_dir = Path(run_dir)
    cfg = load_config(run_dir / "config.yaml")
    if not cfg["harden"]["lock"]:
        raise LockError(f"{run_dir} was not built with harden.lock; there is no lock to attack")
    spec = DesignSpec.load(run_dir / "spec")
    password = open_run_password(run_dir, device_key=device_key)
    model = keyed_model(load_model(run_dir / "model"), spec, check_key(spec, password))
    data = load_dataset(cfg["data"], cfg["seed"])
    out = attack_model(model, password, cfg["harden"]["lock"], data, cfg, epochs,
                       n_random or cfg["harden"]["lock"]["random_keys"], log)
    path = run_dir / "report.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report.setdefault("lock", {}).update(lock_report(out))
    write_reports(report, run_dir, cfg)
    return report["lock"]
