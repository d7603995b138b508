"""PYNQ driver of a codesign deploy package: the model behind an AXI DMA on a Zynq.

Copy the package's pynq/ folder to the board (after vivado/build.tcl wrote codesign.bit and
codesign.hwh into it) and:

    from codesign_driver import CodesignOverlay
    ov = CodesignOverlay("codesign.bit")
    y_int = ov.run_int(x_int)        # output integers, one row per sample (what the emulator computes)
    labels = ov.predict(x_uint8)     # uint8 pixels, p means p/256

Only numpy is needed to pack and unpack; `pynq` is imported when an overlay is opened, so this module
also loads on a workstation (the tests use it there).

Stream layout (manifest.json "stream", from the generated top, codesign.rtl.generate): one DMA word
per AXI-Stream beat. An input beat holds `in_beat` elements of `in_width` bits, element 0 in the low
bits (sim/axis_stream.py pack_beats); a sample is zero-padded to `in_padded` elements, so it is
`in_beats_per_sample` beats. An output beat holds `out_beat` elements of `out_width` bits, two's
complement when `out_signed`; a sample is `out_beats_per_sample` beats whose first `outputs` elements
are the model's. A beat sits in the low bits of a DMA word of `in_word_bits` / `out_word_bits` bits
(a power of two, as AXI DMA needs), upper bits zero, little-endian in memory: a buffer of words is a
uint8 array of shape (beats, word_bits // 8).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LAYOUT_KEYS = ("in_beat", "in_width", "in_padded", "in_word_bits", "out_beat", "out_width", "out_signed",
               "out_padded", "outputs", "out_word_bits")


def load_layout(manifest=None) -> dict:
    """The "stream" section of a package's manifest.json (default: the one next to this file)."""
    path = Path(manifest) if manifest else HERE / "manifest.json"
    layout = json.loads(path.read_text())["stream"]
    missing = [k for k in LAYOUT_KEYS if k not in layout]
    if missing:
        raise ValueError(f"{path}: stream layout lacks {missing}")
    return layout


def _to_words(codes: np.ndarray, width: int, word_bits: int) -> np.ndarray:
    """(beats, elements) unsigned codes < 2**width -> (beats, word_bits // 8) uint8, element 0 lowest."""
    beats, per = codes.shape
    if per * width > word_bits:
        raise ValueError(f"{per} x {width} bits do not fit a {word_bits}-bit word")
    bits = (codes[:, :, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
    flat = np.zeros((beats, word_bits), np.uint8)
    flat[:, :per * width] = bits.reshape(beats, per * width)
    return np.packbits(flat, axis=1, bitorder="little")


def _from_words(words: np.ndarray, per: int, width: int, signed: bool) -> np.ndarray:
    """(beats, bytes) uint8 words -> (beats, per) int64, the inverse of _to_words (+ sign extension)."""
    words = np.ascontiguousarray(words, dtype=np.uint8)
    bits = np.unpackbits(words, axis=1, bitorder="little")[:, :per * width].astype(np.uint64)
    bits = bits.reshape(words.shape[0], per, width)
    codes = (bits << np.arange(width, dtype=np.uint64)).sum(axis=2, dtype=np.uint64).astype(np.int64)
    if signed:
        codes = np.where(codes >= (1 << (width - 1)), codes - (1 << width), codes)
    return codes


def pack_inputs(x_int, layout: dict) -> np.ndarray:
    """Input integers (samples x elements, or samples x input shape) -> the MM2S buffer, uint8 words."""
    x = np.asarray(x_int)
    x = x.reshape(x.shape[0], -1).astype(np.int64)
    s, n = x.shape
    if n > layout["in_padded"]:
        raise ValueError(f"{n} input elements per sample, the design takes {layout['in_padded']}")
    lo, hi = (-(1 << (layout["in_width"] - 1)), (1 << (layout["in_width"] - 1)) - 1) if layout.get("in_signed") \
        else (0, (1 << layout["in_width"]) - 1)
    if x.size and (x.min() < lo or x.max() > hi):
        raise ValueError(f"input integers outside {lo}..{hi} (the input type's range)")
    xp = np.zeros((s, layout["in_padded"]), np.int64)
    xp[:, :n] = x
    codes = (xp & ((1 << layout["in_width"]) - 1)).astype(np.uint64)
    return _to_words(codes.reshape(-1, layout["in_beat"]), layout["in_width"], layout["in_word_bits"])


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


def quantize_pixels(x_uint8, layout: dict) -> np.ndarray:
    """uint8 pixels (p means p/256) -> input integers, for the input types where that is exact.

    codesign's input is ufixed<8,0> (the pixel itself); a spec with another input type is quantized on
    the host with codesign.emulator.Emulator(spec).quantize_input.
    """
    t = layout.get("input_type", {"width": 8, "integer": 0, "signed": False})
    x = np.asarray(x_uint8)
    if x.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {x.dtype}")
    frac = t["width"] - t["integer"]
    if t["signed"] or frac < 8 or t["integer"] < 0:
        raise ValueError(f"input type {t} is not a lossless home for uint8/256 pixels; quantize on the host "
                         "with codesign's Emulator(spec).quantize_input")
    return x.reshape(x.shape[0], -1).astype(np.int64) << (frac - 8)


class CodesignOverlay:
    """The bitstream of a deploy package on a PYNQ board: DMA send/recv of packed samples."""

    def __init__(self, bitfile=None, manifest=None, download: bool = True, dma: str = "axi_dma_0"):
        from pynq import Overlay  # lazy: the pack/unpack functions above need numpy only

        self.layout = load_layout(manifest)
        self.overlay = Overlay(str(bitfile or HERE / "codesign.bit"), download=download)
        self.dma = getattr(self.overlay, dma)
        self.last_seconds = None

    def run_words(self, in_words: np.ndarray, out_beats: int) -> np.ndarray:
        """Send one buffer of input words, receive out_beats output words (one DMA transfer each way)."""
        from pynq import allocate

        in_words = np.asarray(in_words, np.uint8)
        ibuf = allocate(shape=in_words.shape, dtype=np.uint8)
        obuf = allocate(shape=(out_beats, self.layout["out_word_bits"] // 8), dtype=np.uint8)
        try:
            ibuf[:] = in_words
            ibuf.flush()
            t0 = time.perf_counter()
            self.dma.recvchannel.transfer(obuf)  # receive first: the S2MM side is ready when results come
            self.dma.sendchannel.transfer(ibuf)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            self.last_seconds = time.perf_counter() - t0
            obuf.invalidate()
            return np.array(obuf, dtype=np.uint8)
        finally:
            ibuf.freebuffer()
            obuf.freebuffer()

    def run_int(self, x_int, batch: int = 1024) -> np.ndarray:
        """Output integers of the design for input integers (samples x elements), `batch` samples per transfer."""
        x = np.asarray(x_int)
        x = x.reshape(x.shape[0], -1)
        per = self.layout["out_padded"] // self.layout["out_beat"]
        outs, seconds = [], 0.0
        for i in range(0, len(x), batch):
            chunk = x[i:i + batch]
            words = self.run_words(pack_inputs(chunk, self.layout), len(chunk) * per)
            seconds += self.last_seconds
            outs.append(unpack_outputs(words, self.layout, len(chunk)))
        self.last_seconds = seconds
        return np.concatenate(outs) if outs else np.zeros((0, self.layout["outputs"]), np.int64)

    def predict(self, x_uint8, batch: int = 1024) -> np.ndarray:
        """Class labels (argmax of the outputs) for uint8 pixels."""
        return np.argmax(self.run_int(quantize_pixels(x_uint8, self.layout), batch), axis=1)
