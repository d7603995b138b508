"""The notebooks run top to bottom under nbclient on small settings (outputs are stripped in git).

The quickstart builds its run only when the folder holds none, so it is pointed at a copy of the
session's small digits run (tests/conftest.py digits_run) and executes every other cell as written:
spec + emulator, the deploy package, the driver's stream layout.

The technique notebooks (one per hardening technique) each train a digits model and build its C-sim
and RTL: ~40 CPU seconds apiece, more than CI's budget has room for four times. The feature notebooks
(fault campaigns) take a copy of the digits run like the quickstart. Plain `pytest` runs ONE of the
technique and feature notebooks, picked by the checked-out commit (so a failure reproduces on the same
commit), and marks the others `long`; `CODESIGN_NOTEBOOKS=all` (or a comma-separated list of names)
runs the ones named, `CODESIGN_NOTEBOOKS=none` none of them."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
TECHNIQUES = ("stq_jr", "kronecker", "wings", "lock")  # notebooks/<name>.ipynb
FEATURES = ("faults",)
ROTATING = TECHNIQUES + FEATURES  # plain `pytest` runs one of these per commit


def _selected() -> set[str]:
    """The rotating notebooks plain `pytest` runs: CODESIGN_NOTEBOOKS (all | none | a,b), else one by commit."""
    env = os.environ.get("CODESIGN_NOTEBOOKS")
    if env:
        return {"all": set(ROTATING), "none": set()}.get(env, set(env.split(",")))
    proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    head = proc.stdout.strip() if proc.returncode == 0 else ""
    return {ROTATING[int(head[:8], 16) % len(ROTATING)]} if head else {ROTATING[0]}


SELECTED = _selected()


def _rotating(name: str):
    """A rotating notebook's test parameter: `long` unless this commit selects it."""
    return name if name in SELECTED else pytest.param(name, marks=pytest.mark.long)


def _execute(path: Path, cwd: Path, env: dict, timeout: int = 600):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process' environment
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            assert not cell.get("outputs") and not cell.get("execution_count"), f"{path.name}: strip outputs"


def test_quickstart_runs(digits_run, tmp_path):
    run = tmp_path / "quickstart"
    shutil.copytree(digits_run[0], run)
    env = {"CODESIGN_QUICKSTART_RUN": str(run),
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    nb = _execute(NOTEBOOKS / "quickstart.ipynb", NOTEBOOKS, env)
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "emulator accuracy:" in out and "MM2S buffer:" in out, out[-2000:]
    assert (tmp_path / "quickstart_pynq" / "manifest.json").exists()


def test_every_technique_notebook_is_listed():
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} - {"quickstart"} == set(ROTATING)


@pytest.mark.slow
@pytest.mark.parametrize("name", [_rotating(n) for n in TECHNIQUES])
def test_technique_notebook_runs(name, tmp_path):
    """The notebook as a user runs it (its own digits flow, C-sim and RTL builds), in a fresh run folder:
    every view equal to the emulator on every test digit (the notebook asserts it too), and its figure drawn."""
    env = {"CODESIGN_NOTEBOOK_DIR": str(tmp_path), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    nb = _execute(NOTEBOOKS / f"{name}.ipynb", NOTEBOOKS, env)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    lines = [line for line in text.splitlines() if "equal to the emulator on" in line]
    views = 9 if name == "lock" else 3  # the lock: three views under three keys
    assert len(lines) == views and all(line.endswith("397/397 test digits") for line in lines), text[-3000:]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name}: no figure drawn"
    assert (tmp_path / f"nb_{name}" / "report.html").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", [_rotating("faults")])
def test_faults_notebook_runs(name, digits_run, tmp_path):
    """notebooks/faults.ipynb on a copy of the session's digits run: `codesign faults --campaign exhaustive`
    (one row per stored bit, the worst row re-checked by hand on the emulator: the notebook asserts both)
    and a two-seed bfa, with both plots shown and the report's `faults` section written."""
    run = tmp_path / "faults_digits"
    shutil.copytree(digits_run[0], run)
    env = {"CODESIGN_FAULTS_RUN": str(run), "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    nb = _execute(NOTEBOOKS / f"{name}.ipynb", NOTEBOOKS, env)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "".join(o.get("text", "") for o in outputs)
    assert "worst flip:" in text and "flips to bring accuracy to chance:" in text, text[-3000:]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 2, "faults: both plots shown"
    faults = json.loads((run / "report.json").read_text())["faults"]
    from codesign.spec import DesignSpec

    spec = DesignSpec.load(run / "spec")
    assert faults["faults"] == sum(a.size * l.types[k].width for l in spec.layers for k, a in l.params.items())
    assert faults["bfa"]["seeds"] == 2
    assert all((run / "plots" / f).exists() for f in ("faults_sensitivity.png", "faults_accuracy_vs_flips.png"))
