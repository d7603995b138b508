"""Keras-level prototype of a channel-permutation lock for the CNN (issue 14), before any view is built:

    nice -n 10 python bench/lock_cnn_perm.py --scheme c1 c2 c3 --fractions 0.01 --label all3 \
        --out bench/results/lock_cnn_perm_trials.json

The scheme: the key permutes the kernel rows of some weighted layers of the example's CNN
(examples/mnist_cnn_stq_jr_lock.yaml's layers: conv32-pool-conv32-pool-conv32-dense10): `c0` conv1's 9
taps, `c1` conv2's rows, `c2` conv3's, `c3` the dense layer's (its flattened 3x3x32 input). Grain
`channel`: one permutation of the 32 input channels, the same at every tap/pixel (= a secret
permutation of the previous layer's output channels as the layer reads them); grain `row`: any
permutation of the 288 (tap, channel) rows. In hardware each is free: the key is the layer's weight
rows written permuted over the load port (as scheme input_perm does with the first dense layer's rows).
Lock training (as input_perm): every batch `mix` under the key with true labels, the rest with
uniformly random labels, `wrong` of them under decoy keys (fresh random ones per batch, or with
probability `near` a near miss of the key: 1..8 transpositions at every position) and the others
unpermuted (no key).

The thief knows the scheme (which boundaries, not the permutations), holds the public weights and a
fraction f of the training data with labels, and gets 20 epochs, the best of lr 3e-4/1e-3/3e-3 (as
codesign/techniques/lock/attacks.py). H(f) = its best minus training from scratch, in points.
Attacks, each fine-tuned afterwards:
- finetune: the stolen weights as they are (identity permutations: the no-key model);
- guess: per position, the stolen kernel's rows (or channel slices) ranked by mean |weight| matched to
  the layer's input features (im2col (tap, channel) features, or channels) ranked by mean on the
  thief's data (upstream guesses in place), then GREEDY_SWAPS greedy swaps (a random position, two
  random entries; kept when the loss on its labelled data drops); fine-tuned with the guess in place;
- stitch: a learnable channel-mixing matrix (a 1x1 convolution, identity at start) on the input of
  every locked layer, trained with everything else (what model stitching does between two networks);
  stitch_guess: the same, started from the guess's permutation matrices;
- scratch_stitch: training from scratch with the same mixing matrices (the control for stitch: an
  extra linear map changes the optimisation, not only the information);
- prefix_k: the first k weighted layers freshly initialised, the stolen rest with stitch matrices on
  its locked layers (k = 1: conv1 relearned, which bypasses a conv1-only lock);
- first_kernel: only conv1's stolen kernel under a fresh rest (what the clear conv1 is worth).
Float Keras (no STQ/JR) for speed: a trial is a few CPU-minutes; a scheme that survives here is then
built through the spine on the STQ + JR example.
"""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parents[1] / "examples" / "mnist_cnn_stq_jr_lock.yaml"
# lock position -> the weighted layer whose kernel rows the key permutes (its input: the previous layer's channels)
LOCKS = {"c0": "conv2d_1", "c1": "conv2d_2", "c2": "conv2d_3", "c3": "dense_1"}
LEARNING_RATES = (3e-4, 1e-3, 3e-3)
GREEDY_SWAPS = 2000


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Lock:
    """One lock position: the layer whose kernel rows (kh, kw, cin order for a conv; the flatten's
    pixel, channel order for the dense) the key permutes, and the grain of the key: `channel` (one
    permutation of the input channels, the same at every tap/pixel) or `row` (any permutation of the
    rows). The key is held at its grain; expand() gives the row permutation."""

    def __init__(self, model, pos: str, grain: str):
        self.layer = model.get_layer(LOCKS[pos])
        k = self.layer.kernel.shape
        self.cin = int(k[-2]) if len(k) == 4 else 32
        self.rows = int(np.prod(k[:-1]))
        self.grain = "row" if (grain == "row" or self.cin == 1) else "channel"
        self.size = self.rows if self.grain == "row" else self.cin

    def expand(self, p: np.ndarray) -> np.ndarray:
        if self.grain == "row":
            return np.asarray(p, np.int32)
        t = self.rows // self.cin
        return (np.arange(t)[:, None] * self.cin + np.asarray(p)[None, :]).reshape(-1).astype(np.int32)


