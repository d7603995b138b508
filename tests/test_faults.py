"""Fault campaigns (codesign/faults): the stored-integer fault model, the incremental engine against
the naive path on every layer and parameter kind, and `codesign faults` end to end on a small run
(rows, resume after an interruption, report section, plots, Dask LocalCluster = local rows)."""
from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
from conftest import EXAMPLES, codesign

from codesign.emulator import Emulator
from codesign.faults.engine import Engine
from codesign.faults.model import SiteMap, apply, flip_value
from codesign.fixed import FixedType
from codesign.rtl.random_spec import (
    INPUT_TYPE,
    mnist_like,
    random_cnn,
    random_dense,
    random_kron,
    random_mlp,
    random_wings,
)
from codesign.spec import DesignSpec


def _chain(name, first, rng, classes=5):
    tail = random_dense(rng, "out", first.output_shape[-1], classes, first.out_type, relu=False, exact_output=True)
    spec = DesignSpec(name, first.input_shape, INPUT_TYPE, [first, tail])
    spec.validate()
    return spec


def _specs():
    rng = np.random.default_rng(7)
    yield random_mlp(1, [24, 16, 12, 6])
    yield random_mlp(2, [20, 12, 5], ternary=True, shift=True)
    yield random_cnn(0, filters=(3, 4))
    yield _chain("kron", random_kron(rng, "k", 4, 5, 3, 4, 2, INPUT_TYPE), rng)
    yield _chain("wings", random_wings(rng, "g", 5, 4, 9, 3, 4, INPUT_TYPE, grid=(2, 2)), rng)
    yield _chain("wings_basis", random_wings(rng, "g", 4, 4, 8, 2, 3, INPUT_TYPE, grid=None), rng)


def test_fault_sites_are_the_stored_integers():
    t = FixedType(8, 1)
    assert flip_value(-1, 7, t) == 127 and flip_value(5, 0, t) == 4 and flip_value(0, 3, FixedType(4, 4, False)) == 8
    tern = FixedType(2, -2)  # a ternary weight as the RTL memory holds it: 00, 01, 11; 10 is the unused code
    assert [flip_value(0, 1, tern), flip_value(1, 1, tern), flip_value(-1, 0, tern)] == [-2, -1, -2]
    spec = mnist_like(0)
    sm = SiteMap(spec)
    assert sm.total == spec.weight_bits()  # every stored bit is a site, and only those
    site = sm.site("dense1", "weight", 300, 1)
    assert sm.describe(site) == ("dense1", "weight", 300, 1)
    faulty = apply(spec, [site])
    w0, w1 = spec.layer("dense1").params["weight"].reshape(-1), faulty.layer("dense1").params["weight"].reshape(-1)
    assert np.count_nonzero(w0 != w1) == 1 and w1[300] == flip_value(w0[300], 1, spec.layer("dense1").types["weight"])
    faulty.validate()
    assert all(np.array_equal(a, b) for a, b in zip(*(l.params.values() for l in (spec.layers[1], apply(spec, [site, site]).layers[1]))))


