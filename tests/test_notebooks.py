"""The notebooks run top to bottom under nbclient on small settings (outputs are stripped in git).

The quickstart builds its run only when the folder holds none, so it is pointed at a copy of the
session's small digits run (tests/conftest.py digits_run) and executes every other cell as written:
spec + emulator, the deploy package, the driver's stream layout."""
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"


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
