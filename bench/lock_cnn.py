"""The locked STQ + JR CNN (examples/mnist_cnn_stq_jr_lock.yaml) on its integer design, per seed:

    nice -n 10 python bench/lock_cnn.py --seed 0 --out runs/lock_cnn        # one seed: runs/lock_cnn/seed0.json
    python bench/lock_cnn.py --near-keys runs/lock_cnn/seed0_run --keys 30 --out runs/lock_cnn/seed0_near.json
    python bench/lock_cnn.py --merge runs/lock_cnn --out bench/results/lock_cnn.json

Each seed runs the product's own flow steps data -> train -> spec -> emulator (codesign/flow.py) on the
example config with `seed` set (and any --set, e.g. harden.lock.random_keys=100 to save the emulator 1.5 CPU-s a key): lock training (codesign/techniques/lock/train.py), the config's
`harden.lock.baseline` twin (the same network, same initial weights, recipe, JR regularizer and seed,
trained without the lock: codesign/techniques/lock/flow.py after_train), the spec checked against the
Keras model, and the lock section from the emulator over the whole 2,000-digit test split: with the key,
without it, 1,000 random keys of the scheme (mean and best). The twin is captured when the baseline
builds it and is extracted and run on the emulator here too, so both sides of "with key minus unlocked"
are integer-design accuracies. The flow's hls/rtl/robustness steps are not run (the views' agreement
under conv locks is tested elsewhere: sim/test_lock*, tests/test_lock*), nor the float32 twin
(`baseline.float`, not needed here).

`--merge DIR` gathers DIR/seed*.json (seeds run in separate processes, one at a time) into one table
with per-seed rows and mean/std.
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
COLUMNS = ("accuracy_with_key", "accuracy_unlocked", "with_key_minus_unlocked_points", "accuracy_without_key",
           "accuracy_random_key_mean", "accuracy_random_key_best", "accuracy_wrong_key",
           "keras_with_key", "keras_unlocked", "keras_without_key")
NOTE = ("Integer design = the bit-exact emulator on the deployed spec's integers, whole 2,000-digit test split. "
        "Flow steps run: data, train (lock training + the harden.lock.baseline unlocked twin), spec (checked "
        "against Keras), emulator (key / no key / one wrong key / harden.lock.random_keys random keys: the config's 1,000 unless an "
        "override in `overrides` lowers it; goal_met.random_keys_per_seed says how many). Not run: hls, rtl, "
        "robustness (views' agreement under conv locks is tested in sim/test_lock*, tests/test_lock*), and the "
        "float32 twin (baseline.float=false). accuracy_unlocked: the baseline twin extracted and run on the "
        "emulator (keras_unlocked: the flow's own Keras figure for it).")


def fail(msg: str) -> None:
    """Bad input: one line naming it and the fix, exit code 2."""
    print(f"lock_cnn: {msg}", file=sys.stderr)
    sys.exit(2)


def cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_seed(seed: int, config: Path, overrides: list, out_dir: Path, attack_epochs: int = 0,
             twin_from: Path | None = None, fractions: list | None = None, prune: bool = False) -> dict:
    """One seed through the product's flow steps up to the emulator; the lock section + the twin's emulator
    accuracy."""
    from codesign import models
    from codesign.config import dump_config, load_config
    from codesign.emulator import Emulator
    from codesign.extract import extract
    from codesign.flow import step_data, step_emulator, step_spec, step_train
    from codesign.run import Run
    from codesign.train import keras_accuracy
    from codesign.verify import check_against_model

    sets = [f"seed={seed}", "baseline.float=false", "hls.enabled=false", "rtl.enabled=false",
            "robustness.enabled=false"] + list(overrides)
    if twin_from is not None:  # the twin does not depend on the lock's settings: take a run's that trained it
        sets.append("harden.lock.baseline=false")
    cfg = load_config(config, sets)
    if twin_from is not None:
        prior = json.loads((twin_from / f"seed{seed}.json").read_text())
        if prior["seed"] != seed or "accuracy_unlocked" not in prior:
            fail(f"--twin-from {twin_from}: its seed{seed}.json has no unlocked twin of seed {seed}")
    elif not (cfg["harden"].get("lock") or {}).get("baseline"):
        fail(f"{config}: harden.lock.baseline must be true (the unlocked twin is the comparison), or give --twin-from")
    twins = []
    build = models.build_model

    def capture(*args, **kw):  # the baseline twin is the model after_train builds with name="unlocked"
        m = build(*args, **kw)
        if kw.get("name") == "unlocked":
            twins.append(m)
        return m

    run_dir = out_dir / f"seed{seed}_run"
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = (run_dir / "log.txt").open("w")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')} seed {seed}] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    dump_config(cfg, run_dir / "config.yaml")  # the run folder then serves `codesign lock attacks RUN_DIR`
    run = Run(cfg, run_dir, log)
    t0, c0, load0 = time.time(), cpu_s(), os.getloadavg()
    timing = {}
    models.build_model = capture
    try:
        for name, step in (("data", step_data), ("train", step_train), ("spec", step_spec), ("emulator", step_emulator)):
            t, c = time.time(), cpu_s()
            step(run)
            timing[name] = {"wall_s": round(time.time() - t, 1), "cpu_s": round(cpu_s() - c, 1)}
    finally:
        models.build_model = build
    d, lock = run.data, run.report["lock"]
    if twin_from is not None:
        twin_acc, check = prior["accuracy_unlocked"], {"from": str(twin_from / f"seed{seed}.json"),
                                                        **prior["twin_spec_check"]}
        lock["accuracy_unlocked"] = prior["keras_unlocked"]
    else:
        if len(twins) != 1:
            raise RuntimeError(f"expected one unlocked twin from harden.lock.baseline, captured {len(twins)}")
        twin = twins[0]
        # the twin's Keras accuracy must be the one the flow reported (it is the same model)
        k_twin = keras_accuracy(twin, d.x_test, d.y_test)
        if k_twin != lock["accuracy_unlocked"]:
            raise RuntimeError(f"captured twin: Keras {k_twin} != flow's accuracy_unlocked {lock['accuracy_unlocked']}")
        t, c = time.time(), cpu_s()
        ex = extract(twin, "unlocked")
        emu = Emulator(ex.spec)
        x_int = emu.quantize_input(d.x_test)
        check = check_against_model(twin, ex.spec, ex.sources, ex.post, x_int)
        twin_acc = float(np.mean(np.argmax(emu.run_int(x_int), -1) == d.y_test))
        timing["twin_emulator"] = {"wall_s": round(time.time() - t, 1), "cpu_s": round(cpu_s() - c, 1)}
    if attack_epochs:
        from codesign.techniques.lock.attacks import attack_model, lock_report

        t, c = time.time(), cpu_s()
        suite = {} if fractions is None else {"fractions": tuple(fractions), "prune": () if prune else None}
        out = attack_model(run.model, run.lock.password, run.lock.cfg, d, cfg, attack_epochs, 0, log,
                           **{k: v for k, v in suite.items() if v is not None})
        attacked = lock_report(out)
        timing["attacks"] = {"wall_s": round(time.time() - t, 1), "cpu_s": round(cpu_s() - c, 1)}
    if run.report["accuracy"]["emulator"] != lock["accuracy_with_key"]:
        raise RuntimeError("emulator accuracy with the password differs from the lock section's with-key figure")
    row = {"seed": seed, "accuracy_with_key": lock["accuracy_with_key"], "accuracy_unlocked": twin_acc,
           "with_key_minus_unlocked_points": round(100 * (lock["accuracy_with_key"] - twin_acc), 2),
           "accuracy_without_key": lock["accuracy_without_key"],
           "accuracy_random_key_mean": round(lock["accuracy_random_key_mean"], 4),
           "accuracy_random_key_best": lock["accuracy_random_key_best"], "random_keys": lock["random_keys"],
           "accuracy_wrong_key": lock["accuracy_wrong_key"],
           "keras_with_key": run.report["accuracy"]["keras"], "keras_unlocked": lock["accuracy_unlocked"],
           "keras_without_key": lock["keras_without_key"],
           **({"attacked": attacked, "attack_epochs": attack_epochs} if attack_epochs else {}),
           **{k: lock[k] for k in ("head_start", "head_start_worst", "attacks", "attack_scratch") if k in lock},
           "layers": lock["layers"], "neurons": lock["neurons"], "key_bits": lock["key_bits"],
           "twin_spec_check": check, "test_samples": len(d.y_test), "train_samples": len(d.x_train),
           "overrides": sets, "timing": timing,
           "wall_s": round(time.time() - t0, 1), "cpu_s": round(cpu_s() - c0, 1),
           "load_avg_start": [round(v, 2) for v in load0], "load_avg_end": [round(v, 2) for v in os.getloadavg()]}
    log(f"with key {row['accuracy_with_key']:.4f}, unlocked twin {twin_acc:.4f} "
        f"({row['with_key_minus_unlocked_points']:+.2f} points), no key {row['accuracy_without_key']:.4f}, "
        f"random keys mean {row['accuracy_random_key_mean']:.4f} best {row['accuracy_random_key_best']:.4f}")
    return row


def keras_keys(run_dir: Path, n: int, screen: int, top: int, out: Path) -> dict:
    """`n` random keys of the scheme on the Keras view of a finished seed's run folder (its public model with
    lock layers, codesign/techniques/lock/train.py keyed_model, called as one compiled graph: 0.7 CPU-s a key
    on the 2,000 test digits against the emulator's 1.6), drawn from the same generator as the flow's
    emulator keys (flow.py after_emulator). The first harden.lock.random_keys of them are the keys the
    emulator tried: they run on the whole test split and their best and mean must repeat the seed run's.
    The others run on the first `screen` test digits; the `top` best of those are rerun on the whole split.
    accuracy_random_key_best is the best whole-split accuracy of the keys rerun (a key scoring above it on
    the whole split would have to fall outside the top `top` of the screen)."""
    import tensorflow as tf

    from codesign.config import load_config
    from codesign.data import load_dataset, to_model_input
    from codesign.models import load_model
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.password import check_key, random_password
    from codesign.techniques.lock.train import apply_password, keyed_model

    if not (run_dir / "lock" / "password.enc").exists():
        fail(f"--keras-keys {run_dir}: no lock/password.enc there; give a seed run folder (OUT/seed<N>_run)")
    cfg = load_config(run_dir / "config.yaml")
    seed = cfg["seed"]
    row = json.loads((run_dir.parent / f"seed{seed}.json").read_text())
    spec = DesignSpec.load(run_dir / "spec")
    password = open_run_password(run_dir)
    model = keyed_model(load_model(run_dir / "model"), spec, check_key(spec, password))
    d = load_dataset(cfg["data"], seed)
    x = tf.constant(to_model_input(d.x_test).reshape((len(d.x_test),) + tuple(model.input_shape[1:])))
    forward = tf.function(lambda v: model(v, training=False))
    rng = np.random.default_rng(seed + 15485863)  # as after_emulator
    keys = [random_password(password, cfg["harden"]["lock"], rng) for _ in range(n)]

    def acc(key, m=None):
        apply_password(model, key)
        return float(np.mean(np.argmax(forward(x[:m]).numpy(), -1) == d.y_test[:m]))

    t0, c0 = time.time(), cpu_s()
    k = min(n, row["random_keys"])
    full = {i: acc(keys[i]) for i in range(k)}
    again = (max(full.values()), round(float(np.mean(list(full.values()))), 4))
    if again != (row["accuracy_random_key_best"], row["accuracy_random_key_mean"]):
        raise RuntimeError(f"Keras on the emulator's first {k} random keys: best/mean {again}, the emulator "
                           f"{row['accuracy_random_key_best']}/{row['accuracy_random_key_mean']}")
    screened = {}
    for i in range(k, n):
        screened[i] = acc(keys[i], screen)
        if (i + 1) % 100 == 0:
            print(f"[{time.strftime('%H:%M:%S')} seed {seed}] {i + 1}/{n} keys, best screen {max(screened.values()):.4f}",
                  flush=True)
    for i in sorted(screened, key=screened.get, reverse=True)[:top]:
        full[i] = acc(keys[i])
    apply_password(model, password)
    res = {"seed": seed, "random_keys": n, "whole_split_keys": k, "screen_samples": screen, "rerun_top": top,
           "accuracy_random_key_best": max(full.values()),
           "accuracy_random_key_mean_screen": round(float(np.mean(list(screened.values()))), 4) if screened else None,
           "accuracy_random_key_best_screen": max(screened.values()) if screened else None,
           "best_key": int(max(full, key=full.get)), "first_keys_repeat_emulator": k,
           "wall_s": round(time.time() - t0, 1), "cpu_s": round(cpu_s() - c0, 1),
           "load_avg_end": [round(v, 2) for v in os.getloadavg()]}
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res))
    return res


def guesses(run_dir: Path, fractions: list, out: Path, epochs: int = 20) -> dict:
    """The adaptive thief's ranked guesses (codesign/techniques/lock/attacks.py ranked_guesses: the k highest
    or lowest neurons per locked layer by each statistic it can read off the public weights and its data,
    zeroed or mean-ablated) on a finished seed's run folder, at each data fraction, without fine-tuning: each
    guess's test accuracy and its hits on the password, against training from scratch on the same samples
    (the attack protocol's: best of the learning-rate sweep, `epochs` epochs; taken from the run's report.json
    when `codesign lock attacks` already trained it)."""
    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.models import build_model, load_model
    from codesign.techniques.lock import attacks
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.train import apply_password, locked_model
    from codesign.techniques.stq_jr.layer import apply_stq

    if not (run_dir / "lock" / "password.enc").exists():
        fail(f"--guesses {run_dir}: no lock/password.enc there; give a seed run folder (OUT/seed<N>_run)")
    cfg = load_config(run_dir / "config.yaml")
    seed = cfg["seed"]
    password = open_run_password(run_dir)
    stolen = load_model(run_dir / "model")
    d = load_dataset(cfg["data"], seed)
    rep = run_dir / "report.json"
    known = json.loads(rep.read_text()).get("lock", {}).get("attack_scratch", {}) if rep.exists() else {}
    order = np.random.default_rng(seed + 1).permutation(len(d.x_train))  # as attacks.attack_suite
    layers = apply_stq(cfg["model"]["layers"], cfg["harden"]["stq"])
    t0, c0 = time.time(), cpu_s()
    res = {"seed": seed, "neurons": password.neurons(), "by_fraction": {}}
    model = locked_model(attacks._clone(stolen), list(password.layers))
    for f in fractions:
        idx = order[:int(round(f * len(d.x_train)))]
        xs, ys = d.x_train[idx], d.y_train[idx]
        by = {}
        for name, key in attacks.ranked_guesses(stolen, password, cfg["harden"]["lock"], xs).items():
            apply_password(model, key)
            by[name] = {"accuracy": attacks.accuracy(model, d.x_test, d.y_test),
                        "hits": sum(len(set(key.layers[n]["indices"]) & set(password.layers[n]["indices"]))
                                    for n in password.layers)}
        if str(f) in known:
            scratch, source = known[str(f)], "report.json attack_scratch"
        else:
            scratch = attacks.best_finetune(lambda: build_model(layers, d.input_shape, d.num_classes, quantized=True,
                                                                seed=seed + 100),
                                            xs, ys, d.x_test, d.y_test, epochs, seed,
                                            stochastic=cfg["train"]["stochastic"])["best"]
            source = "trained here"
        best = max(by, key=lambda g: by[g]["accuracy"])
        res["by_fraction"][str(f)] = {"scratch": scratch, "scratch_from": source, "best_guess": best,
                                      "best_guess_accuracy": by[best]["accuracy"],
                                      "head_start_best_guess": round(100 * (by[best]["accuracy"] - scratch), 2),
                                      "by_guess": by}
        print(f"[{time.strftime('%H:%M:%S')} seed {seed}] f={f}: best guess {best} {by[best]} scratch {scratch}",
              flush=True)
    res.update(wall_s=round(time.time() - t0, 1), cpu_s=round(cpu_s() - c0, 1),
               load_avg_end=[round(v, 2) for v in os.getloadavg()])
    out.write_text(json.dumps(res, indent=1) + "\n")
    return res


def more_keys(run_dir: Path, n: int, out: Path) -> dict:
    """`n` random keys of the scheme on the emulator for a finished seed's run folder (its spec, sealed
    password and config), drawn from the same generator as the flow's (codesign/techniques/lock/flow.py
    after_emulator), so its first keys are the ones the seed run tried: their figures must repeat."""
    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.flow import keyed_outputs
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.password import check_key, random_password

    if not (run_dir / "lock" / "password.enc").exists():
        fail(f"--more-keys {run_dir}: no lock/password.enc there; give a seed run folder (OUT/seed<N>_run)")
    cfg = load_config(run_dir / "config.yaml")
    seed = cfg["seed"]
    row_path = run_dir.parent / f"seed{seed}.json"
    row = json.loads(row_path.read_text())
    spec = DesignSpec.load(run_dir / "spec")
    password = open_run_password(run_dir)
    d = load_dataset(cfg["data"], seed)
    x_int = Emulator(spec).quantize_input(d.x_test)
    rng = np.random.default_rng(seed + 15485863)  # as after_emulator
    t0, c0 = time.time(), cpu_s()
    accs = []
    for start in range(0, n, 100):
        keys = [check_key(spec, random_password(password, cfg["harden"]["lock"], rng)) for _ in range(min(100, n - start))]
        accs += [float(np.mean(np.argmax(o, -1) == d.y_test)) for o in keyed_outputs(spec, x_int, keys)]
        print(f"[{time.strftime('%H:%M:%S')} seed {seed}] {len(accs)}/{n} random keys, best so far {max(accs):.4f}",
              flush=True)
    k = row["random_keys"]
    again = (max(accs[:k]), round(float(np.mean(accs[:k])), 4))
    if again != (row["accuracy_random_key_best"], row["accuracy_random_key_mean"]):
        raise RuntimeError(f"the first {k} keys give best/mean {again}, the seed run gave "
                           f"{row['accuracy_random_key_best']}/{row['accuracy_random_key_mean']}")
    res = {"seed": seed, "random_keys": n, "accuracy_random_key_best": max(accs),
           "accuracy_random_key_mean": round(float(np.mean(accs)), 4),
           "first_keys_repeat_seed_run": k, "wall_s": round(time.time() - t0, 1), "cpu_s": round(cpu_s() - c0, 1),
           "load_avg_end": [round(v, 2) for v in os.getloadavg()]}
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res))
    return res


def near_keys(run_dir: Path, n: int, near: list, out: Path) -> dict:
    """`n` near-miss keys (each layer keeps a share drawn in `near` of the password's neurons, the rest
    replaced: codesign/techniques/lock/password.py near_miss_password) on the emulator of a finished seed's
    run folder: does a key that shares most of the password unlock the design? Seeded by the run's seed."""
    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.flow import keyed_outputs
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.password import check_key, near_miss_password

    if not (run_dir / "lock" / "password.enc").exists():
        fail(f"--near-keys {run_dir}: no lock/password.enc there; give a seed run folder (OUT/seed<N>_run)")
    if not (len(near) == 2 and 0 <= near[0] <= near[1] <= 1):
        fail(f"--near {near}: give two shares 0 <= LOW <= HIGH <= 1")
    cfg = load_config(run_dir / "config.yaml")
    seed = cfg["seed"]
    spec = DesignSpec.load(run_dir / "spec")
    password = open_run_password(run_dir)
    d = load_dataset(cfg["data"], seed)
    x_int = Emulator(spec).quantize_input(d.x_test)
    rng = np.random.default_rng(seed + 32452843)
    t0, c0 = time.time(), cpu_s()
    lcfg = dict(cfg["harden"]["lock"], near=list(near))
    keys = [near_miss_password(password, lcfg, rng) for _ in range(n)]
    shared = [{name: len(set(k.layers[name]["indices"]) & set(password.layers[name]["indices"])) for name in k.layers}
              for k in keys]
    accs = [float(np.mean(np.argmax(o, -1) == d.y_test))
            for o in keyed_outputs(spec, x_int, [check_key(spec, k) for k in keys])]
    best = int(np.argmax(accs))
    res = {"seed": seed, "near_keys": n, "near": list(near),
           "password_neurons": {name: len(p["indices"]) for name, p in password.layers.items()},
           "accuracy_near_key_best": accs[best], "accuracy_near_key_mean": round(float(np.mean(accs)), 4),
           "best_key_shared_neurons": shared[best],
           "by_key": [{"shared": s, "accuracy": a} for s, a in zip(shared, accs)],
           "wall_s": round(time.time() - t0, 1), "cpu_s": round(cpu_s() - c0, 1),
           "load_avg_end": [round(v, 2) for v in os.getloadavg()]}
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "by_key"}))
    return res


