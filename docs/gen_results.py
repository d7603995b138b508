"""Markdown pages generated from the code and from bench/results/*.json, so no figure in the docs is
copied by hand.

- `results/data/<file>.md`: one page per bench/results JSON (its command, note, and every table in it);
  a flow report saved there (a JSON with `accuracy`) is rendered by codesign.report, like a run's report.md.
- `reference/cli.md`: every `codesign` command with its arguments and options, read from the typer app.
- `reference/config.md`: every config key with its bound, default and description, from the config schema
  (docs/gen_config.py).
- A written page can include a generated table with a line `<!-- results: FILE.json [robustness] -->`,
  and the list of every results file of its topic with `<!-- results-family: PREFIX ... -->` (names
  starting with a prefix), so a new bench JSON appears there and in the index without an edit
  (expanded by `expand`; docs/hooks.py runs it on every page).

Run as a script to write the pages into a folder for inspection: `python docs/gen_results.py OUT_DIR`.
mkdocs builds them through docs/hooks.py without writing into docs/.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
INCLUDE = re.compile(r"^<!-- results: (?P<file>[\w.\-]+\.json)(?: (?P<layout>\w+))? -->$", re.MULTILINE)
# `<!-- results-family: PREFIX [PREFIX ...] -->`: every bench/results JSON whose name starts with a prefix,
# listed (file, what it holds, link to its generated page), so a bench script's new JSON shows on its
# topic's page without anyone editing the page
FAMILY = re.compile(r"^<!-- results-family: (?P<prefixes>[\w\- ]+?) -->$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# cells and tables

def cell(v) -> str:
    if isinstance(v, dict) and "mean" in v and "std" in v:
        return f"{v['mean']:.3f}±{v['std']:.3f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 1000 else str(v)
    if v is None:
        return "—"
    if isinstance(v, (list, dict)):
        v = json.dumps(v)
    return str(v).replace("|", "\\|").replace("\n", " ")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and not ("mean" in v and "std" in v):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def records_table(records: list[dict], first: str | None = None) -> str:
    """A list of flat dicts (sweep rows) as one table, columns in order of first appearance."""
    flat = [_flat(r) for r in records]
    cols = []
    for r in flat:
        cols += [k for k in r if k not in cols]
    if first and first in cols:
        cols.remove(first)
        cols.insert(0, first)
    return md_table(cols, [[r.get(c) for c in cols] for r in flat])


def _is_records(v) -> bool:
    return isinstance(v, list) and v and all(isinstance(x, dict) for x in v)


def _is_row_map(v) -> bool:
    """{name: {flat numbers}}: a table with one row per name."""
    return isinstance(v, dict) and len(v) > 1 and all(isinstance(x, dict) for x in v.values()) and all(
        all(not isinstance(y, (list,)) for y in _flat(x).values()) for x in v.values())


def _flat_record(r: dict) -> bool:
    """A record that fits a table row: no nested records, no long text."""
    return all(not _is_records(v) and not (isinstance(v, str) and len(v) > 80) for v in _flat(r).values())


def render_value(obj, level: int = 3) -> str:
    """Any JSON value as markdown: scalars as a key/value table, lists of records and maps of
    records as tables, anything else as nested headings."""
    if _is_records(obj):
        if all(_flat_record(r) for r in obj):
            return records_table(obj)
        return "\n".join(f"{'#' * level} part {i + 1}\n\n{render_value(r, min(level + 1, 6))}" for i, r in enumerate(obj))
    if not isinstance(obj, dict):
        return f"{cell(obj)}\n"
    out = []
    scalars = {k: v for k, v in obj.items() if not isinstance(v, (dict, list)) or (
        isinstance(v, list) and not _is_records(v) and not any(isinstance(x, str) and len(x) > 80 for x in v))}
    commands = {k: v for k, v in obj.items() if isinstance(v, list) and v and all(isinstance(x, str) for x in v)
                and k not in scalars}  # lists of long strings: commands, one per line
    texts = {k: v for k, v in scalars.items() if isinstance(v, str) and len(v) > 80}
    for k, v in texts.items():
        out.append(f"**{k}**: {v.replace('|', '/')}\n" if k != "command" else f"**{k}**:\n\n```\n{v}\n```\n")
    for k, v in commands.items():
        out.append(f"**{k}**:\n\n```\n" + "\n".join(v) + "\n```\n")
    rest = {k: v for k, v in scalars.items() if k not in texts}
    if rest:
        out.append(md_table(["key", "value"], [[k, v] for k, v in rest.items()]))
    for k, v in obj.items():
        if k in scalars or k in commands:
            continue
        out.append(f"{'#' * level} {k}\n")
        if _is_row_map(v):
            rows = {name: _flat(r) for name, r in v.items()}
            cols = []
            for r in rows.values():
                cols += [c for c in r if c not in cols]
            out.append(md_table([k] + cols, [[name] + [r.get(c) for c in cols] for name, r in rows.items()]))
        else:
            out.append(render_value(v, min(level + 1, 6)))
    return "\n".join(out)


def _stat(v) -> str:
    """mean ± sd over seeds, and on how many seeds when a column covers only some."""
    if not isinstance(v, dict) or "mean" not in v:
        return cell(v)
    n = f" (n={len(v['values'])})" if "seeds" in v else ""
    return (f"{v['mean']:.3f}" if len(v.get("values", [])) <= 1 else f"{v['mean']:.3f}±{v['std']:.3f}") + n


ROBUST_COLUMNS = (("PGD-20", "pgd"), ("APGD-CE", "apgd_ce"), ("APGD-DLR", "apgd_dlr"), ("Square", "square"),
                  ("worst-case", "worst_case"), ("emulator worst-case", "emulator_worst_case"),
                  ("PGD-20 − worst-case", "pgd_minus_worst_case"))
GAP_COLUMNS = (("clean (test split)", "clean_accuracy_test"), ("PGD-20", "pgd"), ("worst-case", "worst_case"),
               ("emulator worst-case", "emulator_worst_case"))


def robustness_summary(d: dict) -> str:
    """A bench/robustness_table.py JSON as the docs quote it, mean ± sd over seeds: per ε, clean accuracy
    on the whole test split, PGD-20, APGD-CE, APGD-DLR, Square, the per-sample worst case of every attack
    (the robust accuracy to quote), the same on the integer emulator, and PGD-20 minus the worst case
    (the masking margin); then the paired gap to the reference variant (per seed on the same digits, so
    its spread is the gap's). Columns no variant has are left out, so older tables render too."""
    seeds = d.get("seeds", [])
    table = d["table"]
    eps = sorted({c.partition("@")[2] for row in table.values() for c in row if "@" in c}, key=float)

    def has(key):
        return any(key in row for row in table.values())

    clean = [(name, key) for name, key in (("clean (test split)", "clean_accuracy_test"),
                                           ("clean (attacked digits)", "clean_accuracy"),
                                           ("emulator clean (test split)", "emulator_clean_accuracy_test"))
             if has(key)]
    out = [(f"Mean ± sd over seeds {', '.join(map(str, seeds))} (n=k: the seeds that have the figure). "
            "Robust accuracy = worst-case: a digit counts only if it survives every attack run on it.\n")]
    for e in eps:
        cols = clean + [(name, f"{key}@{e}") for name, key in ROBUST_COLUMNS if has(f"{key}@{e}")]
        rows = []
        ref = table.get(d.get("paired_reference"), {}).get("size_kb")
        for v, r in table.items():  # tables written before `stored_bits_ratio`: from size_kb, the same ratio
            ratio = r.get("stored_bits_ratio", ref / r["size_kb"] if ref else None)
            ratio = "—" if ratio is None else f"{ratio:.1f}x"
            rows.append([v, f"{r['size_kb']:.2f}", ratio, f"{r['gradient_masking_seeds']}/{len(seeds)}"]
                        + [_stat(r.get(key)) for _, key in cols])
        out.append(f"**ε = {e}**\n")
        out.append(md_table(["variant", "KB", "fewer bits", "masking flag"] + [c for c, _ in cols], rows))
    paired = d.get("paired")
    if paired:
        cols = [(f"{name}" + (f" ε={e}" if key != "clean_accuracy_test" else ""), k)
                for name, key in GAP_COLUMNS
                for e, k in ([("", key)] if key == "clean_accuracy_test" else [(e, f"{key}@{e}") for e in eps])
                if any(k in row for row in paired.values())]
        out.append(f"**Paired gap** (variant − {d.get('paired_reference', 'reference')}, per seed on the same "
                   "digits; mean ± sd over seeds)\n")
        out.append(md_table(["variant"] + [c for c, _ in cols],
                            [[v] + [_signed(row.get(k)) for _, k in cols] for v, row in paired.items()]))
    return "\n".join(out)


def _signed(v) -> str:
    if not isinstance(v, dict):
        return cell(v)
    n = f" (n={len(v['values'])})" if "seeds" in v else ""
    return (f"{v['mean']:+.3f}" if len(v["values"]) <= 1 else f"{v['mean']:+.3f}±{v['std']:.3f}") + n


LAYOUTS = {"robustness": robustness_summary}


def data_page(path: Path) -> str:
    d = json.loads(path.read_text())
    title = f"# `{path.name}`\n\nGenerated from `bench/results/{path.name}`"
    if isinstance(d, dict) and "accuracy" in d and ("compression" in d or "bit_exact" in d):
        from codesign.report import markdown

        body = markdown(d, {"name": path.stem, "data": {"dataset": "mnist"}, "board": "pynq-z2"})
        body = re.sub(r"^!\[.*\]\(plots/.*\)\n", "", body, flags=re.MULTILINE)  # figures: report.html of a run only
        body = re.sub(r"^#", "##", body, flags=re.MULTILINE)
        return f"{title}, a flow run's report.json rendered as report.md.\n\n{body}"
    body = ""
    if isinstance(d, dict) and "table" in d and "seeds" in d:
        body += "## Summary (mean ± std over seeds)\n\n" + robustness_summary(d) + "\n## Everything in the file\n\n"
    return f"{title}.\n\n{body}{render_value(d, 2)}"


def expand(markdown: str) -> str:
    """Replace `<!-- results: FILE.json [layout] -->` lines by the generated table."""
    def sub(m):
        path = RESULTS / m["file"]
        if not path.exists():
            raise FileNotFoundError(f"docs include a missing results file: {path}")
        d = json.loads(path.read_text())
        table = LAYOUTS[m["layout"]](d) if m["layout"] else render_value(d)
        return f"{table}\n*Generated from [`{m['file']}`](data/{path.stem}.md).*\n"

    markdown = INCLUDE.sub(sub, markdown)
    return FAMILY.sub(lambda m: family_table(m["prefixes"].split()), markdown)


def describe(d) -> str:
    """One line saying what a results JSON holds: its note, network, config or command."""
    what = ""
    if isinstance(d, dict):
        what = (d.get("note") or d.get("network") or d.get("config") or (d.get("recipe") or {}).get("command")
                or d.get("command") or "")
        if not what and "accuracy" in d:
            what = "a flow run's report.json"
        if not what:  # no note: which keys it holds
            what = "holds " + ", ".join(f"`{k}`" for k in list(d)[:8]) + (", …" if len(d) > 8 else "")
    what = " ".join(what) if isinstance(what, list) else str(what)
    what = what.replace("|", "/").replace("\n", " ")
    return what[:140] + ("…" if len(what) > 140 else "")


def family_files(prefixes: list[str], files: list[Path] | None = None) -> list[Path]:
    files = sorted(RESULTS.glob("*.json")) if files is None else files
    return [p for p in files if any(p.stem.startswith(x) for x in prefixes)]


def family_table(prefixes: list[str], link: str = "data/") -> str:
    """The results files of a family (names starting with one of `prefixes`) as a linked table."""
    files = family_files(prefixes)
    if not files:
        return f"*No result file named {' or '.join(f'`{x}*.json`' for x in prefixes)} yet.*\n"
    rows = [f"| [`{p.name}`]({link}{p.stem}.md) | {describe(json.loads(p.read_text()))} |" for p in files]
    return "\n".join(["| file | what |", "|---|---|"] + rows) + "\n"


def families_in_docs() -> dict[str, list[str]]:
    """Written page (docs-relative) -> the prefixes its results-family lines claim."""
    out = {}
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for m in FAMILY.finditer(page.read_text()):
            out.setdefault(str(page.relative_to(ROOT / "docs")), []).extend(m["prefixes"].split())
    return out


def results_index(files: list[Path]) -> str:
    lines = ["# Result files", "", ("Every JSON under `bench/results/` (written by the `bench/` scripts), one page each, "
             "generated at docs build time. A results page lists the files of its topic by name prefix; the "
             "ones no topic claims are under *Other*."), ""]
    claimed = set()
    for page, prefixes in families_in_docs().items():
        mine = family_files(prefixes, files)
        claimed |= set(mine)
        title = page.removesuffix(".md").replace("results/", "")
        lines += [f"## {title}", "", f"Named {', '.join(f'`{x}*`' for x in prefixes)}.", "", "| file | what |", "|---|---|"]
        lines += [f"| [`{p.name}`]({p.stem}.md) | {describe(json.loads(p.read_text()))} |" for p in mine] + [""]
    rest = [p for p in files if p not in claimed]
    if rest:
        lines += ["## Other", "", "| file | what |", "|---|---|"]
        lines += [f"| [`{p.name}`]({p.stem}.md) | {describe(json.loads(p.read_text()))} |" for p in rest]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# references generated from the code

def cli_reference() -> str:
    import typer

    from codesign.cli import app

    group = typer.main.get_command(app)
    lines = ["# CLI reference", "", ("Generated from the typer app in `codesign/cli.py`; `codesign COMMAND --help` "
             "prints the same."), "", f"{group.help}", "", "| command | what it does |", "|---|---|"]
    ctx = type(group).context_class(group, info_name="codesign")
    names = group.list_commands(ctx)
    for name in names:
        cmd = group.get_command(ctx, name)
        lines.append(f"| [`{name}`](#{name}) | {(cmd.help or '').splitlines()[0]} |")
    for name in names:
        cmd = group.get_command(ctx, name)
        sub = type(cmd).context_class(cmd, info_name=name, parent=ctx)
        usage = " ".join(cmd.collect_usage_pieces(sub))
        lines += ["", f"## {name}", "", f"```\ncodesign {name} {usage}\n```", "", (cmd.help or "").strip(), ""]
        rows = []
        for p in cmd.params:
            record = p.get_help_record(sub)  # (names <type>, help [required] [default: ...]), as --help prints it
            if record:
                rows.append([f"`{record[0]}`", p.param_type_name, record[1].replace("|", "\\|")])
        if rows:
            lines.append("| name | kind | help |")
            lines.append("|---|---|---|")
            lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


from gen_config import config_reference  # noqa: E402  (reference/config.md, from the config schema)


def pages() -> dict[str, str]:
    """docs path -> markdown of every generated page."""
    files = sorted(RESULTS.glob("*.json"))
    out = {f"results/data/{p.stem}.md": data_page(p) for p in files}
    out["results/data/index.md"] = results_index(files)
    out["reference/cli.md"] = cli_reference()
    out["reference/config.md"] = config_reference()
    return out


if __name__ == "__main__":
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "docs_generated")
    for rel, text in pages().items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text)
    print(f"{len(pages())} pages in {dest}")
