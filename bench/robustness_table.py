"""Robust accuracy, mean ± std over seeds, for every variant of a robustness config.

    CODESIGN_DATA=/work/shared/data python bench/robustness_table.py examples/mnist_mlp_stq_jr.yaml \\
        --seeds 0 1 2 --out runs/robustness_seeds

Each seed is a full `codesign flow` (HLS and RTL views off: they do not change the numbers; the
emulator on adversarial pixels still runs) in OUT/seed<N>; the seed changes initialisation, the
train/test split and the attack subset alike. Prints a markdown table and writes OUT/table.md and
OUT/table.json (and `--json PATH`, e.g. bench/results/NAME.json). `--set key=value` overrides config
keys (dotted, YAML values), e.g. `--set train.epochs=5 --set robustness.samples=200`. `--merge DIR ...`
runs nothing: it tabulates the seed<N>/report.json already in those folders (seeds run as separate
processes).

Every variant of one seed is attacked on the same test digits (the first `robustness.samples` of that
seed's split), so `paired` holds, per seed, each variant's figure minus the reference variant's
(`--reference`, float_jr when present): its spread over seeds is that of the gap, not of the two
figures. Spreads are sample standard deviations (ddof 1) over seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=Path("runs/robustness_seeds"))
    ap.add_argument("--set", action="append", default=[], help="override key=value (dotted key)")
    ap.add_argument("--merge", nargs="+", metavar="[LABEL=]DIR",
                    help="tabulate seed*/report.json of these run folders instead; LABEL=DIR names that folder's "
                         "variant LABEL (LABEL_variant when it has several), so runs of different configs (the "
                         "Kronecker example and its dense reference) share one table, on the seeds they share")
    ap.add_argument("--json", type=Path, help="also write the table JSON here (e.g. bench/results/NAME.json)")
    ap.add_argument("--reference", default="float_jr", help="variant the paired gaps are taken against")
    args = ap.parse_args()

    from codesign.config import apply_override, check_config
    from codesign.flow import run_flow

    runs = {}
    if args.merge:
        runs, cfg = merged(args.merge, ap.error)
        args.seeds = sorted(runs)
    for seed in [] if args.merge else args.seeds:
        given = yaml.safe_load(Path(args.config).read_text())
        for a in args.set:
            apply_override(given, a)
        given.update(seed=seed)
        given.setdefault("hls", {})["enabled"] = False
        given.setdefault("rtl", {})["enabled"] = False
        given.setdefault("robustness", {})["enabled"] = True
        cfg = check_config(given, args.config)
        out = args.out / f"seed{seed}"
        report = run_flow(cfg, out, log=lambda m: None if "epoch" in m else print(f"[seed {seed}] {m}", flush=True))
        runs[seed] = report["robustness"]
    table, lines = summarize(runs, cfg)
    paired, plines = paired_gaps(runs, args.reference)
    lines += plines
    first = next(iter(runs.values()))
    doc = {"seeds": args.seeds, "config": args.config, "overrides": args.set,
           "command": "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]), "std_ddof": 1,
           "robustness": {k: v for k, v in cfg["robustness"].items() if k != "enabled"},
           "samples": {v: first[v]["samples"] for v in first}, "table": table}
    if paired:
        doc.update(paired_reference=args.reference, paired=paired)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    text = json.dumps(doc, indent=1)
    (args.out / "table.json").write_text(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print("\n".join(lines))


def merged(items: list[str], error) -> tuple[dict, dict]:
    """{seed: {variant: result}} and the first run's config from `[LABEL=]DIR` folders of seed runs."""
    from codesign.config import load_config

    runs, per_label, cfg = {}, [], None
    for item in items:
        label, _, folder = item.rpartition("=")
        folder = Path(folder)
        reports = sorted(folder.glob("seed*/report.json"))
        if not reports:
            error(f"--merge {item}: no seed*/report.json in {folder} (run the seeds with --out {folder} first)")
        seeds = set()
        for rep in reports:
            seed, rob = int(rep.parent.name[4:]), json.loads(rep.read_text())["robustness"]
            if label:
                rob = {(label if len(rob) == 1 else f"{label}_{v}"): r for v, r in rob.items()}
            runs.setdefault(seed, {}).update(rob)
            seeds.add(seed)
            cfg = cfg or load_config(rep.parent / "config.yaml")
        if label:
            per_label.append(seeds)
    shared = set.intersection(*per_label) if per_label else set(runs)
    if not shared:
        error(f"--merge {' '.join(items)}: the labelled folders share no seed")
    return {s: runs[s] for s in sorted(shared)}, cfg


