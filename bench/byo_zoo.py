"""hls4ml's three public QKeras zoo models compiled unmodified: spec == QKeras bit for bit, C-sim == emulator.

    python bench/byo_zoo.py ZOO_DIR [--rtl]

ZOO_DIR holds the files of github.com/fastmachinelearning/example-models `keras/` as published:
qkeras_3layer.json + qkeras_3layer_weights.h5 (jet tagger), qkeras_mnist_dense.*, qkeras_mnist_cnn.*.
Each is compiled with `codesign compile` (the public entry point) on its own input type: the jet tagger
and the CNN on fixed<16,6> (the input precision of their hls4ml configs, config-files/*.yml), the dense
model on the ufixed<2,0> its input QActivation declares. Inputs: MNIST (mnist8k.npz under
CODESIGN_DATA, 2,000 images as real values p/255, as Keras' MNIST examples scale them) and, for the jet
tagger (its dataset is not offline here), 2,000 standardized features drawn N(0, 1). Every spec layer is
compared with its QKeras layer on all samples (codesign/verify.py); the hls4ml C-sim and, with --rtl,
the RTL simulation are compared with the emulator integer for integer. Writes bench/results/byo_zoo.json.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ZOO = {"qkeras_3layer": "fixed<16,6>", "qkeras_mnist_dense": None, "qkeras_mnist_cnn": "fixed<16,6>"}
SAMPLES = 2000


def inputs(name: str, shape: tuple) -> tuple[np.ndarray, np.ndarray | None, str]:
    if name == "qkeras_3layer":
        return np.random.default_rng(0).normal(0, 1, (SAMPLES,) + shape).astype(np.float32), None, "N(0,1) features"
    with np.load(Path(os.environ["CODESIGN_DATA"]) / "mnist8k.npz") as npz:
        x, y = npz["x"][-SAMPLES:], npz["y"][-SAMPLES:].astype(np.int64)
    return (x.astype(np.float32) / 255.0).reshape((SAMPLES,) + shape), y, "MNIST p/255"


def one(zoo: Path, name: str, input_type, work: Path, rtl: bool) -> dict:
    from codesign.compile import load_user_model
    from codesign.emulator import Emulator
    from codesign.extract import extract
    from codesign.hls_view import HLSView
    from codesign.spec import DesignSpec
    from codesign.verify import check_against_model

    cmd = [sys.executable, "-m", "codesign", "compile", str(zoo / f"{name}.json"), "--out", str(work / name)]
    if input_type:
        cmd += ["--input-type", input_type]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    res = {"compile_exit_code": proc.returncode, "compile_summary": proc.stdout.strip() or proc.stderr.strip()[-500:]}
    if proc.returncode:
        return res
    spec = DesignSpec.load(work / name)
    model = load_user_model(zoo / f"{name}.json")
    x, y, what = inputs(name, tuple(model.input_shape[1:]))
    emu = Emulator(spec)
    x_int = emu.quantize_input(x)
    ex = extract(model, input_type=spec.input_type if input_type else None)
    check = check_against_model(model, ex.spec, ex.sources, ex.post, x_int, limit=len(x_int))
    ours = emu.run_int(x_int)
    from codesign.fixed import to_real

    keras_out = model.predict(to_real(x_int, spec.input_type).astype(np.float32).reshape(x.shape), verbose=0)
    res.update(input_type=spec.input_type.hls(), inputs=what, samples=len(x), layers=check["layers"],
               layers_bit_exact=check["exact_layers"],
               argmax_equal_keras=float(np.mean(np.argmax(ours, -1) == np.argmax(keras_out, -1))))
    if y is not None:
        res["accuracy"] = {"keras": float(np.mean(np.argmax(keras_out, -1) == y)),
                           "emulator": float(np.mean(np.argmax(ours, -1) == y))}
    t = time.time()
    csim = HLSView(spec, work / f"{name}_hls").compile().csim_int(x_int)
    res["csim_equal_emulator"] = float(np.mean(np.all(csim.reshape(len(csim), -1) == ours.reshape(len(ours), -1), 1)))
    res["csim_build_s"] = round(time.time() - t, 1)
    if rtl:
        from codesign import rtl as rtl_view
        from codesign.rtl_step import rtl_unsupported

        missing = rtl_unsupported(spec)
        if missing:
            res["rtl"] = f"skipped: the engines cannot implement {', '.join(missing)}"
        else:
            try:
                rtl_view.generate(spec, work / f"{name}_rtl")
                n = 200
                r = rtl_view.run(spec, work / f"{name}_rtl", x_int[:n], stalls=True)
                res["rtl_equal_emulator"] = {"samples": n, "mismatched_samples": int(r.mismatched_samples)}
            except rtl_view.RTLError as e:
                res["rtl"] = f"skipped: {e}"
    return res


def main(zoo: Path, rtl: bool) -> None:
    out = {}
    with tempfile.TemporaryDirectory(prefix="byo_zoo_") as tmp:
        for name, it in ZOO.items():
            out[name] = one(zoo, name, it, Path(tmp), rtl)
            print(name, json.dumps(out[name]), flush=True)
    path = Path(__file__).parent / "results" / "byo_zoo.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), "--rtl" in sys.argv)
