"""Host-side packing of the deploy driver against hls4ml's PYNQ driver convention, on the same data.

    python bench/deploy_packing.py PKG [--samples 1024]      (PKG: a `codesign deploy` package)

Measures, on the first `samples` MNIST test images as real values p/256 (what a user feeds), the time
and the memory peak (tracemalloc) of turning them into the bytes the MM2S DMA sends:
  hls4ml      np.vectorize of a per-element encode (hls4ml's VivadoAccelerator axi_stream_driver.py
              docstring: `encode_v = np.vectorize(encode)`), then the copy into the DMA buffer;
  codesign    codesign_driver.encode_real + pack_inputs into a buffer allocated once (the package's driver);
  codesign_u8 the same from uint8 pixels (quantize_pixels, the byte fast path);
  per_bit     the first codesign driver's packing (one uint64 per bit), for the record.
Every variant's integers are checked equal to hls4ml's encode before a time is kept. Writes
bench/results/deploy_packing.json (ratios measured in this one run).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_driver(pkg: Path):
    spec = importlib.util.spec_from_file_location("codesign_driver_bench", pkg / "pynq" / "codesign_driver.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def per_bit_pack(x_int, layout):
    """The first driver's packing: every bit through a uint64 (kept to measure what was replaced)."""
    x = np.asarray(x_int).reshape(len(x_int), -1).astype(np.int64)
    xp = np.zeros((x.shape[0], layout["in_padded"]), np.int64)
    xp[:, :x.shape[1]] = x
    codes = (xp & ((1 << layout["in_width"]) - 1)).astype(np.uint64).reshape(-1, layout["in_beat"])
    beats, per = codes.shape
    width = layout["in_width"]
    bits = (codes[:, :, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)
    flat = np.zeros((beats, layout["in_word_bits"]), np.uint8)
    flat[:, :per * width] = bits.reshape(beats, per * width)
    return np.packbits(flat, axis=1, bitorder="little")


def measure(fn, repeats: int):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, min(times), peak


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pkg", type=Path)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "deploy_packing.json")
    args = ap.parse_args(argv)
    drv = load_driver(args.pkg)
    manifest = json.loads((args.pkg / "manifest.json").read_text())
    layout = manifest["stream"]
    t = layout["input_type"]
    frac = t["width"] - t["integer"]
    from codesign.config import load_config
    from codesign.data import load_dataset

    cfg = load_config(Path(manifest["run"]) / "config.yaml")
    x_u8 = load_dataset(cfg["data"], cfg["seed"]).x_test[:args.samples]
    n = len(x_u8)
    x_real = x_u8.reshape(n, -1).astype(np.float64) / 256.0  # the real values a user holds
    beats = n * layout["in_beats_per_sample"]
    buf = np.zeros((beats, layout["in_word_bits"] // 8), np.uint8)  # the DMA buffer, allocated once
    elem_dtype = np.uint8 if t["width"] <= 8 else np.int16
    hls_buf = np.zeros(x_real.shape, elem_dtype)

    def encode(xi):  # hls4ml's documented per-element encode, for this input type
        return elem_dtype(round(xi * 2 ** frac))

    encode_v = np.vectorize(encode)

    def hls4ml():
        hls_buf[:] = encode_v(x_real)
        return hls_buf

    def ours():
        return drv.pack_inputs(drv.encode_real(x_real, layout), layout, out=buf)

    def ours_u8():
        return drv.pack_inputs(drv.quantize_pixels(x_u8, layout), layout, out=buf)

    def per_bit():
        return per_bit_pack(drv.quantize_pixels(x_u8, layout), layout)

    ref, t_hls, m_hls = measure(hls4ml, max(1, args.repeats // 2))
    ref = ref.astype(np.int64).copy()
    results = {}
    for name, fn in (("codesign", ours), ("codesign_u8", ours_u8), ("per_bit", per_bit)):
        words, secs, peak = measure(fn, args.repeats)
        got = drv.unpack_inputs(words, layout, n)[:, :ref.shape[1]]
        if not np.array_equal(got, ref):
            raise SystemExit(f"{name}: packed integers differ from hls4ml's encode")
        results[name] = {"seconds": secs, "peak_bytes": peak}
    doc = {
        "command": f"python bench/deploy_packing.py {args.pkg} --samples {args.samples}",
        "package": str(args.pkg), "spec": manifest["spec"]["name"], "samples": n,
        "input": {"elements": layout["in_elements"], "type": t, "beat": layout["in_beat"],
                  "word_bits": layout["in_word_bits"], "buffer_bytes": int(buf.nbytes)},
        "hls4ml_vectorize": {"seconds": t_hls, "peak_bytes": m_hls},
        **results,
        "speedup_vs_hls4ml": t_hls / results["codesign"]["seconds"],
        "speedup_vs_hls4ml_uint8": t_hls / results["codesign_u8"]["seconds"],
        "speedup_vs_per_bit": results["per_bit"]["seconds"] / results["codesign_u8"]["seconds"],
        "integers_equal": True,
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "cpus": __import__("os").cpu_count()},
        "note": "best of --repeats (hls4ml: of half as many); memory peak by tracemalloc over one more call; "
                "the machine is shared, so absolute times vary, the ratios are measured in this one run",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    for k in ("hls4ml_vectorize", "codesign", "codesign_u8", "per_bit"):
        r = doc[k]
        print(f"{k:18s} {r['seconds'] * 1e3:9.2f} ms   peak {r['peak_bytes'] / 2**20:7.2f} MiB")
    print(f"speed-up over hls4ml np.vectorize: {doc['speedup_vs_hls4ml']:.0f}x (real inputs), "
          f"{doc['speedup_vs_hls4ml_uint8']:.0f}x (uint8 pixels); over the per-bit packer {doc['speedup_vs_per_bit']:.0f}x")
    return doc


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
