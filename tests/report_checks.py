"""Checks that a run's report.html renders: every report.json section has a section on the page with
content, every figure is an inline PNG that decodes, nothing is fetched from outside (readable offline),
and the page shows the report's own numbers. Shared by tests/test_report.py and the flow tests."""
from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.images: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.current = a.get("id")
            self.sections[self.current] = {"rows": 0, "paragraphs": 0, "images": 0}
        elif self.current and tag == "tr":
            self.sections[self.current]["rows"] += 1
        elif self.current and tag == "p":
            self.sections[self.current]["paragraphs"] += 1
        if tag == "img":
            self.images.append(a.get("src", ""))
            if self.current:
                self.sections[self.current]["images"] += 1
        for key in ("src", "href"):
            v = a.get(key) or ""
            if v and not v.startswith(("data:", "#")):
                self.external.append(v)

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        self.text.append(data)


def check_report_html(run_dir: Path, expect_figures: tuple[str, ...] = ()) -> dict:
    """Assert report.html of a finished run renders; return {section id: counts} for further checks."""
    from PIL import Image

    from codesign.report import SECTION_ORDER, fmt

    run_dir = Path(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    page = _Page()
    page.feed((run_dir / "report.html").read_text())
    assert not page.external, f"report.html fetches from outside: {page.external}"
    assert page.sections.get("summary", {}).get("rows", 0) >= 1, page.sections
    for key, body in report.items():
        if key == "notes" or body in (None, {}, []):
            continue
        sec = page.sections.get(key)
        assert sec is not None, f"report.json section {key!r} has no section in report.html"
        assert sec["rows"] + sec["paragraphs"] > 0, f"section {key!r} is empty: {sec}"
    for key in expect_figures:
        assert page.sections[key]["images"] >= 1, f"section {key!r} has no figure"
    assert page.images, "report.html has no figure"
    for src in page.images:
        assert src.startswith("data:image/png;base64,"), src[:60]
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(png)) as im:
            im.load()  # raises on a truncated or corrupt image
            assert im.width >= 200 and im.height >= 100, im.size
    text = " ".join(page.text)
    assert "{'" not in text, "a table cell shows a raw dict: " + text[text.index("{'") - 80:text.index("{'") + 120]
    for view, acc in report.get("accuracy", {}).items():  # the page shows the run's own numbers
        assert fmt(acc) in text, (view, fmt(acc))
    order = [k for k in page.sections if k in SECTION_ORDER]
    assert order == sorted(order, key=SECTION_ORDER.index), order
    return page.sections


def check_report_in_chromium(run_dir: Path, png_dir: Path, name: str | None = None) -> Path:
    """Draw report.html in headless Chromium and assert the page renders as a reader sees it: the summary and
    every report.json section on screen with text, every figure decoded and not blank, the screenshot not
    blank (codesign/report_browser.py). Skips, naming why, only when no chromium binary exists. The PNG goes
    to $CODESIGN_SCREENSHOTS when set (to look at), else to png_dir, as <name or run folder name>.png."""
    import os

    import pytest

    from codesign.report_browser import find_chromium, problems, render

    if not find_chromium():
        pytest.skip("no chromium binary on PATH (Debian: apt-get install chromium)")
    run_dir = Path(run_dir)
    out = Path(os.environ.get("CODESIGN_SCREENSHOTS") or png_dir)
    rendered = render(run_dir / "report.html", out / f"{name or run_dir.name}.png")
    report = json.loads((run_dir / "report.json").read_text())
    found = problems(rendered, report)
    assert not found, f"{run_dir / 'report.html'} does not render in chromium:\n" + "\n".join(found)
    # the browser drew every figure the file holds, in the sections the file puts them
    page = _Page()
    page.feed((run_dir / "report.html").read_text())
    assert len(rendered.probe["images"]) == len(page.images), (len(rendered.probe["images"]), len(page.images))
    return rendered.png
