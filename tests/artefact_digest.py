"""Digest of every artefact the views derive from a set of design specs, to show a refactor changed none.

Why: a refactor of the view code (the layer-kind registry, issue #17) must leave every spec, emulator
output, hls4ml project file and generated RTL file byte-identical. This script builds them for
- the examples' models (digits and MNIST configs, every layer kind they use), built untrained from
  their seed, saved and loaded back (models.py) and extracted into specs (extract.py runs too),
- random specs of every kind the views implement (dense, conv2d + maxpool2d + flatten, kron_dense,
  wings_dense, a locked dense layer),
- any saved spec folders given with --spec (e.g. specs of real trained runs),
and prints one JSON object {artefact: sha256}. Run it once with the old code first on PYTHONPATH and
once with the new, then compare:

    PYTHONPATH=OLD_TREE python tests/artefact_digest.py --work /tmp/a > old.json
    PYTHONPATH=NEW_TREE python tests/artefact_digest.py --work /tmp/b > new.json
    python tests/artefact_digest.py --compare old.json new.json

Nothing here compiles the C-sim or runs Verilator: it digests the files those tools would read.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIGS = ("digits_mlp.yaml", "mnist_mlp.yaml", "mnist_cnn.yaml", "mnist_mlp_kron.yaml",
                   "mnist_mlp_stq_jr.yaml", "mnist_cnn_stq_jr.yaml", "mnist_mlp_wings.yaml", "mnist_cnn_wings.yaml")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _array_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return _sha(f"{a.dtype.str}{a.shape}".encode() + a.tobytes())


def _folder_digests(folder: Path, prefix: str, out: dict, replace: dict | None = None) -> None:
    """Every file under folder; `replace`: bytes to normalise first (the run's own folder, a random stamp)."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".keras":  # a zip with save dates: the twin's config and weights are digested instead
            continue
        data = path.read_bytes()
        for old, new in (replace or {}).items():
            data = data.replace(old, new)
        out[f"{prefix}/{rel}"] = _sha(data)


def example_specs(tmp: Path, out: dict) -> list:
    """Specs of the examples' (untrained, seeded) QKeras models, plus digests of the models' weights,
    before and after a save + load (which finds the custom layers' classes)."""
    from codesign.config import load_config
    from codesign.extract import extract_spec
    from codesign.models import build_model, load_model, save_model
    from codesign.variants import variant_layers  # the STQ layer list; unlike apply_stq's, its module stays put

    shapes = {"digits": ((8, 8), 10), "mnist": ((28, 28), 10)}
    specs = []
    for name in EXAMPLE_CONFIGS:
        cfg = load_config(ROOT / "examples" / name)
        shape, classes = shapes[cfg["data"]["dataset"]]
        layers = variant_layers("stq", cfg["model"]["layers"], cfg["harden"])[0]
        models = {q: build_model(layers, shape, classes, quantized=q, seed=cfg["seed"], name=cfg["name"])
                  for q in (True, False)}
        for quantized, model in models.items():
            for i, w in enumerate(model.get_weights()):
                out[f"model/{name}/{'q' if quantized else 'float'}/{i}"] = _array_digest(np.asarray(w))
        save_model(models[True], tmp / "models" / name)
        for i, w in enumerate(load_model(tmp / "models" / name).get_weights()):
            out[f"model/{name}/q_reloaded/{i}"] = _array_digest(np.asarray(w))
        specs.append(extract_spec(models[True], cfg["name"]))
    return specs


def random_specs() -> list:
    from codesign.rtl.random_spec import (INPUT_TYPE, mnist_like, random_cnn, random_dense, random_kron,
                                          random_mlp, random_wings)
    from codesign.spec import DesignSpec

    specs = [random_mlp(3, [20, 12, 7, 4]), mnist_like(1), random_cnn(2)]
    rng = np.random.default_rng(9)
    k = random_kron(rng, "kron0", 4, 4, 4, 2, 2, INPUT_TYPE, relu=True, exact_mid=True)
    d = random_dense(rng, "dense1", 8, 3, k.out_type, exact_output=True)
    specs.append(DesignSpec("kron_chain", (16,), INPUT_TYPE, [k, d]))
    g = random_wings(rng, "wings0", 4, 4, 6, 2, 3, INPUT_TYPE, relu=True)
    d = random_dense(rng, "dense1", 6, 3, g.out_type, exact_output=True)
    specs.append(DesignSpec("wings_chain", (16,), INPUT_TYPE, [g, d]))
    h = random_dense(rng, "dense0", 16, 8, INPUT_TYPE, relu=True)
    h.attrs["lock"] = {"units": 8}
    specs.append(DesignSpec("locked_mlp", (16,), INPUT_TYPE,
                            [h, random_dense(rng, "dense1", 8, 4, h.out_type, exact_output=True)]))
    return specs


def digest_spec(spec, tmp: Path, out: dict, hls: bool = True) -> None:
    from codesign.compression import compression_report
    from codesign.emulator import Emulator
    from codesign.rtl.generate import generate
    from codesign.rtl_step import rtl_unsupported
    from codesign.spec import DesignSpec

    key = spec.name
    spec.validate()
    folder = spec.save(tmp / key / "spec")
    out[f"{key}/spec/spec.json"] = _sha((folder / "spec.json").read_bytes())
    with np.load(folder / "params.npz") as npz:
        for k in sorted(npz.files):
            out[f"{key}/spec/params/{k}"] = _array_digest(npz[k])
    spec = DesignSpec.load(folder)
    out[f"{key}/macs"] = _sha(json.dumps([l.macs() for l in spec.layers] + [spec.total_macs(), spec.weight_bits()]).encode())
    out[f"{key}/compression"] = _sha(json.dumps(compression_report(spec), sort_keys=True).encode())
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64,) + tuple(spec.input_shape), dtype=np.int64).astype(np.uint8)
    emu = Emulator(spec)
    q = emu.quantize_input(x)
    out[f"{key}/emulator/out"] = _array_digest(emu.run_int(q))
    for layer in spec.layers:
        out[f"{key}/emulator/upto/{layer.name}"] = _array_digest(emu.run_int(q, upto=layer.name))
    if hls:
        from codesign.hls_view import HLSView

        view = HLSView(spec, tmp / key / "hls")
        out[f"{key}/hls/config"] = _sha(json.dumps(view.config, sort_keys=True, default=str).encode())
        try:
            view.model.write()
        except Exception as e:  # noqa: BLE001 -- an hls4ml failure is an artefact too: it must stay the same
            out[f"{key}/hls/error"] = f"{type(e).__name__}: {e}"
        out[f"{key}/hls/twin.json"] = _sha(view.twin.to_json().encode())
        for i, w in enumerate(view.twin.get_weights()):
            out[f"{key}/hls/twin/{i}"] = _array_digest(np.asarray(w))
        hls_dir = tmp / key / "hls"
        config = hls_dir / "hls4ml_config.yml"
        stamp = re.search(rb"Stamp: '?(\w+)", config.read_bytes()) if config.exists() else None
        replace = {str(hls_dir.resolve()).encode(): b"<HLS_DIR>", str(hls_dir).encode(): b"<HLS_DIR>"}
        if stamp:  # random per project; YAML quotes it when it is all digits
            replace[b"'" + stamp.group(1) + b"'"] = b"<STAMP>"
            replace[stamp.group(1)] = b"<STAMP>"
        _folder_digests(hls_dir, f"{key}/hls", out, replace)
    out[f"{key}/rtl/unsupported"] = _sha(json.dumps(rtl_unsupported(spec)).encode())
    if not rtl_unsupported(spec):
        meta = generate(spec, tmp / key / "rtl")
        out[f"{key}/rtl/meta"] = _sha(json.dumps(meta, sort_keys=True).encode())
        _folder_digests(tmp / key / "rtl", f"{key}/rtl", out)


