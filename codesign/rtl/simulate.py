"""Run a generated RTL view under cocotb + Verilator and measure it against the emulator.

`simulate` streams every sample through the model top (sim/test_model.py), returns every output
integer and the throughput figures of DESIGN.md section 4:
  cycles_per_inference  stall-free steady state (interval between consecutive samples' last outputs)
  latency_cycles        first input beat of a sample to its last output beat, stall-free
  bound_cycles          total MACs / total MAC lanes (what a perfectly busy array would need)
  mac_utilization       bound_cycles / cycles_per_inference
`load_writes` turns a changed spec (a fault campaign's flipped weight) into load-port writes, so
the same build runs the faulty design.
"""
from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..emulator import Emulator
from ..errors import CodesignError
from ..spec import DesignSpec
from . import toolchain
from .generate import load_groups, mem_images, plan_engine, read_meta
from .plan import dense_layers


class RTLMismatch(AssertionError):
    """The RTL's output integers differ from the expected (emulator) integers."""


class RTLStreamError(CodesignError):
    """The RTL broke the AXI-Stream contract under the bench: tlast misplaced, output beats lost or
    extra, or no complete output within the cycle budget (a hang). A failure wherever RTL runs (flow,
    `codesign sim`, `evaluate --view rtl`, fault campaigns), never a normal return."""


@dataclass
class SimResult:
    outputs: np.ndarray
    throughput: dict
    mismatched_samples: int | None
    samples: int
    cycles: int
    wall_s: float
    first_mismatches: list = field(default_factory=list)
    stalled_cycles_per_inference: float | None = None

    @property
    def inferences_per_s(self) -> float:
        return self.samples / self.wall_s if self.wall_s else float("nan")


def _read_mem(path: Path) -> list[int]:
    return [int(line, 16) for line in path.read_text().split()]


def load_writes(spec: DesignSpec, rtl_dir, top: str = "model_top") -> list[tuple[int, int, int]]:
    """Load-port writes (sel, addr, data) that turn the generated memories into `spec`'s parameters.

    Only words that differ from the memory images in rtl_dir are written, so flipping one weight
    bit costs one write. The spec must have the generated design's shapes and types.
    """
    meta = read_meta(rtl_dir, top)
    rtl_dir = Path(rtl_dir)
    writes = []
    for i, (layer, lp) in enumerate(zip(dense_layers(spec), meta["layers"])):
        p = plan_engine(layer, lp["pe"], lp["simd"], lp["np_"], lp["mp"])
        images = mem_images(layer, p)
        for k, group in enumerate(load_groups(p)):
            words = [w for name in group for w in images[name][0]]
            base = [w for name in group for w in _read_mem(rtl_dir / f"{meta['mem_prefix']}l{i}_{name}.mem")]
            writes += [(2 * i + k, a, w) for a, (w, b) in enumerate(zip(words, base)) if w != b]
    return writes


def _model_entry(meta: dict, work: Path, x: np.ndarray, expected: np.ndarray | None, writes, prefix: str) -> dict:
    s = x.shape[0]
    xp = np.zeros((s, meta["in_padded"]), np.int64)
    xp[:, :x.shape[1]] = x
    tag = prefix or "model"
    np.save(work / f"{tag}_inputs.npy", xp)
    entry = {k: meta[k] for k in ("in_beat", "in_width", "out_beat", "out_width", "out_signed", "out_padded", "outputs")}
    entry.update(prefix=prefix, inputs=str(work / f"{tag}_inputs.npy"), result=str(work / f"{tag}_outputs.npy"),
                 writes=[list(map(int, w)) for w in (writes or [])], expected=None)
    if expected is not None:
        np.save(work / f"{tag}_expected.npy", np.asarray(expected, np.int64).reshape(s, -1))
        entry["expected"] = str(work / f"{tag}_expected.npy")
    return entry


def run_job(rtl_dir, top: str, sources: list[str], entries_fn, *, stalls: bool, seed: int, p_valid: float,
            p_ready: float, probe: int, max_cycles: int, work_dir=None, event_skip: bool = True,
            opt: str = "fast", test_module: str = "test_model", drain_cycles: int = 100) -> tuple[dict, Path]:
    """Build (cached) and run sim/test_model.py on `top`; entries_fn(work) -> job model entries.

    Raises RTLStreamError when the bench saw a protocol error (its one-line reason, and the log);
    output mismatches are returned in the stats for the caller to judge."""
    rtl_dir = Path(rtl_dir).resolve()
    work = Path(work_dir) if work_dir else rtl_dir / "sim_runs" / f"{top}_{uuid.uuid4().hex[:8]}"
    work = work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    job = {"models": entries_fn(work), "seed": seed, "stalls": stalls, "p_valid": p_valid, "p_ready": p_ready,
           "probe": probe, "max_cycles": max_cycles, "stats": str(work / "stats.json"), "event_skip": event_skip,
           "drain_cycles": drain_cycles}
    (work / "job.json").write_text(json.dumps(job))
    build_dir = toolchain.build([rtl_dir / s for s in sources], top, rtl_dir / "sim_build" / top, opt=opt)
    try:
        toolchain.run_test(top, build_dir, test_module, rtl_dir, {"CODESIGN_SIM_JOB": str(work / "job.json")},
                           work / "sim.log")
    except toolchain.SimulationFailed as e:
        raise RTLStreamError(f"RTL simulation of {top} in {rtl_dir} failed: {e.reason} (log: {work / 'sim.log'})") from e
    stats_path = work / "stats.json"
    if not stats_path.exists():
        tail = (work / "sim.log").read_text()[-3000:] if (work / "sim.log").exists() else ""
        raise toolchain.ToolchainError(f"the cocotb bench wrote no results; log tail:\n{tail}")
    return json.loads(stats_path.read_text()), work


