"""bench/robustness_table.py --merge on seed folders: mean ± sample sd over seeds per column, the
whole-test-split clean column, and the paired gap (variant minus float_jr on the same digits, per
seed) written to the --json file the docs read. The reports are written here, so the expected
figures are known without running a flow."""
import json
import sys

import pytest
import yaml
from conftest import EXAMPLES, ROOT


def _result(clean, clean_test, pgd, worst):
    return {"pgd": {"0.1": pgd}, "apgd_ce": {"0.1": worst + 0.01}, "square": {"0.1": worst},
            "clean_accuracy": clean, "clean_accuracy_test": clean_test, "worst_case": {"0.1": worst},
            "size_kb": 6.7, "weight_bits": 54886, "samples": {"clean": 500, "clean_test": 2000, "pgd": 500,
                                                               "apgd_ce": 500, "square": 200, "worst_case": 200},
            "gradient_masking": {"detected": pgd - worst > 0.02, "cases": []}}


def _seed_runs(folder, seeds: dict, variants=("float_jr", "stq_jr")):
    cfg = yaml.safe_load((EXAMPLES / "mnist_cnn_stq_jr.yaml").read_text())
    cfg["robustness"].update(variants=list(variants), epsilons=[0.1])
    for seed, results in seeds.items():
        (folder / f"seed{seed}").mkdir(parents=True)
        (folder / f"seed{seed}" / "config.yaml").write_text(yaml.safe_dump({**cfg, "seed": seed}))
        report = {"robustness": dict(zip(variants, results))}
        (folder / f"seed{seed}" / "report.json").write_text(json.dumps(report))


