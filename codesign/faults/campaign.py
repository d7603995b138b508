"""`codesign faults RUN_DIR`: plan a campaign, run its chunks (executor.py), keep the rows
(store.py), summarise them into report.json's `faults` section and draw the plots.

Campaigns (every fault is scored on the run's whole test split, on the integer emulator; a locked
design under the key `--key` gives, as `codesign evaluate` takes it, recorded as the section's `key`):
  exhaustive  every stored bit flipped alone (model.SiteMap numbering), in site order
  random      `count` faults of `flips` distinct random bits each (seeded)
  bfa         per seed, the progressive bit search of bfa.py until accuracy <= 11 %, and as its
              baseline the same number of random flips, one at a time; one row per committed flip
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .context import campaign_key, load_run
from .model import SiteMap, fault_key
from .store import RowStore, plan_digest

CAMPAIGNS = ("exhaustive", "random", "bfa")
CHUNK = 16384          # single-bit faults per chunk (one Parquet file each)
RANDOM_CHUNK = 1024    # multi-bit faults per chunk
HARMFUL = 0.005        # an accuracy drop of at least half a point counts as harmful
NAIVE_SAMPLE = 10      # faults timed on the naive path for the speedup


def plan(campaign: str, total: int, *, flips: int, count: int, seed: int, seeds: int,
         chunk: int | None = None) -> tuple[dict, list]:
    """The campaign's identity (plan.json) and its chunks [(chunk, payload)]."""
    if campaign not in CAMPAIGNS:
        raise ConfigError(f"campaign {campaign!r} unknown; use one of {', '.join(CAMPAIGNS)}")
    if campaign == "exhaustive":
        size = chunk or CHUNK
        chunks = [(k, (s, min(s + size, total))) for k, s in enumerate(range(0, total, size))]
        return {"campaign": campaign, "sites": total, "faults": total, "chunk": size}, chunks
    if campaign == "random":
        if flips < 1 or flips > total:
            raise ConfigError(f"--flips {flips}: give 1..{total} bits per fault")
        if count < 1:
            raise ConfigError(f"--faults {count}: give at least 1 fault")
        rng = np.random.default_rng(seed)
        if flips == 1:
            faults = [(int(s),) for s in rng.choice(total, min(count, total), replace=False)]
        else:
            faults, seen = [], set()  # distinct faults: a fault is one row
            for _ in range(50 * count):
                f = tuple(sorted(int(s) for s in rng.choice(total, flips, replace=False)))
                if f not in seen:
                    seen.add(f)
                    faults.append(f)
                if len(faults) == count:
                    break
        size = chunk or RANDOM_CHUNK
        chunks = [(k, faults[s:s + size]) for k, s in enumerate(range(0, len(faults), size))]
        return {"campaign": campaign, "sites": total, "faults": len(faults), "flips": flips, "seed": seed, "chunk": size,
                "digest": plan_digest([fault_key(f) for f in faults])}, chunks
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: give at least 1")
    return {"campaign": campaign, "sites": total, "seeds": seeds, "seed": seed}, \
        [(k, seed + k) for k in range(seeds)]


