"""PYNQ driver of a codesign deploy package: the model behind an AXI DMA on a Zynq.

Copy the package's pynq/ folder to the board (after vivado/build.tcl wrote codesign.bit and
codesign.hwh into it) and:

    from codesign_driver import CodesignOverlay
    ov = CodesignOverlay("codesign.bit")          # backend="sim": the package's RTL under Verilator
    ov.batch_size = 1024                          # DMA buffers allocated once, for this many samples
    y_int = ov.execute(x_int)                     # output integers, one row per sample (the emulator's)
    y = ov.predict(x_uint8)                       # real-valued outputs (uint8 pixels: p means p/256)
    labels = ov.classify(x_uint8)                 # argmax of the outputs
    ov.throughput_test()                          # DMA time vs packing time
    ov.write_weights([(sel, addr, data), ...])    # load-port words over AXI-Lite (codesign_axil.v)
    ov.unlock("password.enc", "device.key")       # a locked design: decrypt its password, write the key registers
    ov.lock()                                     # clear them again (the no-key design)

Only numpy is needed to pack and unpack; `pynq` is imported when an overlay is opened, so this module
also loads on a workstation (the tests and the sim backend use it there).

Stream layout (manifest.json "stream", from the generated top, codesign.rtl.generate): one DMA word
per AXI-Stream beat. An input beat holds `in_beat` elements of `in_width` bits, element 0 in the low
bits (sim/axis_stream.py pack_beats); a sample is zero-padded to `in_padded` elements, so it is
`in_beats_per_sample` beats. An output beat holds `out_beat` elements of `out_width` bits, two's
complement when `out_signed`; a sample is `out_beats_per_sample` beats whose first `outputs` elements
are the model's. A beat sits in the low bits of a DMA word of `in_word_bits` / `out_word_bits` bits
(a power of two, as AXI DMA needs), upper bits zero, little-endian in memory: a buffer of words is a
uint8 array of shape (beats, word_bits // 8).

Packing is vectorized over beats: elements of 8, 16, 32 or 64 bits are written through a view of
the buffer (the byte fast path), other widths by shifting each element position into its bytes.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LAYOUT_KEYS = ("in_beat", "in_width", "in_padded", "in_word_bits", "out_beat", "out_width", "out_signed",
               "out_padded", "outputs", "out_word_bits")
# AXI-Lite registers of the load port (boards/rtl/codesign_axil.v)
REG_ID, REG_CTRL, REG_SEL, REG_ADDR, REG_INFO, REG_WRITES, REG_DATA = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x20
CTRL_COMMIT, CTRL_RESET = 1, 2
# AXI DMA (PG021, direct register mode): MM2S_DMACR at 0x00, S2MM_DMACR at 0x30, bit 2 = soft reset
DMA_MM2S_CR, DMA_S2MM_CR, DMA_RESET = 0x00, 0x30, 1 << 2


def load_manifest(manifest=None) -> dict:
    path = Path(manifest) if manifest else HERE / "manifest.json"
    return json.loads(path.read_text())


def load_layout(manifest=None) -> dict:
    """The "stream" section of a package's manifest.json (default: the one next to this file)."""
    path = Path(manifest) if manifest else HERE / "manifest.json"
    layout = json.loads(path.read_text())["stream"]
    missing = [k for k in LAYOUT_KEYS if k not in layout]
    if missing:
        raise ValueError(f"{path}: stream layout lacks {missing}")
    return layout


