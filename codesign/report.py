"""report.json (the contract of DESIGN.md §4), and report.md + report.html (the same, for people).

The report is built in two stages so both documents say the same thing: `build_document` turns the
report dict into a list of `Section`s (a summary, then one section per report.json section that is
present: tables, a short text, figures drawn by codesign/report_plots.py), and the jinja2 templates
in codesign/templates/ render that list as markdown (figures as files under plots/) and as one
self-contained HTML page (figures inline as base64 PNG, no external asset, readable offline).

A section of report.json that this module has no layout for is still rendered, as a flattened
key/value table, so a new step's results show up before anyone writes a layout for them. A step may
also add its own figures as `plots/<section>*.png`; they are shown inside that section.
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from . import report_plots

SECTION_ORDER = ("accuracy", "bit_exact", "throughput", "resources", "timing", "compression", "wings_fit",
                 "robustness", "faults", "lock", "timing_s")
VIEW_NAMES = {"keras": "Keras (QKeras model)", "emulator": "emulator (integers)", "csim": "hls4ml C-sim",
              "rtl": "RTL (Verilator)", "float32_baseline": "float32 model of the same shape"}
# sections whose report.md tables the step writes itself (robustness.append_markdown); report.html renders all
OWN_MARKDOWN = ("robustness",)
# files in plots/ that report.py draws itself (anything else there belongs to the step named by its prefix)
OWN_PLOTS = ("compression_bits.png", "throughput_layers.png", "resources_board.png",
             "lock_accuracy.png", "lock_head_start.png", "timing_s_steps.png")
# captions of the figures a step draws itself (by file name); any other plots/<section>*.png is captioned by its name
STEP_PLOT_CAPTIONS = {
    "faults_sensitivity.png": "mean accuracy drop (points) of one flipped bit, per layer.parameter and bit position "
                              "(grey: the parameter has no such bit)",
    "faults_accuracy_vs_flips.png": "test accuracy vs number of flipped bits: bit-flip attack (BFA) against random "
                                    "flips, one line per seed",
    "robustness.png": "accuracy vs attack strength ε per variant",
}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    file: str       # name under plots/
    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Section:
    key: str
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_figure(self, file: str, title: str, png: bytes | None) -> None:
        if png:
            self.figures.append(Figure(file, title, png))


# ---------------------------------------------------------------------------------------------
# number formatting

def fmt(v) -> str:
    """A value as a person reads it: fractions to 4 places, large numbers with thousands separators."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.4f}".rstrip("0").rstrip(".") if v else "0"
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt(x) for x in v) if all(not isinstance(x, (dict, list)) for x in v) else json.dumps(v)
    return str(v)


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def flatten(d: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts as (dotted key, leaf) pairs, so any section can be shown as a two-column table."""
    out = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out += flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def kv_table(d: dict, skip=(), caption: str = "") -> Table | None:
    rows = [[k, fmt(v)] for k, v in flatten({k: v for k, v in d.items() if k not in skip})]
    return Table(["key", "value"], rows, caption) if rows else None


def board_capacity(board: str | None) -> dict | None:
    """LUT / FF / DSP / BRAM36 of a board known to codesign (None for an unknown one)."""
    from .config import BOARDS

    return BOARDS.get(board) if board else None


# ---------------------------------------------------------------------------------------------
# one builder per report.json section; each returns a Section or None

def _accuracy(acc: dict, report: dict) -> Section:
    s = Section("accuracy", "Accuracy")
    n_rtl = report.get("bit_exact", {}).get("rtl_samples")
    rows = []
    for k, v in acc.items():
        where = f"first {n_rtl:,} test samples" if k == "rtl" and n_rtl else "test split"
        rows.append([VIEW_NAMES.get(k, k.replace("_", " ")), fmt(v), where])
    s.tables.append(Table(["model / view", "accuracy", "on"], rows))
    views = [acc[k] for k in ("keras", "emulator", "csim") if k in acc]
    if len(views) > 1 and len(set(views)) > 1:
        s.warnings.append("the views' accuracies differ: see the bit-exactness section")
    return s


def _bit_exact(be: dict, report: dict) -> Section:
    s = Section("bit_exact", "Bit-exactness")
    s.text.append("A sample counts as equal when every output integer of the view equals the emulator's.")
    rows, rest = [], {}
    for k, v in be.items():
        if k.startswith("emulator_vs_") and isinstance(v, (int, float)):
            view = k.removeprefix("emulator_vs_")
            n = be.get("rtl_samples") if view.startswith("rtl") else be.get("samples")
            equal = f"{round(v * n):,} / {n:,}" if n else "—"
            rows.append([f"emulator = {view.replace('_', ' ')}", equal, pct(v), "yes" if v == 1.0 else "**NO**"])
            if v != 1.0:
                s.warnings.append(f"{view}: {pct(1 - v)} of the samples differ from the emulator")
        elif k not in ("samples", "rtl_samples"):
            rest[k] = v
    if rows:
        s.tables.append(Table(["views", "equal samples", "fraction", "bit-exact"], rows))
    if rest and (t := kv_table(rest)):
        s.tables.append(t)
    return s


def _throughput(thr: dict, report: dict) -> Section:
    s = Section("throughput", "Throughput (RTL)")
    cpi, bound = thr.get("cycles_per_inference"), thr.get("bound_cycles")
    mhz = thr.get("clock_mhz")
    if cpi and bound:
        line = (f"{cpi:,.0f} cycles per inference against a MAC bound of {bound:,.1f} "
                f"({thr.get('mac_lanes', '?')} MAC lanes), utilization {thr.get('mac_utilization', bound / cpi):.2f}")
        if mhz:
            line += f"; at {mhz:g} MHz that is {mhz * 1e6 / cpi:,.0f} inferences/s"
        s.text.append(line + ".")
    skip = ("layers", "folding")
    s.tables.append(kv_table(thr, skip=skip))
    layers = thr.get("layers") or {}
    if layers:
        s.tables.append(Table(["engine", "kind", "PE x SIMD", "MACs", "lanes", "cycles", "bound", "utilization"],
                              [[n, l.get("kind", ""), f"{l['pe']} x {l['simd']}" if "pe" in l else "—", fmt(l["macs"]),
                                fmt(l["lanes"]), fmt(l["cycles"]), fmt(l["bound_cycles"]), fmt(l["mac_utilization"])]
                               for n, l in layers.items()], "per layer engine"))
    elif thr.get("folding"):
        s.tables.append(Table(["layer engine", "PE", "SIMD"],
                              [[str(i), fmt(f.get("pe")), fmt(f.get("simd"))] for i, f in enumerate(thr["folding"])],
                              "folding"))
    s.add_figure("throughput_layers.png", "cycles and MAC utilization per layer engine", report_plots.layer_cycles(thr))
    return s


def _resources(res: dict, report: dict) -> Section:
    s = Section("resources", "Resources")
    cap = board_capacity(res.get("board"))
    kinds = [k for k in ("LUT", "FF", "DSP", "BRAM36") if k in res]
    if cap:
        s.tables.append(Table(["resource", "used", res.get("board", "board"), "share"],
                              [[k, fmt(res[k]), fmt(cap[k]), f"{100 * res[k] / cap[k]:.1f}%"] for k in kinds]))
    if "fits" in res:
        s.text.append(f"Fits {res.get('board', 'the board')}: **{'yes' if res['fits'] else 'no'}** "
                      "(yosys `synth_xilinx` estimate, not a placed design).")
        if not res["fits"]:
            s.warnings.append(f"the design does not fit {res.get('board')}")
    rest = {k: v for k, v in res.items() if k not in kinds and k not in ("fits", "board")}
    if rest and (t := kv_table(rest)):
        s.tables.append(t)
    s.add_figure("resources_board.png", "resources vs board capacity", report_plots.resources(res, cap))
    return s


def _timing(t: dict, report: dict) -> Section:
    s = Section("timing", "Timing (place and route)")
    if "fmax_mhz" in t and "target_mhz" in t:
        s.text.append(f"Fmax {fmt(t['fmax_mhz'])} MHz against a target of {fmt(t['target_mhz'])} MHz"
                      + (f" on {t['part']}" if t.get("part") else "") + (f" ({t['tool']})" if t.get("tool") else "")
                      + f": {'met' if t.get('met') else 'NOT met'}.")
        if t.get("met") is False:
            s.warnings.append("timing not met")
    s.tables.append(kv_table(t))
    return s


def _compression(c: dict, report: dict) -> Section:
    s = Section("compression", "Compression (stored bits)")
    if "ratio" in c:
        s.text.append(f"{fmt(c['weight_bits'])} stored parameter bits ({c['weight_bits'] / 8192:,.2f} KB) against "
                      f"{fmt(c['baseline_weight_bits'])} for {c.get('baseline', 'the baseline')}: "
                      f"{c['ratio']:.1f}x on the layers compared"
                      + (f", {c['model_ratio']:.1f}x on the whole model" if c.get("model_ratio") not in (None, c["ratio"])
                         else "") + ".")
    layers = c.get("layers") or {}
    if layers:
        extra = [k for k in ("float32_bits", "dense_equivalent_bits", "ratio", "ratio_float32")
                 if any(k in v for v in layers.values())]
        s.tables.append(Table(["layer", "kind", "stored bits"] + [k.replace("_", " ") for k in extra],
                              [[n, v.get("kind", ""), fmt(v.get("weight_bits"))] + [fmt(v.get(k)) for k in extra]
                               for n, v in layers.items()], "per layer"))
        parts = {n: v["param_bits"] for n, v in layers.items() if isinstance(v.get("param_bits"), dict)}
        for n, pb in parts.items():  # one row: a generator's parameters side by side
            s.tables.append(Table(["parameter"] + list(pb), [["stored bits"] + [fmt(b) for b in pb.values()]],
                                  f"{n}: stored bits per parameter"))
    s.add_figure("compression_bits.png", "stored bits per layer, before and after hardening",
                 report_plots.stored_bits(c))
    return s


def _wings_fit(w: dict, report: dict) -> Section:
    s = Section("wings_fit", "WINGs generator fit")
    s.text.append("The dense layers were fitted by a PCA + SVR generator before fine-tuning "
                  "(pca_explained_variance: weight variance kept; svr_curve_r2: how well the SVR curves fit).")
    s.tables.append(kv_table(w))
    return s


def _eps_map(v) -> bool:
    """{epsilon: accuracy}: an attack's (or worst case's) results."""
    if not isinstance(v, dict) or not v:
        return False
    try:
        return all(isinstance(x, (int, float)) for x in v.values()) and bool([float(k) for k in v])
    except ValueError:
        return False


def _masking_case(c: dict) -> str:
    if "black_box" in c:
        return (f"{c['black_box']} {c['black_box_accuracy']:.3f} < {c['white_box']} {c['white_box_accuracy']:.3f} "
                f"at ε={c['epsilon']}")
    return ", ".join(f"{k} {fmt(v)}" for k, v in c.items())


def _robustness(rob: dict, report: dict, cfg: dict) -> Section:
    """Data-driven: every {epsilon: accuracy} entry of a variant is an attack (whatever the step ran)."""
    s = Section("robustness", "Robustness")
    summary_keys = ("worst_case", "emulator_worst_case")
    attacks = []
    for res in rob.values():
        attacks += [k for k, v in res.items() if _eps_map(v) and k not in summary_keys and k not in attacks]
    eps = sorted({e for res in rob.values() for k, v in res.items() if _eps_map(v) for e in v}, key=float)
    r = cfg.get("robustness") or {}
    desc = ["L-inf attacks on the first test samples, inputs clipped to (0, 255/256)."]
    if isinstance(r.get("pgd"), dict):
        desc.append(f"PGD {r['pgd'].get('steps')} steps of {r['pgd'].get('step_ratio')}·ε.")
    desc.append("**Robust accuracy = worst case**: a sample counts only if it survives every attack run on it. "
                "Emulator: the deployed integer design on floor(x·256) pixels.")
    s.text.append(" ".join(desc))
    worst = [k for k in summary_keys if any(_eps_map(res.get(k)) for res in rob.values())]
    rows = []
    for v, res in rob.items():
        gm = res.get("gradient_masking") or {}
        flag = "no"
        if gm.get("detected"):
            flag = "**yes**: " + "; ".join(_masking_case(c) for c in gm.get("cases", []))
            s.warnings.append(f"{v}: gradient masking detected; quote its worst-case figures, not single attacks")
        rows.append([v, fmt(res.get("size_kb")), fmt(res.get("clean_accuracy")), fmt(res.get("emulator_clean_accuracy")),
                     flag] + [fmt((res.get(w) or {}).get(e)) for w in worst for e in eps])
    s.tables.append(Table(["variant", "size KB", "clean", "emulator clean", "gradient masking"]
                          + [f"{w.replace('_', ' ')} ε={e}" for w in worst for e in eps], rows))
    for attack in attacks:
        rows = []
        for v, res in rob.items():
            if not _eps_map(res.get(attack)):
                continue
            emu = (res.get("emulator") or {}).get(attack, {})
            rows.append([v, fmt((res.get("samples") or {}).get(attack))]
                        + [fmt(res[attack].get(e)) + (f" / {fmt(emu[e])}" if e in emu else "") for e in eps])
        s.tables.append(Table(["variant", "samples"] + [f"ε={e}" for e in eps], rows,
                              f"{attack}: accuracy (Keras model / deployed emulator where both ran)"))
    return s


def _faults(f: dict, report: dict) -> Section:
    """Tables only: the campaign draws its own figures (plots/faults_*.png: sensitivity map, BFA vs random)."""
    s = Section("faults", "Fault campaigns (bit flips)")
    if "faults" in f and "campaign" in f:
        line = f"{f['campaign']} campaign: {fmt(f['faults'])} single-bit faults"
        if f.get("faults_per_s"):
            line += f" at {fmt(f['faults_per_s'])} faults/s"
        if f.get("speedup"):
            line += f", {f['speedup']:.1f}x faster than re-running every inference"
        s.text.append(line + ".")
    for key, title in (("accuracy_drop", "accuracy drop per fault"), ("rtl", "RTL cross-check"),
                       ("bfa", "bit-flip attack (BFA)"), ("detection", "detection")):
        if isinstance(f.get(key), dict) and (t := kv_table(f[key], caption=title)):
            s.tables.append(t)
    rest = {k: v for k, v in f.items() if not isinstance(v, dict) or k not in
            ("accuracy_drop", "rtl", "bfa", "detection")}
    if t := kv_table(rest, caption="campaign"):
        s.tables.insert(0, t)
    rtl = f.get("rtl") or {}
    if isinstance(rtl.get("equal_fraction"), (int, float)) and rtl["equal_fraction"] != 1.0:
        s.warnings.append(f"RTL and emulator disagree on {pct(1 - rtl['equal_fraction'])} of the faulty designs")
    return s


def _lock(lk: dict, report: dict) -> Section:
    s = Section("lock", "Lock (neuron authorization)")
    if "key_bits" in lk:
        s.text.append(f"{fmt(lk.get('neurons'))} locked neurons in {fmt(lk.get('layers'))}, a "
                      f"{fmt(lk['key_bits'])}-bit key.")
    s.tables.append(kv_table(lk, skip=("attacks", "head_start", "overhead")))
    for key, title in (("attacks", "attacks on the lock: accuracy reached"), ("head_start", "head start"),
                       ("overhead", "overhead (locked minus unlocked)")):
        if isinstance(lk.get(key), dict) and (t := kv_table(lk[key], caption=title)):
            s.tables.append(t)
    accs = {k.removeprefix("accuracy_"): lk[k] for k in ("accuracy_unlocked", "accuracy_with_key",
                                                          "accuracy_without_key", "accuracy_wrong_key",
                                                          "accuracy_random_key_best",
                                                          "accuracy_random_key_mean") if k in lk}
    accs.update({f"attack: {k}": v for k, v in (lk.get("attacks") or {}).items()})
    s.add_figure("lock_accuracy.png", "accuracy with, without and with random keys",
                 report_plots.grouped_bars("lock", accs, "accuracy"))
    if isinstance(lk.get("head_start"), dict):
        s.add_figure("lock_head_start.png", "attacker's head start vs training data fraction",
                     report_plots.curve("head start", lk["head_start"], "fraction of training data", "points"))
    return s


def _timing_s(t: dict, report: dict) -> Section:
    s = Section("timing_s", "Wall time per step")
    # a step that did not run (robustness off, --no-rtl) is recorded as 0 s: left out, as in the figure
    # CPU seconds per step (timing_s.cpu_s), when recorded, as a second column: wall time depends on the load
    cpu = t.get("cpu_s") if isinstance(t.get("cpu_s"), dict) else None
    s.tables.append(Table(["step", "seconds"] + (["CPU seconds"] if cpu else []),
                          [[k, fmt(v)] + ([fmt(cpu.get(k, ""))] if cpu else []) for k, v in t.items()
                           if not isinstance(v, dict) and v != 0]))
    for key, parts in t.items():  # a step's own breakdown (rtl_parts: generate, harness_build, cocotb, ...)
        if isinstance(parts, dict) and parts and key != "cpu_s":
            step = key.removesuffix("_parts")
            s.tables.append(Table(["part", "seconds"], [[k, fmt(v)] for k, v in flatten(parts)],
                                  caption=f"where the {step} step's time went"))
    s.add_figure("timing_s_steps.png", "wall time per step", report_plots.step_times(t))
    return s


def _generic(key: str, body, report: dict) -> Section:
    s = Section(key, key.replace("_", " ").capitalize())
    if isinstance(body, dict):
        s.tables.append(kv_table(body))
    elif isinstance(body, list):
        s.text += [fmt(x) for x in body]
    else:
        s.text.append(fmt(body))
    return s


BUILDERS = {"accuracy": _accuracy, "bit_exact": _bit_exact, "throughput": _throughput, "resources": _resources,
            "timing": _timing, "compression": _compression, "wings_fit": _wings_fit, "faults": _faults,
            "lock": _lock, "timing_s": _timing_s}


# ---------------------------------------------------------------------------------------------
# the summary on top

def summary(report: dict, cfg: dict) -> list[tuple[str, str, str]]:
    """(label, value, state) rows: what was built, whether the views agree, and the headline figures.
    state is "ok", "bad" or "" (neutral), for the page's colours."""
    rows = []
    acc = report.get("accuracy") or {}
    views = [k for k in ("keras", "emulator", "csim", "rtl") if k in acc]
    if views:
        rows.append(("views built", " · ".join(VIEW_NAMES[v].split(" (")[0] for v in views), ""))
        rows.append(("accuracy", " · ".join(f"{v} {fmt(acc[v])}" for v in views)
                     + (f" (float32 {fmt(acc['float32_baseline'])})" if "float32_baseline" in acc else ""), ""))
    be = report.get("bit_exact") or {}
    pairs = {k: v for k, v in be.items() if k.startswith("emulator_vs_") and isinstance(v, (int, float))}
    if pairs:
        ok = all(v == 1.0 for v in pairs.values())
        parts = []
        for k, v in pairs.items():
            n = be.get("rtl_samples") if "rtl" in k else be.get("samples")
            parts.append(f"{k.removeprefix('emulator_vs_')} {round(v * n):,}/{n:,}" if n else f"{k} {pct(v)}")
        rows.append(("views agree with the emulator", ("all integers equal: " if ok else "MISMATCH: ") + ", ".join(parts),
                     "ok" if ok else "bad"))
    c = report.get("compression") or {}
    if "ratio" in c:
        rows.append(("compression", (f"{c['ratio']:.1f}x fewer stored bits than {c.get('baseline', 'the baseline')} "
                     f"({c['weight_bits'] / 8192:,.2f} KB)"), ""))
    thr = report.get("throughput") or {}
    if thr.get("cycles_per_inference"):
        rows.append(("cycles per inference", (f"{thr['cycles_per_inference']:,.0f} vs bound {thr['bound_cycles']:,.1f} "
                     f"(MAC utilization {thr.get('mac_utilization', 0):.2f}), latency {fmt(thr.get('latency_cycles'))} cycles"),
                     ""))
    res = report.get("resources") or {}
    if res:
        cap = board_capacity(res.get("board")) or {}
        parts = [f"{fmt(res[k])} {k}" + (f" ({100 * res[k] / cap[k]:.0f}%)" if k in cap else "")
                 for k in ("LUT", "FF", "DSP", "BRAM36") if k in res]
        rows.append((f"resources on {res.get('board', '?')}", ", ".join(parts) + f"; fits: {fmt(res.get('fits'))}",
                     "ok" if res.get("fits") else "bad"))
    t = report.get("timing") or {}
    if "fmax_mhz" in t:
        rows.append(("timing", (f"Fmax {fmt(t['fmax_mhz'])} MHz vs target {fmt(t.get('target_mhz'))} MHz: "
                     f"{'met' if t.get('met') else 'not met'}"), "ok" if t.get("met") else "bad"))
    rob = report.get("robustness") or {}
    worst = {v: res["worst_case"] for v, res in rob.items() if isinstance(res, dict) and _eps_map(res.get("worst_case"))}
    if worst:  # the robust figure to quote: every variant's worst case at the largest epsilon it was attacked at
        rows.append(("robust accuracy (worst case)", " · ".join(
            f"{v} {fmt(w[e])} at ε={e}" for v, w in worst.items() for e in [max(w, key=float)]), ""))
    lk = report.get("lock") or {}
    if "accuracy_with_key" in lk:
        rows.append(("lock", f"with key {fmt(lk['accuracy_with_key'])}, without {fmt(lk.get('accuracy_without_key'))}", ""))
    f = report.get("faults") or {}
    if "faults" in f:
        rows.append(("faults", f"{fmt(f['faults'])} faults ({f.get('campaign', '')})"
                     + (f", mean accuracy drop {fmt(f['accuracy_drop'].get('mean'))}"
                        if isinstance(f.get("accuracy_drop"), dict) else ""), ""))
    bfa = f.get("bfa") or {}
    if "flips_mean" in bfa:
        rows.append(("bit-flip attack", (f"{fmt(bfa['flips_mean'])} flips on average over {fmt(bfa.get('seeds'))} "
                     f"seeds (accuracy {fmt(bfa.get('clean_accuracy'))} before; random flips as many: "
                     f"{fmt(bfa.get('random_flips_accuracy'))})"), ""))
    if "total" in (report.get("timing_s") or {}):
        rows.append(("wall time", f"{report['timing_s']['total']:,.0f} s", ""))
    return rows


