"""Bit-flip attack (Rakin et al., ICCV 2019, progressive bit search) on the integer design.

Loss: cross-entropy against the clean design's own predictions on one attack batch (training
digits chosen by the seed). Each iteration:
  1. gradient of the loss w.r.t. every attackable parameter through the float twin of the integer
     design (twin.py): the forward pass is the integer emulator's own (exact activations), the
     backward pass treats each cast as the identity (straight-through) and ReLU by the sign of the
     integer output;
  2. per layer, rank every stored bit by the first-order loss increase of its flip (gradient x the
     flip's signed change of the real value) and try the top k on the integer design (exact loss);
  3. commit the layer's flip that raises the loss most; re-verify on the integer emulator over the
     whole test split (the accuracy in the row is that emulator run's).
Stop when accuracy <= target (11 % for ten classes) or after max_flips. As a baseline, the same
number of random bit flips over every stored bit, committed one at a time.

A locked design is attacked and scored under the campaign's key (`key`, as Emulator(spec, key=...)).

Attackable: every stored bit (weights, biases, weight shifts, Kronecker factors, WINGs generator
parameters) of the layers after the last layer the twin cannot pass (twin.py ranks them; the float
twin back-propagates through dense, kron_dense, wings_dense and conv2d layers, max pools and
reshapes). Candidates and committed flips are computed by tail.LayerCache: the emulator's kernels
from the flipped layer on (a dense or conv flip: its one output channel, then the layers after).
"""
from __future__ import annotations

import numpy as np

from ..emulator import Emulator
from ..fixed import to_real
from .model import SiteMap, apply
from .tail import LayerCache
from .twin import backward, ranked_kinds, trailing_vector_layers

TOP_K = 5
ATTACK_BATCH = 128


def attackable(spec) -> list[int]:
    idx = trailing_vector_layers(spec)
    if not idx:
        from ..errors import ConfigError

        raise ConfigError(f"spec {spec.name!r}: bfa attacks the trailing {'/'.join(ranked_kinds())} layers "
                          "and this design ends in none")
    return idx


def _loss(logits_int, spec, target) -> float:
    z = to_real(logits_int.reshape(len(target), -1), spec.output_type)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(target)), target]))


def bfa_attack(spec, x_attack, x_test, y_test, *, seed: int, target: float, max_flips: int, top_k: int = TOP_K,
               key=None):
    """Progressive bit search; yields one dict per committed flip (site, accuracy, attack loss)."""
    sm = SiteMap(spec)
    layers = attackable(spec)
    clean = spec
    emu = Emulator(clean, key=key)
    lock = emu.key
    ytarget = np.argmax(emu.run_int(x_attack).reshape(len(x_attack), -1), -1)
    blocks = {li: [b for b in sm.blocks if b.layer == li] for li in layers}
    sites = {li: np.concatenate([b.start + np.arange(b.bits) for b in blocks[li]]) for li in layers}
    cur = spec
    # the emulator's integers from the flipped layer (a dense/conv flip: its output channel) on
    attack, test = LayerCache(spec, x_attack, key, sm), LayerCache(spec, x_test, key, sm)
    for step in range(1, max_flips + 1):
        scores = backward(cur, x_attack, ytarget, layers, lock)
        best = None
        for li in layers:
            flat = np.concatenate([scores[li][b.param].reshape(-1) for b in blocks[li]])
            for k in np.argsort(-flat, kind="stable")[:top_k]:
                site = int(sites[li][k])
                cand = apply(cur, [site], sm)
                loss = _loss(attack.flipped(cand, site), cand, ytarget)
                if best is None or loss > best[0]:
                    best = (loss, site, cand)
        loss, site, cur = best
        attack.commit(cur, site)
        pred = np.argmax(test.commit(cur, site), -1)  # re-verified: the integer emulator's kernels on the whole split
        acc = float(np.mean(pred == y_test))
        yield {"step": step, "site": site, "accuracy": acc, "attack_loss": loss}
        if acc <= target:
            return


