"""Cycles of the Kronecker engine (rtl/kron_matvec.sv) vs the dense engine (rtl/mvau.sv) on the same layer.

    python bench/kron_vs_dense_cycles.py [--samples 10] [--spec runs/kron_rtl/spec] [--out FILE.json]

The layer is the MNIST kron MLP's first FC: 784 -> 256 as W = sum_{r<2} B_r (x) A_r with A_r, B_r
16 x 28. The dense engine computes it as a 784 x 256 matrix, the Kronecker engine in two stages on
the unflattened 28 x 28 input; both get the SAME PE x SIMD MAC lanes (two lane counts). Theory:
the ratio of MACs, R*(n2*n1*m1 + m2*n2*m1) / (n*m). Measured: the stall-free steady-state interval
between consecutive samples' last output beats, in one Verilator build holding all four engines;
every output integer is also checked against the emulator. With --spec, the kron layer's factors
and types come from a trained spec (its dense twin gets the product W = sum_r B_r (x) A_r, `kron_weight`);
otherwise random factors with exact types are used (cycles do not depend on the values).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesign.fixed import FixedType, bits_for_range  # noqa: E402
from codesign.rtl import units  # noqa: E402
from codesign.rtl.random_spec import INPUT_TYPE, random_kron  # noqa: E402
from codesign.rtl.simulate import _throughput  # noqa: E402
from codesign.spec import DesignSpec, Layer  # noqa: E402

FOLDINGS = [{"pe": 4, "simd": 14}, {"pe": 8, "simd": 28}]  # 56 and 224 lanes; divide both engines' shapes


def kron_layer(spec_dir: str | None) -> Layer:
    if spec_dir:
        spec = DesignSpec.load(spec_dir)
        return next(l for l in spec.layers if l.kind == "kron_dense")
    rng = np.random.default_rng(0)
    return random_kron(rng, "kron", 28, 28, 16, 16, 2, INPUT_TYPE, relu=True, bias=True, exact_mid=True)


def dense_twin(k: Layer) -> Layer:
    """The same linear map as one dense layer: W[i2*n1 + i1, j2*m1 + j1] = sum_r B[r, j2, i2] A[r, j1, i1]."""
    a, b = k.params["a"], k.params["b"]
    r, m1, n1 = a.shape
    _, m2, n2 = b.shape
    w = np.einsum("rli,rkj->ijlk", b, a).reshape(n2 * n1, m2 * m1)  # [i2, i1, j2, j1]
    t = dict(k.types)
    wfrac = t["a"].frac + t["b"].frac
    wb = bits_for_range(int(w.min()), int(w.max()), True)
    tw = FixedType(wb, wb - wfrac, True)
    pfrac = t["input"].frac + wfrac
    types = {"input": t["input"], "weight": tw, "product": FixedType(t["input"].width + wb, t["input"].width + wb - pfrac, True)}
    params = {"weight": w.astype(np.int64)}
    afrac = max(pfrac, t["bias"].frac) if "bias" in t else pfrac
    if "bias" in k.params:
        types["bias"] = t["bias"]
        params["bias"] = k.params["bias"]
    xmax = max(abs(t["input"].qmin), abs(t["input"].qmax))
    bound = (int(np.abs(w).sum(axis=0).max()) * xmax << (afrac - pfrac))
    if "bias" in k.params:
        bound += int(np.abs(k.params["bias"]).max()) << (afrac - t["bias"].frac)
    aw = bits_for_range(-bound, bound, True)
    types["accum"] = FixedType(aw, aw - afrac, True)
    types["output"] = t["output"]
    return Layer("dense", "dense", (n1 * n2,), (m1 * m2,), {"activation": k.attrs["activation"]}, types, params)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--spec", default=None, help="a run's spec/ folder with a kron_dense layer")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()

    k = kron_layer(args.spec)
    d = dense_twin(k)
    a = k.attrs
    n, m = a["n1"] * a["n2"], a["m1"] * a["m2"]
    kspec = DesignSpec("kron", (n,), k.types["input"], [k])
    dspec = DesignSpec("dense", (n,), k.types["input"], [d])
    kspec.validate()
    dspec.validate()
    specs, folds = [], []
    for f in FOLDINGS:
        specs += [dspec, kspec]
        folds += [[f], [f]]
    x = np.random.default_rng(1).integers(0, 256, (args.samples, n))
    with tempfile.TemporaryDirectory(prefix="kron_vs_dense_") as tmp:
        t0 = time.time()
        metas = units.model_bundle(specs, tmp, folds)
        stats = units.run_model_bundle(specs, tmp, [x] * len(specs), metas, stalls=False, test_module="test_kron_matvec")
        wall = time.time() - t0
    macs_dense = n * m
    macs_kron = a["rank"] * (a["n2"] * a["n1"] * a["m1"] + a["m2"] * a["n2"] * a["m1"])
    theory = macs_kron / macs_dense
    rows = []
    for i, f in enumerate(FOLDINGS):
        md, mk = stats["models"][2 * i], stats["models"][2 * i + 1]
        for mm in (md, mk):
            assert mm["complete"] and mm["mismatched_samples"] == 0, mm.get("first_mismatches")
        cd = _throughput(metas[2 * i], md["t_in_first"], md["t_out_last"], args.samples)["cycles_per_inference"]
        ck = _throughput(metas[2 * i + 1], mk["t_in_first"], mk["t_out_last"], args.samples)["cycles_per_inference"]
        lanes = f["pe"] * f["simd"]
        rows.append({"pe": f["pe"], "simd": f["simd"], "lanes": lanes, "dense_cycles": cd, "kron_cycles": ck,
                     "dense_bound": macs_dense / lanes, "kron_bound": macs_kron / lanes,
                     "measured_ratio": ck / cd, "theory_ratio": theory, "off_theory": ck / cd / theory - 1})
    print(f"layer {n} -> {m}: kron R={a['rank']} A {a['m1']}x{a['n1']}, B {a['m2']}x{a['n2']}; "
          f"MACs dense {macs_dense}, kron {macs_kron}; theory ratio {theory:.4f}; "
          f"{args.samples} samples per engine, bit-exact; {wall:.0f} s")
    print(f"{'PE x SIMD':>10} {'lanes':>6} {'dense cyc':>10} {'(bound)':>8} {'kron cyc':>9} {'(bound)':>8} "
          f"{'measured':>9} {'theory':>7} {'off':>7}")
    for r in rows:
        print(f"{r['pe']:>4} x {r['simd']:<3} {r['lanes']:>6} {r['dense_cycles']:>10.0f} {r['dense_bound']:>8.0f} "
              f"{r['kron_cycles']:>9.0f} {r['kron_bound']:>8.0f} {r['measured_ratio']:>9.4f} {r['theory_ratio']:>7.4f} "
              f"{100 * r['off_theory']:>6.1f}%")
    if args.out:
        Path(args.out).write_text(json.dumps({"layer": {"n": n, "m": m, **a}, "samples": args.samples,
                                              "spec": args.spec, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