@pytest.mark.parametrize("spec", list(_specs()), ids=lambda s: s.name)
def test_engine_equals_naive_on_every_parameter(spec):
    """Faults on every stored parameter of every layer kind (single- and multi-bit): the incremental
    engine's correct/changed counts equal copying the spec and running the whole emulator."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (150,) + tuple(spec.input_shape)).astype(np.uint8)
    xi = Emulator(spec).quantize_input(x)
    y = np.argmax(Emulator(spec).run_int(xi).reshape(150, -1), -1)
    y[::3] = rng.integers(0, spec.output_shape[-1], len(y[::3]))  # some wrong labels: gains show too
    eng = Engine(spec, xi, y)
    sm = eng.sites
    faults = []
    for b in sm.blocks:  # every (layer, parameter), its top and bottom bits and random ones
        for bit in {0, b.width - 1, int(rng.integers(b.width))}:
            for idx in rng.choice(b.size, min(3, b.size), replace=False):
                faults.append((b.start + int(idx) * b.width + bit,))
    faults += [tuple(sorted(rng.choice(sm.total, 3, replace=False).tolist())) for _ in range(4)]
    fast, naive = eng.run(faults), eng.naive(faults)
    assert np.array_equal(fast["correct"], naive["correct"]) and np.array_equal(fast["changed"], naive["changed"])
    assert (naive["changed"] > 0).any()  # the comparison sees faults that matter
    assert bool(eng._conv) == any(l.kind == "conv2d" for l in spec.layers)  # conv faults took the conv path


def _locked(spec, rng, names):
    """The spec with lock units on `names` and a random key: about a third of each layer's neurons forced."""
    from codesign.techniques.lock.password import LockKey

    layers = {}
    for name in names:
        layer = spec.layer(name)
        n = layer.output_shape[-1]
        layer.attrs["lock"] = {"units": n}
        mask = (rng.random(n) < 0.35).astype(np.int64)
        mask[0] = 1
        value = rng.integers(layer.out_type.qmin, layer.out_type.qmax + 1, n) * mask
        layers[name] = (mask, value)
    return LockKey(layers).check(spec)


@pytest.mark.parametrize("spec,names", [(random_mlp(1, [24, 16, 12, 6]), ("dense0", "dense1")),
                                        (random_cnn(0, filters=(3, 4)), ("conv0", "conv1"))], ids=("mlp", "cnn"))
def test_engine_under_a_lock_key_equals_naive(spec, names):
    """A locked design scored under its key: every path (dense rank-1, conv channel, generic) applies
    the lock units, equal to the naive path under the same key, and the clean predictions are the
    keyed emulator's (which differ from the no-key ones)."""
    rng = np.random.default_rng(2)
    key = _locked(spec, rng, names)
    x = rng.integers(0, 256, (120,) + tuple(spec.input_shape)).astype(np.uint8)
    xi = Emulator(spec).quantize_input(x)
    keyed = np.argmax(Emulator(spec, key=key).run_int(xi).reshape(120, -1), -1)
    assert (keyed != np.argmax(Emulator(spec).run_int(xi).reshape(120, -1), -1)).any()  # the key matters
    y = keyed.copy()
    y[::3] = rng.integers(0, spec.output_shape[-1], len(y[::3]))
    eng = Engine(spec, xi, y, key=key)
    assert np.array_equal(eng.pred, keyed)
    sm = eng.sites
    faults = [(b.start + int(i) * b.width + bit,) for b in sm.blocks for bit in {0, b.width - 1}
              for i in rng.choice(b.size, min(4, b.size), replace=False)]
    faults += [tuple(sorted(rng.choice(sm.total, 2, replace=False).tolist())) for _ in range(3)]
    fast, naive = eng.run(faults), eng.naive(faults)
    assert np.array_equal(fast["correct"], naive["correct"]) and np.array_equal(fast["changed"], naive["changed"])
    assert (naive["changed"] > 0).any()


