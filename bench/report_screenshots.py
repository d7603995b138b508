"""Screenshots of run reports in headless Chromium (Debian: `apt-get install chromium`), for looking at
report.html as a browser draws it. Not part of CI (tests/report_checks.py checks the page without a
browser: sections filled, every figure an inline PNG that decodes).

    python bench/report_screenshots.py RUN_DIR [RUN_DIR ...] --out bench_out/screens [--height 4000]

Writes OUT/<run folder name>.png per run and fails when Chromium fails or writes no image.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 4000) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not exe:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               f"--user-data-dir={profile}", f"--window-size={width},{height}",
                               f"--screenshot={png}", html.resolve().as_uri()],
                              capture_output=True, text=True, timeout=180, check=False)
    if proc.returncode != 0 or not png.exists() or png.stat().st_size < 10_000:
        sys.exit(f"chromium failed on {html}: {proc.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=Path("bench_out/screens"))
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=4000)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    for run in a.runs:
        png = a.out / f"{run.name}.png"
        screenshot(run / "report.html", png, a.width, a.height)
        print(png)


if __name__ == "__main__":
    main()