def compare(old: Path, new: Path) -> int:
    a, b = json.loads(old.read_text()), json.loads(new.read_text())
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    for k in diff:
        print(f"DIFFERS {k}: {a.get(k, 'missing')[:12]} -> {b.get(k, 'missing')[:12]}")
    print(f"{len(a)} artefacts before, {len(b)} after, {len(diff)} differ")
    return 1 if diff else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, help="scratch folder for the generated artefacts")
    p.add_argument("--spec", type=Path, action="append", default=[], help="also digest this saved spec folder")
    p.add_argument("--no-hls", action="store_true", help="skip the hls4ml projects")
    p.add_argument("--no-examples", action="store_true", help="skip the examples' models")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("OLD", "NEW"))
    args = p.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    import codesign
    from codesign.spec import DesignSpec

    print(f"codesign from {Path(codesign.__file__).parent}", file=sys.stderr)
    out: dict = {}
    specs = [] if args.no_examples else example_specs(args.work, out)
    specs += random_specs()
    for folder in args.spec:
        s = DesignSpec.load(folder)
        s.name = f"{folder.parent.parent.name}_{folder.parent.name}_{s.name}"
        specs.append(s)
    for spec in specs:
        print(f"digest {spec.name}", file=sys.stderr)
        digest_spec(spec, args.work, out, hls=not args.no_hls)
    print(json.dumps(out, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