def random_flips(spec, x_test, y_test, *, seed: int, flips: int, key=None):
    """The baseline: `flips` distinct random stored bits, committed one at a time."""
    sm = SiteMap(spec)
    order = np.random.default_rng(10_000 + seed).choice(sm.total, flips, replace=False)
    cur = spec
    test = LayerCache(spec, x_test, key, sm)
    for step, site in enumerate(order, 1):
        cur = apply(cur, [int(site)], sm)
        pred = np.argmax(test.commit(cur, int(site)), -1)
        yield {"step": step, "site": int(site), "accuracy": float(np.mean(pred == y_test)), "attack_loss": np.nan}


def bfa_rows(ctx, *, seed: int, max_flips: int, target: float) -> dict:
    """One seed of the bfa campaign: its attack's rows, then as many random flips as rows."""
    eng = ctx.engine
    d = ctx.data
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(d.x_train), min(ATTACK_BATCH, len(d.x_train)), replace=False)
    x_attack = Emulator(ctx.spec).quantize_input(d.x_train[pick])
    rows = list(bfa_attack(ctx.spec, x_attack, eng.x, eng.y, seed=seed, target=target, max_flips=max_flips,
                           key=eng.key))
    for r in rows:
        r["method"] = "bfa"
    base = list(random_flips(ctx.spec, eng.x, eng.y, seed=seed, flips=len(rows), key=eng.key))
    for r in base:
        r["method"] = "random"
    rows += base
    sm = eng.sites
    desc = [sm.describe(r["site"]) for r in rows]
    return {"fault": [f"{r['method']}-{seed}-{r['step']}" for r in rows], "seed": np.full(len(rows), seed),
            "method": [r["method"] for r in rows], "step": np.array([r["step"] for r in rows], np.int64),
            "site": np.array([r["site"] for r in rows], np.int64),
            "layer": [x[0] for x in desc], "param": [x[1] for x in desc],
            "index": np.array([x[2] for x in desc], np.int64), "bit": np.array([x[3] for x in desc], np.int64),
            "accuracy": np.array([r["accuracy"] for r in rows]),
            "attack_loss": np.array([r["attack_loss"] for r in rows], np.float64),
            "clean_accuracy": np.full(len(rows), eng.clean_correct / eng.n),
            "reached": np.full(len(rows), bool(rows) and rows[len(base) - 1]["accuracy"] <= target)}


def summarize_bfa(rows: dict) -> dict:
    """flips_mean/std over seeds (flips to reach the target, or max_flips if never), random baseline's
    accuracy after the same number of flips."""
    seeds = sorted(set(rows["seed"].tolist()))
    flips, rand_acc, reached = [], [], []
    for s in seeds:
        b = (rows["seed"] == s) & (rows["method"] == "bfa")
        r = (rows["seed"] == s) & (rows["method"] == "random")
        flips.append(int(rows["step"][b].max()))
        rand_acc.append(float(rows["accuracy"][r][np.argmax(rows["step"][r])]))
        reached.append(bool(rows["reached"][b][0]))
    return {"flips_mean": float(np.mean(flips)), "flips_std": float(np.std(flips)), "flips": flips,
            "seeds": len(seeds), "reached_target": reached, "clean_accuracy": float(rows["clean_accuracy"][0]),
            "random_flips_accuracy": float(np.mean(rand_acc))}


def plot_bfa(rows: dict, path, name: str) -> None:
    # no pyplot: a notebook's inline backend stays as it is
    from ..report_plots import subplots

    fig, ax = subplots(figsize=(5, 3.4))
    clean = float(rows["clean_accuracy"][0])
    for method, color in (("bfa", "tab:red"), ("random", "tab:blue")):
        for k, s in enumerate(sorted(set(rows["seed"].tolist()))):
            sel = (rows["seed"] == s) & (rows["method"] == method)
            order = np.argsort(rows["step"][sel])
            ax.plot(np.r_[0, rows["step"][sel][order]], np.r_[clean, rows["accuracy"][sel][order]], color=color,
                    alpha=0.7, label=f"{name} {method}" if k == 0 else None)
    ax.set_xlabel("bit flips")
    ax.set_ylabel("test accuracy (integer emulator)")
    ax.set_ylim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
