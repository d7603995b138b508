"""The IP files a generated design ships (codesign/rtl/generate.py IP_FILES).

mvau.sv and mac_pipe.sv name lock_unit and wmem_check in generate branches that a plain design (no
lock, no checker) leaves off. Verilator and yosys only elaborate the branch taken, but a tool that
resolves every branch's modules (Vivado) needs the files, so every design's rtl/ folder holds them.
"""
import re
import subprocess

from codesign.deploy import _modules_defined, _strip_comments
from codesign.paths import ip_dir
from codesign.rtl import generate, toolchain
from codesign.rtl.random_spec import random_mlp


def test_plain_design_ships_every_module_its_sources_name(tmp_path):
    spec = random_mlp(0, [16, 6, 3])
    meta = generate(spec, tmp_path / "rtl", folding=[{"pe": 2, "simd": 4}, {"pe": 3, "simd": 2}])
    shipped = meta["sources"]
    assert {"lock_unit.sv", "wmem_check.sv"} <= set(shipped)
    assert "LOCK(1)" not in (tmp_path / "rtl" / "model_top.sv").read_text()  # a plain design: no lock on
    owner = {m: f.name for f in ip_dir("rtl").glob("*.sv") for m in _modules_defined(f.read_text())}
    for s in shipped:
        text = _strip_comments((tmp_path / "rtl" / s).read_text())
        if s != "model_top.sv":
            assert (tmp_path / "rtl" / s).read_bytes() == (ip_dir("rtl") / s).read_bytes()
        named = {m for m in owner if m not in _modules_defined(text)
                 and re.search(rf"\b{re.escape(m)}\b\s*(#|\w+\s*\()", text)}
        assert {owner[m] for m in named} <= set(shipped), (s, sorted(named))
    # the folder as shipped elaborates: Verilator lint (-Wall) of its files alone, model_top on top
    proc = subprocess.run([toolchain.verilator_env(), "--lint-only", *toolchain.BUILD_ARGS, "--top-module",
                           "model_top", *shipped], cwd=tmp_path / "rtl", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