def test_engine_certified_skips_match_naive_on_trained_mlp(mlp_run):
    """On the trained MNIST MLP (large margins: certification skips most samples) the rows equal the
    naive path's on 60 random single-bit faults over all 2,000 test digits."""
    from codesign.faults.campaign import load_run

    _, spec, x, y, _ = load_run(mlp_run[0])
    eng = Engine(spec, x, y)
    faults = [(int(s),) for s in np.random.default_rng(0).choice(eng.sites.total, 60, replace=False)]
    faults += [(eng.sites.site("dense_1", "weight", 784 * 128 // 2 + 7, 1),)]  # a centre pixel: samples see it
    fast, naive = eng.run(faults), eng.naive(faults)
    assert np.array_equal(fast["correct"], naive["correct"]) and np.array_equal(fast["changed"], naive["changed"])
    assert any(a is not None for a in eng._amax.values())  # the certified path was taken


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run folder without training (no TensorFlow): a random 64-16-10 design on sklearn's digits."""
    import yaml

    out = tmp_path_factory.mktemp("faults") / "tiny"
    random_mlp(3, [64, 16, 10], ternary=True, shift=True).save(out / "spec")
    cfg = yaml.safe_load((EXAMPLES / "digits_mlp.yaml").read_text())
    (out / "config.yaml").write_text(yaml.safe_dump(cfg))
    (out / "report.json").write_text("{}")
    return out


def _rows(folder):
    from codesign.faults.store import RowStore

    return RowStore(folder, json.loads((folder / "plan.json").read_text())).read()


def test_cli_exhaustive_campaign_report_and_plots(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    proc = codesign("faults", run, "--campaign", "exhaustive")
    section = json.loads(proc.stdout)
    rep = json.loads((run / "report.json").read_text())["faults"]
    sm = SiteMap(DesignSpec.load(run / "spec"))
    assert section["faults"] == rep["faults"] == sm.total
    assert rep["faults_per_s"] > 0 and rep["naive_faults_per_s"] > 0 and 0 <= rep["accuracy_drop"]["harmful_fraction"] <= 1
    rows = _rows(run / "faults" / "exhaustive")
    assert np.array_equal(np.sort(rows["site"]), np.arange(sm.total))
    assert (run / "plots" / "faults_sensitivity.png").stat().st_size > 0
    from report_checks import (
        check_report_html,  # report.html shows the campaign with its sensitivity map
    )

    check_report_html(run, expect_figures=("faults",))
    assert "faults_sensitivity.png" in (run / "report.md").read_text()
    bad = codesign("faults", run, "--campaign", "nope", check=False)
    assert bad.returncode == 2
    notrun = codesign("faults", tmp_path, check=False)
    assert notrun.returncode == 2 and "not a finished" in " ".join(notrun.stderr.split())


def test_resume_after_interruption_runs_no_fault_twice(tiny_run, tmp_path):
    from codesign.faults import campaign as C

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)

    class Stop(Exception):
        pass

    def stop_after_first(msg):
        if "chunk 1/" in msg:
            raise Stop

    with pytest.raises(Stop):
        C.run_campaign(run, "random", count=600, flips=2, chunk=200, log=stop_after_first, update_report=False)
    assert len(list((run / "faults" / "random").glob("part-*.parquet"))) == 1
    logs = []
    C.run_campaign(run, "random", count=600, flips=2, chunk=200, log=logs.append, update_report=False)
    assert any("1 already done" in m for m in logs) and sum("done (" in m for m in logs) == 2
    rows = _rows(run / "faults" / "random")
    assert len(rows["fault"]) == 600 == len(set(rows["fault"]))
    timing = json.loads((run / "faults" / "random" / "timing.json").read_text())
    assert timing["faults"] == 600  # 200 before the stop + 400 after: none run twice
    fresh = tmp_path / "fresh"
    shutil.copytree(tiny_run, fresh)
    C.run_campaign(fresh, "random", count=600, flips=2, chunk=200, log=lambda m: None, update_report=False)
    ref = _rows(fresh / "faults" / "random")
    for k in ref:
        assert np.array_equal(rows[k], ref[k]), k


def test_dask_local_cluster_gives_the_local_rows(tiny_run, tmp_path):
    from distributed import LocalCluster

    from codesign.faults import campaign as C

    runs = {}
    for name in ("local", "dask"):
        runs[name] = tmp_path / name
        shutil.copytree(tiny_run, runs[name])
    C.run_campaign(runs["local"], "random", count=1500, chunk=500, log=lambda m: None, update_report=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        C.run_campaign(runs["dask"], "random", count=1500, chunk=500, scheduler=cluster.scheduler_address,
                       log=lambda m: None, update_report=False)
    a, b = _rows(runs["local"] / "faults" / "random"), _rows(runs["dask"] / "faults" / "random")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_detection_flags_every_flip_and_never_the_clean_design(tiny_run):
    from codesign.faults.campaign import load_run
    from codesign.faults.detect import Detector, canary_inputs, false_alarms

    _, spec, _, _, d = load_run(tiny_run)
    det = Detector(spec, canary_inputs(d.x_train, 8), groups=8)
    faults = [(int(s),) for s in np.random.default_rng(0).choice(det.sites.total, 150, replace=False)]
    res = det.check(faults)
    assert res["checksum"].all()  # a CRC catches every single-bit flip
    assert 0 < res["canary"].sum() < len(faults)  # canaries catch some, not the flips they never exercise
    assert not det.canary_alarm(spec) and not det.checksum_alarm(spec)
    assert false_alarms(det, Emulator(spec).quantize_input(d.x_test), 1200, batch=400) == (0, 1200)


def test_bfa_flips_are_reverified_on_the_integer_emulator(mlp_run):
    """Three BFA steps on the trained MNIST MLP: the attack loss rises, and every row's accuracy is
    the integer emulator's on the design with that many committed flips (recomputed here)."""
    from codesign.faults import bfa
    from codesign.faults.campaign import load_run

    _, spec, x, y, d = load_run(mlp_run[0])
    xa = Emulator(spec).quantize_input(d.x_train[:64])
    rows = list(bfa.bfa_attack(spec, xa, x, y, seed=0, target=0.11, max_flips=3, top_k=2))
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert rows[0]["attack_loss"] < rows[1]["attack_loss"] < rows[2]["attack_loss"]
    sites = [r["site"] for r in rows]
    for k, r in enumerate(rows):
        pred = np.argmax(Emulator(apply(spec, sites[:k + 1])).run_int(x), -1)
        assert r["accuracy"] == float(np.mean(pred == y))
    rand = list(bfa.random_flips(spec, x, y, seed=0, flips=3))
    assert len(rand) == 3 and rand[-1]["accuracy"] > rows[-1]["accuracy"] - 0.5


def test_rtl_crosscheck_equals_emulator_under_faults(mlp_run):
    """Stratified faults (every parameter and bit position) written through the load port of one
    Verilator build as single-word writes (the stored-bit map), pipelined through the harness: RTL
    output integers equal the emulator's on the streamed samples, which are the ones each fault
    changes; the design restored afterwards is the fault-free one."""
    from codesign.faults.campaign import load_run
    from codesign.faults.rtl import crosscheck

    _, spec, x, _, _ = load_run(mlp_run[0])
    from codesign.faults.store import RowStore

    rows = {}
    for n in (1, 2):  # one harness process, then two driven by threads on interleaved shares: same rows
        sec = crosscheck(mlp_run[0], spec, x, faults=40, samples=2, pool=16, log=lambda m: None, harnesses=n)
        assert sec["equal_fraction"] == 1.0 and sec["restored_design_equal"] and sec["direct_fraction"] == 1.0
        assert sec["faults_changing_outputs"] >= 30 and sec["cells"] == sum(b.width for b in SiteMap(spec).blocks)
        assert sec["harness_processes"] == n and sec["by_cost"]["direct"]["faults"] == sec["faults"]
        folder = mlp_run[0] / "faults" / "rtl"
        got = RowStore(folder, json.loads((folder / "plan.json").read_text())).read()
        rows[n] = {k: got[k].tolist() for k in ("fault", "equal", "visible", "direct", "site")}
        assert len(rows[n]["fault"]) == sec["faults"]
    assert rows[1] == rows[2]


def test_rtl_crosscheck_regenerates_wings_weights_per_generator_fault(tmp_path):
    """A small WINGs design on the verilated RTL: every (parameter, bit) cell, generator parameters
    included, written through the load port; each generator-parameter fault re-runs the RTL's weight
    generation and every output integer equals the emulator's, with one harness process or two. A
    table feeds every component (klut: all curve rows; plut, prow, pcol: all basis rows); one
    component's parameter (alpha, sv, beta: its curve row; z: its basis rows) re-runs only that
    component's (with the previous fault's undo, at most two of the three): fewer cycles a fault than
    the table feeding it (each parameter's first fault, which carries the previous parameter's undo,
    left out), and a write re-runs exactly the cycles WingsPlan.regen_cycles names."""
    from codesign.faults.rtl import crosscheck
    from codesign.rtl import generate

    spec = next(s for s in _specs() if s.name == "wings")
    meta = generate(spec, tmp_path / "rtl")
    x = np.random.default_rng(3).integers(0, 2 ** INPUT_TYPE.width, (16, *spec.input_shape))
    cells = sum(b.width for b in SiteMap(spec).blocks)
    for n in (1, 2):
        sec = crosscheck(tmp_path, spec, x, faults=cells, samples=2, pool=16, log=lambda m: None, harnesses=n)
        assert sec["equal_fraction"] == 1.0 and sec["restored_design_equal"] and sec["cells"] == cells
        assert sec["generation_cycles"] == meta["generation_cycles"] > 0
        regen, direct = sec["by_cost"]["regenerating"], sec["by_cost"]["direct"]
        generator = sum(c["faults"] for name, c in sec["covered"].items()
                        if not name.endswith(("bias", "weight", "weight_shift")))
        assert regen["faults"] == generator and direct["faults"] >= 1
        assert regen["cycles_per_fault"] > direct["cycles_per_fault"]
        if n == 1:  # (with two processes each one's first fault of a parameter carries another's undo)
            rows = _rows(tmp_path / "faults" / "rtl")
            param, cycles = np.asarray(rows["param"]), np.asarray(rows["cycles"])
            cyc = {p: cycles[param == p][1:] for p in ("alpha", "sv", "beta", "z", "klut", "plut")}
            assert all(cyc[p].max() < cyc["klut"].min() for p in ("alpha", "sv", "beta")), cyc
            # (a z fault's basis against a table's: no order, the weight words rewritten differ; the exact
            # cycles of both are checked by _regenerates_what_a_write_makes_stale)
    _regenerates_what_a_write_makes_stale(spec, tmp_path / "rtl", x[:2])


def _regenerates_what_a_write_makes_stale(spec, rtl_dir, x):
    """rtl/wings_gen.sv after load-port writes (each word's own value: the outputs stay the design's):
    inputs are taken again exactly WingsPlan.regen_cycles(curves, bases) + 1 cycles later, with one
    component's curve row stale for an {sv, alpha} or beta word, its basis rows for a z word, every
    curve row for a klut word, every basis row for a pcol word; two writes, the union."""
    from codesign.rtl.harness import Harness, _engines

    with Harness(rtl_dir) as h:
        h.set_spec(spec)
        first = h.run_checked(x)
        _, plan, _ = next(iter(_engines(spec, h.meta)))
        assert first.t_in_first[0] == plan.gen_cycles + 1  # after reset: every component
        base, at, k = {}, 0, plan.gen["K"]  # first load-port address of each region
        for name, n in plan.regions():
            base[name], at = at, at + n
        cases = [([plan.gen["S"]], (1, 0)), ([base["beta"] + 2], (1, 0)), ([base["z"] + 4], (0, 1)),
                 ([base["klut"]], (k, 0)), ([base["pcol"]], (0, k)), ([0, base["z"]], (1, 1))]
        nothing = (np.zeros(plan.nf, bool), np.zeros(plan.sf, bool))
        for addrs, stale in cases:  # the same values: recomputed, compared equal, no weight word rewritten
            h.write([(0, a, h.word(0, a)) for a in addrs])
            r = h.run_checked(x)
            assert r.t_in_first[0] == plan.regen_cycles(*stale, *nothing) + 1, (addrs, stale, r.t_in_first[0])
            assert np.array_equal(r.outputs, first.outputs)
        # changed values: only the weight words whose column's curve or row's basis changed are rewritten
        # (WingsPlan.changed from the generator's own curves/basis), the outputs are the faulty design's
        layer = spec.layers[0]
        t = layer.types
        for name, idx, bit, stale in (("alpha", (1, 2), 3, (1, 0)), ("sv", (0, 1), 0, (1, 0)),
                                      ("z", (2, 1, 0), 2, (0, 1)), ("klut", (1,), 3, (k, 0)),
                                      ("prow", (0,), 0, (0, k))):
            faulty = spec.copy()
            arr, ty = faulty.layers[0].params[name], t["lut" if name == "klut" else name]
            assert bit < ty.width
            arr[idx] = flip_value(int(arr[idx]), bit, ty)
            cols, rows = plan.changed(layer, faulty.layers[0])
            for after, back in ((faulty, spec), (spec, faulty)):
                h.set_spec(after)
                r = h.run_checked(x)
                want = plan.regen_cycles(*stale, cols, rows) + 1
                assert r.t_in_first[0] == want, (name, r.t_in_first[0], want, cols.sum(), rows.sum())
                assert np.array_equal(r.outputs.reshape(len(x), -1), Emulator(after).run_int(x).reshape(len(x), -1))
            assert r.t_in_first[0] < plan.regen_cycles(*stale) + 1 or (cols.all() or rows.all()), name


@pytest.mark.parametrize("spec", list(_specs()), ids=lambda s: s.name)
def test_stored_bit_map_writes_what_the_generator_would(spec, tmp_path):
    """The load-port map of every stored bit (read off the memory-image generator by probing, no
    Verilator): a fault's few word writes turn the fault-free memories into exactly the images the
    generator makes for the faulty design, for every parameter kind (dense, ternary + shift, conv,
    Kronecker factors, WINGs generator parameters, biases), single- and multi-bit."""
    from codesign.faults.rtl import StoredBits
    from codesign.rtl import generate
    from codesign.rtl.harness import load_images, spec_images

    meta = generate(spec, tmp_path)
    sm = SiteMap(spec)
    bits = StoredBits(spec, meta, sm)
    assert not bits.failed and len(bits.where) == len(sm.blocks)

    class Memories:  # the harness's view of its memories: word(sel, addr)
        def __init__(self):
            self.state = load_images(spec, tmp_path)

        def word(self, sel, addr):
            return self.state[sel][addr]

    assert Memories().state == spec_images(spec, tmp_path)
    rng = np.random.default_rng(0)
    faults = [(b.start + int(rng.integers(b.bits)),) for b in sm.blocks for _ in range(2)]
    faults += [tuple(sorted(rng.choice(sm.total, 3, replace=False).tolist())) for _ in range(3)]
    for f in faults:
        mem = Memories()
        flip, undo = bits.writes(mem, f)
        for sel, addr, data in flip:
            mem.state[sel][addr] = data
        assert mem.state == spec_images(apply(spec, f), tmp_path), f
        assert all(data == Memories().state[sel][addr] for sel, addr, data in undo)


@pytest.mark.parametrize("name", ["kron", "wings"])
def test_bfa_ranks_kronecker_factors_and_wings_generator_bits(name):
    """The float twin ranks every stored bit of kron_dense / wings_dense layers too: on a random
    chain the attack loss rises at every committed flip, each row's accuracy is the integer
    emulator's, and a top-ranked generator/factor bit raises the exact loss more than a random one."""
    from codesign.faults import bfa, twin

    spec = next(s for s in _specs() if s.name == name)
    rng = np.random.default_rng(1)
    xi = Emulator(spec).quantize_input(rng.integers(0, 256, (200,) + tuple(spec.input_shape)).astype(np.uint8))
    y = np.argmax(Emulator(spec).run_int(xi).reshape(200, -1), -1)
    sm = SiteMap(spec)
    first = spec.layers[0].name
    scores = twin.backward(spec, xi[:100], y[:100], bfa.attackable(spec))[0]
    assert {b.param for b in sm.blocks if b.layer == 0} == set(scores)  # every stored parameter is ranked
    base = bfa._loss(Emulator(spec).run_int(xi[:100]), spec, y[:100])
    wins = 0
    for b in (b for b in sm.blocks if b.layer == 0 and b.param != "bias"):
        s = scores[b.param].reshape(-1)
        top = bfa._loss(Emulator(c := apply(spec, [b.start + int(np.argmax(s))], sm)).run_int(xi[:100]), c, y[:100])
        rand = bfa._loss(Emulator(c := apply(spec, [b.start + int(rng.integers(b.bits))], sm)).run_int(xi[:100]), c, y[:100])
        wins += top - base > rand - base
    assert wins >= 2, (name, first)
    rows = list(bfa.bfa_attack(spec, xi[:100], xi, y, seed=0, target=0.0, max_flips=3, top_k=3))
    assert all(a["attack_loss"] < b["attack_loss"] for a, b in itertools.pairwise(rows))
    for k, r in enumerate(rows):
        faulty = apply(spec, [q["site"] for q in rows[:k + 1]])
        assert r["accuracy"] == float(np.mean(np.argmax(Emulator(faulty).run_int(xi), -1) == y))


def test_detection_on_the_rtl_through_the_cli(tiny_run, tmp_path):
    """`codesign faults RUN --detect --views emulator,rtl` on a small run with generated RTL: the
    canaries of every checked fault run through the Verilator model (faults written through the load
    port), their alarms equal the emulator's, some faults alarm and some do not, and 10,000
    fault-free RTL inferences give every output integer of the emulator and no false alarm. A run
    without RTL is refused in one line (exit 2) before any row is written."""
    from codesign.rtl import generate

    bare = tmp_path / "bare"
    shutil.copytree(tiny_run, bare)
    proc = codesign("faults", bare, "--campaign", "random", "--faults", "50", "--detect", "--views", "emulator,rtl",
                    check=False)
    assert proc.returncode == 2 and "no generated RTL" in proc.stderr and "Traceback" not in proc.stderr
    assert not (bare / "faults" / "random").exists()

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    generate(DesignSpec.load(run / "spec"), run / "rtl")
    codesign("faults", run, "--campaign", "random", "--faults", "300", "--detect", "--views", "emulator,rtl",
             "--rtl-faults", "30")
    det = json.loads((run / "report.json").read_text())["faults"]["detection"]
    rtl = det["rtl"]
    assert rtl["faults"] == det["faults"] and rtl["equal_to_emulator"] == 1.0
    assert 0 < rtl["rate"] < 1 and rtl["rate"] == det["canary_rate"]
    assert rtl["false_alarms"] == 0 and rtl["clean_inferences"] == 10_000 and rtl["clean_outputs_differing"] == 0
    assert rtl["overhead"] == {"LUT": 0, "FF": 0}
    cross = json.loads((run / "report.json").read_text())["faults"]["rtl"]  # the same command's --views rtl
    assert cross["equal_fraction"] == 1.0 and cross["restored_design_equal"] and cross["cells"] == sum(
        b.width for b in SiteMap(DesignSpec.load(run / "spec")).blocks)


@pytest.mark.parametrize("spec", list(_specs()), ids=lambda s: s.name)
def test_layer_cache_equals_the_emulator_on_flipped_designs(spec):
    """The BFA's recompute from the flipped layer (a dense/conv flip: its one output channel) gives the
    emulator's output integers of the faulty design, for candidates and for a chain of committed flips."""
    from codesign.faults.tail import LayerCache

    rng = np.random.default_rng(3)
    x = Emulator(spec).quantize_input(rng.integers(0, 256, (40,) + tuple(spec.input_shape)).astype(np.uint8))
    sm = SiteMap(spec)
    cache, cur = LayerCache(spec, x, sitemap=sm), spec
    for b in sm.blocks:
        for site in (b.start + int(rng.integers(b.bits)), b.start + b.bits - 1):
            cand = apply(cur, [site], sm)
            want = Emulator(cand).run_int(x).reshape(len(x), -1)
            assert np.array_equal(cache.flipped(cand, site), want), sm.describe(site)
        cur = cand
        assert np.array_equal(cache.commit(cur, site), want)


def test_bfa_attacks_the_convolutions_of_a_cnn():
    """The float twin passes max pools and back-propagates through conv2d (its input gradient is the
    adjoint of the convolution), so a CNN's conv weights, shifts and biases are ranked and attacked;
    the committed flips raise the attack loss and each row's accuracy is the integer emulator's."""
    from codesign.faults import bfa, twin

    spec = next(s for s in _specs() if s.name.startswith("random_cnn"))
    convs = [i for i, l in enumerate(spec.layers) if l.kind == "conv2d"]
    assert set(convs) < set(bfa.attackable(spec))
    rng = np.random.default_rng(0)
    for li in convs:  # <conv(x), g> == <x, backward(g)>: the twin's input gradient is the conv's adjoint
        layer = spec.layers[li]
        x = rng.normal(size=(2,) + tuple(layer.input_shape))
        g = rng.normal(size=(2, int(np.prod(layer.output_shape))))
        dx = twin._conv(layer, x.reshape(2, -1), g, {})
        w = layer.params["weight"]
        wr = w.reshape(-1, w.shape[-1]) * 2.0 ** -layer.types["weight"].frac
        if "weight_shift" in layer.params:
            wr = wr * 2.0 ** layer.params["weight_shift"][None, :]
        kh, kw, _, _ = w.shape
        y = np.stack([np.einsum("hwc,hwco->o", np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))[n, i:i + kh, j:j + kw]
                                if layer.attrs["padding"] == "same" else x[n, i:i + kh, j:j + kw], wr.reshape(w.shape))
                      for n in range(2) for i in range(layer.output_shape[0]) for j in range(layer.output_shape[1])])
        assert np.isclose(np.sum(y.reshape(2, -1) * g), np.sum(x.reshape(2, -1) * dx))
    xi = Emulator(spec).quantize_input(rng.integers(0, 256, (150,) + tuple(spec.input_shape)).astype(np.uint8))
    y = np.argmax(Emulator(spec).run_int(xi).reshape(len(xi), -1), -1)
    scores = twin.backward(spec, xi[:100], y[:100], bfa.attackable(spec))
    sm = SiteMap(spec)
    assert all({b.param for b in sm.blocks if b.layer == li} == set(scores[li]) for li in convs)
    rows = list(bfa.bfa_attack(spec, xi[:100], xi, y, seed=0, target=0.0, max_flips=4, top_k=3))
    assert all(a["attack_loss"] < b["attack_loss"] for a, b in itertools.pairwise(rows))
    for k, r in enumerate(rows):
        faulty = apply(spec, [q["site"] for q in rows[:k + 1]])
        assert r["accuracy"] == float(np.mean(np.argmax(Emulator(faulty).run_int(xi), -1) == y))


@pytest.mark.parametrize("attrs, shape, out", [
    ({"pool_size": [2, 2], "strides": [2, 2], "padding": "same"}, (5, 5, 3), (3, 3, 3)),
    ({"pool_size": [3, 3], "strides": [2, 2], "padding": "same"}, (6, 7, 2), (3, 4, 2)),
    ({"pool_size": [4, 3], "strides": [4, 3], "padding": "valid"}, (4, 3, 2), (2,)),  # a global pool
])
def test_twin_max_pool_gradient_is_the_emulators_derivative(attrs, shape, out):
    """The twin's max-pool gradient, 'same' padding and global pools included, is the derivative of
    the emulator's kernel: raising one input by 1 (inputs distinct, spaced by 2, so no maximum moves
    elsewhere) changes <g, y> by exactly that input's gradient."""
    from codesign.emulator import maxpool2d_kernel
    from codesign.faults import twin
    from codesign.spec import Layer

    t = FixedType(8, 4, True)
    layer = Layer("pool", "maxpool2d", shape, out, attrs, {"input": t, "output": t})
    rng = np.random.default_rng(1)
    n, size = 2, int(np.prod(shape))
    x = np.stack([rng.permutation(size) * 2 - size for _ in range(n)]).reshape((n,) + shape).astype(np.int64)
    y = maxpool2d_kernel(x, layer)
    g = rng.normal(size=(n, int(np.prod(out))))
    dx = twin._maxpool(layer, x, y, g)
    base = np.sum(g * y.reshape(n, -1), axis=1)
    for k in range(size):
        bumped = x.reshape(n, -1).copy()
        bumped[:, k] += 1
        change = np.sum(g * maxpool2d_kernel(bumped.reshape(x.shape), layer).reshape(n, -1), axis=1) - base
        assert np.allclose(change, dx[:, k])
