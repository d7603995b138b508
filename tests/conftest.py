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

# Fixtures that build a whole MNIST flow (minutes each on CI's 2 cores): every test using one is `slow`,
# so `pytest -m "not slow"` stays a fast loop without anyone having to remember the marker.
HEAVY_FIXTURES = {"mlp_run", "cnn_run", "jr_run", "wings_run", "kron_run"}
# ... and the module fixtures of tests/test_lock.py that build a locked digits flow with C-sim and RTL
SLOW_FIXTURES = HEAVY_FIXTURES | {"locked_run", "perm_run"}


# Session fixtures shared across test modules: under pytest-xdist every module that uses one must run on
# the same worker, or each worker would build the run again.
SHARED_FIXTURES = HEAVY_FIXTURES | {"digits_run"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the group marks into node ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        # `long` is also `slow`: `pytest -m "not slow"` replaces addopts' `-m 'not long'`, so the fast loop
        # would otherwise run every long measurement (a locked-CNN flow of > 20 min among them)
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("long"):
            item.add_marker(pytest.mark.slow)
    _group_for_workers(items)


def _group_for_workers(items) -> None:
    """Mark each test with the xdist group it must share a worker with (`--dist loadgroup`, set in pyproject).

    A group is a test module joined with every module that shares one of its session fixtures, so each
    module- or session-scoped fixture is built once per run, as in a serial run. Groups that build an
    MNIST flow go first: the longest work starts while the other worker takes the many short modules."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for item in items:
        module = "module:" + item.nodeid.split("::")[0]
        find(module)
        for fixture in SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            parent[find(module)] = find("fixture:" + fixture)
    heavy = {find("fixture:" + f) for f in HEAVY_FIXTURES if "fixture:" + f in parent}
    for item in items:
        group = find("module:" + item.nodeid.split("::")[0])
        item.add_marker(pytest.mark.xdist_group(group.split(":", 1)[1]))
        item.stash[_HEAVY_GROUP] = group in heavy
    items.sort(key=lambda item: not item.stash[_HEAVY_GROUP])  # stable: heavy groups first, order kept within


_HEAVY_GROUP = pytest.StashKey[bool]()


def codesign(*args, env=None, check=True, timeout=1200, launcher=("-m", "codesign")):
    """Run the installed `codesign` command (the public entry point) and return the completed process.

    COLUMNS=80: the terminal every user may have, where an error must still print as one line."""
    e = dict(os.environ, COLUMNS="80")
    e.update(env or {})
    proc = subprocess.run([sys.executable, *launcher, *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"codesign {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def assert_user_error(proc, *needles) -> str:
    """A bad-input failure as the README promises: exit code 2, no traceback, and the error as ONE line
    (the last line of stderr, at an 80-column terminal) that holds every needle. Returns that line."""
    err = proc.stderr.rstrip("\n")
    assert proc.returncode == 2, (proc.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    lines = err.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert errors == [len(lines) - 1], err[-3000:]  # one error line, and nothing after it
    line = lines[-1]
    for needle in needles:
        assert needle in line, line
    return line



def csim_equals_emulator(model, spec, tmp_path):
    """hls4ml C-sim == emulator, every output integer, on 300 real-valued inputs drawn over the model's
    input shape (quantized as the spec's input type says); returns (x, x_int, emulator outputs) for
    further checks against Keras."""
    import numpy as np
    from codesign.emulator import Emulator
    from codesign.hls_view import HLSView

    emu = Emulator(spec)
    x = np.random.default_rng(2).normal(0, 2, (300,) + tuple(model.input_shape[1:])).astype(np.float32)
    x_int = emu.quantize_input(x)
    ours = emu.run_int(x_int)
    csim = HLSView(spec, tmp_path / "hls").compile().csim_int(x_int)
    assert np.array_equal(csim.reshape(ours.shape), ours)
    return x, x_int, ours

@pytest.fixture(scope="session")
def mnist_folder():
    folder = os.environ.get("CODESIGN_DATA")
    if not folder or not (Path(folder) / "mnist8k.npz").exists():
        pytest.fail("set CODESIGN_DATA to the folder holding mnist8k.npz (CI: ../shared/data)")
    return Path(folder)


def example_config(tmp_path, name: str, **overrides) -> Path:
    """An example config with top-level sections updated (e.g. rtl={"synth": False}), written to tmp_path."""
    import yaml

    cfg = yaml.safe_load((EXAMPLES / name).read_text())
    for section, values in overrides.items():
        cfg[section] = {**cfg.get(section, {}), **values} if isinstance(values, dict) else values
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="session")
def mlp_run(tmp_path_factory, mnist_folder):
    """`codesign flow examples/mnist_mlp.yaml` built once, RTL simulated on all 2,000 test digits.

    Yosys synthesis of this design takes ~3-5 min on CI's 2 cores, so it is switched off here;
    tests/test_flow_small.py runs the whole flow with synthesis on a small design."""
    tmp = tmp_path_factory.mktemp("runs")
    codesign("flow", example_config(tmp, "mnist_mlp.yaml", rtl={"synth": False}), "--out", tmp / "mlp")
    return tmp / "mlp", json.loads((tmp / "mlp" / "report.json").read_text())


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """examples/digits_mlp.yaml on small settings (5 epochs, RTL on 64 digits with a -O0 model, no yosys,
    no C-sim, no float baseline): a real run folder for the report and notebook tests. (The report of a
    run with yosys is checked in tests/test_flow_small.py.)"""
    tmp = tmp_path_factory.mktemp("digits_small")
    out = tmp / "digits"
    codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", out, "--set", "train.epochs=5",
             "--set", "baseline.float=false", "--set", "hls.enabled=false", "--set", "rtl.samples=64",
             "--set", "rtl.opt=quick", "--set", "rtl.synth=false")
    return out, json.loads((out / "report.json").read_text())
