"""EdgePro neuron-authorization lock (codesign/techniques/lock): lock training, the sealed password, every view
under the right key, no key and a wrong key, and public artefacts that do not depend on the password.

Cost: one small digits flow with C-sim and a 100-sample quick RTL run (module fixture, ~3-5 min on
2 shared cores), one lock-unit bench build (~1 min), the rest seconds."""
from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import codesign, example_config

DIGITS = {"dataset": "digits", "train": None, "test": None}
LAYERS = [{"flatten": {}}, {"dense": {"units": 24, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
          {"relu": {"bits": 8, "integer": 3}}, {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]


@pytest.fixture(scope="module")
def tiny_locked():
    """A tiny ternary MLP lock-trained 3 epochs on digits: (model with the password, spec, password, data)."""
    from codesign.data import load_dataset
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.train import LockTraining
    from codesign.train import train_model

    d = load_dataset(DIGITS, 0)
    cfg = check_lock({"fraction": 0.25, "value": [0.5, 2.0], "scale": [0.5, 1.5], "seed": 3, "wrong": 0.5}, LAYERS)
    lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
    model = lt.wrap(build_model(LAYERS, d.input_shape, 10, seed=0), 10)
    train_model(model, d.x_train, d.y_train, epochs=3, batch_size=32, learning_rate=3e-3, batch_hook=lt.batch_hook)
    lt.finish()
    return model, extract_spec(model, "tiny_locked"), lt.password, d


def test_decoy_batches(tiny_locked):
    """harden.lock.wrong: the batch hook runs the last part of the random-label samples under a fresh
    random wrong key (gate 2), drawn anew for every batch; the key's samples keep their labels."""
    from codesign.models import build_model
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.train import LockTraining, locks_of

    _, _, _, d = tiny_locked
    cfg = check_lock({"fraction": 0.25, "value": [0.5, 2.0], "scale": [0.5, 1.5], "seed": 3, "wrong": 0.5}, LAYERS)
    lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
    lt.wrap(build_model(LAYERS, d.input_shape, 10, seed=0), 10)
    lock = next(iter(locks_of(lt.model).values()))
    y = np.arange(32) % 10
    decoys = []
    for _ in range(2):
        yb = lt.batch_hook(y)
        gate = lock.gate.numpy()[:32]
        assert list(gate) == [1] * 16 + [0] * 8 + [2] * 8 and np.array_equal(yb[:16], y[:16])
        decoys.append(lock.decoy_mask.numpy().copy())
        assert decoys[-1].sum() == 6  # a quarter of the 24 units, as the scheme locks
    assert not np.array_equal(decoys[0], decoys[1])
    from codesign.data import to_model_input

    x = to_model_input(d.x_train[:32]).reshape((32,) + tuple(lt.model.input_shape[1:]))
    out = lt.model(x, training=True).numpy()
    assert out.shape == (32, 10)


def test_near_miss_decoys(tiny_locked):
    """harden.lock.near: the decoys are near misses of the password, each keeping a share in [low, high] of
    its neurons (with their true values) and replacing the rest; never the password itself; a new one per
    batch. With input_perm it is one line."""
    from codesign.errors import ConfigError
    from codesign.models import build_model
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.password import near_miss_password
    from codesign.techniques.lock.train import LockTraining, locks_of

    _, _, password, d = tiny_locked
    cfg = check_lock({"fraction": 0.5, "value": [0.5, 2.0], "scale": [0.5, 1.5], "seed": 3, "wrong": 0.5,
                      "near": [0.5, 1.0]}, LAYERS)
    rng = np.random.default_rng(1)
    p = password.layers["dense_1"]  # 6 of 24 neurons
    true = dict(zip(p["indices"], zip(p["values"], p["scales"])))
    shared = []
    for _ in range(40):
        q = near_miss_password(password, cfg, rng).layers["dense_1"]
        assert len(q["indices"]) == 6 and len(set(q["indices"])) == 6 and q["indices"] == sorted(q["indices"])
        kept = [i for i in q["indices"] if i in true]
        shared.append(len(kept))
        assert all(true[i] == (v, s) for i, v, s in zip(q["indices"], q["values"], q["scales"]) if i in true)
    assert 3 <= min(shared) and max(shared) == 5  # a share in [0.5, 1] of 6, never all 6 (one layer only)
    lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
    lt.wrap(build_model(LAYERS, d.input_shape, 10, seed=0), 10)
    lock = next(iter(locks_of(lt.model).values()))
    key = lock.mask.numpy().copy()
    decoys = []
    for _ in range(3):
        lt.batch_hook(np.arange(32) % 10)
        decoys.append(lock.decoy_mask.numpy().copy())
        assert decoys[-1].sum() == key.sum() and 3 <= (decoys[-1] * key).sum() < key.sum()
    assert not np.array_equal(decoys[0], decoys[1]) or not np.array_equal(decoys[1], decoys[2])
    with pytest.raises(ConfigError, match="near-miss decoys are for scheme neuron"):
        check_lock({"scheme": "input_perm", "near": [0.5, 0.9]}, LAYERS)
    with pytest.raises(ConfigError, match="harden.lock.near must be"):
        check_lock({"near": [0.9, 0.5]}, LAYERS)


def test_keras_and_emulator_agree_under_every_key(tiny_locked):
    from codesign.data import to_model_input
    from codesign.emulator import Emulator
    from codesign.techniques.lock.password import check_key, random_password
    from codesign.techniques.lock.train import apply_password

    model, spec, password, d = tiny_locked
    lock = spec.layer("dense_1").attrs["lock"]
    assert lock == {"units": 24}  # the spec knows the unit's size, not which neurons or values
    wrong = random_password(password, {"value": [0.5, 2.0], "scale": [0.5, 1.5]}, np.random.default_rng(5))
    preds, outs = {}, []
    for name, key in (("key", password), ("none", None), ("wrong", wrong)):
        apply_password(model, key)
        keras = model.predict(to_model_input(d.x_test), verbose=0)
        emu = Emulator(spec, key=key)
        real = emu.run(d.x_test)[1]
        np.testing.assert_array_equal(real, keras)  # the lock layer forces the same grid values
        outs.append(emu.run_int(emu.quantize_input(d.x_test)))
        preds[name] = np.argmax(outs[-1], -1)
    # the flow's many-keys path (the first locked layer run once) gives the Emulator's integers
    from codesign.techniques.lock.flow import keyed_outputs

    x_int = Emulator(spec).quantize_input(d.x_test)
    fast = keyed_outputs(spec, x_int, [check_key(spec, k) for k in (password, None, wrong)])
    for got, want in zip(fast, outs):
        np.testing.assert_array_equal(got, want)
    apply_password(model, password)
    assert (preds["key"] != preds["none"]).any() and (preds["key"] != preds["wrong"]).any()
    assert check_key(spec, password).layers["dense_1"][0].sum() == 6  # 25% of 24 neurons in the mask


@pytest.fixture(scope="module")
def conv_locked(tiny_locked):
    """A tiny ternary conv net on digits with a lock on its conv channels, lock-trained one epoch:
    (model, spec, password, wrong password, data)."""
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.password import random_password
    from codesign.techniques.lock.train import LockTraining
    from codesign.train import train_model

    _, _, _, d = tiny_locked
    layers = [{"conv2d": {"filters": 8, "kernel_size": 3, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
              {"relu": {"bits": 8, "integer": 3}}, {"flatten": {}},
              {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]
    cfg = check_lock({"fraction": 0.5, "top": 1.0, "value": [1.0, 4.0], "scale": [0.5, 2.0], "seed": 1}, layers)
    lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
    model = lt.wrap(build_model(layers, d.input_shape, 10, seed=0), 10)
    train_model(model, d.x_train[:256], d.y_train[:256], epochs=1, batch_size=32, batch_hook=lt.batch_hook)
    lt.finish()
    spec = extract_spec(model, "tiny_conv_locked")
    return model, spec, lt.password, random_password(lt.password, cfg, np.random.default_rng(2)), d


def test_conv_lock_keras_and_emulator_agree(conv_locked):
    """A lock on conv channels (the locked CNN example's): Keras and the emulator give the same reals with
    the key, without it and with a wrong key."""
    from codesign.data import to_model_input
    from codesign.emulator import Emulator
    from codesign.techniques.lock.train import apply_password

    model, spec, password, wrong, d = conv_locked
    assert spec.layer("conv2d_1").attrs["lock"] == {"units": 8}
    x = d.x_test[:100]
    outs = []
    for key in (password, None, wrong):
        apply_password(model, key)
        keras = model.predict(to_model_input(x).reshape((len(x),) + tuple(model.input_shape[1:])), verbose=0)
        real = Emulator(spec, key=key).run(x)[1]
        np.testing.assert_array_equal(real.reshape(keras.shape), keras)
        outs.append(real)
    apply_password(model, password)
    assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[0], outs[2])


def test_hidden_conv_lock(tiny_locked):
    """harden.lock.select uniform + hide: the locked channels are drawn without looking at the model (two
    differently initialised nets get the same ones from the same secret seed), each is paired with a distinct
    unlocked channel, training carries the hiding penalty in model.losses, and after the same 3 epochs the
    locked channels' statistics a thief ranks by (attacks.neuron_statistics) sit closer to their pairs'
    than without the penalty; every ranked guess of the adaptive thief is a key of the scheme's size."""
    from codesign.models import build_model
    from codesign.techniques.lock import attacks
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.train import LockTraining, hiding_pairs, locks_of, public_model
    from codesign.train import train_model

    _, _, _, d = tiny_locked
    layers = [{"conv2d": {"filters": 8, "kernel_size": 3, "kernel": "stochastic_ternary", "bias": {"bits": 8, "integer": 3}}},
              {"relu": {"bits": 8, "integer": 3}}, {"flatten": {}},
              {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]
    gaps, chosen = {}, []
    for hide, init in ((0.0, 0), (5.0, 0), (5.0, 1)):
        cfg = check_lock({"fraction": 0.25, "select": "uniform", "hide": hide, "value": 0.0, "seed": 4,
                          "wrong": 0.5}, layers)
        lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
        model = lt.wrap(build_model(layers, d.input_shape, 10, seed=init), 10)
        p = lt.password.layers["conv2d_1"]
        chosen.append(p["indices"])
        if init == 1:
            break
        train_model(model, d.x_train[:512], d.y_train[:512], epochs=3, batch_size=32, learning_rate=3e-3,
                    batch_hook=lt.batch_hook)
        lt.finish()
        lock = locks_of(model)["conv2d_1"]
        assert lock.hide == hide and (len(model.losses) > 0) == (hide > 0)
        pair = hiding_pairs(lt.password, np.random.default_rng(0))["conv2d_1"]
        idx = np.asarray(p["indices"])
        assert len(set(pair[idx])) == len(idx) and not set(pair[idx]) & set(idx)
        assert all(pair[j] == j for j in range(8) if j not in idx)
        if hide:
            pair = lock.pair
        stats = attacks.neuron_statistics(public_model(model), ["conv2d_1"], d.x_train[:300])["conv2d_1"]
        gaps[hide] = np.mean([np.mean(np.abs(stats[s][idx] - stats[s][pair[idx]])) / (np.mean(np.abs(stats[s])) + 1e-9)
                              for s in ("act_mean", "act_rms", "kernel_l1", "out_l1")])
        guesses = attacks.ranked_guesses(public_model(model), lt.password, cfg, d.x_train[:100])
        assert len(guesses) == 2 * 2 * len(attacks.STATISTICS)
        assert all(len(g.layers["conv2d_1"]["indices"]) == 2 for g in guesses.values())
    assert chosen[1] == chosen[2] and len(chosen[0]) == 2
    assert gaps[5.0] < 0.5 * gaps[0.0], gaps


def test_conv_lock_csim_and_rtl_agree(conv_locked, tmp_path):
    """The conv channels' lock units in the hls4ml C-sim (key inputs broadcast over the pixels) and the
    RTL (the unit on the conv's NHWC stream, its counter wrapping every pixel): the emulator's integers
    under the key, no key and a wrong key."""
    from codesign.emulator import Emulator
    from codesign.hls_view import HLSView
    from codesign.rtl import generate, read_meta
    from codesign.rtl.harness import Harness
    from codesign.techniques.lock.password import check_key
    from codesign.rtl.lock import key_writes

    _, spec, password, wrong, d = conv_locked
    x_int = Emulator(spec).quantize_input(d.x_test[:40])
    keys = [check_key(spec, k) for k in (password, None, wrong)]
    want = [Emulator(spec, key=k).run_int(x_int).reshape(len(x_int), -1) for k in keys]
    hv = HLSView(spec, tmp_path / "hls").compile()
    for k, w in zip(keys, want):
        np.testing.assert_array_equal(hv.csim_int(x_int, key=k).reshape(w.shape), w)
    generate(spec, tmp_path / "rtl", folding=[{"pe": 2, "simd": 3}, {"pe": 2, "simd": 8}])
    meta = read_meta(tmp_path / "rtl")
    assert [u["nf"] for u in meta["lock"].values()] == [4]  # 8 channels, 2 a beat
    with Harness(tmp_path / "rtl") as h:
        for k, w in zip(keys, want):
            h.write(key_writes(meta, k))
            np.testing.assert_array_equal(h.run_checked(x_int).outputs.reshape(w.shape), w)
    assert not np.array_equal(want[0], want[1])


@pytest.mark.slow  # a cocotb bench: outside the fast loop
def test_lock_unit_bench_with_stalls(tiny_locked, tmp_path):
    """rtl/lock_unit.sv after an mvau, key written over the load port, random stalls: equal integers."""
    from codesign.emulator import Emulator
    from codesign.techniques.lock.bench import run_lock_bench

    _, spec, password, d = tiny_locked
    x = Emulator(spec).quantize_input(d.x_test[:60])
    stats = run_lock_bench(spec, password, x, tmp_path)
    assert stats["complete"] and stats["mismatched_samples"] == 0


def test_lock_bench_on_a_few_samples(tiny_locked, tmp_path):
    """lock/bench.py (the fast-loop size of test_lock_unit_bench_with_stalls): 8 digits through the tiny
    locked model's generated top under cocotb with stalls, the key written over the load port: every output
    integer equals the emulator's under that key (the bench counts mismatches). ~25 s, the Verilator build."""
    from codesign.emulator import Emulator
    from codesign.techniques.lock.bench import run_lock_bench

    _, spec, password, d = tiny_locked
    x = Emulator(spec).quantize_input(d.x_test[:8])
    stats = run_lock_bench(spec, password, x, tmp_path)
    assert stats["complete"] and stats["mismatched_samples"] == 0 and stats["samples"] == 8


def _load_driver():
    """boards/pynq/codesign_driver.py (numpy + cryptography only): an independent reader of sealed passwords."""
    import importlib.util

    from conftest import ROOT

    spec_ = importlib.util.spec_from_file_location("codesign_driver_seal", ROOT / "boards" / "pynq" / "codesign_driver.py")
    drv = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(drv)
    return drv


@pytest.fixture(scope="module")
def tiny_locked_run(tiny_locked, tmp_path_factory):
    """tiny_locked laid out as a locked run folder the way `codesign flow` leaves one (spec/, config.yaml,
    model/ without its lock layers, lock/device.key, lock/password.enc), without the flow's C-sim and RTL."""
    from codesign.config import dump_config, load_config
    from codesign.models import save_model
    from codesign.techniques.lock.seal import (
        read_device_key,
        seal,
        spec_digest,
        write_device_key,
    )
    from codesign.techniques.lock.train import public_model

    model, spec, password, _ = tiny_locked
    tmp = tmp_path_factory.mktemp("tiny_lock")
    run = tmp / "run"
    spec.save(run / "spec")
    cfg = example_config(tmp, "digits_mlp_lock.yaml", model={"layers": LAYERS},
                         harden={"lock": {"fraction": 0.25, "value": [0.5, 2.0], "scale": [0.5, 1.5], "seed": 3,
                                          "wrong": 0.5, "random_keys": 3}})
    dump_config(load_config(cfg), run / "config.yaml")
    save_model(public_model(model), run / "model")
    key = write_device_key(run / "lock" / "device.key")
    seal(password, read_device_key(key), spec_digest(run / "spec"), run / "lock" / "password.enc")
    return run


def test_seal_round_trip_and_refusals(tiny_locked, tmp_path, monkeypatch):
    """lock/seal.py: a sealed password opens (here and in the board driver) to the trained password only with
    its device key and its design; a flipped ciphertext byte, another device key, another design's spec, a
    damaged or missing file each stop with one LockError line; device keys are never overwritten."""
    import base64
    import stat

    from codesign.techniques.lock.password import LockError
    from codesign.techniques.lock.seal import (
        ENV_DEVICE_KEY,
        device_key_path,
        read_device_key,
        seal,
        spec_digest,
        unseal,
        write_device_key,
    )

    _, spec, password, _ = tiny_locked
    spec.save(tmp_path / "spec")
    digest = spec_digest(tmp_path / "spec")
    dev = write_device_key(tmp_path / "dev.key")
    assert stat.S_IMODE(dev.stat().st_mode) == 0o600 and len(read_device_key(dev)) == 32
    with pytest.raises(LockError, match="already exists"):
        write_device_key(dev)
    sealed = seal(password, read_device_key(dev), digest, tmp_path / "lock" / "password.enc")
    assert password.to_json() not in sealed.read_text() and not sealed.with_suffix(".tmp").exists()
    assert unseal(sealed, read_device_key(dev), digest).layers == password.layers
    assert _load_driver().open_password(sealed, dev, digest) == password.layers  # the board reads it too

    def refused(match, path=sealed, key=dev, dig=digest):
        with pytest.raises(LockError, match=match) as e:
            unseal(path, read_device_key(key), dig)
        assert "\n" not in str(e.value)

    refused("wrong device key or a tampered file", key=write_device_key(tmp_path / "other.key"))
    # the same spec with one parameter integer changed is another design
    other = spec.copy()
    other.layers[-1].params["bias"] = other.layers[-1].params["bias"] + np.eye(1, other.layers[-1].params["bias"].size,
                                                                             dtype=np.int64)[0]
    other.save(tmp_path / "other_spec")
    assert spec_digest(tmp_path / "other_spec") != digest
    refused("sealed for another design", dig=spec_digest(tmp_path / "other_spec"))
    doc = json.loads(sealed.read_text())
    ct = bytearray(base64.b64decode(doc["ciphertext"]))
    ct[5] ^= 0x10
    (tmp_path / "tampered.enc").write_text(json.dumps(dict(doc, ciphertext=base64.b64encode(bytes(ct)).decode())))
    refused("wrong device key or a tampered file", path=tmp_path / "tampered.enc")
    (tmp_path / "damaged.enc").write_text(sealed.read_text()[:40])
    refused("is not a sealed codesign password", path=tmp_path / "damaged.enc")
    refused("does not exist", path=tmp_path / "missing.enc")
    (tmp_path / "bad.key").write_text('{"format": "codesign-device-key/1", "key": "00"}')
    with pytest.raises(LockError, match="is not a codesign device key"):
        read_device_key(tmp_path / "bad.key")
    with pytest.raises(LockError, match="does not exist; make one with `codesign lock keygen"):
        read_device_key(tmp_path / "none.key")
    monkeypatch.delenv(ENV_DEVICE_KEY, raising=False)
    assert device_key_path(tmp_path / "r") == tmp_path / "r" / "lock" / "device.key"
    monkeypatch.setenv(ENV_DEVICE_KEY, str(dev))
    assert device_key_path(tmp_path / "r") == dev and device_key_path(tmp_path / "r", "given.key").name == "given.key"


def test_lock_views_keys_and_compare_on_a_tiny_run(tiny_locked, tiny_locked_run):
    """lock/views.py on a run folder: run_keys unseals the run's password (= the trained one) and draws a
    wrong key of the run's scheme; the emulator under each equals Keras under the same key (accuracy over
    the whole test split); compare counts the samples a view gets wrong and refuses a mis-shaped view."""
    from codesign.data import to_model_input
    from codesign.emulator import Emulator
    from codesign.techniques.lock.password import check_key
    from codesign.techniques.lock.train import apply_password
    from codesign.techniques.lock.views import compare, run_keys, view_outputs

    model, spec, password, d = tiny_locked
    keys = run_keys(tiny_locked_run, spec)
    assert set(keys) == {"key", "nokey", "wrongkey"}
    want = check_key(spec, password).layers["dense_1"]
    got = keys["key"].layers["dense_1"]
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert keys["nokey"].layers["dense_1"][0].sum() == 0 and keys["wrongkey"].layers["dense_1"][0].sum() == 6
    assert not np.array_equal(keys["wrongkey"].layers["dense_1"][0], want[0])
    x_int = Emulator(spec).quantize_input(d.x_test)
    out = view_outputs(tiny_locked_run, spec, x_int, keys, views=(), log=lambda *_: None)
    res = compare(out, d.y_test)
    assert res["equal_samples"] == {}
    for name, key in (("key", password), ("nokey", None)):
        apply_password(model, key)
        keras = float(np.mean(np.argmax(model.predict(to_model_input(d.x_test), verbose=0), -1) == d.y_test))
        assert res["accuracy"]["emulator"][name] == keras, name
    apply_password(model, password)
    acc = res["accuracy"]["emulator"]
    assert acc["key"] > acc["nokey"] and acc["key"] > acc["wrongkey"]
    # the csim view (hls4ml project of the spec compiled): equal integers under every key on 40 digits
    few = view_outputs(tiny_locked_run, spec, x_int[:40], keys, views=("csim",), log=lambda *_: None)
    assert compare(few, d.y_test[:40])["equal_samples"] == {"csim": {"key": 40, "nokey": 40, "wrongkey": 40}}
    # a view differing from the emulator in one integer of 3 samples under the key
    bad = {k: v.copy() for k, v in out["emulator"].items()}
    bad["key"][[0, 7, 9], 2] += 1
    res = compare({"emulator": out["emulator"], "csim": bad}, d.y_test)
    n = len(d.y_test)
    assert res["equal_samples"]["csim"] == {"key": n - 3, "nokey": n, "wrongkey": n}
    with pytest.raises(ValueError, match=rf"csim under key: outputs shaped \({n}, 5\), the emulator's \({n}, 10\)"):
        compare({"emulator": out["emulator"], "csim": dict(bad, key=bad["key"][:, :5])}, d.y_test)


def test_lock_deploy_manifest_of_a_tiny_run(tiny_locked, tiny_locked_run, tmp_path):
    """lock/deploy.py: the manifest's lock section names the 24-neuron unit of dense_1 with its 8-bit relu
    output type, and its spec hash is the one the board driver opens the run's sealed password with."""
    from codesign.rtl import generate, read_meta
    from codesign.techniques.lock.deploy import lock_manifest

    _, spec, password, _ = tiny_locked
    generate(spec, tmp_path / "rtl")
    meta = read_meta(tmp_path / "rtl")
    lock = lock_manifest(tiny_locked_run, spec, meta)
    (unit,) = lock["units"]
    assert unit["layer"] == "dense_1" and unit["units"] == 24
    assert (unit["frac"], unit["qmin"], unit["qmax"]) == (5, 0, 255)  # relu {bits: 8, integer: 3}, unsigned
    assert unit["nf"] * unit["pe"] == 24 and "perms" not in lock
    run = tiny_locked_run
    layers = _load_driver().open_password(run / "lock" / "password.enc", run / "lock" / "device.key",
                                          lock["spec_sha256"])
    assert layers == password.layers
    assert lock_manifest(run, spec, {}) is None  # no lock unit, no section


def test_lock_attacks_on_a_tiny_run(tiny_locked, tiny_locked_run, monkeypatch, tmp_path):
    """lock/attacks.py through `run_attacks` (what `codesign lock attacks` calls) on the tiny run, shrunk to
    one data fraction, one pruning level, one learning rate and 1 epoch: every attack runs on the stolen
    public weights, accuracies are accuracies, no-key accuracy is the emulator's, and the run's report
    gets the lock section. A run without harden.lock is refused."""
    import functools
    import shutil

    from codesign.emulator import Emulator
    from codesign.techniques.lock import attacks
    from codesign.techniques.lock.password import LockError

    _, spec, _, d = tiny_locked
    run = tmp_path / "run"
    shutil.copytree(tiny_locked_run, run)
    monkeypatch.setattr(attacks, "attack_suite", functools.partial(attacks.attack_suite, fractions=(0.1,),
                                                                   prune=(0.2,)))
    monkeypatch.setattr(attacks, "best_finetune", functools.partial(attacks.best_finetune, lrs=(3e-3,)))
    lock = attacks.run_attacks(run, epochs=1, n_random=2, log=lambda *_: None)
    assert set(lock["attacks"]) == {"finetune_0.1", "zero_bias_finetune_0.1", "first_kernel_finetune_0.1",
                                    "prune_0.2_finetune", "adaptive_guess_0.1", "adaptive_guess_finetune_0.1"}
    assert all(0.0 <= v <= 1.0 for v in lock["attacks"].values()) and lock["random_keys"] == 2
    x_int = Emulator(spec).quantize_input(d.x_test)
    emu_nokey = float(np.mean(np.argmax(Emulator(spec).run_int(x_int), -1) == d.y_test))
    assert lock["accuracy_without_key"] == emu_nokey
    guesses = lock["adaptive_guesses"]["0.1"]
    assert guesses["neurons"] == 6 and len(guesses["by_guess"]) == 2 * 2 * len(attacks.STATISTICS)
    assert all(0 <= g["hits"] <= 6 for g in guesses["by_guess"].values()) and guesses["picked"] in guesses["by_guess"]
    # the best guess is the adaptive attack's figure; the picked one is the best on the thief's own samples
    assert lock["attacks"]["adaptive_guess_0.1"] == max(g["accuracy"] for g in guesses["by_guess"].values())
    picked = guesses["by_guess"][guesses["picked"]]["own_accuracy"]
    assert picked == max(g["own_accuracy"] for g in guesses["by_guess"].values())
    assert list(lock["head_start_worst"]) == ["0.1"] and lock["max_attack_head_start"] >= lock["head_start"]["0.1"]
    assert json.loads((run / "report.json").read_text())["lock"]["attacks"] == lock["attacks"]
    plain = example_config(tmp_path, "digits_mlp.yaml")
    shutil.copyfile(plain, run / "config.yaml")
    with pytest.raises(LockError, match="was not built with harden.lock"):
        attacks.run_attacks(run, epochs=1)


def test_input_perm_attacks_and_manifest_on_a_tiny_model(tiny_locked, monkeypatch, tmp_path):
    """The input-permutation lock's side of lock/attacks.py and lock/deploy.py on a digits MLP lock-trained
    2 epochs (no flow): the thief's permutation guess (row norms vs pixel means, then a greedy swap search,
    shrunk to 30 swaps) hits some of the 64 pixels, every perm attack runs at the one fraction; the deploy
    manifest lists the permuted weight memory with its public image under rtl/."""
    import functools

    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.rtl import generate, read_meta
    from codesign.techniques.lock import attacks
    from codesign.techniques.lock.config import check_lock
    from codesign.techniques.lock.deploy import lock_manifest
    from codesign.techniques.lock.train import LockTraining
    from codesign.train import train_model

    *_, d = tiny_locked
    cfg = check_lock({"scheme": "input_perm", "wrong": 0.5, "seed": 0}, LAYERS)
    lt = LockTraining(cfg, d.x_train, seed=0, batch_size=32)
    model = lt.wrap(build_model(LAYERS, d.input_shape, 10, seed=0), 10)
    train_model(model, d.x_train, d.y_train, epochs=2, batch_size=32, learning_rate=3e-3, batch_hook=lt.batch_hook)
    lt.finish()
    password = lt.password
    (name, p), = password.perms.items()
    assert p["units"] == 64 and sorted(p["perm"]) == list(range(64)) and p["perm"] != list(range(64))
    monkeypatch.setattr(attacks, "GREEDY_SWAPS", 30)
    monkeypatch.setattr(attacks, "best_finetune", functools.partial(attacks.best_finetune, lrs=(3e-3,)))
    out = attacks.attack_suite(model, password, cfg, d, lambda: build_model(LAYERS, d.input_shape, 10, seed=100),
                               fractions=(0.1,), epochs=1, prune=(), n_random=2, log=lambda *_: None)
    assert {"perm_guess_0.1", "perm_guess_finetune_0.1", "stolen_head_finetune_0.1"} <= set(out["attacks"])
    assert all(0.0 <= v <= 1.0 for v in out["attacks"].values()) and not any(k.startswith("adaptive_guess") for k in out["attacks"])
    hits, units = out["perm_guess_hits"]["0.1"].split("/")
    assert units == "64" and 0 <= int(hits) <= 64
    assert out["accuracy_with_key"] > out["accuracy_without_key"]
    spec = extract_spec(model, "tiny_perm")
    spec.save(tmp_path / "run" / "spec")
    generate(spec, tmp_path / "rtl")
    lock = lock_manifest(tmp_path / "run", spec, read_meta(tmp_path / "rtl"))
    assert lock["units"] == [] and [pm["layer"] for pm in lock["perms"]] == [name]
    assert all(pm["image"].startswith("rtl/") and (tmp_path / pm["image"]).exists() for pm in lock["perms"])


def test_bad_lock_config_is_one_line(tmp_path):
    cfg = example_config(tmp_path, "digits_mlp_lock.yaml", harden={"lock": {"layers": ["dense_2"]}})
    proc = codesign("flow", cfg, "--out", tmp_path / "run", check=False)
    assert proc.returncode == 2 and "harden.lock.layers" in proc.stderr and "dense_1" in proc.stderr
    assert not (tmp_path / "run" / "report.json").exists()


@pytest.fixture(scope="module")
def locked_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lock")
    cfg = example_config(tmp, "digits_mlp_lock.yaml", train={"epochs": 15}, baseline={"float": False},
                         rtl={"synth": False, "samples": 100, "opt": "quick"},
                         harden={"lock": {"fraction": 0.25, "seed": 0, "random_keys": 50}})
    codesign("flow", cfg, "--out", tmp / "run")
    return tmp / "run", json.loads((tmp / "run" / "report.json").read_text())


def _views_agree_under_every_key(rep: dict) -> dict:
    """A locked run's report: C-sim and RTL equal the emulator under the key, no key and a wrong key, and
    Keras = emulator = C-sim with the key, Keras = emulator without it. Returns its lock section."""
    be, acc, lock = rep["bit_exact"], rep["accuracy"], rep["lock"]
    for view in ("csim", "rtl"):
        for suffix in ("", "_nokey", "_wrongkey"):
            assert be[f"emulator_vs_{view}{suffix}"] == 1.0, (view, suffix)
    assert acc["keras"] == acc["emulator"] == acc["csim"] == lock["accuracy_with_key"]
    assert lock["keras_without_key"] == lock["accuracy_without_key"]
    return lock


def test_locked_flow_every_view_agrees_under_every_key(locked_run):
    _, rep = locked_run
    lock = _views_agree_under_every_key(rep)
    assert lock["layers"] == ["dense_1"] and lock["neurons"] == 8
    assert lock["accuracy_with_key"] > lock["accuracy_without_key"] + 0.05
    assert lock["accuracy_random_key_mean"] < lock["accuracy_with_key"]


def test_lock_views_bench_path(locked_run, tmp_path):
    """bench/lock_views.py on a few samples: the sealed password, no key and a wrong key reach the RTL
    key registers, and the RTL equals the emulator sample by sample under each."""
    import subprocess
    import sys

    from conftest import ROOT

    run, rep = locked_run
    out = tmp_path / "views.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "lock_views.py"), str(run), "--samples", "60",
                    "--views", "rtl", "--out", str(out)], check=True, capture_output=True, text=True, timeout=600)
    res = json.loads(out.read_text())
    assert res["samples"] == 60 and res["equal_samples"] == {"rtl": {"key": 60, "nokey": 60, "wrongkey": 60}}
    acc = res["accuracy"]["emulator"]
    assert acc["key"] > acc["nokey"] + 0.05 and acc["key"] > acc["wrongkey"]  # the three keys differ


def _npz_of_test_split(path: Path) -> Path:
    from codesign.data import load_dataset

    d = load_dataset(DIGITS, 0)
    np.savez(path, x=d.x_test, y=d.y_test)
    return path


def test_evaluate_key_option(locked_run, tmp_path):
    run, rep = locked_run
    data = _npz_of_test_split(tmp_path / "digits_test.npz")

    def acc(*args):
        return json.loads(codesign("evaluate", run, "--data", data, *args).stdout)["accuracy"]

    assert acc() == rep["lock"]["accuracy_with_key"]  # default: the run's own sealed password
    assert acc("--key", "none") == rep["lock"]["accuracy_without_key"]
    assert acc("--key", str(run / "lock" / "password.enc"), "--view", "keras") == rep["accuracy"]["keras"]
    assert acc("--key", "random") < rep["lock"]["accuracy_with_key"]
    for view in ("csim", "rtl"):  # the key reaches the C-sim's key inputs and the RTL's key registers
        assert acc("--view", view) == rep["lock"]["accuracy_with_key"]
        assert acc("--view", view, "--key", "none") == rep["lock"]["accuracy_without_key"]


def test_sealed_password_cli(locked_run, tmp_path):
    run, rep = locked_run
    mine = tmp_path / "run"
    for part in ("spec", "lock", "config.yaml"):
        (shutil.copytree if (run / part).is_dir() else shutil.copyfile)(run / part, mine / part)
    ok = json.loads(codesign("lock", "check", mine).stdout)
    assert ok["ok"] and ok["neurons"] == rep["lock"]["neurons"]
    board = tmp_path / "board.key"
    codesign("lock", "keygen", board)
    assert codesign("lock", "keygen", board, check=False).returncode == 2  # never overwrites a key
    wrong = codesign("lock", "check", mine, "--device-key", board, check=False)
    assert wrong.returncode == 2 and "wrong device key or a tampered file" in wrong.stderr
    assert "Traceback" not in wrong.stderr  # one message (rich may wrap it), no stack
    codesign("lock", "seal", mine, "--device-key", board)  # re-sealed for the board's key
    assert json.loads(codesign("lock", "check", mine, "--device-key", board).stdout)["ok"]
    assert codesign("lock", "check", mine, check=False).returncode == 2  # the old key no longer opens it
    sealed = mine / "lock" / "password.enc"
    doc = json.loads(sealed.read_text())
    ct = bytearray(__import__("base64").b64decode(doc["ciphertext"]))
    ct[3] ^= 1
    doc["ciphertext"] = __import__("base64").b64encode(bytes(ct)).decode()
    sealed.write_text(json.dumps(doc))
    tampered = codesign("lock", "check", mine, "--device-key", board, check=False)
    assert tampered.returncode == 2 and "tampered" in tampered.stderr
    (mine / "spec" / "spec.json").write_text((run / "spec" / "spec.json").read_text().replace("digits", "other", 1))
    other = codesign("lock", "check", mine, "--device-key", board, check=False)
    assert other.returncode == 2 and "another design" in other.stderr


def _same_tree(a: Path, b: Path, skip=()) -> list:
    """Relative paths whose bytes differ (or exist on one side only) between two folders."""
    files = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    return sorted(str(f) for f in files if not any(s in str(f) for s in skip)
                  and not ((a / f).is_file() and (b / f).is_file() and filecmp.cmp(a / f, b / f, shallow=False)))


@pytest.fixture(scope="module")
def perm_run(tmp_path_factory):
    """examples/digits_mlp_perm_lock.yaml (input-permutation lock) through `codesign flow`, shortened."""
    tmp = tmp_path_factory.mktemp("lock_perm")
    cfg = example_config(tmp, "digits_mlp_perm_lock.yaml", train={"epochs": 15}, baseline={"float": False},
                         rtl={"synth": False, "samples": 100, "opt": "quick", "cocotb_samples": 40},
                         harden={"lock": {"scheme": "input_perm", "wrong": 0.5, "seed": 0, "random_keys": 20}})
    codesign("flow", cfg, "--out", tmp / "run")
    return tmp / "run", json.loads((tmp / "run" / "report.json").read_text())


def test_input_perm_flow_every_view_agrees_under_every_key(perm_run):
    """The input-permutation lock through the public entry point: emulator = C-sim (the permutation a top
    input) = RTL (the first layer's weight rows written permuted over the load port) under the key, no key
    and a wrong key; the key is what makes the model accurate; the spec says only how many inputs."""
    run, rep = perm_run
    lock = _views_agree_under_every_key(rep)
    assert lock["scheme"] == "input_perm" and lock["layers"] == ["flatten_1"] and lock["neurons"] == 64
    assert lock["key_bits"] == 296.0  # log2 64!
    assert lock["accuracy_with_key"] > 0.8 and lock["accuracy_without_key"] < 0.3
    assert lock["accuracy_random_key_mean"] < 0.3
    spec = json.loads((run / "spec" / "spec.json").read_text())
    assert spec["layers"][0]["attrs"]["lock"] == {"units": 64, "scheme": "input_perm"}
    assert '"perm"' not in json.dumps(spec) and (run / "lock" / "password.enc").exists()


def test_input_perm_driver_writes(perm_run, tmp_path, monkeypatch):
    """The package's driver permutes the first layer's public weight image by the decrypted password into
    exactly the load-port words codesign writes in simulation; no key writes the public image back."""
    from codesign.rtl import read_meta
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.password import LockKey
    from codesign.rtl.lock import key_writes

    run, _ = perm_run
    drv, pkg = _driver_and_package(run, tmp_path, monkeypatch)
    lock = json.loads((pkg / "manifest.json").read_text())["lock"]
    spec, pw, meta = DesignSpec.load(run / "spec"), open_run_password(run), read_meta(run / "rtl")
    doc = drv.open_password_doc(run / "lock" / "password.enc", run / "lock" / "device.key", lock["spec_sha256"])
    assert doc["perms"] == pw.perms and lock["units"] == []
    keyed = drv.perm_register_writes(doc["perms"], lock, pkg)
    assert keyed == key_writes(meta, pw.key(spec), run / "rtl")
    plain = drv.perm_register_writes(None, lock, pkg)
    assert plain == key_writes(meta, LockKey.empty(spec), run / "rtl") != keyed
    image = [int(w, 16) for w in (pkg / lock["perms"][0]["image"]).read_text().split()]
    assert [w for _, _, w in plain] == image  # the identity permutation is the public image


def test_input_perm_faults_refused(perm_run, tmp_path):
    """A fault campaign on an input-permutation locked run stops with one line before any row is written:
    the fault engines do not model the permutation, and scoring the design without its key (what they did,
    at 0.07 accuracy) would be a wrong answer."""
    from conftest import assert_user_error

    run, _ = perm_run
    mine = tmp_path / "run"
    for part in ("spec", "lock", "config.yaml", "report.json"):
        (shutil.copytree if (run / part).is_dir() else shutil.copyfile)(run / part, mine / part)
    for views in ("emulator", "emulator,rtl"):
        refused = codesign("faults", mine, "--campaign", "random", "--faults", "8", "--views", views, check=False)
        assert_user_error(refused, "input-permutation locked design")
    assert not (mine / "faults").exists()


@pytest.mark.slow  # builds a locked digits flow (C-sim + RTL) through request.getfixturevalue, which conftest's SLOW_FIXTURES cannot see
@pytest.mark.parametrize("which", ["locked_run", "perm_run"])
def test_public_artefacts_do_not_depend_on_the_password(which, request, tmp_path):
    """Swap the password for a random one, regenerate spec, hls4ml project and RTL from the public model:
    byte-identical (params.npz compared array by array: the npz container stamps the time). For the
    neuron lock and the input-permutation lock."""
    from codesign.config import load_config
    from codesign.extract import extract_spec
    from codesign.hls_view import HLSView
    from codesign.models import load_model
    from codesign.rtl.generate import generate
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.keys import scheme_random_password
    from codesign.techniques.lock.password import check_key
    from codesign.techniques.lock.train import keyed_model

    run, _ = request.getfixturevalue(which)
    spec = DesignSpec.load(run / "spec")
    other = scheme_random_password(run, spec, np.random.default_rng(99))
    model = keyed_model(load_model(run / "model"), spec, check_key(spec, other))
    extract_spec(model, spec.name).save(tmp_path / "spec")
    assert (tmp_path / "spec" / "spec.json").read_bytes() == (run / "spec" / "spec.json").read_bytes()
    with np.load(tmp_path / "spec" / "params.npz") as a, np.load(run / "spec" / "params.npz") as b:
        assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
    respec = DesignSpec.load(tmp_path / "spec")
    cfg = load_config(run / "config.yaml")
    generate(respec, tmp_path / "rtl", folding=json.loads((run / "rtl" / "rtl_meta.json").read_text())["model_top"]["folding"])
    assert _same_tree(tmp_path / "rtl", run / "rtl", skip=("sim_build", "sim_runs")) == []
    for where, s in (("hls_a", spec), ("hls_b", respec)):
        HLSView(s, tmp_path / where, cfg["hls"], cfg["board"]).model.write()
    # skipped: files hls4ml stamps per write (random LIB_STAMP, output path, the zipped twin's timestamps),
    # which differ between two writes of one spec as well
    stamped = ("hls4ml_config.yml", "build_lib.sh", "keras_model.keras")
    assert _same_tree(tmp_path / "hls_a", tmp_path / "hls_b", skip=stamped) == []
    # the deploy package: the run as built, then the same folder as a rebuild under the other password would
    # leave it (regenerated RTL, the other sealed password, its RTL run's outputs), packaged at the same path
    from codesign.deploy import deploy
    from codesign.emulator import Emulator
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.seal import read_device_key, seal, spec_digest

    here = tmp_path / "run"
    for part in ("spec", "rtl", "lock", "sim", "config.yaml", "report.json"):
        if (run / part).is_dir():
            shutil.copytree(run / part, here / part, ignore=shutil.ignore_patterns("sim_build", "sim_runs"))
        else:
            shutil.copyfile(run / part, here / part)
    assert open_run_password(here).to_json() != other.to_json()
    deploy(here, tmp_path / "pkg_a")
    shutil.rmtree(here / "rtl")
    shutil.copytree(tmp_path / "rtl", here / "rtl")
    seal(other, read_device_key(here / "lock" / "device.key"), spec_digest(here / "spec"), here / "lock" / "password.enc")
    x = np.load(here / "sim" / "model_inputs.npy")[:, :int(np.prod(respec.input_shape))]
    emu = Emulator(respec, key=other)
    np.save(here / "sim" / "model_outputs.npy", emu.run_int(x.reshape((len(x),) + emu.spec.input_shape)).reshape(len(x), -1))
    assert open_run_password(here).to_json() == other.to_json()
    deploy(here, tmp_path / "pkg_b")
    assert _same_tree(tmp_path / "pkg_a", tmp_path / "pkg_b", skip=("test_vectors.npz",)) == []
    with np.load(tmp_path / "pkg_a" / "pynq" / "test_vectors.npz") as a, np.load(tmp_path / "pkg_b" / "pynq" / "test_vectors.npz") as b:
        assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
        assert "rtl_outputs" not in a.files  # the flow's RTL run was keyed: its outputs never reach a package
    assert not list((tmp_path / "pkg_a").rglob("*.enc")) and not list((tmp_path / "pkg_a").rglob("*.key"))


def test_fault_campaign_scores_under_the_key(locked_run, tmp_path):
    """`codesign faults` on a locked run scores the design under a key, as `codesign evaluate` does: the
    fault-free accuracy of the campaign (engine, BFA, RTL cross-check) is evaluate's under the same key
    (the run's own password by default, none with --key none); a password that does not open stops
    with one line naming --key, before anything is written. Cost: three small campaigns (~15 CPU s)."""
    from conftest import assert_user_error

    run, _ = locked_run
    mine = tmp_path / "run"
    for part in ("spec", "lock", "config.yaml", "report.json"):
        (shutil.copytree if (run / part).is_dir() else shutil.copyfile)(run / part, mine / part)
    shutil.copytree(run / "rtl", mine / "rtl", ignore=shutil.ignore_patterns("sim_build", "sim_runs"))
    data = _npz_of_test_split(tmp_path / "digits_test.npz")

    def evaluate(*args):
        return json.loads(codesign("evaluate", mine, "--data", data, *args).stdout)["accuracy"]

    def faults(*args):
        return json.loads(codesign("faults", mine, "--campaign", *args).stdout)

    keyed, nokey = evaluate(), evaluate("--key", "none")
    assert keyed > nokey + 0.05  # the key matters on this design
    sec = faults("random", "--faults", "24", "--views", "emulator,rtl", "--rtl-faults", "12")
    assert sec["clean_accuracy"] == keyed and sec["key"] == "run"
    assert sec["rtl"]["equal_fraction"] == 1.0 and sec["rtl"]["faults_changing_outputs"] > 0  # key registers written
    assert json.loads((mine / "report.json").read_text())["faults"]["key"] == "run"
    stale = codesign("faults", mine, "--campaign", "random", "--faults", "24", "--key", "none", check=False)
    assert_user_error(stale, "--fresh")  # rows under another key never mix
    sec = faults("random", "--faults", "24", "--key", "none", "--fresh")
    assert sec["clean_accuracy"] == nokey and sec["key"] == "none"
    bfa = faults("bfa", "--seeds", "1", "--max-flips", "1")
    assert bfa["clean_accuracy"] == keyed and bfa["key"] == "run"
    (mine / "lock" / "device.key").unlink()  # the run's own password no longer opens
    shutil.rmtree(mine / "faults")
    missing = codesign("faults", mine, "--campaign", "random", "--faults", "24", check=False)
    assert "--key" in assert_user_error(missing, "locked design")
    assert not (mine / "faults").exists()


def _driver_and_package(run: Path, tmp_path: Path, monkeypatch):
    """The run's deploy package (12 test vectors) and its pynq/codesign_driver.py imported from it."""
    import importlib.util
    import sys

    from codesign.deploy import deploy

    pkg = tmp_path / "pkg"
    deploy(run, pkg, vectors=12)
    monkeypatch.syspath_prepend(str(pkg / "pynq"))
    monkeypatch.delitem(sys.modules, "sim_backend", raising=False)
    spec_ = importlib.util.spec_from_file_location("codesign_driver_lock", pkg / "pynq" / "codesign_driver.py")
    drv = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(drv)
    return drv, pkg


def test_pynq_driver_key_words(locked_run, tmp_path, monkeypatch):
    """The package's driver (numpy + cryptography only) opens the sealed password with the device key and
    makes exactly the key-register words codesign writes in simulation; no key clears every register; a
    wrong device key or another design's password stops with one error."""
    from codesign.rtl import read_meta
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.keys import open_run_password
    from codesign.techniques.lock.password import LockKey
    from codesign.rtl.lock import key_writes

    run, _ = locked_run
    drv, pkg = _driver_and_package(run, tmp_path, monkeypatch)
    lock = json.loads((pkg / "manifest.json").read_text())["lock"]
    spec, pw, meta = DesignSpec.load(run / "spec"), open_run_password(run), read_meta(run / "rtl")
    sealed, device = run / "lock" / "password.enc", run / "lock" / "device.key"
    layers = drv.open_password(sealed, device, lock["spec_sha256"])
    assert layers == pw.layers
    assert drv.key_register_writes(layers, lock) == key_writes(meta, pw.key(spec))
    assert drv.key_register_writes(None, lock) == key_writes(meta, LockKey.empty(spec))
    wrong = tmp_path / "wrong.key"
    codesign("lock", "keygen", wrong)
    with pytest.raises(ValueError, match="wrong device key or a tampered file"):
        drv.open_password(sealed, wrong, lock["spec_sha256"])
    with pytest.raises(ValueError, match="sealed for another design"):
        drv.open_password(sealed, device, "0" * 64)


@pytest.mark.long
def test_pynq_driver_unlocks_on_the_sim_backend(locked_run, tmp_path, monkeypatch):
    """The deploy package's driver decrypts the sealed password with the device key and writes the key
    registers over AXI-Lite: the package's RTL under Verilator (sim backend) then equals the emulator with
    the key; lock() clears them (no key); a wrong device key stops with one error.
    `long` (a Verilator build of the package's wrapper, 272 s on the loaded 2-core box)."""
    from codesign.emulator import Emulator
    from codesign.rtl.toolchain import OPT_LEVELS
    from codesign.spec import DesignSpec
    from codesign.techniques.lock.keys import open_run_password

    run, _ = locked_run
    monkeypatch.setenv("CODESIGN_SIM_BUILD", str(tmp_path / "sim_build"))
    monkeypatch.setenv("CODESIGN_VERILATOR_MAKEVARS", OPT_LEVELS["quick"])
    drv, pkg = _driver_and_package(run, tmp_path, monkeypatch)
    spec, pw = DesignSpec.load(run / "spec"), open_run_password(run)
    sealed, device = run / "lock" / "password.enc", run / "lock" / "device.key"
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    keyed = Emulator(spec, key=pw)
    want = keyed.run_int(keyed.quantize_input(v["x"])).reshape(len(v["x"]), -1)
    assert not np.array_equal(want, v["expected"])  # the package's vectors are the no-key outputs
    ov = drv.CodesignOverlay(manifest=pkg / "pynq" / "manifest.json", backend="sim", batch_size=12, opt="quick")
    assert ov.unlock(sealed, device) > 0
    assert np.array_equal(ov.execute(v["x_int"]), want)
    ov.lock()
    assert np.array_equal(ov.execute(v["x_int"]), v["expected"])
    wrong = tmp_path / "wrong.key"
    codesign("lock", "keygen", wrong)
    with pytest.raises(ValueError, match="wrong device key or a tampered file"):
        ov.unlock(sealed, wrong)


def test_mnist_mlp_lock_example_config():
    """examples/mnist_mlp_lock.yaml loads with half of both hidden layers locked to secret values (its lock is the dense
    lock the digits flow above runs through every view; measured in full by bench/lock_attacks.py)."""
    from conftest import EXAMPLES

    from codesign.config import load_config

    lock = load_config(EXAMPLES / "mnist_mlp_lock.yaml")["harden"]["lock"]
    assert lock["layers"] == ["dense_1", "dense_2"] and lock["fraction"] == 0.5 and lock["seed"] is None
    assert lock["value"] == [1.0, 4.0] and lock["scale"] == [0.5, 2.0]


def test_cnn_lock_example_config():
    """examples/mnist_cnn_stq_jr_lock.yaml loads with a quarter of each conv's channels locked to 0 and near-miss
    decoys (run shortened by test_lock_examples_run_shortened, measured by bench/lock_cnn.py)."""
    from conftest import EXAMPLES

    from codesign.config import load_config

    lock = load_config(EXAMPLES / "mnist_cnn_stq_jr_lock.yaml")["harden"]["lock"]
    assert lock["layers"] == ["conv2d_1", "conv2d_2", "conv2d_3"] and lock["fraction"] == 0.25
    assert lock["value"] == [0.0, 0.0] and lock["near"] == [0.3, 0.95] and lock["wrong"] == 0.5


def test_input_perm_config():
    """examples/mnist_mlp_perm_lock.yaml loads as an input-permutation lock on its flatten (run in full by
    bench/lock_views.py and bench/lock_input_perm.py); a model without flatten -> dense first is one line."""
    from conftest import EXAMPLES

    from codesign.config import load_config
    from codesign.errors import ConfigError
    from codesign.techniques.lock.config import check_lock

    lock = load_config(EXAMPLES / "mnist_mlp_perm_lock.yaml")["harden"]["lock"]
    assert lock["scheme"] == "input_perm" and lock["layers"] == ["flatten_1"] and lock["wrong"] == 0.5
    conv = [{"conv2d": {"filters": 4, "kernel_size": 3}}, {"relu": {}}, {"flatten": {}}, {"dense": {"units": 10}}]
    with pytest.raises(ConfigError, match="scheme input_perm: the model must start with flatten then dense"):
        check_lock({"scheme": "input_perm"}, conv)


@pytest.mark.long
@pytest.mark.timeout(3600)  # the CNN's C-sim compile and RTL build: > 20 min on the loaded 2-core box
@pytest.mark.parametrize("example", ["mnist_cnn_stq_jr_lock.yaml"])
def test_lock_examples_run_shortened(example, tmp_path, mnist_folder):
    """The locked STQ + JR CNN example through `codesign flow`, shortened (300 digits, one epoch, 100 test
    digits through the C-sim and 50 through the RTL, no synthesis): its lock units sit on conv channels;
    Keras and the emulator agree with the key and without it, the C-sim and the RTL equal the emulator
    under the key, no key and a wrong key. `long` (CI covers conv locks in every view with
    test_conv_lock_keras_and_emulator_agree and test_conv_lock_csim_and_rtl_agree)."""
    from conftest import EXAMPLES

    out = tmp_path / "run"
    codesign("flow", EXAMPLES / example, "--out", out, "--set", "data.train=300", "--set", "data.test=100",
             "--set", "train.epochs=1", "--set", "train.finetune=null", "--set", "rtl.samples=50",
             "--set", "rtl.synth=false", "--set", "rtl.cocotb_samples=20",
             "--set", "baseline.float=false", "--set", "harden.lock.baseline=false", "--set", "harden.lock.random_keys=20",
             timeout=3600)  # the subprocess gets the test's own hour
    rep = json.loads((out / "report.json").read_text())
    for view in ("csim", "rtl"):
        for suffix in ("", "_nokey", "_wrongkey"):
            assert rep["bit_exact"][f"emulator_vs_{view}{suffix}"] == 1.0, (view, suffix)
    lock = rep["lock"]
    assert lock["layers"] == (["dense_1", "dense_2"] if "mlp" in example else ["conv2d_1", "conv2d_2", "conv2d_3"])
    assert rep["accuracy"]["keras"] == rep["accuracy"]["emulator"] == lock["accuracy_with_key"]
    assert lock["keras_without_key"] == lock["accuracy_without_key"]
    assert lock["neurons"] == (64 + 128 if "mlp" in example else 3 * 8)  # mlp: half, cnn: a quarter of each layer
    spec = json.loads((out / "spec" / "spec.json").read_text())
    assert "indices" not in json.dumps(spec) and (out / "lock" / "password.enc").exists()