class Net:
    """A chain model whose locked layers run with their kernel rows gathered by a row permutation (and
    optionally a learnable channel-mixing matrix on their input): forward(x, rowperms, mixes)."""

    def __init__(self, model, locks: list):
        self.model = model
        self.layers = model.layers[1:]
        self.locked = [l.layer.name for l in locks]

    def forward(self, x, perms, mixes=None, training=False):
        import tensorflow as tf

        for layer in self.layers:
            if layer.name not in self.locked:
                x = layer(x, training=training)
                continue
            i = self.locked.index(layer.name)
            if mixes is not None:  # on the channels (the dense layer's flattened input: its last axis)
                c = mixes[i].shape[0]
                x = tf.reshape(tf.matmul(tf.reshape(x, [-1, c]), mixes[i]), tf.shape(x))
            k, bias = quantized_params(layer)
            kk = tf.reshape(tf.gather(tf.reshape(k, [-1, k.shape[-1]]), perms[i], axis=0), k.shape)
            if len(k.shape) == 4:
                x = tf.nn.conv2d(x, kk, 1, "VALID") + bias
            else:
                x = tf.matmul(x, kk) + bias
        return x


def quantized_params(layer):
    """The kernel and bias a layer computes with: through its QKeras quantizers (--stq) when it has them
    (quantizing the kernel before the row gather is the same as after: the quantizers act per element
    or per output column), the float variables otherwise."""
    kq = getattr(layer, "kernel_quantizer_internal", None)
    bq = getattr(layer, "bias_quantizer_internal", None)
    return (kq(layer.kernel) if kq is not None else layer.kernel,
            bq(layer.bias) if bq is not None else layer.bias)


QUANTIZED = False  # --stq: the example's QKeras layers (STQ conv kernels, 8-bit dense/biases, quantized ReLUs)


def build(seed: int):
    from codesign.config import load_config
    from codesign.models import build_model

    layers = load_config(CONFIG)["model"]["layers"]
    return build_model(layers, (28, 28), 10, quantized=QUANTIZED, seed=seed)


def to_x(x_uint8):
    from codesign.data import to_model_input

    return to_model_input(x_uint8).reshape(len(x_uint8), 28, 28).astype(np.float32)


def accuracy(net, perms, x, y, mixes=None) -> float:
    out = np.concatenate([np.asarray(net.forward(x[i:i + 1000], perms, mixes)) for i in range(0, len(x), 1000)])
    return float(np.mean(np.argmax(out, -1) == y))


def loss_of(net, perms, x, y) -> float:
    import tensorflow as tf

    logits = net.forward(x, perms)
    return float(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)))


def identity(locks):
    return [np.arange(l.size, dtype=np.int32) for l in locks]


def rows(locks, ps):
    """Grain-level keys -> the row permutations forward() gathers by."""
    return [l.expand(p) for l, p in zip(locks, ps)]


def near_miss(key, rng, most: int):
    """The key with 1..most random transpositions at every lock position (a decoy one swap away and up)."""
    out = []
    for k in key:
        k = k.copy()
        for _ in range(rng.integers(1, most + 1)):
            i, j = rng.choice(len(k), 2, replace=False)
            k[[i, j]] = k[[j, i]]
        out.append(k)
    return out


def lock_train(net, locks, key, x, y, epochs, lr, mix, wrong, near, seed) -> None:
    """Lock training: `mix` of every batch under the key with true labels, the rest random labels, `wrong`
    of them under a decoy key (a fresh random one per batch, or with probability `near` a near miss of the
    key: 1..8 transpositions per position), the others unpermuted (no key)."""
    import tensorflow as tf

    opt = tf.keras.optimizers.Adam(lr)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = net.model.trainable_variables

    @tf.function
    def step(xk, yk, xn, yn, xd, yd, key, decoy, ident):
        with tf.GradientTape() as tape:
            logits = tf.concat([net.forward(xk, key, training=True), net.forward(xn, ident, training=True),
                                net.forward(xd, decoy, training=True)], 0)
            loss = ce(tf.concat([yk, yn, yd], 0), logits)
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(seed + 11)
    ident, key_rows = rows(locks, identity(locks)), rows(locks, key)
    bs = 64
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        losses = []
        for s in range(0, len(x) - bs + 1, bs):
            idx = order[s:s + bs]
            k = int(round(mix * bs))
            w = int(round(wrong * (bs - k)))
            yr = rng.integers(0, 10, bs - k)
            if rng.random() < near:
                decoy = near_miss(key, rng, 8)
            else:
                decoy = [rng.permutation(l.size).astype(np.int32) for l in locks]
            xk, xn, xd = x[idx[:k]], x[idx[k:bs - w]], x[idx[bs - w:]]
            losses.append(float(step(xk, y[idx[:k]], xn, yr[:bs - k - w], xd, yr[bs - k - w:], key_rows,
                                     rows(locks, decoy), ident)))
        print(f"  lock epoch {epoch + 1}/{epochs} loss {np.mean(losses):.4f}", flush=True)


