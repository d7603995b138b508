"""The user guide builds with `mkdocs build --strict` (broken links, missing pages and unknown includes
fail), and its generated pages cover the code: every CLI command and option, every config key, every
bench/results file."""
import json
import os
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "docs"))


def _need_mkdocs():
    if os.environ.get("CI"):  # .ci/run installs the docs extra: there a missing mkdocs is a failure
        import material  # noqa: F401
        import mkdocs  # noqa: F401
    else:
        pytest.importorskip("mkdocs")
        pytest.importorskip("material")


@pytest.fixture(scope="module")
def generated_pages():
    """docs/gen_results.pages() computed once for this module (the CLI and config references import the
    whole CLI; building them twice cost CI seconds)."""
    import gen_results

    return gen_results.pages()


def test_docs_build_strict(tmp_path, generated_pages, monkeypatch):
    """`mkdocs build --strict`, in this process (a subprocess would import mkdocs and the CLI again): any
    warning (broken link, missing page, unknown include) fails the build and is shown."""
    _need_mkdocs()
    import logging

    import gen_results
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    monkeypatch.setattr(gen_results, "pages", lambda: generated_pages)  # what docs/hooks.py adds
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger("mkdocs").addHandler(handler)
    try:
        build(load_config(str(ROOT / "mkdocs.yml"), strict=True, site_dir=str(tmp_path / "site")))
    except Abort as e:  # "Aborted with N warnings in strict mode!"
        raise AssertionError(f"{e}: " + "\n".join(warnings)) from None
    finally:
        logging.getLogger("mkdocs").removeHandler(handler)
    assert not warnings, warnings
    site = tmp_path / "site"
    # a generated include became the table it names: the MLP 3-seed robustness row, from the JSON
    d = json.loads((ROOT / "bench/results/robustness_mlp_stq_jr_3seeds.json").read_text())
    pgd = d["table"]["stq_jr"]["pgd@0.1"]
    assert f"{pgd['mean']:.3f}±{pgd['std']:.3f}" in (site / "results/stq-jr/index.html").read_text()
    for page in ("reference/cli", "reference/config", "results/data", "results/lock", "results/faults"):
        assert (site / page / "index.html").exists(), page
    assert "lock_attacks.json" in (site / "results/lock/index.html").read_text()  # its family's file list


def test_generated_references_cover_the_code(generated_pages):
    import typer

    from codesign.cli import app
    from codesign.config import DEFAULTS

    pages = generated_pages
    cli = pages["reference/cli.md"]
    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        assert f"## {name}" in cli
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--"):
                    assert f"`{opt}" in cli, (name, opt)
    config = pages["reference/config.md"]
    for key, value in DEFAULTS.items():
        assert f"## `{key}`" in config
        if isinstance(value, dict) and key != "model":
            for sub in value:
                assert f"`{key}.{sub}" in config, (key, sub)
    for path in (ROOT / "bench" / "results").glob("*.json"):
        assert f"results/data/{path.stem}.md" in pages and f"[`{path.name}`]" in pages["results/data/index.md"]


def test_include_of_a_missing_results_file_fails():
    import gen_results

    with pytest.raises(FileNotFoundError, match="no_such_file.json"):
        gen_results.expand("<!-- results: no_such_file.json -->")


def test_a_new_results_file_shows_on_its_topic_page_without_an_edit(tmp_path, monkeypatch):
    """bench/ scripts of this session write new JSON (lock, faults, pnr, robustness): a file named with
    a topic's prefix is listed on that topic's results page and in the index; one no topic claims is
    under Other."""
    import shutil

    import gen_results

    for p in (ROOT / "bench" / "results").glob("*.json"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "lock_new_scheme.json").write_text(json.dumps({"note": "a new lock scheme, seed 0", "acc": 0.5}))
    (tmp_path / "zzz_unclaimed.json").write_text(json.dumps({"speed": 3}))
    monkeypatch.setattr(gen_results, "RESULTS", tmp_path)
    page = gen_results.expand((ROOT / "docs" / "results" / "lock.md").read_text())
    assert "[`lock_new_scheme.json`](data/lock_new_scheme.md) | a new lock scheme, seed 0 |" in page
    assert "lock_attacks.json" in page and "faults_speed.json" not in page
    assert "| acc | 0.5 |" in gen_results.data_page(tmp_path / "lock_new_scheme.json")
    index = gen_results.results_index(sorted(tmp_path.glob("*.json")))  # what pages() puts at results/data/index.md
    other = index[index.index("## Other"):]
    assert "zzz_unclaimed.json" in other and "lock_new_scheme.json" not in other
    assert "[`lock_new_scheme.json`](lock_new_scheme.md)" in index[index.index("## lock"):index.index("## Other")]


def _shown_command_lines() -> list[tuple[str, str]]:
    """(file, command) for every codesign command line the hand-written pages show: inline code that starts
    with `codesign `, and lines of fenced blocks that do (a trailing `# comment` dropped)."""
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    shown = []
    for page in pages:
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
            shown += [(name, line.split(" #")[0].strip()) for line in block.splitlines()
                      if line.strip().startswith("codesign ")]
        prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
        shown += [(name, span) for span in re.findall(r"`(codesign [^`]+)`", prose)]
    return shown


def test_every_command_the_docs_show_exists_with_its_options():
    """README.md and docs/*.md are written by hand: each `codesign ...` they show names a command that exists
    and only options that command takes; an example config it runs exists, and with its `--set`s it is a
    valid config (the same check `codesign flow` makes before running)."""
    import shlex

    import typer

    from codesign.cli import app
    from codesign.config import load_config

    group = typer.main.get_command(app)
    shown = _shown_command_lines()
    assert len(shown) >= 30, shown  # the README's command table and the pages' examples were all found
    for page, line in shown:
        words = line.replace("\\|", "|").replace("[", " ").replace("]", " ").split()
        cmd = group.commands.get(words[1])
        assert cmd is not None, f"{page}: `{line}`: no command {words[1]!r}"
        rest = words[2:]
        if hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):  # a group: `codesign lock seal`
            assert rest[0] in cmd.commands, f"{page}: `{line}`: no command `{words[1]} {rest[0]}`"
            cmd, rest = cmd.commands[rest[0]], rest[1:]
        options = {o for p in cmd.params for o in getattr(p, "opts", ()) if o.startswith("-")} | {"--help"}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{page}: `{line}`: {word} is not an option of it"
        if words[1] == "flow" and len(words) > 2 and words[2].startswith("examples/"):
            args = shlex.split(line)
            sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
            load_config(ROOT / args[2], sets)  # raises on a missing file or a key the config does not take