def run_campaign(run_dir, campaign: str = "exhaustive", *, flips: int = 1, count: int = 1000, seed: int = 0,
                 seeds: int = 5, max_flips: int = 200, target: float = 0.11, workers: int = 1,
                 scheduler: str | None = None, fresh: bool = False, log=print, update_report: bool = True,
                 chunk: int | None = None, detect: bool = False, rtl: bool = False, rtl_faults: int = 2000,
                 rtl_samples: int = 2, key: str | None = None, device_key=None) -> dict:
    """Run (or resume) a campaign on a built run; returns its report section. `key`, `device_key`: a
    locked design's key as `codesign evaluate --key/--device-key` take them (context.campaign_key)."""
    run_dir = Path(run_dir).resolve()
    cfg, spec, _, _, _ = load_run(run_dir)
    lock, key_label = campaign_key(run_dir, spec, key, device_key)
    if rtl:  # before any row is written
        _require_rtl(run_dir, spec)
    total = SiteMap(spec).total
    ident, chunks = plan(campaign, total, flips=flips, count=count, seed=seed, seeds=seeds, chunk=chunk)
    if campaign == "bfa":
        ident.update(max_flips=max_flips, target=target)
    if key_label:  # rows under one key never mix with another's on resume
        ident["key"] = key_label
    store = RowStore(run_dir / "faults" / campaign, ident, fresh=fresh)
    done = store.done()
    todo = [(c, p) for c, p in chunks if c not in done]
    log(f"faults: {campaign} campaign, {ident.get('faults', ident.get('seeds'))} "
        f"{'faults' if campaign != 'bfa' else 'seeds'} in {len(chunks)} chunks, {len(chunks) - len(todo)} already done")
    # job["key"] names the workers' cached context: it covers the key registers themselves (kept in memory only)
    regs = [f"{n}:{m.tolist()}:{v.tolist()}" for n, (m, v) in sorted(lock.layers.items())] if lock else []
    job = {"run_dir": str(run_dir), "key": plan_digest([json.dumps(ident, sort_keys=True)] + regs), "campaign": campaign,
           "max_flips": max_flips, "target": target, "lock": lock}
    last = [time.perf_counter()]

    def on_rows(chunk, rows):
        store.write(chunk, rows)
        now = time.perf_counter()
        _timing(store, len(rows["fault"]), now - last[0])
        last[0] = now
        log(f"faults: chunk {chunk + 1}/{len(chunks)} done ({len(rows['fault'])} rows)")

    from .executor import execute

    execute(job, todo, on_rows, workers=workers, scheduler=scheduler)
    timing = _timing(store, 0, 0.0)
    section = summarize(run_dir, store, timing, campaign, lock)
    if key_label:
        section["key"] = key_label
    if detect:
        section["detection"] = detection(run_dir, campaign, log, lock, rtl=rtl)
    if rtl:
        from .rtl import crosscheck

        _, _, x, _, _ = load_run(run_dir)
        section["rtl"] = crosscheck(run_dir, spec, x, faults=rtl_faults, samples=rtl_samples, seed=seed, log=log,
                                    key=lock, harnesses=workers)  # --workers: as many harness processes
    if update_report:
        _write_section(run_dir, cfg, campaign, section)
        plot_campaign(run_dir, store.read(), campaign, spec)
        from ..report import write_reports

        # again, now that plots/faults_*.png exist: report.html inlines them
        write_reports(json.loads((run_dir / "report.json").read_text()), run_dir, cfg)
    return section


def detection(run_dir: Path, campaign: str, log=print, key=None, rtl: bool = False) -> dict:
    """Detection over the rows of this campaign (a bfa campaign: the run's exhaustive, else random
    rows) and of the run's bfa campaign, whichever exist; `key`: a locked design's LockKey. rtl: the
    canaries also run on the run's RTL (`--views emulator,rtl`)."""
    from .detect import detection_section

    _, spec, x, y, d = load_run(run_dir)
    rows = {}
    for name in ("random", "exhaustive", "bfa"):
        folder = run_dir / "faults" / name
        if (folder / "plan.json").exists():
            rows[name] = RowStore(folder, json.loads((folder / "plan.json").read_text())).read()
    from .engine import Engine

    clean = Engine(spec, x, y, key=key).clean_correct / len(y)
    log("faults: detection (canaries, checksums, fault-free inferences)")
    flips = rows.get(campaign) if campaign != "bfa" else (rows.get("exhaustive") or rows.get("random"))
    if rtl:
        _require_rtl(run_dir, spec)
    return detection_section(spec, d, x, flips, rows.get("bfa"),
                             clean, HARMFUL, key=key, rtl_run=run_dir if rtl else None, log=log)


def _require_rtl(run_dir: Path, spec) -> None:
    from ..errors import CodesignError
    from ..rtl_step import rtl_unsupported

    if rtl_unsupported(spec) or not (run_dir / "rtl" / "rtl_meta.json").exists():
        raise CodesignError(f"{run_dir} has no generated RTL; build the run with RTL (without --no-rtl) for --views rtl")


def _timing(store: RowStore, faults: int, seconds: float) -> dict:
    """Wall seconds and faults run, summed over every chunk any invocation ran (a chunk's seconds run
    from the previous chunk's end, or the campaign's start, to its own end)."""
    path = store.folder / "timing.json"
    t = json.loads(path.read_text()) if path.exists() else {"faults": 0, "seconds": 0.0}
    if faults:
        t = {"faults": t["faults"] + faults, "seconds": t["seconds"] + seconds}
        path.write_text(json.dumps(t))
    return t


