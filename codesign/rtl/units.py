"""Unit-test bundles: many engine configurations in ONE Verilator build.

Why: verilating costs far more than simulating, and every shape, width or rounding mode is a
different parameter set. A generated wrapper that instantiates K independent configurations
side by side (ports prefixed r<k>_ or m<k>_) checks all K in one build and one simulation run.

- `requant_bundle`: K `requant` lanes, each with the widths/modes of a random dense layer,
  driven by sim/test_requant.py with random (dot, shift, bias) vectors and compared with the
  emulator's dense_kernel (an identity-weight layer carries each vector through it).
- `model_bundle`: K generated model tops (single-layer ones exercise one `mvau` each), streamed
  concurrently by sim/test_model.py, each compared with the emulator.
"""
from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..emulator import Emulator, dense_kernel
from ..fixed import FixedType
from ..paths import ip_dir
from ..spec import DesignSpec, Layer
from . import toolchain
from .generate import generate
from .plan import LayerPlan, plan_layer
from .simulate import _model_entry, run_job


# ---------------------------------------------------------------------------------------- requant
def requant_bundle(layers: list[Layer], out_dir) -> list[LayerPlan]:
    """Write requant.sv and requant_bundle.sv (one lane per layer, ports r<k>_dot/shift/bias/y)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ip_dir("rtl") / "requant.sv", out / "requant.sv")
    plans = [plan_layer(l, 1, 1, l.params["weight"].shape[0], 1) for l in layers]
    ports, body = [], []
    for k, p in enumerate(plans):
        ports += [f"    input  logic [{p.DOT_W - 1}:0] r{k}_dot", f"    input  logic [{p.SH_W - 1}:0] r{k}_shift",
                  f"    input  logic [{p.B_W - 1}:0] r{k}_bias", f"    output logic [{p.OUT_W - 1}:0] r{k}_y"]
        prm = {k2: v for k2, v in p.rtl_params().items() if k2 not in ("N", "M", "PE", "SIMD", "XW", "X_SIGNED", "WW", "RW", "DOT_LVL", "OP_REG")}
        prm["W"] = p.RW
        body.append(f"    requant #({', '.join(f'.{a}({b})' for a, b in prm.items())}) u_r{k} (\n"
                    f"        .dot(r{k}_dot), .shift(r{k}_shift), .bias(r{k}_bias), .y(r{k}_y));")
    text = ("// requant_bundle.sv -- GENERATED unit-test wrapper: independent requant lanes side by side.\n"
            "module requant_bundle (\n" + ",\n".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n")
    (out / "requant_bundle.sv").write_text(text)
    return plans


def requant_expected(layer: Layer, plan: LayerPlan, dot, shift, bias) -> np.ndarray:
    """The emulator's epilogue on each (dot, shift, bias) vector: an identity-weight layer per vector set."""
    dot, shift, bias = (np.asarray(a, np.int64) for a in (dot, shift, bias))
    v = dot.size
    t = dict(layer.types)
    pfrac = t["product"].frac
    t["input"] = FixedType(plan.DOT_W, plan.DOT_W - pfrac, True)
    t["weight"] = FixedType(2, 2, True)
    params = {"weight": np.eye(v, dtype=np.int64)}
    if "weight_shift" in layer.params:
        params["weight_shift"] = shift
    if "bias" in layer.params:
        params["bias"] = bias
    ident = Layer("ident", "dense", (v,), (v,), attrs=dict(layer.attrs), types=t, params=params)
    return dense_kernel(dot[None, :], ident)[0]


