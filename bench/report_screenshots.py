"""Screenshots of run reports in headless Chromium (Debian: `apt-get install chromium`), to look at
report.html as a browser draws it. The same drawing and checks run in CI on the MLP, CNN, Kronecker and
WINGs examples' runs (tests/report_checks.py check_report_in_chromium; set CODESIGN_SCREENSHOTS=DIR to keep
those PNGs).

    python bench/report_screenshots.py RUN_DIR [RUN_DIR ...] --out bench_out/screens [--width 1200]

Writes OUT/<run folder name>.png per run (the whole page) and prints what does not render (a section empty,
a figure broken or blank, the summary missing: codesign/report_browser.py); exits 1 if anything does not.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from codesign.report_browser import BrowserError, problems, render


def _fail(line: str) -> None:
    print(f"error: {line}", file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench_out/screens"))
    ap.add_argument("--width", type=int, default=1200)
    a = ap.parse_args()
    failed = False
    for run in a.runs:
        if not (run / "report.html").is_file():
            _fail(f"{run} has no report.html: give run folders written by `codesign flow`")
        try:
            shot = render(run / "report.html", a.out / f"{run.resolve().name}.png", width=a.width)
        except BrowserError as e:
            _fail(str(e))
        found = problems(shot, json.loads((run / "report.json").read_text()))
        failed |= bool(found)
        print(f"{shot.png}  {shot.probe['height']} px, {len(shot.probe['images'])} figures"
              + "".join(f"\n  does not render: {p}" for p in found))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
