"""What the public first-layer kernel is worth to a thief, and a quick look at lock schemes (float MNIST
MLP 784-256-128-10, one seed, lr sweep 1e-3/3e-3, 20 fine-tuning epochs):

    nice -n 10 python bench/lock_explore.py SEED '{"naive": {"fraction": 0.1}}' bench/results/lock_floor_seed0.json

First (once per output file): training from scratch on 1% and 10% of the training data, the network
trained unlocked (30 epochs), and `bound_W1_kernel_only`: a fresh network given that trained network's
first-layer kernel, fine-tuned on the same samples. Its gain over scratch bounds from below the head
start of any lock whose key acts after the first layer's products (the lock unit sits in epilogues):
the thief keeps that kernel and retrains the rest. Then each scheme of the JSON argument: lock-trained,
with/without key, 200 random keys, fine-tuning, zeroed biases, the adaptive guess.
"""
import json
import sys
import time

import numpy as np

from codesign.data import load_dataset
from codesign.models import build_model
from codesign.techniques.lock.attacks import (
    _clone,
    accuracy,
    adaptive_guess,
    best_finetune,
    random_keys,
)
from codesign.techniques.lock.config import check_lock
from codesign.techniques.lock.train import (
    LockTraining,
    apply_password,
    locked_model,
    public_model,
)
from codesign.train import train_model

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
from lock_attacks import LAYERS

LRS = (1e-3, 3e-3)
seed = int(sys.argv[1]); schemes = json.loads(sys.argv[2]); out = sys.argv[3]
d = load_dataset({"dataset": "mnist", "train": 6000, "test": 2000}, seed)
order = np.random.default_rng(seed + 1).permutation(len(d.x_train))
subsets = {f: order[:int(round(f * 6000))] for f in (0.01, 0.1)}
scratch = lambda: build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed + 100)
res = json.load(open(out)) if __import__("os").path.exists(out) else {}
def ft(make, f):
    i = subsets[f]
    return best_finetune(make, d.x_train[i], d.y_train[i], d.x_test, d.y_test, 20, seed, lrs=LRS)["best"]
if "scratch" not in res:
    res["scratch"] = {str(f): ft(scratch, f) for f in subsets}
    twin = build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed)
    train_model(twin, d.x_train, d.y_train, epochs=30, batch_size=64, learning_rate=1e-3, seed=seed)
    res["unlocked"] = accuracy(twin, d.x_test, d.y_test)
    def w1only():  # the first-layer kernel of a trained net, everything else fresh
        m = scratch(); w = m.get_weights(); w[0] = twin.get_weights()[0]; m.set_weights(w); return m
    res["bound_W1_kernel_only"] = {str(f): ft(w1only, f) for f in subsets}
    json.dump(res, open(out, "w"), indent=1)
print(res, flush=True)
for name, sch in schemes.items():
    t = time.time()
    cfg = check_lock(dict(sch, seed=seed), LAYERS)
    lt = LockTraining(cfg, d.x_train, seed, 64)
    model = lt.wrap(build_model(LAYERS, d.input_shape, 10, quantized=False, seed=seed), 10)
    train_model(model, d.x_train, d.y_train, epochs=30, batch_size=64, learning_rate=1e-3, seed=seed, batch_hook=lt.batch_hook)
    lt.finish()
    r = {"key": accuracy(model, d.x_test, d.y_test)}
    apply_password(model, None); r["nokey"] = accuracy(model, d.x_test, d.y_test); apply_password(model, lt.password)
    rk = random_keys(model, lt.password, cfg, d.x_test, d.y_test, 200, seed)
    r["rand_best"], r["rand_mean"] = max(rk), float(np.mean(rk))
    stolen = public_model(model)
    r["ft"] = {str(f): ft(lambda: _clone(stolen), f) for f in subsets}
    r["H"] = {f: round(100 * (r["ft"][f] - res["scratch"][f]), 2) for f in r["ft"]}
    def reinit_bias():  # adaptive: keep the kernels, zero every bias
        m = _clone(stolen); m.set_weights([w if w.ndim > 1 else 0 * w for w in m.get_weights()]); return m
    r["ft_zero_bias"] = {str(f): ft(reinit_bias, f) for f in subsets}
    guess = adaptive_guess(model, lt.password, cfg, d.x_train[subsets[0.1]])
    m = locked_model(_clone(stolen), list(lt.password.layers)); apply_password(m, guess)
    r["adaptive_guess"] = accuracy(m, d.x_test, d.y_test)
    r["s"] = round(time.time() - t)
    res[name] = r
    print(name, r, flush=True)
    json.dump(res, open(out, "w"), indent=1)
