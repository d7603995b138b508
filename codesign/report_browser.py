"""A run's report.html as a browser draws it: headless Chromium (Debian: `apt-get install chromium`) takes a
PNG of the whole page and reports what it saw, so a check can tell a page that renders from one that only
parses (tests/report_checks.py parses; this draws).

Chromium is given a copy of the page with a small probe script appended. On the load event (every inline
figure fetched, then decoded or failed) the probe writes into the DOM, which `--dump-dom` returns: whether
each <img> decoded and where it landed; each <section>'s box, heading, figure count and how much text it
shows beside its heading; the page height. The screenshot comes from the same Chromium run, cropped to the
page height; a page taller than the window is drawn again in a window that holds it. The report file
itself is not changed.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

MAX_HEIGHT = 16384  # Chromium's largest surface; a taller page is drawn down to here
PROBE_ATTR = "data-codesign-probe"
_PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const box = e => { const b = e.getBoundingClientRect();
                     return [b.left + scrollX, b.top + scrollY, b.width, b.height]; };
  const probe = {
    height: Math.ceil(document.body.getBoundingClientRect().bottom + scrollY),
    images: imgs.map(i => ({decoded: i.complete && i.naturalWidth > 0, box: box(i),
                            section: i.closest('section') ? i.closest('section').id : null})),
    sections: [...document.querySelectorAll('section')].map(s => {
      const heading = (s.querySelector('h2') || {innerText: ''}).innerText.trim();
      return {id: s.id, box: box(s), heading: heading, figures: s.querySelectorAll('img').length,
              text: s.innerText.trim().length - heading.length}; })};
  document.documentElement.setAttribute('PROBE_ATTR', JSON.stringify(probe));
});
</script>""".replace("PROBE_ATTR", PROBE_ATTR)


class BrowserError(RuntimeError):
    """Chromium could not be run or wrote no page."""


@dataclass
class Rendered:
    png: Path
    dom: str        # the page's DOM after load, as Chromium serialised it
    probe: dict     # {"height", "images": [{decoded, box, section}], "sections": [{id, box, heading, figures, text}]}


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if exe := shutil.which(name):
            return exe
    return None


class _ProbeReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.probe: dict | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            value = dict(attrs).get(PROBE_ATTR)
            if value:
                self.probe = json.loads(value)


def _chromium(exe: str, page: Path, png: Path, width: int, height: int, timeout: float) -> str:
    with tempfile.TemporaryDirectory() as profile:
        try:
            proc = subprocess.run(
                [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
                 f"--user-data-dir={profile}", f"--window-size={width},{height}",
                 f"--screenshot={png}", "--dump-dom", page.as_uri()],
                capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            raise BrowserError(f"chromium took over {timeout:.0f} s on {page}") from e
    if proc.returncode != 0 or not png.exists():
        raise BrowserError(f"chromium failed on {page} (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def _draw(exe: str, page: Path, png: Path, width: int, height: int, timeout: float) -> tuple[str, dict]:
    dom = _chromium(exe, page, png, width, height, timeout)
    reader = _ProbeReader()
    reader.feed(dom)
    if reader.probe is None:
        raise BrowserError(f"{page.name}: the page never finished loading in chromium (no probe in the DOM)")
    return dom, reader.probe


def render(html: Path, png: Path, width: int = 1200, height: int = 6000, timeout: float = 180) -> Rendered:
    """Draw `html` in headless Chromium into `png` (the whole page, cropped to its height); raise
    BrowserError when Chromium is missing, fails, or the page never finished loading."""
    from PIL import Image

    exe = find_chromium()
    if not exe:
        raise BrowserError("no chromium on PATH (Debian: apt-get install -y chromium)")
    html, png = Path(html).resolve(), Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    text = html.read_text(encoding="utf-8")
    if "</body>" not in text:
        raise BrowserError(f"{html} has no </body>: not a finished page")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / html.name
        page.write_text(text.replace("</body>", _PROBE + "\n</body>", 1), encoding="utf-8")
        dom, probe = _draw(exe, page, png, width, height, timeout)
        if probe["height"] > height:  # taller than the window: draw it again in one that holds it
            dom, probe = _draw(exe, page, png, width, min(probe["height"], MAX_HEIGHT), timeout)
    with Image.open(png) as im:
        im.load()
        cropped = im.crop((0, 0, im.width, min(im.height, max(probe["height"], 1))))
    cropped.save(png)
    return Rendered(png=png, dom=dom, probe=probe)


def _blank(im, box) -> bool:
    """True when the screenshot inside `box` ([x, y, w, h] in page pixels) is one flat colour (nothing drawn):
    fewer than 1% of its pixels differ from the box's most common grey level by more than 24 of 255."""
    x, y, w, h = (round(v) for v in box)
    region = im.crop((max(x, 0), max(y, 0), min(x + w, im.width), min(y + h, im.height))).convert("L")
    if region.width < 2 or region.height < 2:
        return True
    hist = region.histogram()
    mode = max(range(256), key=hist.__getitem__)
    off = sum(n for level, n in enumerate(hist) if abs(level - mode) > 24)
    return off < 0.01 * region.width * region.height


def problems(rendered: Rendered, report: dict) -> list[str]:
    """What is wrong with a report page as Chromium drew it, one line each (empty: it renders).

    The summary is on the page and shows text; every non-empty report.json section (but `notes`) has a section
    with a box on screen and text in it; every figure decoded, landed at a readable size and is not blank in the
    screenshot; the screenshot as a whole is not blank."""
    from PIL import Image

    out: list[str] = []
    sections = {s["id"]: s for s in rendered.probe["sections"]}
    expected = ["summary"] + [k for k, body in report.items() if k != "notes" and body not in (None, {}, [])]
    for key in expected:
        s = sections.get(key)
        if s is None:
            out.append(f"section {key!r} is not on the page")
        elif (s["text"] == 0 and s["figures"] == 0) or s["box"][3] < 40:
            out.append(f"section {key!r} is empty on screen ({s['text']} characters beside its heading, "
                       f"{s['figures']} figures, {s['box'][3]:.0f} px high)")
    with Image.open(rendered.png) as im:
        im.load()
        if _blank(im, (0, 0, im.width, im.height)):
            out.append(f"the screenshot {rendered.png.name} is blank")
        if "summary" in sections and _blank(im, sections["summary"]["box"]):
            out.append("the summary is blank on screen")
        if not rendered.probe["images"]:
            out.append("the page shows no figure")
        for i, img in enumerate(rendered.probe["images"]):
            where = f"figure {i + 1} (section {img['section']!r})"
            if not img["decoded"]:
                out.append(f"{where} is broken: the browser could not decode it")
            elif img["box"][2] < 200 or img["box"][3] < 100:
                out.append(f"{where} is drawn at {img['box'][2]:.0f} x {img['box'][3]:.0f} px")
            elif _blank(im, img["box"]):
                out.append(f"{where} is blank on screen")
    return out