# ---------------------------------------------------------------------------------------------
# the document and its two renderings

def build_document(report: dict, cfg: dict, plots_dir: Path | None = None) -> list[Section]:
    """Sections in SECTION_ORDER, then any section this module has no layout for; a step's own
    plots/<section>*.png files (plots_dir) are attached to their section."""
    keys = [k for k in SECTION_ORDER if k in report] + [k for k in report if k not in SECTION_ORDER and k != "notes"]
    sections = []
    for key in keys:
        body = report[key]
        if body in (None, {}, []):
            continue
        if key == "robustness":
            sec = _robustness(body, report, cfg)
        elif key in BUILDERS and isinstance(body, dict):
            sec = BUILDERS[key](body, report)
        else:
            sec = _generic(key, body, report)
        sec.tables = [t for t in sec.tables if t is not None]
        if plots_dir is not None and Path(plots_dir).is_dir():
            for p in sorted(Path(plots_dir).glob(f"{key}*.png")):
                if p.name not in OWN_PLOTS and not any(f.file == p.name for f in sec.figures):
                    sec.figures.append(Figure(p.name, STEP_PLOT_CAPTIONS.get(p.name, p.stem.replace("_", " ")),
                                              p.read_bytes()))
        sections.append(sec)
    return sections


def _environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("codesign", "templates"),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["md_cell"] = lambda v: str(v).replace("|", "\\|").replace("\n", " ")
    env.filters["inline_md"] = _inline_md
    return env


