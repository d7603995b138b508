"""Shared fixtures: real data (offline copy via CODESIGN_DATA) and one built MLP run per session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def codesign(*args, env=None, check=True, timeout=1800):
    """Run the installed `codesign` command (the public entry point) and return the completed process."""
    e = dict(os.environ)
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "codesign", *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"codesign {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session")
def mnist_folder():
    folder = os.environ.get("CODESIGN_DATA")
    if not folder or not (Path(folder) / "mnist8k.npz").exists():
        pytest.fail("set CODESIGN_DATA to the folder holding mnist8k.npz (CI: ../shared/data)")
    return Path(folder)


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory, mnist_folder):
    """`codesign flow examples/mnist_mlp.yaml` built once (RTL included when its step is enabled)."""
    out = tmp_path_factory.mktemp("runs") / "mlp"
    codesign("flow", EXAMPLES / "mnist_mlp.yaml", "--out", out)
    return out, json.loads((out / "report.json").read_text())