# ---------------------------------------------------------------- packing
def _to_words(codes: np.ndarray, width: int, word_bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """(beats, elements) unsigned codes < 2**width -> (beats, word_bits // 8) uint8, element 0 lowest."""
    beats, per = codes.shape
    nbytes = word_bits // 8
    if per * width > word_bits:
        raise ValueError(f"{per} x {width} bits do not fit a {word_bits}-bit word")
    if out is None:
        out = np.zeros((beats, nbytes), np.uint8)
    else:
        out[:, per * width // 8:] = 0
    if width in (8, 16, 32, 64):  # byte fast path: the elements are the buffer's own little-endian words
        dt = np.dtype(f"<u{width // 8}")
        out[:, :per * width // 8] = np.ascontiguousarray(codes, dtype=dt).view(np.uint8).reshape(beats, -1)
        return out
    if width > 56:
        raise ValueError(f"element width {width} > 56 bits other than 64 is not supported")
    out[:, :(per * width + 7) // 8] = 0
    codes = np.asarray(codes, np.uint64)
    span = (width + 7 + 7) // 8  # bytes an element can touch at any bit offset
    for j in range(per):
        bit = j * width
        b0, shift = bit // 8, bit % 8
        v = codes[:, j] << np.uint64(shift)
        for k in range(min(span, nbytes - b0)):
            out[:, b0 + k] |= ((v >> np.uint64(8 * k)) & np.uint64(0xFF)).astype(np.uint8)
    return out


def _from_words(words: np.ndarray, per: int, width: int, signed: bool) -> np.ndarray:
    """(beats, bytes) uint8 words -> (beats, per) int64, the inverse of _to_words (+ sign extension)."""
    words = np.ascontiguousarray(words, dtype=np.uint8)
    beats = words.shape[0]
    if width in (8, 16, 32, 64):
        dt = np.dtype(f"<{'i' if signed else 'u'}{width // 8}")
        return words[:, :per * width // 8].copy().view(dt).reshape(beats, per).astype(np.int64)
    if width > 56:
        raise ValueError(f"element width {width} > 56 bits other than 64 is not supported")
    codes = np.zeros((beats, per), np.uint64)
    span = (width + 7 + 7) // 8
    mask = np.uint64((1 << width) - 1)
    for j in range(per):
        bit = j * width
        b0, shift = bit // 8, bit % 8
        v = np.zeros(beats, np.uint64)
        for k in range(min(span, words.shape[1] - b0)):
            v |= words[:, b0 + k].astype(np.uint64) << np.uint64(8 * k)
        codes[:, j] = (v >> np.uint64(shift)) & mask
    codes = codes.astype(np.int64)
    if signed:
        codes = np.where(codes >= (1 << (width - 1)), codes - (1 << width), codes)
    return codes


def _input_range(layout: dict) -> tuple[int, int]:
    w = layout["in_width"]
    return (-(1 << (w - 1)), (1 << (w - 1)) - 1) if layout.get("in_signed") else (0, (1 << w) - 1)


def pack_inputs(x_int, layout: dict, out: np.ndarray | None = None) -> np.ndarray:
    """Input integers (samples x elements, or samples x input shape) -> the MM2S buffer, uint8 words.

    `out`: a (beats, bytes) uint8 array to write into (a DMA buffer allocated once), else a new one."""
    x = np.asarray(x_int)
    x = x.reshape(x.shape[0], -1)
    s, n = x.shape
    if n > layout["in_padded"]:
        raise ValueError(f"{n} input elements per sample, the design takes {layout['in_padded']}")
    lo, hi = _input_range(layout)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"input integers outside {lo}..{hi} (the input type's range)")
    w = layout["in_width"]
    code_t = np.uint8 if w <= 8 else np.uint16 if w <= 16 else np.uint32 if w <= 32 else np.uint64
    codes = np.zeros((s, layout["in_padded"]), code_t)
    codes[:, :n] = x.astype(code_t) if lo >= 0 else (x.astype(np.int64) & ((1 << w) - 1)).astype(code_t)
    beats = codes.reshape(-1, layout["in_beat"])
    if out is not None:
        out = out[:beats.shape[0]]
    return _to_words(beats, w, layout["in_word_bits"], out)


def unpack_outputs(words, layout: dict, samples: int | None = None) -> np.ndarray:
    """The S2MM buffer (uint8 words, or any array of those bytes) -> output integers (samples x outputs)."""
    w = np.asarray(words).view(np.uint8).reshape(-1, layout["out_word_bits"] // 8)
    per_sample = layout["out_padded"] // layout["out_beat"]
    if samples is None:
        samples = w.shape[0] // per_sample
    w = w[:samples * per_sample]
    y = _from_words(w, layout["out_beat"], layout["out_width"], bool(layout["out_signed"]))
    return y.reshape(samples, layout["out_padded"])[:, :layout["outputs"]]


def pack_outputs(y_int, layout: dict) -> np.ndarray:
    """Output integers -> the words the hardware writes (padding outputs zero): for tests and replays."""
    y = np.asarray(y_int, np.int64).reshape(len(y_int), -1)
    yp = np.zeros((y.shape[0], layout["out_padded"]), np.int64)
    yp[:, :y.shape[1]] = y
    codes = (yp & ((1 << layout["out_width"]) - 1)).astype(np.uint64)
    return _to_words(codes.reshape(-1, layout["out_beat"]), layout["out_width"], layout["out_word_bits"])


def unpack_inputs(words, layout: dict, samples: int | None = None) -> np.ndarray:
    """The inverse of pack_inputs (padding dropped only up to in_padded): for tests and replays."""
    w = np.asarray(words).view(np.uint8).reshape(-1, layout["in_word_bits"] // 8)
    x = _from_words(w, layout["in_beat"], layout["in_width"], bool(layout.get("in_signed")))
    x = x.reshape(-1, layout["in_padded"])
    return x if samples is None else x[:samples]


def words_to_ints(words) -> list[int]:
    """uint8 words (beats, bytes) -> one Python int per beat (the AXI-Stream tdata value)."""
    return [int.from_bytes(bytes(row), "little") for row in np.asarray(words, np.uint8)]


def ints_to_words(values, word_bits: int) -> np.ndarray:
    """One tdata int per beat -> uint8 words (beats, word_bits // 8)."""
    nbytes = word_bits // 8
    return np.frombuffer(b"".join(int(v).to_bytes(nbytes, "little") for v in values), np.uint8).reshape(-1, nbytes)


# ---------------------------------------------------------------- real values <-> integers
def _frac(t: dict) -> int:
    return t["width"] - t["integer"]


def quantize_pixels(x_uint8, layout: dict) -> np.ndarray:
    """uint8 pixels (p means p/256) -> input integers, for the input types where that is exact.

    codesign's input is ufixed<8,0> (the pixel itself); a spec with another input type is quantized on
    the host with codesign.emulator.Emulator(spec).quantize_input.
    """
    t = layout.get("input_type", {"width": 8, "integer": 0, "signed": False})
    x = np.asarray(x_uint8)
    if x.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {x.dtype}")
    frac = _frac(t)
    if t["signed"] or frac < 8 or t["integer"] < 0:
        raise ValueError(f"input type {t} is not a lossless home for uint8/256 pixels; quantize on the host "
                         "with codesign's Emulator(spec).quantize_input")
    return x.reshape(x.shape[0], -1).astype(np.int64) << (frac - 8)


def encode_real(x, layout: dict) -> np.ndarray:
    """Real values -> input integers of the input type (its rounding TRN/RND and overflow SAT/WRAP), vectorized."""
    t = layout["input_type"]
    x = np.asarray(x, np.float64)
    x = x.reshape(x.shape[0], -1) * float(2 ** _frac(t))
    q = np.floor(x + 0.5) if str(t.get("rounding", "TRN")).startswith("RND") else np.floor(x)
    q = q.astype(np.int64)
    lo, hi = _input_range(layout)
    if str(t.get("overflow", "WRAP")).startswith("SAT"):
        return np.clip(q, lo, hi)
    w = t["width"]
    q &= (1 << w) - 1
    return q - (1 << w) * (q > hi) if t["signed"] else q


def decode_outputs(y_int, layout: dict) -> np.ndarray:
    """Output integers -> their real values (the output type's scale)."""
    return np.asarray(y_int, np.float64) * 2.0 ** -_frac(layout["output_type"])


def load_register_writes(writes, data_width: int) -> list[tuple[int, int]]:
    """Load-port words (sel, addr, data) -> the AXI-Lite register writes (offset, value) that commit them."""
    nw = -(-data_width // 32)
    regs = []
    for sel, addr, data in writes:
        data = int(data)
        if not 0 <= data < (1 << data_width) or not 0 <= int(sel) < 256 or int(addr) < 0:
            raise ValueError(f"load-port word ({sel}, {addr}, {data}) outside the port's widths")
        regs += [(REG_SEL, int(sel)), (REG_ADDR, int(addr))]
        regs += [(REG_DATA + 4 * k, (data >> (32 * k)) & 0xFFFFFFFF) for k in range(nw)]
        regs.append((REG_CTRL, CTRL_COMMIT))
    return regs


# ---------------------------------------------------------------- lock key (a locked design, manifest "lock")
SEALED_FORMAT, PASSWORD_FORMAT, DEVICE_KEY_FORMAT = ("codesign-lock-sealed/1", "codesign-lock-password/1",
                                                     "codesign-device-key/1")


def open_password(sealed, device_key, spec_sha256: str) -> dict:
    """The decrypted password's layers (neuron locks); see open_password_doc."""
    return open_password_doc(sealed, device_key, spec_sha256)["layers"]


def open_password_doc(sealed, device_key, spec_sha256: str) -> dict:
    """Decrypt a sealed password (codesign/techniques/lock/seal.py: AES-256-GCM, the spec digest as associated data)
    with a device key file; its layers {name: {units, indices, values, scales}}. Raises ValueError on a
    wrong device key, a tampered file or a password sealed for another design."""
    import base64

    from cryptography.exceptions import (
        InvalidTag,  # lazy: only a locked design needs it
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    doc = json.loads(Path(sealed).read_text())
    key_doc = json.loads(Path(device_key).read_text())
    if doc.get("format") != SEALED_FORMAT or key_doc.get("format") != DEVICE_KEY_FORMAT:
        raise ValueError(f"{sealed} / {device_key}: not a sealed codesign password and a device key")
    if doc.get("spec_sha256") != spec_sha256:
        raise ValueError(f"{sealed} was sealed for another design; use the password of this package's run")
    try:
        text = AESGCM(bytes.fromhex(key_doc["key"])).decrypt(bytes.fromhex(doc["nonce"]),
                                                              base64.b64decode(doc["ciphertext"]),
                                                              bytes.fromhex(spec_sha256))
    except InvalidTag:
        raise ValueError(f"{sealed} does not open with {device_key}: wrong device key or a tampered file") from None
    pw = json.loads(text)
    if pw.get("format") != PASSWORD_FORMAT:
        raise ValueError(f"{sealed} holds no codesign lock password")
    return pw


def perm_register_writes(perms: dict | None, lock: dict, root) -> list[tuple[int, int, int]]:
    """Load-port words (sel, addr, data) of each input-permutation lock of the manifest: the dense
    engine's whole weight memory from the package's public image (root/rtl/...) with its rows permuted
    by the password's permutation (memory row perm[j] <- public row j; None: the identity, no key), as
    codesign/rtl/lock.py key_writes does."""
    writes = []
    for u in lock.get("perms", []):
        sf, simd, nf, pe, ww = u["sf"], u["simd"], u["nf"], u["pe"], u["ww"]
        perm = np.arange(u["n"]) if perms is None else np.asarray(perms[u["layer"]]["perm"], np.int64)
        if perm.shape != (u["n"],) or not np.array_equal(np.sort(perm), np.arange(u["n"])):
            raise ValueError(f"the password's permutation of {u['layer']!r} is not one of its {u['n']} inputs")
        words = [int(w, 16) for w in (Path(root) / u["image"]).read_text().split()]
        width = pe * simd * ww
        codes = np.array([[(w >> (k * ww)) & ((1 << ww) - 1) for k in range(pe * simd)] for w in words], np.int64)
        rows = codes.reshape(nf, sf, pe, simd).transpose(1, 3, 0, 2).reshape(sf * simd, nf * pe)
        out = rows.copy()
        out[perm] = rows[:u["n"]]
        back = out.reshape(sf, simd, nf, pe).transpose(2, 0, 3, 1).reshape(nf * sf, pe * simd)
        for a, lanes in enumerate(back):
            word = 0
            for k, c in enumerate(lanes):
                word |= int(c) << (k * ww)
            writes.append((u["sel"], a, word & ((1 << width) - 1)))
    return writes


def key_register_writes(layers: dict | None, lock: dict) -> list[tuple[int, int, int]]:
    """Load-port words (sel, addr, data) filling every key register of the manifest's lock units from a
    password's layers (None: all zero, no key). Locking value x scale is put on the output type's grid
    as codesign does (round half to even, saturate); word b lane p holds {value, mask} of neuron b*PE+p."""
    writes = []
    for u in lock["units"]:
        mask = np.zeros(u["units"], np.int64)
        value = np.zeros(u["units"], np.int64)
        if layers is not None:
            p = layers[u["layer"]]
            if p["units"] != u["units"]:
                raise ValueError(f"the password's layer {u['layer']!r} has {p['units']} neurons, the design {u['units']}")
            idx = np.asarray(p["indices"], np.int64)
            real = np.asarray(p["values"], np.float64) * np.asarray(p["scales"], np.float64)
            mask[idx] = 1
            value[idx] = np.clip(np.round(real * 2.0 ** u["frac"]), u["qmin"], u["qmax"]).astype(np.int64)
        ow, pe = u["out_w"], u["pe"]
        for b in range(u["nf"]):
            word = 0
            for lane in range(pe):
                j = b * pe + lane
                if j < mask.size and mask[j]:
                    word |= (((int(value[j]) & ((1 << ow) - 1)) << 1) | 1) << (lane * (ow + 1))
            writes.append((u["sel"], b, word))
    return writes


# ---------------------------------------------------------------- devices
class PynqDevice:
    """The bitstream on a PYNQ board: an AXI DMA in direct mode and the load-port AXI-Lite registers."""

    def __init__(self, bitfile, download: bool = True, dma: str = "axi_dma_0", ctrl: str = "codesign_0",
                 timeout: float = 10.0):
        from pynq import (
            Overlay,  # lazy: the pack/unpack functions above need numpy only
        )

        self.overlay = Overlay(str(bitfile or HERE / "codesign.bit"), download=download)
        self.dma = getattr(self.overlay, dma)
        self.ctrl = getattr(self.overlay, ctrl, None)
        self.timeout = timeout
        self.in_buffer = self.out_buffer = None

    def allocate(self, in_shape, out_shape) -> None:
        from pynq import allocate

        self.free()
        self.in_buffer = allocate(shape=in_shape, dtype=np.uint8)
        self.out_buffer = allocate(shape=out_shape, dtype=np.uint8)

    def free(self) -> None:
        for b in (self.in_buffer, self.out_buffer):
            if b is not None:
                b.freebuffer()
        self.in_buffer = self.out_buffer = None

    def _wait(self, channel, what: str) -> None:
        t0 = time.perf_counter()
        while not channel.idle:
            if getattr(channel, "error", False):
                self.reset()
                raise RuntimeError(f"AXI DMA {what} channel reported an error; the DMA and the model were reset")
            if time.perf_counter() - t0 > self.timeout:
                self.reset()
                raise TimeoutError(f"AXI DMA {what} did not finish in {self.timeout:g} s (a stalled stream?); "
                                   "the DMA and the model were reset, the transfer is lost")
        channel.wait()  # idle: returns at once, lets pynq finish its bookkeeping

    def transfer(self, in_beats: int, out_beats: int) -> float:
        """Send in_beats words of in_buffer, receive out_beats words into out_buffer; seconds of DMA."""
        ib, ob = self.in_buffer, self.out_buffer
        ib.flush()
        t0 = time.perf_counter()
        self.dma.recvchannel.transfer(ob, nbytes=out_beats * ob.shape[1])  # receive first: S2MM ready
        self.dma.sendchannel.transfer(ib, nbytes=in_beats * ib.shape[1])
        self._wait(self.dma.sendchannel, "MM2S (send)")
        self._wait(self.dma.recvchannel, "S2MM (receive)")
        seconds = time.perf_counter() - t0
        ob.invalidate()
        return seconds

    def write(self, offset: int, value: int) -> None:
        if self.ctrl is None:
            raise RuntimeError("this bitstream has no codesign_0 AXI-Lite registers (built by an older codesign)")
        self.ctrl.write(offset, int(value))

    def read(self, offset: int) -> int:
        if self.ctrl is None:
            raise RuntimeError("this bitstream has no codesign_0 AXI-Lite registers (built by an older codesign)")
        return int(self.ctrl.read(offset))

    def reset(self) -> None:
        """Soft-reset both DMA channels and the model + stream wrapper (after an aborted transfer)."""
        for cr in (DMA_MM2S_CR, DMA_S2MM_CR):
            self.dma.write(cr, DMA_RESET)
        t0 = time.perf_counter()
        while any(self.dma.read(cr) & DMA_RESET for cr in (DMA_MM2S_CR, DMA_S2MM_CR)):
            if time.perf_counter() - t0 > 1.0:
                raise TimeoutError("AXI DMA did not leave reset in 1 s; reload the overlay")
        if self.ctrl is not None:
            self.ctrl.write(REG_CTRL, CTRL_RESET)
            self.ctrl.write(REG_CTRL, 0)
        self.dma.sendchannel.start()
        self.dma.recvchannel.start()


class CodesignOverlay:
    """The design of a deploy package behind a DMA, on the board (backend "pynq") or simulated ("sim").

    Both backends share this API and the same packed DMA words, so host code and check.py run the same.
    """

    def __init__(self, bitfile=None, manifest=None, download: bool = True, dma: str = "axi_dma_0",
                 ctrl: str = "codesign_0", backend: str = "pynq", batch_size: int = 1024, timeout: float = 10.0,
                 **sim_options):
        self.manifest = load_manifest(manifest)
        self.layout = load_layout(manifest)
        self.package_root = (Path(manifest) if manifest else HERE / "manifest.json").resolve().parent.parent
        if backend == "pynq":
            self.device = PynqDevice(bitfile, download, dma, ctrl, timeout)
        elif backend == "sim":
            from sim_backend import (
                SimDevice,  # next to this file in the package's pynq/
            )

            if self.manifest.get("ip") == "hls":
                raise RuntimeError("the sim backend runs a package's RTL IP; this package's IP is the hls4ml project "
                                   "(--ip hls): use backend='csim' (its C simulation)")
            self.device = SimDevice(self.manifest, **sim_options)
        elif backend == "csim":
            from csim_backend import (
                CSimDevice,  # the HLS IP (--ip hls) compiled with g++
            )

            self.device = CSimDevice(self.manifest, **sim_options)
        else:
            raise ValueError(f"backend must be 'pynq', 'sim' or 'csim', got {backend!r}")
        self.backend = backend
        self.last_seconds = None
        self.timing = {}
        self._batch_size = 0
        self.batch_size = batch_size

    # -- buffers
    @property
    def batch_size(self) -> int:
        return self._batch_size

    @batch_size.setter
    def batch_size(self, n: int) -> None:
        """Samples per DMA transfer; the buffers are (re)allocated here only, never per batch."""
        n = int(n)
        if n < 1:
            raise ValueError(f"batch_size must be at least 1, got {n}")
        if n == self._batch_size:
            return
        s = self.layout
        self.device.allocate((n * s["in_padded"] // s["in_beat"], s["in_word_bits"] // 8),
                             (n * s["out_padded"] // s["out_beat"], s["out_word_bits"] // 8))
        self._batch_size = n

    # -- inference
    def execute(self, x_int) -> np.ndarray:
        """Output integers of the design for input integers (samples x elements), batch_size per transfer."""
        x = np.asarray(x_int)
        x = x.reshape(x.shape[0], -1)
        s = self.layout
        per_in, per_out = s["in_padded"] // s["in_beat"], s["out_padded"] // s["out_beat"]
        outs = []
        t = {"pack_s": 0.0, "dma_s": 0.0, "unpack_s": 0.0}
        for i in range(0, len(x), self._batch_size):
            chunk = x[i:i + self._batch_size]
            t0 = time.perf_counter()
            pack_inputs(chunk, s, out=self.device.in_buffer)
            t1 = time.perf_counter()
            t["dma_s"] += self.device.transfer(len(chunk) * per_in, len(chunk) * per_out)
            t2 = time.perf_counter()
            outs.append(unpack_outputs(self.device.out_buffer[:len(chunk) * per_out], s, len(chunk)))
            t["pack_s"] += t1 - t0
            t["unpack_s"] += time.perf_counter() - t2
        self.timing = dict(t, samples=int(len(x)))
        self.last_seconds = t["dma_s"]
        return np.concatenate(outs) if outs else np.zeros((0, s["outputs"]), np.int64)

    def run_int(self, x_int, batch: int | None = None) -> np.ndarray:
        """execute() with an optional batch size (kept for scripts written against the first driver)."""
        if batch is not None:
            self.batch_size = batch
        return self.execute(x_int)

    def to_int(self, x) -> np.ndarray:
        """Model inputs -> input integers: uint8 pixels exactly, floats by the input type's rounding."""
        x = np.asarray(x)
        return quantize_pixels(x, self.layout) if x.dtype == np.uint8 else encode_real(x, self.layout)

    def predict(self, x) -> np.ndarray:
        """Real-valued outputs (the output type's scale) for uint8 pixels or real inputs."""
        return decode_outputs(self.execute(self.to_int(x)), self.layout)

    def classify(self, x) -> np.ndarray:
        """Class labels (argmax of the outputs)."""
        return np.argmax(self.execute(self.to_int(x)), axis=1)

    def throughput_test(self, samples: int | None = None) -> dict:
        """Runs `samples` (default batch_size) zero inputs; DMA time vs host packing time, as FINN's driver does."""
        n = int(samples or self._batch_size)
        self.execute(np.zeros((n, self.layout["in_elements"]), np.int64))
        t = self.timing
        host = t["pack_s"] + t["unpack_s"]
        return {"samples": n, "batch_size": self._batch_size, "backend": self.backend,
                "dma_s": t["dma_s"], "pack_s": t["pack_s"], "unpack_s": t["unpack_s"],
                "dma_inferences_per_s": n / t["dma_s"] if t["dma_s"] else float("nan"),
                "host_inferences_per_s": n / host if host else float("nan"),
                "total_inferences_per_s": n / (host + t["dma_s"]) if host + t["dma_s"] else float("nan")}

    # -- the load port (AXI-Lite) and recovery
    def spec_id(self) -> str:
        """The spec id the hardware reports (first 32 bits of its spec sha256, hex)."""
        return f"{self.device.read(REG_ID):08x}"

    def check_id(self) -> None:
        if not self.manifest.get("ctrl"):
            return  # an HLS IP (--ip hls) has no id register
        want = self.manifest["ctrl"]["spec_id"]
        got = self.spec_id()
        if got != want:
            raise RuntimeError(f"the loaded bitstream implements spec {got}, this package's manifest says {want}; "
                               "load the package's own codesign.bit")

    def write_weights(self, writes) -> int:
        """Write load-port words (sel, addr, data) -- weights, a fault, a key -- into the running design."""
        if not self.manifest.get("ctrl"):
            raise RuntimeError("this package's IP is the hls4ml project (--ip hls): its weights are compiled in, it "
                               "has no load port; run-time weights, faults and keys need codesign deploy --ip rtl")
        regs = load_register_writes(writes, self.manifest["ctrl"]["load_port"]["data_width"])
        for off, val in regs:
            self.device.write(off, val)
        return len(regs)

    def unlock(self, sealed, device_key) -> int:
        """Decrypt the run's sealed password with the device key and write the key registers (a locked
        design only); returns the AXI-Lite writes made."""
        lock = self.manifest.get("lock")
        if not lock:
            raise ValueError("this package's design has no lock unit; there is no key to write")
        pw = open_password_doc(sealed, device_key, lock["spec_sha256"])
        return self.write_weights(key_register_writes(pw["layers"], lock)
                                  + perm_register_writes(pw.get("perms"), lock, self.package_root))

    def lock(self) -> int:
        """Clear every key register (the design runs without its key)."""
        lock = self.manifest.get("lock")
        if not lock:
            raise ValueError("this package's design has no lock unit; there is no key to clear")
        return self.write_weights(key_register_writes(None, lock) + perm_register_writes(None, lock, self.package_root))

    def reset(self) -> None:
        """Reset the DMA and the model after an aborted or timed-out transfer (weights written stay)."""
        self.device.reset()

    def close(self) -> None:
        self.device.free()