def _inline_md(text: str):
    """**bold** and `code` of the section texts as HTML (everything else escaped)."""
    import re

    from markupsafe import Markup, escape

    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`(.+?)`", r"<code>\1</code>", html)
    return Markup(html)


def render(report: dict, cfg: dict, fmt_: str, plots_dir: Path | None = None,
           sections: list[Section] | None = None) -> str:
    """report.md ("md") or report.html ("html") text of a report dict (sections: already built)."""
    sections = build_document(report, cfg, plots_dir) if sections is None else sections
    if fmt_ == "md":
        sections = [sec for sec in sections if sec.key not in OWN_MARKDOWN]
    ctx = {"name": cfg.get("name", "run"), "dataset": (cfg.get("data") or {}).get("dataset", "?"),
           "board": cfg.get("board", "?"), "summary": summary(report, cfg), "sections": sections,
           "notes": report.get("notes") or []}
    return _environment().get_template(f"report.{fmt_}.j2").render(**ctx)


def markdown(report: dict, cfg: dict) -> str:
    return render(report, cfg, "md")


def write_reports(report: dict, out: Path, cfg: dict) -> None:
    """report.md, report.html and their plots first, report.json last: report.json existing means the
    whole run finished."""
    out = Path(out)
    ordered = {k: report[k] for k in SECTION_ORDER if k in report}
    ordered.update({k: v for k, v in report.items() if k not in ordered})
    plots = out / "plots"
    sections = build_document(ordered, cfg, plots)
    for sec in sections:
        for fig in sec.figures:
            if fig.file in OWN_PLOTS:
                plots.mkdir(parents=True, exist_ok=True)
                (plots / fig.file).write_bytes(fig.png)
    for fmt_ in ("md", "html"):
        (out / f"report.{fmt_}").write_text(render(ordered, cfg, fmt_, sections=sections))
    (out / "report.json").write_text(json.dumps(ordered, indent=1))
