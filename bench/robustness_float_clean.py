"""Clean accuracy of the plain float32 network (the `float` variant: the config's layers in float32, its
`train:` recipe, no JR, no distillation) on the whole test split, per seed, beside the STQ + JR figure a
robustness suite table recorded for the same seeds.

    CODESIGN_DATA=/work/shared/data python bench/robustness_float_clean.py examples/mnist_cnn_stq_jr.yaml \\
        --seeds 0 1 2 3 4 --against bench/results/robustness_suite_cnn.json \\
        --json bench/results/robustness_suite_cnn_float_clean.json

Why: issue #22's goal "clean within 2 points of float" is about the plain float model, which the suite
tables (variants float_jr and stq_jr, bench/robustness_table.py) do not train. This trains only that
variant (codesign.variants.train_variant, the flow's own float baseline, on the seed's own split) and
takes `clean_accuracy_test` of every variant of the `--against` table on the seeds it has, so the paired
gap (variant - float, same seed and test split) is per seed. Seeds run one after the other in this process.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")

COLUMN = "clean_accuracy_test"


def recorded(table: dict) -> dict:
    """{variant: {seed: clean accuracy on the whole test split}} of a robustness_table.py JSON."""
    out = {}
    for variant, row in table["table"].items():
        st = row.get(COLUMN)
        if st:
            out[variant] = dict(zip(st.get("seeds", table["seeds"]), st["values"]))
    return out


def stats(values: list) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "values": values}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--against", type=Path, required=True, help="a table JSON of bench/robustness_table.py")
    ap.add_argument("--json", type=Path, help="write the result here (e.g. bench/results/NAME.json)")
    args = ap.parse_args()
    if not args.against.is_file():
        ap.error(f"--against {args.against}: no such file (a table JSON of bench/robustness_table.py)")
    against = json.loads(args.against.read_text())
    if "table" not in against or "seeds" not in against:
        ap.error(f"--against {args.against}: not a table JSON of bench/robustness_table.py (no `seeds` and `table`)")
    if Path(against.get("config", "")).resolve() != Path(args.config).resolve():
        ap.error(f"--against {args.against} was measured on {against.get('config')!r}, not {args.config!r}: "
                 "the paired gap needs the same network and recipe")
    others = recorded(against)
    if not others:
        ap.error(f"--against {args.against}: no variant has {COLUMN}")

    from codesign.config import check_config
    from codesign.data import load_dataset
    from codesign.train import keras_accuracy
    from codesign.variants import train_variant

    floats, seconds = {}, {}
    for seed in args.seeds:
        given = yaml.safe_load(Path(args.config).read_text())
        given.update(seed=seed)
        cfg = check_config(given, args.config)
        data = load_dataset(cfg["data"], seed)
        t0, c0 = time.time(), time.process_time()
        model = train_variant("float", cfg, data, log=lambda m: None)
        floats[seed] = keras_accuracy(model, data.x_test, data.y_test)
        seconds[seed] = {"wall": round(time.time() - t0, 1), "cpu": round(time.process_time() - c0, 1),
                         "load": os.getloadavg()[0]}
        print(f"[seed {seed}] float clean_accuracy_test {floats[seed]:.4f} ({seconds[seed]})", flush=True)

    doc = {"config": args.config, "seeds": args.seeds, "against": str(args.against),
           "command": "python " + shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
           "std_ddof": 1, "test_samples": int(len(data.y_test)), "seconds": seconds,
           "float": stats([floats[s] for s in args.seeds]), "variants": {}, "paired_vs_float": {}}
    print(f"| variant | seeds | {COLUMN} | minus float (paired) |\n|---|---|---|---|")
    print(f"| float | {args.seeds} | {doc['float']['mean']:.4f} ± {doc['float']['std']:.4f} | — |")
    for variant, per_seed in others.items():
        seeds = [s for s in args.seeds if s in per_seed]
        if not seeds:
            continue
        vals = [per_seed[s] for s in seeds]
        gaps = [round(per_seed[s] - floats[s], 6) for s in seeds]
        doc["variants"][variant] = dict(stats(vals), seeds=seeds)
        doc["paired_vs_float"][variant] = dict(stats(gaps), seeds=seeds)
        print(f"| {variant} | {seeds} | {np.mean(vals):.4f} | {np.mean(gaps):+.4f} ± "
              f"{doc['paired_vs_float'][variant]['std']:.4f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
