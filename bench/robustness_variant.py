"""One variant of a seed run under the robustness suite, in its own process.

    CODESIGN_DATA=/work/shared/data python bench/robustness_variant.py runs/suite_cnn/seed1 stq_jr

A `bench/robustness_table.py` seed evaluates its variants one after the other in one process; on a
loaded machine the CNN's suite (APGD-CE/DLR on 500 digits, Square 5,000 queries on 200) takes longer
per variant than training. The flow saves every variant's model (RUN/robustness/VARIANT/model.h5)
and the main variant's design spec (RUN/spec) before it attacks, so each variant can be attacked by
its own process: this script loads them, runs `codesign.robustness.evaluate_variants` (the flow's
own evaluation, the same test split from the run's config and seed) and writes
RUN/robustness/VARIANT/result.json. `robustness_table.py --merge` reads those when the seed folder
has no report.json.
"""
from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a seed folder of robustness_table.py (config.yaml, robustness/, spec/)")
    ap.add_argument("variant")
    args = ap.parse_args()
    model_file = args.run / "robustness" / args.variant / "model.h5"
    if not (args.run / "config.yaml").exists() or not model_file.exists():
        ap.error(f"{model_file} (or {args.run / 'config.yaml'}) is missing: run the seed with "
                 "bench/robustness_table.py until its robustness step has saved the variants")

    from codesign.config import load_config
    from codesign.data import load_dataset
    from codesign.models import load_model
    from codesign.robustness import evaluate_variants
    from codesign.spec import DesignSpec
    from codesign.variants import main_variant

    cfg = load_config(args.run / "config.yaml")
    cfg["robustness"]["enabled"] = True
    data = load_dataset(cfg["data"], cfg["seed"])
    model = load_model(model_file.parent)
    specs = {args.variant: DesignSpec.load(args.run / "spec")} if args.variant == main_variant(cfg) else {}
    result = evaluate_variants({args.variant: model}, cfg, data, specs,
                               log=lambda m: print(f"[{args.run.name} {args.variant}] {m}", flush=True))
    out = model_file.parent / "result.json"
    out.write_text(json.dumps(result[args.variant], indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