def random_vectors(rng: np.random.Generator, layer: Layer, plan: LayerPlan, v: int):
    """dot values over the whole DOT_W range, small ones, and rounding ties; shifts and biases in range."""
    lim = 1 << (plan.DOT_W - 1)
    dot = rng.integers(-lim, lim, v)
    dot[: v // 4] = rng.integers(-64, 65, v // 4)
    if plan.OS > 0:  # values whose remainder is exactly half, or half +- 1, stress the rounding modes
        q = v // 4
        half = 1 << (plan.OS - 1)
        k = rng.integers(-(lim >> plan.OS), (lim >> plan.OS), q)
        tie = (k << plan.OS) + half + rng.integers(-1, 2, q)
        dot[v // 4: v // 4 + q] = np.clip(tie, -lim, lim - 1)
    shift = rng.integers(0, 1 << plan.SH_W, v) if "weight_shift" in layer.params else np.zeros(v, np.int64)
    if "bias" in layer.params:
        tb = layer.types["bias"]
        bias = rng.integers(tb.qmin, tb.qmax + 1, v)
    else:
        bias = np.zeros(v, np.int64)
    return dot, shift, bias


def run_requant_bundle(layers: list[Layer], out_dir, vectors: int = 300, seed: int = 0) -> dict:
    """Build the bundle, drive random vectors through every lane, return per-lane mismatch counts."""
    out = Path(out_dir).resolve()
    plans = requant_bundle(layers, out)
    rng = np.random.default_rng(seed)
    work = out / "sim_runs" / f"requant_{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    lanes = []
    for k, (layer, p) in enumerate(zip(layers, plans)):
        dot, shift, bias = random_vectors(rng, layer, p, vectors)
        exp = requant_expected(layer, p, dot, shift, bias)
        np.save(work / f"r{k}_vec.npy", np.stack([dot, shift, bias, exp], axis=1))
        lanes.append({"prefix": f"r{k}", "vectors": str(work / f"r{k}_vec.npy"), "dot_w": p.DOT_W,
                      "sh_w": p.SH_W, "b_w": p.B_W, "out_w": p.OUT_W, "out_signed": p.OUT_SIGNED})
    job = {"lanes": lanes, "stats": str(work / "stats.json")}
    (work / "job.json").write_text(json.dumps(job))
    build_dir = toolchain.build([out / "requant.sv", out / "requant_bundle.sv"], "requant_bundle",
                                out / "sim_build" / "requant_bundle", opt="quick")
    toolchain.run_test("requant_bundle", build_dir, "test_requant", out, {"CODESIGN_SIM_JOB": str(work / "job.json")},
                       work / "sim.log")
    if not (work / "stats.json").exists():
        raise toolchain.ToolchainError(f"requant bench wrote no results; see {work / 'sim.log'}")
    return json.loads((work / "stats.json").read_text())


# ---------------------------------------------------------------------------------------- models
def model_bundle(specs: list[DesignSpec], out_dir, foldings: list | None = None) -> list[dict]:
    """Generate each spec as top m<k> in out_dir and a wrapper `bundle_top` with ports m<k>_*."""
    out = Path(out_dir)
    metas = [generate(s, out, folding=(foldings[k] if foldings else None), top=f"m{k}") for k, s in enumerate(specs)]
    ports, body = ["    input  logic clk", "    input  logic rst"], []
    for k, m in enumerate(metas):
        pre = f"m{k}_"
        la, ld = m["load_port"]["addr_width"], m["load_port"]["data_width"]
        ports += [f"    input  logic [{m['in_beat'] * m['in_width'] - 1}:0] {pre}s_axis_tdata",
                  f"    input  logic {pre}s_axis_tvalid", f"    output logic {pre}s_axis_tready",
                  f"    output logic [{m['out_beat'] * m['out_width'] - 1}:0] {pre}m_axis_tdata",
                  f"    output logic {pre}m_axis_tvalid", f"    input  logic {pre}m_axis_tready",
                  f"    output logic {pre}m_axis_tlast", f"    input  logic {pre}wl_we",
                  f"    input  logic [7:0] {pre}wl_sel", f"    input  logic [{la - 1}:0] {pre}wl_addr",
                  f"    input  logic [{ld - 1}:0] {pre}wl_data"]
        conns = ", ".join(f".{n}({pre}{n})" for n in (
            "s_axis_tdata", "s_axis_tvalid", "s_axis_tready", "m_axis_tdata", "m_axis_tvalid", "m_axis_tready",
            "m_axis_tlast", "wl_we", "wl_sel", "wl_addr", "wl_data"))
        body.append(f"    m{k} u_m{k} (.clk(clk), .rst(rst), {conns});")
    text = ("// bundle_top.sv -- GENERATED unit-test wrapper: independent model tops side by side.\n"
            "module bundle_top (\n" + ",\n".join(ports) + "\n);\n" + "\n".join(body) + "\nendmodule\n")
    (out / "bundle_top.sv").write_text(text)
    return metas


def run_model_bundle(specs: list[DesignSpec], out_dir, xs: list[np.ndarray], metas: list[dict], *,
                     stalls: bool = True, seed: int = 0, writes: list | None = None, expected: list | None = None,
                     test_module: str = "test_mvau") -> dict:
    """Stream xs[k] through model k of the bundle (all concurrently); stats per model with mismatches."""
    out = Path(out_dir).resolve()
    sources = sorted({s for m in metas for s in m["sources"]}) + ["bundle_top.sv"]

    def entries(work):
        res = []
        for k, (spec, x, m) in enumerate(zip(specs, xs, metas)):
            exp = expected[k] if expected else Emulator(spec).run_int(x.reshape((x.shape[0],) + tuple(spec.input_shape)))
            res.append(_model_entry(m, work, x.reshape(x.shape[0], -1), exp, (writes or [None] * len(specs))[k], f"m{k}_"))
        return res

    budget = max(m["slowest_layer_cycles"] * x.shape[0] * 6 + 20000 + m.get("generation_cycles", 0)
                 for m, x in zip(metas, xs))
    stats, _ = run_job(out, "bundle_top", sources, entries, stalls=stalls, seed=seed, p_valid=0.7, p_ready=0.7,
                       probe=8, max_cycles=budget, opt="quick", test_module=test_module)
    return stats
