"""Bit-flip amplification of WINGs vs the uncompressed layer, and canary detection.

Random single-bit flips (every stored bit equally likely) in the first layer of two MNIST MLP designs:
  wings  the generator of a ``wings_dense`` layer (spec from a `codesign flow` run, e.g. of
         examples/mnist_mlp_wings.yaml)
  dense  the stored 8-bit weights + bias of the same network's uncompressed first layer (a q8 MLP;
         trained here for --epochs when --dense-spec is not given)
Each flip is evaluated on the emulator over the 2,000-sample test split; canaries are one all-255
image plus the first c training images (c in --canaries), with their integer output vectors as the
signature; the same flips are judged by every canary count.

    CODESIGN_DATA=/work/shared/data python bench/wings_faults.py --wings-spec RUN/spec --flips 300
"""
from __future__ import annotations

import argparse
import json

import numpy as np


def q8_spec(d, epochs):
    from codesign.extract import extract_spec
    from codesign.models import build_model
    from codesign.train import train_model

    q8, b8 = {"bits": 8, "integer": 0}, {"bits": 8, "integer": 3}
    layers = [{"flatten": {}}, {"dense": {"units": 256, "kernel": q8, "bias": b8}}, {"relu": {"bits": 8, "integer": 3}},
              {"dense": {"units": 128, "kernel": q8, "bias": b8}}, {"relu": {"bits": 8, "integer": 3}},
              {"dense": {"units": 10, "kernel": q8, "bias": b8}}]
    m = build_model(layers, d.input_shape, d.num_classes)
    train_model(m, d.x_train, d.y_train, epochs=epochs, stochastic=False)
    return extract_spec(m, "q8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wings-spec", required=True)
    ap.add_argument("--dense-spec", default=None)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--flips", type=int, default=300)
    ap.add_argument("--canaries", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from codesign.data import load_dataset
    from codesign.spec import DesignSpec
    from codesign.techniques.wings.faults import FlipCampaign, summarize

    d = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    specs = {"wings": DesignSpec.load(args.wings_spec),
             "dense": DesignSpec.load(args.dense_spec) if args.dense_spec else q8_spec(d, args.epochs)}
    res = {}
    for name, spec in specs.items():
        layer = next(l for l in spec.layers if l.kind in ("wings_dense", "dense"))
        stored = sum(a.size * layer.types[p].width for p, a in layer.params.items())
        res[name] = {"layer": layer.name, "kind": layer.kind, "stored_bits": int(stored), "by_canaries": {}}
        # canaries: one all-255 image, then training images; subsets are its prefixes
        canaries = np.concatenate([np.full((1,) + d.x_train.shape[1:], 255, np.uint8), d.x_train[:max(args.canaries)]])
        camp = FlipCampaign(spec, layer.name, d.x_test, d.y_test, canaries)
        results = camp.run(args.flips, seed=0)
        res[name]["clean_accuracy"] = camp.clean_acc
        keys = ("detected_all", "detected_harmful", "harmful_flips", "benign_alarms")
        for c in args.canaries:
            s = summarize(results, n_canaries=c + 1)
            res[name]["by_canaries"][c + 1] = {k: s[k] for k in keys}
        res[name].update({k: v for k, v in s.items() if k not in keys})
        res[name]["drops"] = sorted(float(r["drop"]) for r in results)
        print(name, json.dumps({k: v for k, v in res[name].items() if k != "drops"}, indent=1), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