def plain_train(net, perms, x, y, epochs, lr, seed, mixes=None, bs=32) -> None:
    """Fine-tuning / from scratch: Adam on cross-entropy with fixed row permutations (and trainable mixes)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    opt = tf.keras.optimizers.Adam(lr)
    ce = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    variables = net.model.trainable_variables + (list(mixes) if mixes is not None else [])

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = ce(yb, net.forward(xb, perms, mixes, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), bs):
            step(x[order[s:s + bs]], y[order[s:s + bs]])


def layer_input(net, locks, guess, b, xs):
    """The input of lock position b's layer on xs, with the guesses of the positions before it in place."""
    import tensorflow as tf

    sub = Net(net.model, locks[:b])
    h = xs
    for layer in sub.layers:
        if layer.name == locks[b].layer.name:
            return np.asarray(h)
        if layer.name in sub.locked:
            i = sub.locked.index(layer.name)
            k, bias = quantized_params(layer)
            kk = tf.reshape(tf.gather(tf.reshape(k, [-1, k.shape[-1]]), locks[i].expand(guess[i]), axis=0), k.shape)
            h = tf.nn.conv2d(h, kk, 1, "VALID") + bias if len(k.shape) == 4 else tf.matmul(h, kk) + bias
        else:
            h = layer(h)
    raise ValueError(locks[b].layer.name)


def guess_perms(stolen, locks, xs, ys, steps, seed):
    """Statistics matching then greedy swaps (module docstring); returns (matched, guess) per position."""
    import tensorflow as tf

    net = Net(stolen, locks)
    guess = identity(locks)
    for b, lk in enumerate(locks):
        h = layer_input(net, locks, guess, b, xs)
        if h.ndim == 4 and len(lk.layer.kernel.shape) == 4:  # the im2col features, (kh, kw, cin) as the kernel rows
            kh = int(lk.layer.kernel.shape[0])
            h = np.asarray(tf.image.extract_patches(h, [1, kh, kh, 1], [1, 1, 1, 1], [1, 1, 1, 1], "VALID"))
        feat = h.reshape(-1, lk.rows).mean(0)
        norm = np.abs(lk.layer.kernel.numpy().reshape(lk.rows, -1)).mean(1)
        if lk.grain == "channel":
            feat, norm = feat.reshape(-1, lk.cin).mean(0), norm.reshape(-1, lk.cin).mean(0)
        p = np.empty(lk.size, np.int32)  # feature r (high mean) read by a kernel row of matching rank
        p[np.argsort(-feat, kind="stable")] = np.argsort(-norm, kind="stable")
        guess[b] = p
    matched = [g.copy() for g in guess]
    rng = np.random.default_rng(seed + 3)
    best = loss_of(net, rows(locks, guess), xs, ys)
    for _ in range(steps):
        b = rng.integers(len(locks))
        i, j = rng.choice(locks[b].size, 2, replace=False)
        guess[b][[i, j]] = guess[b][[j, i]]
        loss = loss_of(net, rows(locks, guess), xs, ys)
        if loss < best:
            best = loss
        else:
            guess[b][[i, j]] = guess[b][[j, i]]
    return matched, guess


def copy_model(src, seed):
    m = build(seed)
    m.set_weights(src.get_weights())
    return m


def best_of(make, xs, ys, xt, yt, epochs, seed) -> dict:
    """make() -> (net, row perms, mixes); the best test accuracy over the lr sweep."""
    by = {}
    for lr in LEARNING_RATES:
        net, perms, mixes = make()
        plain_train(net, perms, xs, ys, epochs, lr, seed, mixes)
        by[str(lr)] = accuracy(net, perms, xt, yt, mixes)
    return {"best": max(by.values()), "by_lr": by}


