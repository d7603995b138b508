"""`codesign deploy RUN_DIR --out PKG`: a board package of a built run, for Vivado and PYNQ.

The package (a folder, and the same as PKG.zip):

  manifest.json          board, part, spec hash, stream layout, cycles per inference, files + sha256
  README.md              how to build the bitstream and run the self-test on the board
  rtl/                   the run's generated top, the rtl/ IP it instantiates, its .mem images,
                         <wrapper>.v: the DMA side of the top (boards/rtl/codesign_axis.v.in), and
                         codesign_axil.v: the model's load port + soft reset as AXI-Lite registers
  vivado/build.tcl       boards/vivado/build.tcl.in for the board of the catalogue (codesign/boards.py):
                         IP packaging, Zynq PS + AXI DMA block design, synthesis, implementation,
                         .bit + .hwh into pynq/; stops on Synth 8-4445 and on failed timing
  hls/                   (--ip hls, instead of rtl/) the run's hls4ml project, its AXI-Stream wrapper
                         and the Vitis HLS script that exports it as the IP (codesign/deploy_hls.py)
  pynq/                  copied to the board: codesign_driver.py, check.py, test_vectors.npz,
                         manifest.json (the driver reads the stream layout from it), and the sim
                         backend (sim_backend.py, sim_dma_bench.py: the package's RTL under Verilator)

Stream layout on the DMA (one DMA word per AXI-Stream beat of the generated top, see
codesign.rtl.generate): an input beat holds `in_beat` elements of `in_width` bits, element 0 in the
low bits (sim/axis_stream.py pack_beats), samples zero-padded to `in_padded` elements; an output beat
holds `out_beat` elements of `out_width` bits (two's complement when `out_signed`), `out_padded`
elements per sample of which the first `outputs` are the model's. The DMA word is the beat padded with
zero bits to a power-of-two number of bytes (AXI DMA stream widths), little-endian in memory.

A run whose spec has layers the RTL view does not cover, or that was built without RTL, cannot be
deployed: DeployError names why and the fix, and nothing is left at PKG.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import CodesignError
from .paths import ip_dir

FORMAT = "codesign-deploy/1"
WRAPPER = "codesign_axis"
BIT_NAME = "codesign"
DEFAULT_VECTORS = 16
# what goes to the board (pynq/): the driver, the self-test, and the simulator backend (runs the package's
# RTL under Verilator behind the driver's API when codesign is installed: check.py --backend sim)
PYNQ_FILES = ("codesign_driver.py", "check.py", "sim_backend.py", "sim_dma_bench.py", "csim_backend.py")
FIFO_LOG2 = 5  # samples the wrapper's tlast FIFO tracks in flight
MAX_WORD_BITS = 1024  # AXI DMA's widest stream
CTRL = "codesign_axil"  # AXI-Lite slave of the load port (boards/rtl/codesign_axil.v)
CTRL_WINDOW = 4096  # bytes of its register window (12 address bits)
CTRL_DATA = 0x20  # first DATA register
CLOCK_RANGE_MHZ = (10.0, 400.0)  # what a Zynq fabric clock (FCLK / pl_clk) can be set to, roughly
IP_KINDS = ("rtl", "hls")  # the model's IP core: the generated RTL, or the hls4ml project (codesign.deploy_hls)


class DeployError(CodesignError):
    """A run that cannot become a board package (message names why and the fix)."""


# ---------------------------------------------------------------- small helpers
def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def spec_hash(spec_dir: Path) -> str:
    """sha256 over spec.json and params.npz: names the exact design a package implements."""
    h = hashlib.sha256()
    for name in ("spec.json", "params.npz"):
        h.update(name.encode() + b"\0" + (Path(spec_dir) / name).read_bytes())
    return h.hexdigest()


def dma_word_bits(bits: int) -> int:
    """AXI DMA stream width holding `bits`: a power of two of at least 32 bits."""
    w = 32
    while w < bits:
        w *= 2
    return w


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def _modules_defined(text: str) -> list[str]:
    return re.findall(r"^\s*module\s+(\w+)", _strip_comments(text), flags=re.M)


def used_sources(rtl_dir: Path, sources: list[str], top: str) -> list[str]:
    """The sources `top` needs: its file and every file defining a module it instantiates, transitively.

    The run's rtl_meta lists every IP file the generator copies (kron_matvec.sv even for a dense-only
    model); a package carries only the ones the design instantiates. Order follows `sources`.
    """
    text = {s: _strip_comments((rtl_dir / s).read_text()) for s in sources}
    owner = {m: s for s in sources for m in _modules_defined(text[s])}
    if top not in owner:
        raise DeployError(f"{rtl_dir} defines no module {top!r}; regenerate the RTL with `codesign sim RUN_DIR`")
    need, todo = set(), [owner[top]]
    while todo:
        s = todo.pop()
        if s in need:
            continue
        need.add(s)
        own = set(_modules_defined(text[s]))
        for m, f in owner.items():
            if m not in own and re.search(rf"\b{re.escape(m)}\b\s*(#|\w+\s*\()", text[s]):
                todo.append(f)
    return [s for s in sources if s in need]


def mem_files_of(rtl_dir: Path, sources: list[str], meta: dict) -> list[str]:
    """The memory images the generated top names (quoted *.mem parameters)."""
    top_text = (rtl_dir / f"{meta['top']}.sv").read_text()
    names = sorted(set(re.findall(r'"([^"]+\.mem)"', top_text)))
    missing = [n for n in names if not (rtl_dir / n).exists()]
    if missing:
        raise DeployError(f"{rtl_dir} lacks memory images {missing}; regenerate the RTL with `codesign sim RUN_DIR`")
    return names


def _render(template: str, values: dict) -> str:
    def sub(m):
        key = m.group(1)
        if key not in values:
            raise KeyError(f"template placeholder @{key}@ has no value")
        return str(values[key])

    return re.sub(r"@([A-Z][A-Z0-9_]*)@", sub, template)


def _tcl_quote(s: str) -> str:
    if re.search(r'[\s"{}\[\]$\\;]', s):
        return "{" + s + "}"
    return s


# ---------------------------------------------------------------- checks: can this run be deployed?
def load_run(run_dir: Path):
    """(cfg, spec, report, rtl meta) of a built run, or DeployError naming what is missing and the fix."""
    from .config import load_config
    from .rtl_step import rtl_unsupported
    from .spec import DesignSpec

    run_dir = Path(run_dir)
    if not (run_dir / "spec" / "spec.json").exists() or not (run_dir / "config.yaml").exists():
        raise DeployError(f"{run_dir} is not a run folder (no spec/spec.json or config.yaml); "
                          "build one with `codesign flow CONFIG.yaml --out RUN_DIR`")
    cfg = load_config(run_dir / "config.yaml")
    spec = DesignSpec.load(run_dir / "spec")
    report_path = run_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    missing = rtl_unsupported(spec)
    if missing:
        raise DeployError(f"cannot deploy {run_dir}: it has no RTL because the RTL engines cannot implement "
                          f"{', '.join(missing)}; change those layers or deploy another model (e.g. examples/mnist_mlp.yaml)")
    rtl_dir = run_dir / "rtl"
    if not (rtl_dir / "rtl_meta.json").exists():
        raise DeployError(f"cannot deploy {run_dir}: it has no RTL (built with --no-rtl or rtl.enabled: false); "
                          f"generate and verify it with `codesign sim {run_dir}`")
    from .rtl import read_meta

    meta = read_meta(rtl_dir)
    if meta.get("spec") != spec.name:
        raise DeployError(f"{rtl_dir} was generated for spec {meta.get('spec')!r}, not {spec.name!r}; "
                          f"regenerate it with `codesign sim {run_dir}`")
    from .rtl.simulate import load_writes

    try:
        stale = load_writes(spec, rtl_dir)
    except (FileNotFoundError, ValueError, KeyError, IndexError) as e:
        raise DeployError(f"{rtl_dir} does not match spec/ ({e}); regenerate it with `codesign sim {run_dir}`") from e
    if stale:
        raise DeployError(f"{rtl_dir} memory images differ from spec/ in {len(stale)} words; "
                          f"regenerate them with `codesign sim {run_dir}`")
    return cfg, spec, report, meta


def stream_layout(meta: dict, spec) -> dict:
    """The AXI-Stream / DMA word layout of the generated top (what the driver packs and unpacks)."""
    in_bits = meta["in_beat"] * meta["in_width"]
    out_bits = meta["out_beat"] * meta["out_width"]
    for side, bits in (("input", in_bits), ("output", out_bits)):
        if bits > MAX_WORD_BITS:
            raise DeployError(f"the top's {side} beat is {bits} bits, wider than AXI DMA's {MAX_WORD_BITS}; "
                              "fold the first/last layer to fewer lanes (rtl.folding or a larger rtl.target_cycles)")
    t = spec.input_type
    return {
        "in_beat": meta["in_beat"], "in_width": meta["in_width"], "in_signed": bool(t.signed),
        "in_elements": int(np.prod(spec.input_shape)), "in_padded": meta["in_padded"],
        "in_beats_per_sample": meta["in_padded"] // meta["in_beat"],
        "in_word_bits": dma_word_bits(in_bits),
        "out_beat": meta["out_beat"], "out_width": meta["out_width"], "out_signed": bool(meta["out_signed"]),
        "outputs": meta["outputs"], "out_padded": meta["out_padded"],
        "out_beats_per_sample": meta["out_padded"] // meta["out_beat"],
        "out_word_bits": dma_word_bits(out_bits),
        "input_shape": list(spec.input_shape),
        "input_type": t.to_json(),
        "output_type": spec.layers[-1].out_type.to_json(),
    }


# ---------------------------------------------------------------- the pieces of the package
def _wrapper(meta: dict, layout: dict, spec_id: str) -> str:
    in_bits = meta["in_beat"] * meta["in_width"]
    out_bits = meta["out_beat"] * meta["out_width"]
    out_word = layout["out_word_bits"]
    beats = layout["in_beats_per_sample"]
    cw = max(1, (beats - 1).bit_length())
    pad = out_word - out_bits
    values = {
        "TOP": WRAPPER, "MODEL": meta["top"],
        "IN_BEAT": meta["in_beat"], "IN_WIDTH": meta["in_width"], "IN_BITS": in_bits, "IN_BITS_M1": in_bits - 1,
        "IN_WORD": layout["in_word_bits"], "IN_WORD_M1": layout["in_word_bits"] - 1,
        "OUT_BEAT": meta["out_beat"], "OUT_WIDTH": meta["out_width"], "OUT_BITS_M1": out_bits - 1,
        "OUT_WORD_M1": out_word - 1, "OUT_KEEP": out_word // 8, "OUT_KEEP_M1": out_word // 8 - 1,
        "OUT_DATA": f"{{{{{pad}{{1'b0}}}}, core_m_tdata}}" if pad else "core_m_tdata",
        "IN_BEATS": beats, "IN_BEATS_M1": beats - 1, "CW": cw, "FIFO_LOG2": FIFO_LOG2,
        "WL_AW": meta["load_port"]["addr_width"], "WL_DW": meta["load_port"]["data_width"],
        "WL_AW_M1": meta["load_port"]["addr_width"] - 1, "WL_DW_M1": meta["load_port"]["data_width"] - 1,
        "SPEC_ID": spec_id,
    }
    return _render((ip_dir("boards") / "rtl" / "codesign_axis.v.in").read_text(), values)


def board_settings(board: str) -> dict:
    """The catalogue entry of a board (codesign/boards.py), or DeployError listing the known boards."""
    from .boards import BOARDS
    from .boards import board as lookup

    if board not in BOARDS:
        raise DeployError(f"unknown board {board!r}; known boards: {sorted(BOARDS)} (boards/boards.json)")
    return lookup(board)


def _build_tcl(board: dict, rtl_files: list[str], mem_files: list[str], layout: dict, clock_mhz: float,
               model_top: str, board_repo: str = "", allow_timing_fail: bool = False, jobs: int = 4,
               ip: str = "rtl") -> str:
    from .deploy_hls import IP_SUBDIR, VLNV

    ps = board["ps_settings"]
    mhz = f"{clock_mhz:g}"
    settings = dict(ps["config"], **{ps["clock_config"]: mhz})
    config = " ".join(f"CONFIG.{k} {_tcl_quote(str(v).replace('@DMA_WIDTH@', str(board['dma_width'])))}"
                      for k, v in settings.items())
    values = {
        "BOARD": board["board"], "PART": board["part"], "BOARD_PART": board["board_part"],
        "BOARD_FILES": board["board_files"], "BOARD_CONNECTIONS": board.get("board_connections", ""),
        "BOARD_REPO": board_repo, "TOP": WRAPPER, "MODEL_TOP": model_top,
        "RTL_FILES": " ".join(map(_tcl_quote, rtl_files)), "MEM_FILES": " ".join(map(_tcl_quote, mem_files)),
        "IN_WORD": layout["in_word_bits"], "OUT_WORD": layout["out_word_bits"], "DMA_WIDTH": board["dma_width"],
        "CLOCK_MHZ": mhz, "ALLOW_TIMING_FAIL": int(bool(allow_timing_fail)),
        "BIT_NAME": BIT_NAME, "JOBS": jobs, "IP_KIND": ip, "HLS_VLNV": VLNV, "HLS_IP_SUBDIR": IP_SUBDIR,
        "PS_VLNV": ps["vlnv"], "PS_RULE": ps["rule"], "PS_MASTER": ps["master"], "PS_SLAVE": ps["slave"],
        "PS_CLK": ps["clk"], "PS_RESETN": ps["resetn"], "PS_PRESET": ps["preset"], "PS_CONFIG": config,
    }
    return _render((ip_dir("boards") / "vivado" / "build.tcl.in").read_text(), values)


def test_vectors(cfg: dict, spec, run_dir: Path, n: int) -> dict:
    """The first n test-split samples of the run's dataset: pixels, input integers, emulator output integers.

    When the run's cocotb RTL simulation (sim/model_inputs.npy, model_outputs.npy) streamed the same
    inputs, its recorded outputs (of as many first samples as it ran) are kept too (`rtl_outputs`) and compared.
    """
    from .data import load_dataset
    from .emulator import Emulator

    data = load_dataset(cfg["data"], cfg["seed"])
    n = min(n, len(data.x_test))
    emu = Emulator(spec)
    x_int = emu.quantize_input(data.x_test[:n])
    expected = np.asarray(emu.run_int(x_int), dtype=np.int64).reshape(n, -1)
    vec = {"x": np.asarray(data.x_test[:n]), "y": np.asarray(data.y_test[:n]),
           "x_int": np.asarray(x_int, np.int64).reshape(n, -1), "expected": expected}
    sim = Path(run_dir) / "sim"
    if any(layer.attrs.get("lock") for layer in spec.layers):
        return vec  # a locked design's recorded RTL outputs ran under its secret key: never packaged
    if (sim / "model_inputs.npy").exists() and (sim / "model_outputs.npy").exists():
        xs, ys = np.load(sim / "model_inputs.npy"), np.load(sim / "model_outputs.npy")
        k, m = vec["x_int"].shape[1], min(n, len(xs), len(ys))  # the cocotb run may cover fewer samples
        if m and np.array_equal(xs[:m, :k], vec["x_int"][:m]):
            vec["rtl_outputs"] = np.asarray(ys[:m], np.int64).reshape(m, -1)
    return vec


def _readme(manifest: dict) -> str:
    s, th = manifest["stream"], manifest.get("throughput", {})
    cpi = th.get("cycles_per_inference")
    lines = [
        f"# codesign deploy package: {manifest['spec']['name']} on {manifest['board']} ({manifest['part']})",
        "",
        f"Design spec sha256 `{manifest['spec']['sha256']}`, made by `codesign deploy` from `{manifest['run']}`.",
        "",
        "## 1. Bitstream (Vivado, on a workstation)",
        "",
        "```",
        *(["cd hls && vitis_hls -f build_ip.tcl && cd ..          # the hls4ml project as an IP core (Vitis HLS)"]
          if manifest.get("ip") == "hls" else []),
        "vivado -mode batch -source vivado/build.tcl            # add -tclargs --board-repo DIR for board files elsewhere",
        "```",
        "",
        *(["This package's IP core is the run's hls4ml project (`hls/firmware/`) behind the AXI-Stream wrapper "
           "`hls/codesign_axi.cpp` (`codesign deploy --ip hls`): Vitis HLS synthesises and exports it, build.tcl puts "
           "it in the block design (it stops, naming the command, when the export is missing). Its weights are "
           "compiled in: it has no load-port registers. `python3 pynq/check.py --backend csim` runs the self-test "
           "on its C++ compiled with g++.", ""] if manifest.get("ip") == "hls" else []),
        ("puts the exported HLS IP" if manifest.get("ip") == "hls" else f"packages `rtl/` (top `{manifest['top']}`) as an IP core,")
        + " builds a block design Zynq PS + AXI DMA "
        "(MM2S -> s_axis, m_axis -> S2MM; the PS's AXI-Lite master -> the DMA and the model's load-port registers "
        f"`s_axi_ctrl`) at {manifest['clock_mhz']:g} MHz, runs synthesis and implementation and writes "
        f"`pynq/{BIT_NAME}.bit` and `pynq/{BIT_NAME}.hwh`. Needs the board files of {manifest['board']} "
        f"({manifest['board_files']}). The build stops without a bitstream when synthesis cannot open a memory "
        "image (Synth 8-4445: the weights would be zero) or when timing is not met "
        + ("(this package keeps a bitstream that misses timing: --allow-timing-fail)." if manifest["allow_timing_fail"]
           else "(`-tclargs --allow-timing-fail` keeps it anyway)."),
        "",
        "## 2. On the board (PYNQ)",
        "",
        "```",
        "scp -r pynq xilinx@pynq:~/codesign && ssh xilinx@pynq",
        "cd ~/codesign && sudo -E python3 check.py     # PYNQ >= 2.7: pynq lives in a venv; -E keeps it",
        "# or: sudo -i; source /etc/profile.d/pynq_venv.sh; cd /home/xilinx/codesign; python3 check.py",
        "```",
        "",
        f"`check.py` streams the {manifest['test_vectors']['samples']} test vectors of `test_vectors.npz` through "
        "the DMA and compares every output integer with the emulator's. On a workstation with codesign installed, "
        "`python3 pynq/check.py --backend sim` runs the same self-test on this package's RTL under Verilator. "
        "From Python:",
        "",
        "```python",
        "from codesign_driver import CodesignOverlay",
        f"ov = CodesignOverlay('{BIT_NAME}.bit')           # backend='sim' for the simulator",
        "ov.batch_size = 1024               # DMA buffers are allocated once for this many samples",
        "y_int = ov.execute(x_int)          # output integers, one row per sample",
        "y = ov.predict(x_uint8)            # real-valued outputs (uint8 pixels, p means p/256)",
        "labels = ov.classify(x_uint8)      # argmax of the outputs",
        "print(ov.throughput_test())        # DMA time vs packing time",
        "ov.write_weights(writes)           # (sel, addr, data) load-port words over AXI-Lite",
        "```",
        "",
        "## Stream layout",
        "",
        f"- input: {s['in_beats_per_sample']} DMA words of {s['in_word_bits']} bits per sample; each holds "
        f"{s['in_beat']} elements of {s['in_width']} bits, element 0 in the low bits "
        f"({s['in_elements']} elements, zero-padded to {s['in_padded']}).",
        f"- output: {s['out_beats_per_sample']} words of {s['out_word_bits']} bits per sample; each holds "
        f"{s['out_beat']} {'signed' if s['out_signed'] else 'unsigned'} elements of {s['out_width']} bits "
        f"(the first {s['outputs']} of {s['out_padded']} are the outputs).",
        "- words are little-endian in memory; unused upper bits are zero. One receive buffer per send buffer "
        "(tlast on the last word of the last sample sent).",
    ]
    if cpi:
        lines.append(f"- {cpi:g} cycles per inference (RTL simulation), {th.get('clock_mhz', '?')} MHz target clock.")
    lines += ["", "Every file with its sha256: `manifest.json`.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the command
def deploy(run_dir, out, board: str | None = None, vectors: int = DEFAULT_VECTORS, clock_mhz: float | None = None,
           board_repo=None, allow_timing_fail: bool = False, ip: str = "rtl") -> dict:
    """Write the deploy package of a built run to `out` (and out.zip); return its manifest.

    Everything is written to a temporary folder first and moved into place at the end, so a failure
    leaves neither a half-written package nor a zip. An existing `out` is replaced only if it is a
    codesign deploy package.

    clock_mhz: the fabric clock Vivado builds for (default: the board's, boards.json). board_repo: a
    folder of Vivado board files (Vivado's board.repoPaths). allow_timing_fail: keep a bitstream that
    misses timing (the build stops otherwise). ip: "rtl" (the run's generated RTL as the IP core) or
    "hls" (its hls4ml project behind an AXI-Stream wrapper, exported by Vitis HLS: codesign.deploy_hls).
    """
    run_dir, out = Path(run_dir), Path(out)
    if ip not in IP_KINDS:
        raise DeployError(f"--ip {ip!r} is not an IP kind; choose one of {list(IP_KINDS)}")
    if vectors < 1:
        raise DeployError(f"--vectors must be at least 1, got {vectors}")
    zip_path = out.with_name(out.name + ".zip")
    if out.exists() and not (out / "manifest.json").exists() and any(out.iterdir()):
        raise DeployError(f"{out} exists and is not a codesign deploy package; choose another --out or remove it")
    cfg, spec, report, meta = load_run(run_dir)
    board = board or cfg["board"]
    bset = board_settings(board)
    clock_mhz = float(bset["clock_mhz"] if clock_mhz is None else clock_mhz)
    lo, hi = CLOCK_RANGE_MHZ
    if not lo <= clock_mhz <= hi:
        raise DeployError(f"--clock-mhz {clock_mhz:g} is outside {lo:g}..{hi:g} MHz; pick a fabric clock the "
                          f"{bset['name']} can make (its default is {bset['clock_mhz']} MHz)")
    repo = ""
    if board_repo is not None:
        if not Path(board_repo).is_dir():
            raise DeployError(f"--board-repo {board_repo} is not a folder; give the folder holding the Vivado "
                              f"board files of {bset['name']} (from {bset['board_files']})")
        repo = Path(board_repo).resolve().as_posix()
    layout = stream_layout(meta, spec)
    lp = meta["load_port"]
    if lp["addr_width"] > 31 or CTRL_DATA + 4 * -(-lp["data_width"] // 32) > CTRL_WINDOW:
        raise DeployError(f"the load port ({lp['addr_width']} address bits, {lp['data_width']} data bits) does not fit "
                          f"the {CTRL_WINDOW}-byte AXI-Lite window; fold the widest layer to fewer lanes")
    rtl_dir = run_dir / "rtl"
    sources = used_sources(rtl_dir, meta["sources"], meta["top"])
    mems = mem_files_of(rtl_dir, sources, meta)
    thr = report.get("throughput", {})
    vec = test_vectors(cfg, spec, run_dir, vectors)
    sha = spec_hash(run_dir / "spec")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if ip == "rtl":
            (tmp / "rtl").mkdir()
            for f in sources + mems:
                shutil.copyfile(rtl_dir / f, tmp / "rtl" / f)
            shutil.copyfile(ip_dir("boards") / "rtl" / f"{CTRL}.v", tmp / "rtl" / f"{CTRL}.v")
            (tmp / "rtl" / f"{WRAPPER}.v").write_text(_wrapper(meta, layout, sha[:8]))
            rtl_files = sources + [f"{CTRL}.v", f"{WRAPPER}.v"]
        else:  # the hls4ml project is the IP: hls/ instead of rtl/ (codesign.deploy_hls)
            from .deploy_hls import hls_project, write_hls_ip

            project = hls_project(run_dir, spec, cfg, tmp / ".hls4ml")
            write_hls_ip(tmp, project, layout, bset["part"], clock_mhz)
            shutil.copyfile(ip_dir("boards") / "hls" / "csim_main.cpp", tmp / "hls" / "csim_main.cpp")
            shutil.rmtree(tmp / ".hls4ml", ignore_errors=True)
            rtl_files, mems = [], []
        (tmp / "vivado").mkdir()
        (tmp / "vivado" / "build.tcl").write_text(_build_tcl(bset, rtl_files, mems, layout, clock_mhz, meta["top"],
                                                             repo, allow_timing_fail, ip=ip))
        (tmp / "pynq").mkdir()
        for f in PYNQ_FILES:
            shutil.copyfile(ip_dir("boards") / "pynq" / f, tmp / "pynq" / f)
        np.savez(tmp / "pynq" / "test_vectors.npz", **vec)

        rtl_checked = None
        if "rtl_outputs" in vec:
            m = len(vec["rtl_outputs"])
            rtl_checked = int(np.all(vec["rtl_outputs"] == vec["expected"][:m], axis=1).sum())
        manifest = {
            "format": FORMAT,
            "run": str(run_dir.resolve()),
            "board": board,
            "part": bset["part"],
            "board_part": bset["board_part"],
            "board_files": bset["board_files"],
            "board_repo": repo or None,
            "clock_mhz": clock_mhz,
            "allow_timing_fail": bool(allow_timing_fail),
            "ip": ip,
            "spec": {"name": spec.name, "sha256": sha, "layers": len(spec.layers),
                     "macs": int(spec.total_macs())},
            "top": WRAPPER,
            "model_top": meta["top"],
            "rtl_files": rtl_files,
            "mem_files": mems,
            "stream": layout,
            "folding": meta["folding"],
            "throughput": {k: thr[k] for k in ("cycles_per_inference", "latency_cycles", "bound_cycles",
                                               "mac_utilization", "clock_mhz") if k in thr},
            "generation_cycles": meta.get("generation_cycles", 0),
            "dma": {"name": "axi_dma_0", "in_word_bits": layout["in_word_bits"],
                    "out_word_bits": layout["out_word_bits"], "memory_width": bset["dma_width"]},
            "ctrl": None if ip == "hls" else {
                "name": "codesign_0", "spec_id": sha[:8], "window": CTRL_WINDOW, "data": CTRL_DATA,
                "load_port": lp, "registers": {"id": 0x00, "ctrl": 0x04, "sel": 0x08, "addr": 0x0C,
                                               "info": 0x10, "writes": 0x14}},
            "bitstream": {"bit": f"pynq/{BIT_NAME}.bit", "hwh": f"pynq/{BIT_NAME}.hwh",
                          "built": False, "note": "written by vivado/build.tcl, not by codesign deploy"},
            "test_vectors": {"file": "pynq/test_vectors.npz", "samples": len(vec["x_int"]),
                             "source": f"first samples of the {cfg['data']['dataset']} test split (seed {cfg['seed']})",
                             "expected": "emulator output integers",
                             "rtl_simulation_equal": rtl_checked,
                             "rtl_simulation_samples": None if rtl_checked is None else len(vec["rtl_outputs"])},
        }
        if meta.get("lock") or meta.get("input_perm"):  # a locked design: what the driver needs to write a decrypted key (no secret)
            from .techniques.lock.deploy import lock_manifest

            manifest["lock"] = lock_manifest(run_dir, spec, meta)
        if "resources" in report:
            manifest["resources_yosys"] = report["resources"]
        if "cycles_per_inference" not in thr:
            manifest["throughput"]["note"] = "report.json has no throughput (RTL not simulated)"
        (tmp / "README.md").write_text(_readme(manifest))
        (tmp / "pynq" / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
        manifest["files"] = {f: _sha256(tmp / f) for f in files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        tmp_zip = tmp.with_name(tmp.name + ".zip")
        with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(tmp.rglob("*")):
                if p.is_file():
                    z.write(p, (Path(out.name) / p.relative_to(tmp)).as_posix())
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        tmp_zip.replace(zip_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.with_name(tmp.name + ".zip").unlink(missing_ok=True)
        raise
    return manifest