def summarize(run_dir: Path, store: RowStore, timing: dict, campaign: str, key=None) -> dict:
    rows = store.read()
    if campaign == "bfa":
        from .bfa import summarize_bfa

        return summarize_bfa(rows)
    from .engine import Engine

    acc = rows["accuracy"]
    _, spec, x, y, _ = load_run(run_dir)
    eng = Engine(spec, x, y, key=key)
    clean = eng.clean_correct / eng.n
    drop = clean - acc
    # the naive path (copy the spec, full emulator run) timed on a few of the same faults, side by side
    sample = [tuple(int(s) for s in k.split("+")) for k in rows["fault"][:NAIVE_SAMPLE]]
    t = time.perf_counter()
    eng.naive(sample)
    naive_fps = len(sample) / (time.perf_counter() - t)
    fps = timing["faults"] / timing["seconds"] if timing["seconds"] else None
    return {"campaign": campaign, "faults": len(acc), "seconds": round(timing["seconds"], 2),
            "faults_per_s": fps, "naive_faults_per_s": naive_fps,
            "speedup": fps / naive_fps if fps else None, "clean_accuracy": clean,
            "accuracy_drop": {"mean": float(drop.mean()), "max": float(drop.max()),
                              "harmful_fraction": float(np.mean(drop >= HARMFUL))}}


def _write_section(run_dir: Path, cfg: dict, campaign: str, section: dict) -> None:
    """Merge into report.json's `faults`: a bfa campaign fills `bfa`, the others the top-level keys."""
    from ..report import write_reports

    report = json.loads((run_dir / "report.json").read_text())
    faults = report.get("faults", {})
    section = dict(section)
    for sub in ("detection", "rtl"):
        if sub in section:
            faults[sub] = section.pop(sub)
    if campaign == "bfa":
        faults["bfa"] = section
    else:
        faults.update(section)
    report["faults"] = faults
    write_reports(report, run_dir, cfg)


def sensitivity(rows: dict, clean: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Mean accuracy drop per (layer.param, bit position) over single-bit rows: labels, drop, count."""
    single = rows["flips"] == 1
    lab = np.char.add(np.char.add(rows["layer"][single].astype(str), "."), rows["param"][single].astype(str))
    bits = rows["bit"][single].astype(np.int64)
    drop = clean - rows["accuracy"][single]
    labels = list(dict.fromkeys(lab.tolist()))
    li = np.searchsorted(np.array(labels), lab, sorter=np.argsort(labels))
    li = np.argsort(labels)[li] if lab.size else li
    width = int(bits.max()) + 1 if bits.size else 1
    total = np.zeros((len(labels), width))
    count = np.zeros((len(labels), width))
    np.add.at(total, (li, bits), drop)
    np.add.at(count, (li, bits), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return labels, total / count, count


def plot_campaign(run_dir: Path, rows: dict, campaign: str, spec) -> None:
    import matplotlib

    # no pyplot: a notebook's inline backend stays as it is
    from ..report_plots import subplots

    out = Path(run_dir) / "plots"
    out.mkdir(exist_ok=True)
    if campaign == "bfa":
        from .bfa import plot_bfa

        plot_bfa(rows, out / "faults_accuracy_vs_flips.png", spec.name)
        return
    if not (rows["flips"] == 1).any():
        return
    clean = json.loads((Path(run_dir) / "report.json").read_text())["faults"]["clean_accuracy"]
    labels, drop, _ = sensitivity(rows, clean)
    fig, ax = subplots(figsize=(1.2 + 0.5 * drop.shape[1], 0.9 + 0.4 * len(labels)))
    cmap = matplotlib.colormaps["magma_r"].copy()
    cmap.set_bad("lightgrey")  # bit positions a parameter does not have
    im = ax.imshow(np.ma.masked_invalid(drop * 100), aspect="auto", cmap=cmap)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xticks(range(drop.shape[1]))
    ax.set_xlabel("bit position (0 = LSB)")
    ax.set_title(f"{spec.name} ({campaign}): mean drop, points", fontsize=9)
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out / "faults_sensitivity.png", dpi=120)
