"""mkdocs hooks: add the generated pages (docs/gen_results.py) as virtual files and expand
`<!-- results: FILE.json -->` includes, so `mkdocs build` alone renders figures from the code and
from bench/results, and nothing generated is written into docs/."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gen_results
from mkdocs.structure.files import File


def on_files(files, config):
    for rel, text in gen_results.pages().items():
        files.append(File.generated(config, rel, content=text))
    return files


def on_page_markdown(markdown, page, config, files):
    return gen_results.expand(markdown)