def _throughput(meta: dict, t_in: list[int], t_out: list[int], probe: int) -> dict:
    p = min(probe, len(t_out))
    lat = t_out[0] - t_in[0]
    if p >= 4:
        a, b = p // 2, p - 1
        cpi = (t_out[b] - t_out[a]) / (b - a)
    elif p >= 2:
        cpi = (t_out[p - 1] - t_out[0]) / (p - 1)
    else:
        cpi = float(lat)
    bound = meta["bound_cycles"]
    return {"cycles_per_inference": cpi, "latency_cycles": lat, "bound_cycles": bound,
            "mac_utilization": bound / cpi if cpi else float("nan")}


def run(spec: DesignSpec, rtl_dir, x_int, stalls: bool = True, *, expected="emulator", writes=None,
        top: str = "model_top", seed: int = 0, p_valid: float = 0.75, p_ready: float = 0.75,
        probe: int = 24, work_dir=None, event_skip: bool = True, opt: str = "fast") -> SimResult:
    """Like `simulate`, returning a SimResult with mismatch counts and wall-clock speed."""
    meta = read_meta(rtl_dir, top)
    x = np.asarray(x_int, dtype=np.int64)
    s = x.shape[0]
    x = x.reshape(s, -1)
    if isinstance(expected, str) and expected == "emulator":
        expected = Emulator(spec).run_int(x.reshape((s,) + tuple(spec.input_shape)))
    if expected is not None:
        expected = np.asarray(expected).reshape(s, -1)
    budget = int(meta["slowest_layer_cycles"] * s * (6 if stalls else 2) + 50 * meta["slowest_layer_cycles"] + 10000
                 + meta.get("generation_cycles", 0))
    stats, work = run_job(rtl_dir, top, meta["sources"],
                          lambda w: [_model_entry(meta, w, x, expected, writes, "")],
                          stalls=stalls, seed=seed, p_valid=p_valid, p_ready=p_ready, probe=probe,
                          max_cycles=budget, work_dir=work_dir, event_skip=event_skip, opt=opt,
                          drain_cycles=2 * meta["slowest_layer_cycles"] + 100)
    m = stats["models"][0]
    outputs = np.load(m["result"])  # run_job raised unless every sample came out with tlast in place
    if work_dir is None:  # a scratch run: keep nothing but what is returned
        shutil.rmtree(work, ignore_errors=True)
    thr = _throughput(meta, m["t_in_first"], m["t_out_last"], probe)
    stalled = None
    t_out = m["t_out_last"]
    if stalls and s - probe >= 4:
        stalled = (t_out[-1] - t_out[probe]) / (s - 1 - probe)
    return SimResult(outputs=outputs, throughput=thr, mismatched_samples=m.get("mismatched_samples"),
                     samples=s, cycles=stats["cycles"], wall_s=stats["wall_s"],
                     first_mismatches=m.get("first_mismatches", []), stalled_cycles_per_inference=stalled)


def simulate(spec: DesignSpec, rtl_dir, x_int, stalls: bool = True, *, check: bool = False, **kw):
    """Stream x_int (integers of spec.input_type, one row per sample) through the RTL.

    Returns (outputs_int, throughput): every output integer (samples x outputs) and the
    throughput dict. The bench compares against the emulator (or `expected=` integers) and
    the comparison is in the run's stats; with check=True a mismatch raises RTLMismatch.
    Other keywords: writes (load-port writes applied before streaming, see load_writes),
    top, seed, p_valid, p_ready (stall probabilities), probe (stall-free samples measured first),
    event_skip (sleep through cycles where the bench only waits; False wakes Python every clock),
    opt ("fast" -O2 model for long runs, "quick" -O0 for short ones: faster to compile).
    """
    r = run(spec, rtl_dir, x_int, stalls, **kw)
    if check and r.mismatched_samples:
        raise RTLMismatch(f"{r.mismatched_samples}/{r.samples} samples differ from the expected integers; "
                          f"first: {r.first_mismatches[:1]}")
    return r.outputs, r.throughput
