"""Robust accuracy, mean ± std over seeds, for every variant of a robustness config.

    CODESIGN_DATA=/work/shared/data python bench/robustness_table.py examples/mnist_mlp_stq_jr.yaml \\
        --seeds 0 1 2 --out runs/robustness_seeds

Each seed is a full `codesign flow` (HLS and RTL views off: they do not change the numbers; the
emulator on adversarial pixels still runs) in OUT/seed<N>; the seed changes initialisation, the
train/test split and the attack subset alike. Prints a markdown table and writes OUT/table.md and
OUT/table.json. `--set key=value` overrides config keys (dotted, YAML values), e.g.
`--set train.epochs=5 --set robustness.samples=200`. `--merge DIR ...` runs nothing: it tabulates
the seed<N>/report.json already in those folders (seeds run as separate processes).
"""
from __future__ import annotations

import argparse
import json
import os
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
    ap.add_argument("--merge", type=Path, nargs="+", help="tabulate seed*/report.json of these run folders instead")
    args = ap.parse_args()

    from codesign.config import apply_override, check_config, load_config
    from codesign.flow import run_flow

    runs = {}
    if args.merge:
        for folder in args.merge:
            for rep in sorted(folder.glob("seed*/report.json")):
                runs[int(rep.parent.name[4:])] = json.loads(rep.read_text())["robustness"]
        if not runs:
            raise SystemExit(f"no seed*/report.json in {[str(f) for f in args.merge]}")
        args.seeds = sorted(runs)
        runs = {s: runs[s] for s in args.seeds}
        cfg = load_config(args.merge[0] / f"seed{args.seeds[0]}" / "config.yaml")
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
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text("\n".join(lines) + "\n")
    (args.out / "table.json").write_text(json.dumps({"seeds": args.seeds, "config": args.config,
                                                     "overrides": args.set, "table": table}, indent=1))
    print("\n".join(lines))


def summarize(runs: dict, cfg: dict):
    from codesign.robustness import ATTACKS, eps_key

    eps = [eps_key(e) for e in cfg["robustness"]["epsilons"]]
    variants = list(next(iter(runs.values())))
    first = next(iter(runs.values()))
    present = lambda a: any(a in first[v] for v in variants)  # noqa: E731 - pgd_emulator: quantized variants only
    cols = ["clean_accuracy"] + [f"{a}@{e}" for a in ATTACKS + ("worst_case", "emulator_worst_case") if present(a)
                                 for e in eps]
    table = {}
    for v in variants:
        table[v] = {"size_kb": first[v]["size_kb"],
                    "gradient_masking_seeds": sum(r[v]["gradient_masking"]["detected"] for r in runs.values())}
        for c in cols:
            if c != "clean_accuracy" and c.split("@")[0] not in first[v]:
                continue
            vals = [r[v][c] if c == "clean_accuracy" else r[v][c.split("@")[0]][c.split("@")[1]] for r in runs.values()]
            table[v][c] = {"mean": float(np.mean(vals)), "std": float(np.std(vals)), "values": vals}
    lines = ["| variant | size KB | masking (seeds) | " + " | ".join(c.replace("_accuracy", "") for c in cols) + " |",
             "|---|---|---|" + "---|" * len(cols)]
    for v, row in table.items():
        lines.append(f"| {v} | {row['size_kb']:.1f} | {row['gradient_masking_seeds']}/{len(runs)} | "
                     + " | ".join(f"{row[c]['mean']:.3f} ± {row[c]['std']:.3f}" if c in row else "—" for c in cols)
                     + " |")
    return table, lines


if __name__ == "__main__":
    main()
