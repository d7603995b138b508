"""`codesign deploy`: the board package of a digits run, checked without Vivado or a board.

- package and zip contents, manifest (board, part, spec hash, stream widths, cycles, file hashes);
- vivado/build.tcl parsed as TCL: the part, every RTL file, the top, its stream interfaces wired to the DMA;
  the wrapper's Verilog ports parsed and matched with the DMA widths;
- the PYNQ driver, imported without pynq: pack/unpack round trips, the same words as sim/axis_stream.py,
  and the run's recorded RTL output integers, packed as the hardware writes them, unpack to the emulator's;
- check.py against a fake pynq whose "hardware" is the emulator behind sim/axis_stream.py's layout;
- the wrapper RTL (codesign_axis.v + the run's model_top) under Verilator, fed by the driver like an
  AXI DMA with stalls: tlast only at the end of each send buffer, every output integer the emulator's;
- errors: exit 2, one line, nothing left behind.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
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
    assert m["rtl_files"][-1] == "codesign_axis.v" and "model_top.sv" in m["rtl_files"]
    assert set(m["rtl_files"][:-1]) == {"model_top.sv", "mvau.sv", "axis_inbuf.sv", "mac_pipe.sv", "dot_simd.sv",
                                    "requant.sv", "wmem.sv", "axis_dwc.sv"}
    assert "kron_matvec.sv" in meta["sources"] and "kron_matvec.sv" not in m["rtl_files"]
    assert m["mem_files"] == sorted(p.name for p in (run / "rtl").glob("l*_*.mem"))
    for f in m["rtl_files"][:-1] + m["mem_files"]:
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
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    emu = Emulator(DesignSpec.load(run / "spec"))
    assert np.array_equal(emu.run_int(emu.quantize_input(v["x"])).reshape(20, -1), v["expected"])
    readme = (pkg / "README.md").read_text()
    assert "vivado -mode batch -source vivado/build.tcl" in readme and "check.py" in readme


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


def _parse_tcl(pkg: Path):
    cmds = _tcl_commands((pkg / "vivado" / "build.tcl").read_text())
    env = {}
    for c in cmds:
        if c[0] == "set" and len(c) == 3 and (not c[2].startswith("[") or c[2].startswith("[list")):
            env[c[1]] = _value(c[2], env)
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
    assert assoc == {("s_axis", "aclk"), ("m_axis", "aclk")}
    # the top's ports: AXI-Stream slave and master named as Vivado infers them, at the DMA widths
    name, ports = _verilog_ports(pkg / "rtl" / "codesign_axis.v")
    assert name == env["top"]
    s = m["stream"]
    assert ports == {
        "aclk": ("input", 1), "aresetn": ("input", 1),
        "s_axis_tdata": ("input", s["in_word_bits"]), "s_axis_tvalid": ("input", 1),
        "s_axis_tready": ("output", 1), "s_axis_tlast": ("input", 1),
        "m_axis_tdata": ("output", s["out_word_bits"]), "m_axis_tkeep": ("output", s["out_word_bits"] // 8),
        "m_axis_tvalid": ("output", 1), "m_axis_tready": ("input", 1), "m_axis_tlast": ("output", 1)}
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
    for pin in ("axi_dma_0/S_AXI_LITE", "axi_dma_0/M_AXI_MM2S", "axi_dma_0/M_AXI_S2MM"):
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
    def __init__(self):
        self.buf = None

    def transfer(self, buf):
        self.buf = buf


def _fake_pynq(hardware):
    """A stand-in `pynq` module: Overlay with an axi_dma_0 whose recv wait() runs `hardware(in_words)`."""
    mod = types.ModuleType("pynq")

    class Buffer(np.ndarray):
        def flush(self):
            pass

        def invalidate(self):
            pass

        def freebuffer(self):
            pass

    def allocate(shape, dtype):
        return np.zeros(shape, dtype).view(Buffer)

    class DMA:
        def __init__(self):
            self.sendchannel, self.recvchannel = _FakeDMAChannel(), _FakeDMAChannel()
            self.order = []
            send_t, recv_t = self.sendchannel.transfer, self.recvchannel.transfer
            self.sendchannel.transfer = lambda b: (self.order.append("send"), send_t(b))
            self.recvchannel.transfer = lambda b: (self.order.append("recv"), recv_t(b))
            self.sendchannel.wait = lambda: None
            self.recvchannel.wait = self._run

        def _run(self):
            out = hardware(np.asarray(self.sendchannel.buf))
            assert out.shape == self.recvchannel.buf.shape
            self.recvchannel.buf[:] = out

    class Overlay:
        def __init__(self, bitfile, download=True):
            self.bitfile = bitfile
            self.axi_dma_0 = DMA()

    mod.Overlay, mod.allocate = Overlay, allocate
    return mod


def test_check_py_with_a_fake_board(run_and_pkg, axis_stream, monkeypatch, capsys):
    """check.py + the driver's DMA use, against 'hardware' that is the emulator behind the RTL bench's layout."""
    from codesign.emulator import Emulator
    from codesign.spec import DesignSpec

    run, pkg = run_and_pkg
    m = json.loads((pkg / "manifest.json").read_text())
    s = m["stream"]
    emu = Emulator(DesignSpec.load(run / "spec"))
    flip = {"on": False}

    def hardware(in_words):
        beats = [int.from_bytes(bytes(r), "little") for r in in_words]
        x = axis_stream.unpack_beats(beats, s["in_beat"], s["in_width"], False).reshape(-1, s["in_padded"])
        y = emu.run_int(x[:, :s["in_elements"]].reshape((-1,) + tuple(s["input_shape"]))).reshape(len(x), -1)
        if flip["on"]:
            y[3, 2] ^= 1
        yp = np.zeros((len(x), s["out_padded"]), np.int64)
        yp[:, :y.shape[1]] = y
        out = axis_stream.pack_beats(yp, s["out_beat"], s["out_width"])
        nb = s["out_word_bits"] // 8
        return np.frombuffer(b"".join(w.to_bytes(nb, "little") for w in out), np.uint8).reshape(-1, nb)

    monkeypatch.setitem(sys.modules, "pynq", _fake_pynq(hardware))
    monkeypatch.syspath_prepend(str(pkg / "pynq"))
    monkeypatch.delitem(sys.modules, "codesign_driver", raising=False)
    check = _load_module(pkg / "pynq" / "check.py", "codesign_check_under_test")
    ov = check.CodesignOverlay(str(pkg / "pynq" / "codesign.bit"))
    assert check.main(["--batch", "8"], overlay=ov) == 0  # 20 vectors in transfers of 8, 8, 4
    assert ov.dma.order == ["recv", "send"] * 3
    out = capsys.readouterr().out
    assert "PASS: 20/20" in out
    flip["on"] = True
    assert check.main([], overlay=ov) == 1
    assert "FAIL: 19/20" in capsys.readouterr().out


# ---------------------------------------------------------------- the wrapper RTL under Verilator
def test_wrapper_rtl_behind_a_dma(run_and_pkg, driver, tmp_path):
    """Driver-packed words through codesign_axis.v (+ model_top) with stalls; tlast ends each send buffer."""
    from codesign.rtl import toolchain

    _, pkg = run_and_pkg
    m = json.loads((pkg / "manifest.json").read_text())
    layout = m["stream"]
    v = np.load(pkg / "pynq" / "test_vectors.npz")
    sizes = [3, 1, 9, 7]  # samples per send buffer (20 in all)
    bufs, start = [], 0
    for k in sizes:
        bufs.append(driver.words_to_ints(driver.pack_inputs(v["x_int"][start:start + k], layout)))
        start += k
    per_out = layout["out_beats_per_sample"]
    job = {"buffers": bufs, "seed": 1, "p_valid": 0.7, "p_ready": 0.6, "max_cycles": 200000,
           "out_beats": sum(sizes) * per_out, "result": str(tmp_path / "result.json")}
    (tmp_path / "job.json").write_text(json.dumps(job))
    rtl = pkg / "rtl"
    build = toolchain.build([rtl / f for f in m["rtl_files"]], m["top"], tmp_path / "build", opt="quick")
    tests_dir = str(Path(__file__).resolve().parent)
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    toolchain.run_test(m["top"], build, "deploy_axis_bench", rtl, {"CODESIGN_DEPLOY_JOB": str(tmp_path / "job.json")},
                       tmp_path / "sim.log")
    res = json.loads((tmp_path / "result.json").read_text())
    words = driver.ints_to_words([int(w) for w in res["words"]], layout["out_word_bits"])
    got = driver.unpack_outputs(words, layout)
    assert np.array_equal(got, v["expected"])
    assert res["lasts"] == list(np.cumsum(sizes) * per_out - 1)


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