def attacks(stolen, locks, key, d, fractions, epochs, seed, log, swaps=GREEDY_SWAPS, quick=False, only=None,
            aseed: int = 0) -> dict:
    """The module docstring's attacks at each fraction (the thief's samples: the first f of a seed + 1
    permutation of the training split). `only`: a subset of the attacks (scratch always runs); `aseed`
    > 0 repeats them with other fresh initialisations (seed + 100 + 1000 aseed) and batch orders."""
    import tensorflow as tf

    xtr, ytr, xt, yt = to_x(d.x_train), np.asarray(d.y_train), to_x(d.x_test), np.asarray(d.y_test)
    order = np.random.default_rng(seed + 1).permutation(len(xtr))
    ident = rows(locks, identity(locks))
    out = {}
    for f in fractions:
        idx = order[:int(round(f * len(xtr)))]
        xs, ys = xtr[idx], ytr[idx]
        t = time.time()
        if only is not None and not {"guess", "stitch_guess"} & set(only):
            swaps = 0
        matched, guess = guess_perms(stolen, locks, xs, ys, swaps, seed)
        r = {"guess_seconds": round(time.time() - t, 1), "swaps": swaps,
             "matched_hits": [f"{int(np.sum(g == k))}/{len(k)}" for g, k in zip(matched, key)],
             "guess_hits": [f"{int(np.sum(g == k))}/{len(k)}" for g, k in zip(guess, key)]}
        net0 = Net(stolen, locks)
        r["matched_accuracy"] = accuracy(net0, rows(locks, matched), xt, yt)
        r["guess_accuracy"] = accuracy(net0, rows(locks, guess), xt, yt)
        log(f"f={f}: guess {r}")
        grows = rows(locks, guess)
        fresh_seed = seed + 100 + 1000 * aseed

        def mixes():  # channel mixing on each locked layer's input, identity at start
            return [tf.Variable(np.eye(l.cin if l.cin > 1 else 1, dtype=np.float32)) for l in locks]

        def fresh_prefix(k):
            m = copy_model(stolen, seed)
            fresh = build(fresh_seed)
            wl = [l for l in m.layers if getattr(l, "kernel", None) is not None]
            fl = [l for l in fresh.layers if getattr(l, "kernel", None) is not None]
            for a, b in list(zip(wl, fl))[:k]:
                a.set_weights(b.get_weights())
            return m

        def first_kernel():
            m = build(fresh_seed)
            src = next(l for l in stolen.layers if getattr(l, "kernel", None) is not None)
            dst = next(l for l in m.layers if getattr(l, "kernel", None) is not None)
            dst.set_weights(src.get_weights())
            return m
        makers = {
            "scratch": lambda: (Net(build(fresh_seed), locks), ident, None),
            "finetune": lambda: (Net(copy_model(stolen, seed), locks), ident, None),
            "guess": lambda: (Net(copy_model(stolen, seed), locks), grows, None),
            "stitch_guess": lambda: (Net(copy_model(stolen, seed), locks), grows, mixes()),
        }
        if not quick:
            makers.update({
                "stitch": lambda: (Net(copy_model(stolen, seed), locks), ident, mixes()),
                "scratch_stitch": lambda: (Net(build(fresh_seed), locks), ident, mixes()),
                "first_kernel": lambda: (Net(first_kernel(), locks), ident, None)})
            for k in (1, 2, 3):
                makers[f"prefix_{k}"] = lambda k=k: (Net(fresh_prefix(k), locks), ident, mixes())
        if only is not None:
            makers = {n: m for n, m in makers.items() if n == "scratch" or n in only}
        for name, make in makers.items():
            t = time.time()
            r[name] = best_of(make, xs, ys, xt, yt, epochs, seed + aseed)
            log(f"f={f} {name}: {r[name]['best']:.4f} ({time.time() - t:.0f} s)")
        sc = r["scratch"]["best"]
        r["head_start"] = {n: round(100 * (r[n]["best"] - sc), 2) for n in makers if n != "scratch"}
        r["head_start"]["guess_no_finetune"] = round(100 * (r["guess_accuracy"] - sc), 2)
        r["head_start_worst"] = max(r["head_start"].values())
        log(f"f={f}: H {r['head_start']}")
        out[str(f)] = r
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scheme", nargs="+", choices=sorted(LOCKS), default=["c1", "c2", "c3"])
    ap.add_argument("--grain", choices=("channel", "row"), default="channel")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--mix", type=float, default=0.5)
    ap.add_argument("--wrong", type=float, default=0.5)
    ap.add_argument("--near", type=float, default=0.0, help="share of decoy batches that are near misses of the key")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1])
    ap.add_argument("--attack-epochs", type=int, default=20)
    ap.add_argument("--swaps", type=int, default=GREEDY_SWAPS)
    ap.add_argument("--quick-at", type=float, nargs="*", default=[],
                    help="fractions at which only scratch, finetune, guess and stitch_guess run")
    ap.add_argument("--only", nargs="+", help="run only these attacks (and scratch)")
    ap.add_argument("--attack-seeds", type=int, nargs="+", default=[0],
                    help="repeat the attacks with other fresh initialisations and batch orders (0: the default)")
    ap.add_argument("--twin", action="store_true", help="also train the unlocked twin (same init, same epochs)")
    ap.add_argument("--stq", action="store_true",
                    help="the example's quantized layers (STQ convs, no JR) instead of the float copy")
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", type=Path, default=Path("bench/results/lock_cnn_perm_trials.json"))
    a = ap.parse_args()
    global QUANTIZED
    QUANTIZED = a.stq
    from codesign.data import load_dataset

    t0, c0 = time.time(), cpu_s()
    d = load_dataset({"dataset": "mnist", "train": 6000, "test": 2000}, a.seed)
    xtr, ytr, xt, yt = to_x(d.x_train), np.asarray(d.y_train), to_x(d.x_test), np.asarray(d.y_test)
    model = build(a.seed)
    locks = [Lock(model, s, a.grain) for s in sorted(a.scheme)]
    secret = np.random.default_rng(a.seed + 7)
    key = [secret.permutation(l.size).astype(np.int32) for l in locks]
    net = Net(model, locks)
    lock_train(net, locks, key, xtr, ytr, a.epochs, a.lr, a.mix, a.wrong, a.near, a.seed)
    res = {"scheme": sorted(a.scheme), "grain": a.grain, "key_sizes": [l.size for l in locks], "seed": a.seed,
           "epochs": a.epochs, "lr": a.lr, "mix": a.mix, "wrong": a.wrong, "near": a.near,
           "attack_epochs": a.attack_epochs, "model": ("QKeras, example CNN layers (STQ convs, no JR)" if a.stq
                                                     else "float Keras, example CNN layers"),
           "accuracy_with_key": accuracy(net, rows(locks, key), xt, yt),
           "accuracy_without_key": accuracy(net, rows(locks, identity(locks)), xt, yt)}
    rng = np.random.default_rng(a.seed + 99)
    racc = [accuracy(net, rows(locks, [rng.permutation(l.size) for l in locks]), xt, yt) for _ in range(100)]
    res.update(accuracy_random_key_best=max(racc), accuracy_random_key_mean=float(np.mean(racc)), random_keys=100)
    nacc = [accuracy(net, rows(locks, near_miss(key, rng, 1)), xt, yt) for _ in range(20)]
    res.update(accuracy_one_swap_key_mean=float(np.mean(nacc)), accuracy_one_swap_key_best=max(nacc))
    print(json.dumps(res), flush=True)
    if a.twin:
        twin = Net(build(a.seed), [])
        plain_train(twin, [], xtr, ytr, a.epochs, a.lr, a.seed, bs=64)
        res["accuracy_unlocked"] = accuracy(twin, [], xt, yt)
    res["attacks"] = {}
    for f in a.fractions:  # saved after each fraction (a long run leaves what it finished)
        for s in a.attack_seeds:
            r = attacks(model, locks, key, d, [f], a.attack_epochs, a.seed, print, a.swaps, f in a.quick_at,
                        a.only, s)
            res["attacks"].update(r if s == 0 else {f"{f}_attack_seed{s}": r[str(f)]})
        res.update(seconds=round(time.time() - t0, 1), cpu_seconds=round(cpu_s() - c0, 1),
                   load_avg_1min_end=os.getloadavg()[0],
                   command="nice -n 10 python bench/lock_cnn_perm.py " + " ".join(sys.argv[1:]))
        all_ = json.loads(a.out.read_text()) if a.out.exists() else {"note": __doc__.split("\n\n")[2], "trials": {}}
        all_["trials"][a.label] = res
        a.out.write_text(json.dumps(all_, indent=1) + "\n")


if __name__ == "__main__":
    main()
