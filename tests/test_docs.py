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
