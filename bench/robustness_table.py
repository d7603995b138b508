"""Robust accuracy, mean ± std over seeds, for every variant of a robustness config.

    CODESIGN_DATA=/work/shared/data python bench/robustness_table.py examples/mnist_mlp_stq_jr.yaml \\
        --seeds 0 1 2 --out runs/robustness_seeds

Each seed is a full `codesign flow` (HLS and RTL views off: they do not change the numbers; the
emulator on adversarial pixels still runs) in OUT/seed<N>; the seed changes initialisation, the
train/test split and the attack subset alike. Prints a markdown table and writes OUT/table.md and
OUT/table.json (and `--json PATH`, e.g. bench/results/NAME.json). `--set key=value` overrides config
keys (dotted, YAML values), e.g. `--set train.epochs=5 --set robustness.samples=200`. `--merge DIR ...`
runs nothing: it tabulates the seed<N>/report.json already in those folders (seeds run as separate
processes; a seed whose variants bench/robustness_variant.py attacked one per process counts too), table
JSONs written before (their per-seed values: a table grows by new seeds after its run folders are gone),
and `LABEL=DIR` folders of different configs in one table (the Kronecker example against its dense
reference: `--merge kron=DIR1 dense=DIR2 --reference dense`).

Beside every attack's column the table holds `pgd_minus_worst_case@EPS` (per seed, PGD-20 minus the
suite's worst case: the masking margin, how much PGD alone would overstate) and `stored_bits_ratio`
(the reference variant's stored weight bits over each variant's).

Every variant of one seed is attacked on the same test digits (the first `robustness.samples` of that
seed's split), so `paired` holds, per seed, each variant's figure minus the reference variant's
(`--reference`, float_jr when present): its spread over seeds is that of the gap, not of the two
figures. Spreads are sample standard deviations (ddof 1) over seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import sys
import time
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
    ap.add_argument("--note", help="kept in the JSON: how the merged seed folders were produced")
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
        start = (time.perf_counter(), _cpu_seconds(), os.getloadavg()[0])
        report = run_flow(cfg, out, log=lambda m, seed=seed: None if "epoch" in m else print(f"[seed {seed}] {m}", flush=True))
        runs[seed] = report["robustness"]
        (out / SECONDS).write_text(json.dumps({"wall": round(time.perf_counter() - start[0], 1),
                                               "cpu": round(_cpu_seconds() - start[1], 1),
                                               "load": [round(start[2], 2), round(os.getloadavg()[0], 2)]}))
    table, lines = summarize(runs, args.reference)
    paired, plines = paired_gaps(runs, args.reference)
    lines += plines
    first = next(iter(runs.values()))
    lines = [f"{len(runs)} seed(s): {', '.join(map(str, sorted(runs)))}", ""] + lines
    doc = {"seeds": args.seeds, "n_seeds": len(runs), "config": args.config, "overrides": args.set,
           "command": "python " + shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:]), "std_ddof": 1,
           "robustness": {k: v for k, v in cfg["robustness"].items() if k != "enabled"},
           "samples": {v: next((r[v]["samples"] for r in runs.values() if "samples" in r[v]), None) for v in first},
           "table": table}
    timing = seconds(runs, [args.out] + [Path(m.rpartition("=")[2]) for m in args.merge or []])
    if timing:
        doc["seconds"] = timing
    if args.note:
        doc["note"] = args.note
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


SECONDS = "seconds.json"  # a seed folder's wall and CPU seconds (the whole flow) and the load at its start and end


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process, its threads and its finished children (the hls4ml g++ build,
    Verilator, yosys) so far."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def seconds(runs: dict, folders: list) -> dict:
    """{seed: {"seed": whole flow {wall, cpu, load}, variant: attacks' {wall, cpu}}} of the seeds whose
    results recorded them: where a seed's time goes (the rest of a seed's CPU is training, the C-sim build and
    the RTL simulation)."""
    out = {}
    for seed, rob in runs.items():
        row = {}
        for folder in folders:
            f = Path(folder) / f"seed{seed}" / SECONDS
            if f.is_file():
                row["seed"] = json.loads(f.read_text())
        for v, r in rob.items():
            if r.get("seconds"):
                row[v] = {k: round(sum(t[k] for t in r["seconds"].values()), 1) for k in ("wall", "cpu")}
        if row:
            out[str(seed)] = row
    return out


def merged(items: list[str], error) -> tuple[dict, dict]:
    """{seed: {variant: result}} and a run's config from `[LABEL=]DIR` folders of seed runs and
    `[LABEL=]FILE.json` tables this script wrote before (figures it did not record, e.g.
    clean_accuracy_test, are then missing for that seed and the column says on which seeds).

    A seed given twice (a one-seed table and a table of several seeds holding it) is one seed: the
    later source's figures win, except a masking flag the later one cannot tell (see `_from_table`).
    """
    from codesign.config import load_config

    runs, per_label, cfg, counts, settings = {}, [], None, [], None
    for item in items:
        label, _, where = item.rpartition("=")
        where = Path(where)
        if where.suffix == ".json":
            found, count = _from_table(where, error) if where.is_file() else ([], {})
            name = {v: (label if len(count) == 1 else f"{label}_{v}") if label else v for v in count}
            counts += [(name[v], [s for s, _ in found], n) for v, n in count.items()]
            settings = settings or (json.loads(where.read_text()).get("robustness") if found else None)
        else:
            found = [r for r in map(_seed_result, sorted(where.glob("seed*/config.yaml"))) if r]
            cfg = cfg or (load_config(where / f"seed{found[0][0]}" / "config.yaml") if found else None)
        if not found:
            error(f"--merge {item}: no seed*/report.json in {where} (run the seeds with --out {where} first)")
        for seed, rob in found:
            if label:
                rob = {(label if len(rob) == 1 else f"{label}_{v}"): r for v, r in rob.items()}
            have = runs.setdefault(seed, {})
            for v, r in rob.items():
                if r["gradient_masking"]["detected"] is None and v in have:
                    r = {**r, "gradient_masking": have[v]["gradient_masking"]}
                have[v] = r
        if label:
            per_label.append({seed for seed, _ in found})
    if cfg is None and settings is not None:  # tables only: the attack settings they recorded
        cfg = {"robustness": settings}
    if cfg is None:
        error(f"--merge {' '.join(items)}: give at least one folder of seed runs (its config.yaml is the table's)")
    _deduce_masking(runs, counts, error)
    shared = set.intersection(*per_label) if per_label else set(runs)
    if not shared:
        error(f"--merge {' '.join(items)}: the labelled folders share no seed")
    runs = {s: runs[s] for s in sorted(shared)}
    common = [v for v in runs[min(runs)] if all(v in r for r in runs.values())]  # variants every seed has
    return {s: {v: r[v] for v in common} for s, r in runs.items()}, cfg


def _deduce_masking(runs: dict, counts: list, error) -> None:
    """Fill in a seed's masking flag that a table of several seeds recorded only as a count
    (`gradient_masking_seeds`, before `gradient_masking_values`): the count minus the flags of that
    table's other seeds, known from another source (a one-seed table). One clear line when it stays open."""
    for v, seeds, count in counts:
        flags = {s: runs[s][v]["gradient_masking"]["detected"] for s in seeds if v in runs[s]}
        unknown = [s for s, f in flags.items() if f is None]
        if len(unknown) == 1:
            runs[unknown[0]][v]["gradient_masking"] = {"detected": bool(count - sum(f for f in flags.values() if f))}
        elif unknown:
            error(f"--merge: the masking flag of {v} on seeds {unknown} is recorded only as a count "
                  f"({count} of {len(seeds)}); add the one-seed tables of all but one of them to --merge")


def _seed_result(config: Path):
    """(seed, {variant: result}) of a seed folder: its report.json, or when the flow's own evaluation did
    not finish, the result.json of every variant bench/robustness_variant.py attacked (all or none)."""
    folder = config.parent
    if (folder / "report.json").exists():
        return int(folder.name[4:]), json.loads((folder / "report.json").read_text())["robustness"]
    variants = yaml.safe_load(config.read_text())["robustness"]["variants"]
    files = [folder / "robustness" / v / "result.json" for v in variants]
    if not all(f.exists() for f in files):
        return None
    return int(folder.name[4:]), {v: json.loads(f.read_text()) for v, f in zip(variants, files)}


def _from_table(path: Path, error) -> tuple[list, dict]:
    """[(seed, {variant: result})] back from a table JSON of this script, and {variant: masking count}.

    A column covering only some seeds (its `seeds`) is given to those; a masking flag per seed comes
    from `gradient_masking_values`, or from the count when it is 0 or every seed, else it is None
    (unknown: `merged` takes it from another source or deduces it)."""
    d = json.loads(path.read_text())
    seeds = d.get("seeds") or []
    if not seeds or "table" not in d:
        error(f"--merge {path}: not a table JSON of bench/robustness_table.py (no `seeds` and `table`)")
    rob = {s: {} for s in seeds}
    for v, row in d["table"].items():
        n = row["gradient_masking_seeds"]
        flags = row.get("gradient_masking_values") or (
            [bool(n)] * len(seeds) if n in (0, len(seeds)) else [None] * len(seeds))
        for i, s in enumerate(seeds):
            res = {"size_kb": row["size_kb"], "gradient_masking": {"detected": flags[i]}}
            if "samples" in d:
                res["samples"] = d["samples"][v]
            rob[s][v] = res
        for c, st in row.items():
            if not (isinstance(st, dict) and "values" in st):
                continue
            name, _, eps = c.partition("@")
            for s, val in zip(st.get("seeds", seeds), st["values"]):
                if eps:
                    rob[s][v].setdefault(name, {})[eps] = val
                else:
                    rob[s][v][name] = val
    return list(rob.items()), {v: row["gradient_masking_seeds"] for v, row in d["table"].items()}


def _stats(vals: list, seeds: list | None = None) -> dict:
    """mean, sample sd and the values; `seeds` when only some seeds have the column."""
    out = {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
           "values": vals}
    return {**out, "seeds": seeds} if seeds is not None else out


def _columns(res: dict) -> dict:
    """{column: value} of one variant's result: clean figures, then attack@eps."""
    from codesign.robustness import ATTACKS

    cols = {c: res[c] for c in CLEAN if c in res}
    for a in ATTACKS + ("worst_case", "emulator_worst_case"):
        for e, acc in res.get(a, {}).items():
            cols[f"{a}@{e}"] = acc
    for e, worst in res.get("worst_case", {}).items():  # the masking margin: what PGD-20 overstates
        if e in res.get("pgd", {}):
            cols[f"{MARGIN}@{e}"] = round(res["pgd"][e] - worst, 9)
    return cols


MARGIN = "pgd_minus_worst_case"  # PGD-20 minus the suite's worst case, per seed (PGD on `samples` digits,
# the worst case on the black-box subset): how far PGD-20 alone would overstate robust accuracy


CLEAN = ("clean_accuracy", "clean_accuracy_test", "emulator_clean_accuracy_test")


def _rank(column: str) -> int:
    """Columns in one order whatever seed came first: clean figures, then attacks, then worst cases."""
    from codesign.robustness import ATTACKS

    names = list(CLEAN) + list(ATTACKS) + ["worst_case", "emulator_worst_case"]
    name = column.split("@")[0]
    return names.index(name) if name in names else len(names)


def _column_stats(runs: dict, value) -> dict:
    """{column: stats} over the seeds where `value(result_of_seed)` gives {column: number}."""
    per_seed = {s: value(r) for s, r in runs.items()}
    cols = sorted(dict.fromkeys(c for v in per_seed.values() for c in v), key=_rank)
    out = {}
    for c in cols:
        have = [s for s in runs if c in per_seed[s]]
        out[c] = _stats([per_seed[s][c] for s in have], None if len(have) == len(runs) else have)
    return out


def paired_gaps(runs: dict, reference: str):
    """Per seed, variant minus reference on the same digits; mean ± sd over seeds."""
    first = next(iter(runs.values()))
    if reference not in first or len(first) < 2:
        return {}, []
    wanted = ("clean_accuracy_test", "pgd@", "worst_case@", "emulator_worst_case@")

    def gap(v, r):
        mine, ref = _columns(r[v]), _columns(r[reference])
        return {c: round(mine[c] - ref[c], 9) for c in mine if c in ref and c.startswith(wanted)}

    gaps = {v: _column_stats(runs, lambda r, v=v: gap(v, r)) for v in first if v != reference}
    keys = list(dict.fromkeys(c for row in gaps.values() for c in row))
    lines = ["", f"Paired gap (variant − {reference}, same digits per seed), mean ± sd over {len(runs)} seed(s):", "",
             "| variant | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for v, row in gaps.items():
        lines.append(f"| {v} | " + " | ".join(_cell(row.get(c), "+.3f") for c in keys) + " |")
    return gaps, lines


def _cell(st: dict | None, fmt: str = ".3f") -> str:
    if st is None:
        return "—"
    n = f" (n={len(st['values'])})" if "seeds" in st else ""
    if len(st["values"]) == 1:  # one seed: no spread to show
        return f"{st['mean']:{fmt}}{n}"
    return f"{st['mean']:{fmt}} ± {st['std']:.3f}{n}"


def summarize(runs: dict, reference: str | None = None):
    """{variant: {size_kb, stored_bits_ratio, gradient_masking_seeds, gradient_masking_values, column: stats}}
    and the markdown table; `stored_bits_ratio` is the reference variant's stored weight bits over this
    one's (how many times fewer bits it stores)."""
    variants = list(next(iter(runs.values())))
    sizes = {v: next(iter(runs.values()))[v]["size_kb"] for v in variants}
    table = {}
    for v in variants:
        flags = [r[v]["gradient_masking"]["detected"] for r in runs.values()]
        table[v] = {"size_kb": sizes[v],
                    **({"stored_bits_ratio": round(sizes[reference] / sizes[v], 2)} if reference in sizes else {}),
                    "gradient_masking_seeds": sum(flags), "gradient_masking_values": flags,
                    **_column_stats(runs, lambda r, v=v: _columns(r[v]))}
    meta = ("size_kb", "stored_bits_ratio", "gradient_masking_seeds", "gradient_masking_values")
    cols = list(dict.fromkeys(c for row in table.values() for c in row if c not in meta))
    lines = ["| variant | size KB | bits ratio | masking (seeds) | "
             + " | ".join(c.replace("_accuracy", "") for c in cols) + " |", "|---|---|---|---|" + "---|" * len(cols)]
    for v, row in table.items():
        ratio = f"{row['stored_bits_ratio']:.1f}x" if "stored_bits_ratio" in row else "—"
        lines.append(f"| {v} | {row['size_kb']:.1f} | {ratio} | {row['gradient_masking_seeds']}/{len(runs)} | "
                     + " | ".join(_cell(row.get(c)) for c in cols) + " |")
    return table, lines


if __name__ == "__main__":
    main()