def _stats(vals: list) -> dict:
    return {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
            "values": vals}


def _columns(res: dict) -> dict:
    """{column: value} of one variant's result: clean figures, then attack@eps."""
    cols = {c: res[c] for c in ("clean_accuracy", "clean_accuracy_test", "emulator_clean_accuracy_test") if c in res}
    from codesign.robustness import ATTACKS

    for a in ATTACKS + ("worst_case", "emulator_worst_case"):
        for e, acc in res.get(a, {}).items():
            cols[f"{a}@{e}"] = acc
    return cols


def paired_gaps(runs: dict, reference: str):
    """Per seed, variant minus reference on the same digits; mean ± sd over seeds."""
    first = next(iter(runs.values()))
    if reference not in first or len(first) < 2:
        return {}, []
    ref = _columns(first[reference])
    keys = [c for c in ("clean_accuracy_test", "clean_accuracy") if c in ref][:1] + [
        c for c in ref if c.startswith(("pgd@", "worst_case@", "emulator_worst_case@"))]
    gaps = {}
    for v in first:
        if v == reference:
            continue
        mine = [c for c in keys if c in _columns(first[v])]
        gaps[v] = {c: _stats([round(_columns(r[v])[c] - _columns(r[reference])[c], 9) for r in runs.values()]) for c in mine}
    lines = ["", f"Paired gap (variant − {reference}, same digits per seed), mean ± sd over {len(runs)} seed(s):", "",
             "| variant | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for v, row in gaps.items():
        lines.append(f"| {v} | " + " | ".join(f"{row[c]['mean']:+.3f} ± {row[c]['std']:.3f}" if c in row else "—"
                                             for c in keys) + " |")
    return gaps, lines


def summarize(runs: dict, cfg: dict):
    from codesign.robustness import ATTACKS, eps_key

    eps = [eps_key(e) for e in cfg["robustness"]["epsilons"]]
    variants = list(next(iter(runs.values())))
    first = next(iter(runs.values()))
    present = lambda a: any(a in first[v] for v in variants)  # noqa: E731 - pgd_emulator: quantized variants only
    cols = [c for c in ("clean_accuracy", "clean_accuracy_test", "emulator_clean_accuracy_test")
            if any(c in first[v] for v in variants)] + [f"{a}@{e}" for a in ATTACKS + ("worst_case", "emulator_worst_case") if present(a)
                                 for e in eps]
    table = {}
    for v in variants:
        table[v] = {"size_kb": first[v]["size_kb"],
                    "gradient_masking_seeds": sum(r[v]["gradient_masking"]["detected"] for r in runs.values())}
        for c in cols:
            if c.split("@")[0] not in first[v]:
                continue
            vals = [r[v][c] if "@" not in c else r[v][c.split("@")[0]][c.split("@")[1]] for r in runs.values()]
            table[v][c] = _stats(vals)
    lines = ["| variant | size KB | masking (seeds) | " + " | ".join(c.replace("_accuracy", "") for c in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for v, row in table.items():
        lines.append(f"| {v} | {row['size_kb']:.1f} | {row['gradient_masking_seeds']}/{len(runs)} | "
                     + " | ".join(f"{row[c]['mean']:.3f} ± {row[c]['std']:.3f}" if c in row else "—" for c in cols)
                     + " |")
    return table, lines


if __name__ == "__main__":
    main()
