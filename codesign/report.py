"""report.json (the contract of DESIGN.md §4) and report.md (the same, for people)."""
from __future__ import annotations

import json
from pathlib import Path

SECTION_ORDER = ("accuracy", "bit_exact", "throughput", "resources", "compression", "wings_fit", "robustness",
                 "faults", "timing_s")
OWN_TABLES = ("robustness",)  # rendered by their step's own markdown (robustness.append_markdown)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def markdown(report: dict, cfg: dict) -> str:
    lines = [f"# codesign run `{cfg.get('name', 'run')}`", "",
             f"Dataset `{cfg['data']['dataset']}`, board `{cfg['board']}`.", ""]
    for section in SECTION_ORDER:
        body = report.get(section)
        if not body or section in OWN_TABLES:
            continue
        lines += [f"## {section}", "", "| key | value |", "|---|---|"]
        for key, value in body.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
            lines.append(f"| {key} | {_fmt(value)} |")
        lines.append("")
    if report.get("notes"):
        lines += ["## notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(lines)


def write_reports(report: dict, out: Path, cfg: dict) -> None:
    """report.md first, report.json last: report.json existing means the whole run finished."""
    ordered = {k: report[k] for k in SECTION_ORDER if k in report}
    ordered.update({k: v for k, v in report.items() if k not in ordered})
    (Path(out) / "report.md").write_text(markdown(ordered, cfg))
    (Path(out) / "report.json").write_text(json.dumps(ordered, indent=1))