def merge(in_dir: Path, out: Path, config: Path, note: str = "") -> dict:
    rows = sorted((json.loads(p.read_text()) for p in in_dir.glob("seed*.json") if p.stem[4:].isdigit()),
                  key=lambda r: r["seed"])
    if not rows:
        fail(f"--merge {in_dir}: no seed*.json there; run --seed N --out {in_dir} first")
    overrides = {tuple(o for o in r["overrides"] if not o.startswith("seed=")) for r in rows}
    if len(overrides) != 1:
        fail(f"--merge {in_dir}: the seed runs used different overrides {overrides}; merge like with like")
    stats = {}
    for k in COLUMNS:
        v = [r[k] for r in rows]
        stats[k] = {"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v)), 4)}
    more = {p.stem: json.loads(p.read_text()) for p in sorted(in_dir.glob("seed*_keys*.json"))}
    for r in rows:  # a seed's random keys extended on its run folder (--more-keys, --keras-keys) count too
        ext = [m for m in more.values() if m["seed"] == r["seed"]]
        r["random_keys_all"] = max([r["random_keys"]] + [m["random_keys"] for m in ext])
        r["accuracy_random_key_best_all"] = max([r["accuracy_random_key_best"]]
                                                + [m["accuracy_random_key_best"] for m in ext])
    goal = {"with_key_within_0.5_points": all(abs(r["with_key_minus_unlocked_points"]) <= 0.5 for r in rows),
            "without_key_mean_le_0.11": stats["accuracy_without_key"]["mean"] <= 0.11,
            "random_key_best_le_0.20": max(r["accuracy_random_key_best_all"] for r in rows) <= 0.20,
            "random_keys_per_seed": sorted({r["random_keys_all"] for r in rows})}
    table = {"config": str(config.relative_to(config.parents[1])), "overrides": list(next(iter(overrides))),
             "seeds": [r["seed"] for r in rows], "note": NOTE + (" " + note if note else ""),
             "command": "nice -n 10 /usr/bin/time -v python bench/lock_cnn.py --seed S --out DIR (S one at a time); "
                        "python bench/lock_cnn.py --merge DIR --out bench/results/lock_cnn.json",
             "mean_std": stats, "goal_met": goal, "by_seed": rows}
    if more:  # seeds whose random keys were extended (--more-keys) on the same run folder
        table["random_keys_extended"] = more
    attacked = {}  # seeds attacked in the seed run (--attacks) or afterwards (`codesign lock attacks RUN_DIR`)
    for r in rows:
        rep = in_dir / f"seed{r['seed']}_run" / "report.json"
        lock = json.loads(rep.read_text()).get("lock", {}) if rep.exists() else {}
        if "attacked" in r:
            attacked[f"seed{r['seed']}"] = dict(r["attacked"], epochs=r["attack_epochs"])
        elif "attacks" in lock:
            attacked[f"seed{r['seed']}"] = {k: lock[k] for k in ("head_start", "head_start_worst", "attacks",
                                                                 "attack_scratch") if k in lock}
    if attacked:
        table["attacks_after"] = attacked
    ranked = {p.stem: json.loads(p.read_text()) for p in sorted(in_dir.glob("seed*_guesses*.json"))}
    if ranked:  # the adaptive thief's ranked guesses on the seeds' run folders (--guesses)
        table["ranked_guesses"] = ranked
    near = {p.stem: json.loads(p.read_text()) for p in sorted(in_dir.glob("seed*_near*.json"))}
    if near:  # near-miss keys tried on the seeds' run folders (--near-keys)
        table["near_miss_keys"] = near
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(table, indent=1) + "\n")
    print(json.dumps({"seeds": table["seeds"], "mean_std": stats, "goal_met": goal}, indent=1))
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--seed", type=int, help="run this seed; writes OUT/seed<N>.json")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="config override, as codesign flow --set")
    ap.add_argument("--merge", type=Path, metavar="DIR", help="merge DIR/seed*.json into OUT (a .json file)")
    ap.add_argument("--more-keys", type=Path, metavar="RUN_DIR",
                    help="a finished seed's run folder (OUT/seed<N>_run): try --keys random keys on its emulator")
    ap.add_argument("--near-keys", type=Path, metavar="RUN_DIR",
                    help="a finished seed's run folder: try --keys near-miss keys (sharing --near of the password)")
    ap.add_argument("--near", type=float, nargs=2, default=[0.5, 0.95], metavar=("LOW", "HIGH"))
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--keras-keys", type=Path, metavar="RUN_DIR",
                    help="a finished seed's run folder: try --keys random keys on its Keras view (screened on --screen "
                         "test digits, the --top best rerun on all)")
    ap.add_argument("--twin-from", type=Path, metavar="DIR",
                    help="with --seed: take the unlocked twin's figures from DIR/seed<N>.json (a run of the same config "
                         "and seed that trained it: the twin does not depend on harden.lock) instead of training it")
    ap.add_argument("--attack-fractions", type=float, nargs="+", metavar="F",
                    help="with --attacks: only these data fractions (a quick look; the table's protocol is 0.01 0.1)")
    ap.add_argument("--no-prune", action="store_true", help="with --attacks: skip the pruning attacks (a quick look)")
    ap.add_argument("--guesses", type=Path, metavar="RUN_DIR",
                    help="a finished seed's run folder: the adaptive thief's ranked guesses at --fractions")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1])
    ap.add_argument("--screen", type=int, default=500)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--attacks", type=int, default=0, metavar="EPOCHS",
                    help="with --seed: also every attack of codesign/techniques/lock/attacks.py, EPOCHS epochs each")
    ap.add_argument("--note", default="", help="with --merge: what this table's recipe changes, appended to its note")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    if sum(v is not None for v in (a.seed, a.merge, a.more_keys, a.near_keys, a.keras_keys, a.guesses)) != 1:
        ap.error("give exactly one of --seed N (run a seed), --more-keys RUN_DIR, --near-keys RUN_DIR or --merge DIR "
                 "(combine seed runs)")
    if a.guesses:
        guesses(a.guesses, a.fractions, a.out)
        return
    if a.keras_keys:
        keras_keys(a.keras_keys, a.keys, a.screen, a.top, a.out)
        return
    if a.near_keys:
        near_keys(a.near_keys, a.keys, a.near, a.out)
        return
    if a.more_keys:
        more_keys(a.more_keys, a.keys, a.out)
        return
    if a.merge:
        merge(a.merge, a.out, a.config.resolve(), a.note)
        return
    a.out.mkdir(parents=True, exist_ok=True)
    row = run_seed(a.seed, a.config, a.sets, a.out, a.attacks, a.twin_from, a.attack_fractions, a.no_prune)
    (a.out / f"seed{a.seed}.json").write_text(json.dumps(row, indent=1) + "\n")


if __name__ == "__main__":
    main()