def _bench_main(script: str, *argv):
    """bench/<script>'s main() in this process with sys.argv = [script, *argv]: (exit code, stderr)."""
    import contextlib
    import importlib.util
    import io
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location(script.removesuffix(".py"), ROOT / "bench" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err, code, saved = io.StringIO(), 0, sys.argv
    sys.argv = [f"bench/{script}", *map(str, argv)]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            module.main()
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = saved
    return SimpleNamespace(returncode=code, stderr=err.getvalue())


def _table(*args):
    """bench/robustness_table.py on a config placeholder `x.yaml` and the given arguments."""
    return _bench_main("robustness_table.py", "x.yaml", *args)


def test_merge_writes_means_sample_sd_and_paired_gaps(tmp_path):
    _seed_runs(tmp_path / "runs", {0: (_result(0.97, 0.965, 0.88, 0.85), _result(0.96, 0.960, 0.85, 0.82)),
                                   3: (_result(0.98, 0.975, 0.90, 0.80), _result(0.97, 0.970, 0.86, 0.79))})
    out = tmp_path / "results" / "table.json"
    proc = _table("--merge", tmp_path / "runs", "--out", tmp_path / "tab", "--json", out)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    assert d["seeds"] == [0, 3] and d["std_ddof"] == 1
    assert d["samples"]["stq_jr"]["square"] == 200
    worst = d["table"]["stq_jr"]["worst_case@0.1"]
    assert worst["values"] == [0.82, 0.79]
    assert worst["mean"] == pytest.approx(0.805) and worst["std"] == pytest.approx(0.0212132, abs=1e-6)
    assert d["table"]["float_jr"]["clean_accuracy_test"]["mean"] == pytest.approx(0.97)
    assert d["table"]["float_jr"]["gradient_masking_seeds"] == 2
    gap = d["paired"]["stq_jr"]
    assert d["paired_reference"] == "float_jr"
    # per seed -0.03 and -0.01: the gap's sd (0.014) is below either variant's own (0.035, 0.021)
    assert gap["worst_case@0.1"]["values"] == pytest.approx([-0.03, -0.01])
    assert gap["worst_case@0.1"]["std"] == pytest.approx(0.0141421, abs=1e-6)
    assert gap["clean_accuracy_test"]["mean"] == pytest.approx(-0.005)
    assert "Paired gap" in (tmp_path / "tab" / "table.md").read_text()


def test_labelled_merge_pairs_two_configs_on_their_shared_seeds(tmp_path):
    """Kronecker example vs its dense reference: one variant each, labelled, seed 2 only in one folder."""
    _seed_runs(tmp_path / "kron", {0: (_result(0.97, 0.97, 0.80, 0.76),), 1: (_result(0.97, 0.96, 0.80, 0.74),),
                                   2: (_result(0.9, 0.9, 0.7, 0.6),)}, variants=("stq",))
    _seed_runs(tmp_path / "dense", {0: (_result(0.97, 0.975, 0.80, 0.77),), 1: (_result(0.97, 0.97, 0.8, 0.76),)},
               variants=("stq",))
    out = tmp_path / "kd.json"
    proc = _table("--merge", f"kron={tmp_path / 'kron'}", f"dense={tmp_path / 'dense'}", "--reference", "dense",
                  "--out", tmp_path / "tab", "--json", out)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    assert d["seeds"] == [0, 1] and list(d["table"]) == ["kron", "dense"]
    assert d["paired"]["kron"]["worst_case@0.1"]["values"] == pytest.approx([-0.01, -0.02])
    assert d["paired"]["kron"]["clean_accuracy_test"]["values"] == pytest.approx([-0.005, -0.01])


def test_merge_reads_a_one_seed_table_beside_run_folders(tmp_path):
    """A seed measured before (its one-seed table JSON, without the whole-split clean figure) joins
    seeds run later; the column that seed lacks says which seeds it covers."""
    _seed_runs(tmp_path / "old", {0: (_result(0.97, 0.965, 0.88, 0.85), _result(0.96, 0.960, 0.85, 0.82))})
    assert _table("--merge", tmp_path / "old", "--out", tmp_path / "t0", "--json", tmp_path / "seed0.json"
                  ).returncode == 0
    seed0 = json.loads((tmp_path / "seed0.json").read_text())
    for row in seed0["table"].values():
        del row["clean_accuracy_test"]
    del seed0["samples"]
    (tmp_path / "seed0.json").write_text(json.dumps(seed0))
    _seed_runs(tmp_path / "new", {1: (_result(0.98, 0.975, 0.90, 0.80), _result(0.97, 0.970, 0.86, 0.79))})
    proc = _table("--merge", tmp_path / "seed0.json", tmp_path / "new", "--out", tmp_path / "t", "--json",
                  tmp_path / "both.json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "both.json").read_text())
    assert d["seeds"] == [0, 1]
    assert d["table"]["stq_jr"]["worst_case@0.1"]["values"] == [0.82, 0.79]
    assert d["table"]["stq_jr"]["clean_accuracy_test"] == {"mean": 0.97, "std": 0.0, "values": [0.97], "seeds": [1]}
    assert d["paired"]["stq_jr"]["worst_case@0.1"]["values"] == pytest.approx([-0.03, -0.01])
    assert d["table"]["float_jr"]["gradient_masking_seeds"] == 2
    assert d["samples"]["stq_jr"]["square"] == 200


def test_merge_reads_per_variant_results_of_a_seed_without_report(tmp_path):
    """A seed whose variants were attacked by bench/robustness_variant.py (one process each) counts once
    every variant's result.json is there; a seed with only some of them is left out."""
    _seed_runs(tmp_path / "runs", {0: (_result(0.97, 0.965, 0.88, 0.85), _result(0.96, 0.960, 0.85, 0.82))})
    for seed, variants in ((1, ("float_jr", "stq_jr")), (2, ("stq_jr",))):
        (tmp_path / "runs" / f"seed{seed}").mkdir()
        cfg = yaml.safe_load((tmp_path / "runs" / "seed0" / "config.yaml").read_text())
        (tmp_path / "runs" / f"seed{seed}" / "config.yaml").write_text(yaml.safe_dump({**cfg, "seed": seed}))
        for v in variants:
            (tmp_path / "runs" / f"seed{seed}" / "robustness" / v).mkdir(parents=True)
            res = _result(0.98, 0.975, 0.90, 0.80) if v == "float_jr" else _result(0.97, 0.970, 0.86, 0.79)
            (tmp_path / "runs" / f"seed{seed}" / "robustness" / v / "result.json").write_text(json.dumps(res))
    proc = _table("--merge", tmp_path / "runs", "--out", tmp_path / "t", "--json", tmp_path / "t.json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "t.json").read_text())
    assert d["seeds"] == [0, 1]
    assert d["paired"]["stq_jr"]["worst_case@0.1"]["values"] == pytest.approx([-0.03, -0.01])


def test_merge_of_a_folder_without_runs_is_one_clear_line(tmp_path):
    proc = _table("--merge", tmp_path / "nothing", "--out", tmp_path / "tab")
    assert proc.returncode == 2
    assert "no seed*/report.json in" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "tab").exists()


def test_kron_dense_reference_differs_from_the_kron_example_only_in_its_first_fc():
    """The dense reference the suite compares the Kronecker example with is that example with a dense
    784 -> 256 layer of the same 8-bit type and without the distillation from it (the example's
    `harden.distill.teacher: dense` trains this very network as its teacher): any other drift would
    confound the comparison."""
    kron = yaml.safe_load((EXAMPLES / "mnist_mlp_kron_robust.yaml").read_text())
    dense = yaml.safe_load((ROOT / "bench/robustness_kron_dense_reference.yaml").read_text())
    k1, d1 = kron["model"]["layers"][1]["kron_dense"], dense["model"]["layers"][1]["dense"]
    assert d1["units"] == k1["out_factors"][0] * k1["out_factors"][1] == 256
    assert (d1["kernel"], d1["bias"]) == (k1["kernel"], k1["bias"])
    assert kron.pop("harden") == {"distill": {"teacher": "dense", "weight": 20, "temperature": 1, "epsilon": 0.1,
                                              "steps": 3, "step_ratio": 0.4}}  # the reference is its teacher
    for cfg in (kron, dense):
        del cfg["name"], cfg["model"]["layers"][1]
    assert kron == dense


def test_merge_extends_a_table_of_several_seeds_with_new_seed_runs(tmp_path):
    """A two-seed table (its run folders gone) grows to three seeds with a new seed folder: every
    figure of the old seeds comes back from the table's per-seed values, a masking flag the table kept
    only as a count (1 of 2) is deduced from the one-seed table of the other seed, and the new columns
    (PGD minus worst case per seed, stored-bits ratio vs the reference) are there."""
    _seed_runs(tmp_path / "old", {0: (_result(0.97, 0.965, 0.88, 0.85), _result(0.96, 0.960, 0.85, 0.85)),
                                  1: (_result(0.98, 0.975, 0.90, 0.80), _result(0.97, 0.970, 0.86, 0.79))})
    assert _table("--merge", tmp_path / "old", "--out", tmp_path / "t01", "--json", tmp_path / "s01.json"
                  ).returncode == 0
    _seed_runs(tmp_path / "old0", {0: (_result(0.97, 0.965, 0.88, 0.85), _result(0.96, 0.960, 0.85, 0.85))})
    assert _table("--merge", tmp_path / "old0", "--out", tmp_path / "t0", "--json", tmp_path / "s0.json"
                  ).returncode == 0
    for name in ("s01.json", "s0.json"):  # as the tables written before per-seed flags were kept
        d = json.loads((tmp_path / name).read_text())
        for row in d["table"].values():
            del row["gradient_masking_values"]
        (tmp_path / name).write_text(json.dumps(d))
    timed = _result(0.96, 0.965, 0.87, 0.80)
    timed["seconds"] = {"pgd": {"wall": 2.0, "cpu": 1.5}, "square": {"wall": 30.0, "cpu": 20.25}}
    _seed_runs(tmp_path / "new", {2: (_result(0.99, 0.985, 0.91, 0.81), timed)})
    (tmp_path / "new" / "seed2" / "seconds.json").write_text(json.dumps({"wall": 900.0, "cpu": 500.0, "load": [9, 8]}))
    # without the one-seed table the flag of stq_jr on seeds 0 and 1 (1 of 2) cannot be told apart
    proc = _table("--merge", tmp_path / "s01.json", tmp_path / "new", "--out", tmp_path / "t", "--json",
                  tmp_path / "x.json")
    assert proc.returncode == 2 and "recorded only as a count" in proc.stderr
    proc = _table("--merge", tmp_path / "s0.json", tmp_path / "s01.json", tmp_path / "new", "--out", tmp_path / "t",
                  "--json", tmp_path / "all.json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "all.json").read_text())
    assert d["seeds"] == [0, 1, 2]
    assert d["seconds"] == {"2": {"seed": {"wall": 900.0, "cpu": 500.0, "load": [9, 8]},
                                  "stq_jr": {"wall": 32.0, "cpu": 21.8}}}
    assert d["n_seeds"] == 3 and (tmp_path / "t" / "table.md").read_text().startswith("3 seed(s): 0, 1, 2\n")
    stq = d["table"]["stq_jr"]
    assert stq["worst_case@0.1"]["values"] == [0.85, 0.79, 0.80]
    assert stq["clean_accuracy_test"]["values"] == [0.96, 0.97, 0.965]
    assert stq["gradient_masking_values"] == [False, True, True] and stq["gradient_masking_seeds"] == 2
    assert stq["pgd_minus_worst_case@0.1"]["values"] == pytest.approx([0.0, 0.07, 0.07])
    assert stq["stored_bits_ratio"] == 1.0 and d["table"]["float_jr"]["gradient_masking_values"] == [True] * 3
    assert d["paired"]["stq_jr"]["worst_case@0.1"]["values"] == pytest.approx([0.0, -0.01, -0.01])


def test_results_page_summary_shows_the_suite_columns_and_the_paired_gap(tmp_path):
    """docs/gen_results.py robustness_summary on a table this script wrote: clean on the test split,
    each strong attack, the worst case on Keras and on the emulator, PGD-20 minus the worst case and
    the paired gap block, each mean ± sd over the seeds."""
    sys.path.insert(0, str(ROOT / "docs"))
    import gen_results

    emu = {"emulator_worst_case": {"0.1": 0.78}, "apgd_dlr": {"0.1": 0.81}}
    _seed_runs(tmp_path / "runs", {0: (_result(0.97, 0.965, 0.88, 0.85), {**_result(0.96, 0.960, 0.85, 0.82), **emu}),
                                   1: (_result(0.98, 0.975, 0.90, 0.80), {**_result(0.97, 0.970, 0.86, 0.79), **emu})})
    assert _table("--merge", tmp_path / "runs", "--out", tmp_path / "t", "--json", tmp_path / "t.json").returncode == 0
    page = gen_results.robustness_summary(json.loads((tmp_path / "t.json").read_text()))
    header = next(line for line in page.splitlines() if line.startswith("| variant | KB"))
    for name in ("clean (test split)", "PGD-20", "APGD-CE", "APGD-DLR", "Square", "worst-case",
                 "emulator worst-case", "PGD-20 − worst-case"):
        assert f"| {name} |" in header
    stq = next(line for line in page.splitlines() if line.startswith("| stq_jr | 6.70"))
    # worst case 0.82 / 0.79, PGD minus worst 0.03 / 0.07, emulator worst only on stq_jr
    assert "| 0.805±0.021 | 0.780±0.000 | 0.050±0.028 |" in stq
    gap = page.split("**Paired gap**")[1]
    assert "| stq_jr | -0.005±0.000 | -0.035±0.007 | -0.020±0.014 |" in gap


def _float_clean(*args):
    """bench/robustness_float_clean.py with the given arguments."""
    return _bench_main("robustness_float_clean.py", *args)


def test_float_clean_trains_the_plain_float_variant_and_pairs_it_by_seed(tmp_path):
    """Real digits, 3 epochs: the float network's clean accuracy on each seed's whole test split, and the
    table's stq_jr figure minus the float one on the seed that figure exists for (seed 1 only)."""
    cfg = {"name": "digits_float", "data": {"dataset": "digits"}, "train": {"epochs": 3, "learning_rate": 0.005},
           "model": {"layers": [{"flatten": {}}, {"dense": {"units": 32, "kernel": "stochastic_ternary"}},
                                {"relu": {"bits": 8, "integer": 3}},
                                {"dense": {"units": 10, "kernel": {"bits": 8, "integer": 0}}}]}}
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    table = {"seeds": [0, 1], "config": str(tmp_path / "cfg.yaml"),
             "table": {"stq_jr": {"clean_accuracy_test": {"mean": 0.9, "std": 0.0, "values": [0.9], "seeds": [1]}}}}
    (tmp_path / "table.json").write_text(json.dumps(table))
    out = tmp_path / "float.json"
    proc = _float_clean(tmp_path / "cfg.yaml", "--seeds", 0, 1, "--against", tmp_path / "table.json", "--json", out)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(out.read_text())
    f0, f1 = d["float"]["values"]
    assert 0.6 < f0 < 1 and 0.6 < f1 < 1 and d["test_samples"] > 300
    assert d["paired_vs_float"]["stq_jr"]["seeds"] == [1]
    assert d["paired_vs_float"]["stq_jr"]["values"] == [pytest.approx(0.9 - f1, abs=1e-6)]
    table["config"] = "examples/mnist_mlp_stq_jr.yaml"
    (tmp_path / "table.json").write_text(json.dumps(table))
    proc = _float_clean(tmp_path / "cfg.yaml", "--seeds", 0, "--against", tmp_path / "table.json")
    assert proc.returncode == 2 and "was measured on 'examples/mnist_mlp_stq_jr.yaml'" in proc.stderr.splitlines()[-1]


def test_plain_float_variant_is_not_adversarially_trained(monkeypatch):
    """A config with `train.adversarial` trains its hardened variants with PGD, but `float` (the plain
    baseline of "clean within 2 points of float") gets the recipe without it; float_jr keeps it."""
    import codesign.train
    from codesign.config import check_config
    from codesign.data import load_dataset
    from codesign.variants import train_variant

    seen = {}
    monkeypatch.setattr(codesign.train, "train_from_config",
                        lambda model, x, y, t, seed, **kw: seen.setdefault(model.name, t))
    cfg = check_config({"name": "adv", "data": {"dataset": "digits"},
                        "train": {"epochs": 1, "adversarial": {"epsilon": 0.1, "steps": 1}},
                        "model": {"layers": [{"flatten": {}}, {"dense": {"units": 10}}]}}, "adv.yaml")
    data = load_dataset(cfg["data"], 0)
    for v in ("float", "float_jr"):
        train_variant(v, cfg, data, log=lambda m: None)
    assert seen["adv_float"]["adversarial"] is None
    assert seen["adv_float_jr"]["adversarial"]["epsilon"] == 0.1
    assert cfg["train"]["adversarial"]["epsilon"] == 0.1  # the run's own config untouched
