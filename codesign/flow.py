"""`codesign flow`: an ordered list of named steps over one run state, driven by one config.

Like FINN's build_dataflow_steps: data -> train -> spec -> emulator -> hls -> rtl -> report. Each
step reads what earlier steps put on the `Run` and adds its own results; `report.json` is written
last, so a run that fails at any step leaves no report (and a stale one is removed at the start).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .config import dump_config
from .data import load_dataset
from .run import Run


def step_data(run: Run) -> None:
    run.data = load_dataset(run.cfg["data"], run.cfg["seed"])
    run.log(f"data: {run.data.name} {len(run.data.x_train)} train / {len(run.data.x_test)} test")


def step_train(run: Run) -> None:
    from .models import build_model, save_model
    from .techniques.stq_jr.layer import apply_stq
    from .train import keras_accuracy, train_from_config
    from .variants import training_regularizer

    cfg, d = run.cfg, run.data
    t = cfg["train"]
    layers = apply_stq(cfg["model"]["layers"], cfg["harden"]["stq"])
    jr = training_regularizer(cfg, d, quantized=True, log=run.log, trained=run.variants)
    if cfg["harden"].get("wings"):
        from .techniques.wings.train import fitted_wings_model

        run.model, run.report["wings_fit"] = fitted_wings_model(cfg, d, layers, run.log)
    else:
        run.model = build_model(layers, d.input_shape, d.num_classes, quantized=True, seed=cfg["seed"],
                                name=cfg["name"])
    if cfg["harden"].get("lock"):
        from .techniques.lock.flow import start

        run.lock = start(run)
    if jr and any(v > 0 for v in cfg["harden"]["jr"]["layers"].values()):
        run.log(f"train: Jacobian regularization {cfg['harden']['jr']['layers']}, "
                f"{cfg['harden']['jr']['projections']} projection(s)")
    if jr and cfg["harden"]["distill"]:
        teacher = {"float_jr": "the float + JR model", "dense": "the dense reference"}[cfg["harden"]["distill"]["teacher"]]
        run.log(f"train: distillation from {teacher} {cfg['harden']['distill']}")
    if t["adversarial"]:
        run.log(f"train: PGD adversarial training {t['adversarial']}")
    if t["finetune"]:
        run.log(f"train: then {t['finetune']['epochs']} deterministic epochs at lr {t['finetune']['learning_rate']}")
    train_from_config(run.model, d.x_train, d.y_train, t, cfg["seed"], stochastic=t["stochastic"], regularizer=jr,
                      progress=lambda e, n, l: run.log(f"train: epoch {e}/{n} loss {l:.4f}"),
                      batch_hook=run.lock.batch_hook if run.lock else None)
    if run.lock:
        from .techniques.lock.flow import after_train

        after_train(run)
    from .techniques.lock.train import public_model

    save_model(public_model(run.model), run.out / "model")  # a locked model is saved without its lock layers
    acc = run.section("accuracy")
    acc["keras"] = keras_accuracy(run.model, d.x_test, d.y_test)
    run.log(f"train: QKeras test accuracy {acc['keras']:.4f}")
    if cfg["baseline"]["float"]:
        from .variants import train_variant

        base = run.variants["float"] = train_variant("float", cfg, d, run.log)
        acc["float32_baseline"] = keras_accuracy(base, d.x_test, d.y_test)
        run.log(f"train: float32 model of the same shape {acc['float32_baseline']:.4f}")


def step_spec(run: Run) -> None:
    from .compression import compression_report
    from .emulator import Emulator
    from .extract import extract
    from .verify import check_against_model

    ex = extract(run.model, run.cfg["name"])
    run.spec = ex.spec
    from .techniques.lock.train import (
        public_model,  # a locked model is checked without its lock units (no key)
    )

    check = check_against_model(public_model(run.model), run.spec, ex.sources, ex.post,
                                Emulator(run.spec).quantize_input(run.data.x_test))
    run.log(f"spec: equals the Keras model layer by layer on {check['samples']} test samples "
            f"({check['exact_layers']}/{check['layers']} layers bit-exact)")
    run.spec.save(run.out / "spec")
    if run.lock:
        from .techniques.lock.flow import after_spec

        after_spec(run)
    comp = run.report["compression"] = compression_report(run.spec)
    run.log(f"spec: {len(run.spec.layers)} layers, {comp['weight_bits']} stored weight bits "
            f"({comp['ratio']:.1f}x under {comp['baseline']})")


def step_emulator(run: Run) -> None:
    from .emulator import Emulator

    emu = Emulator(run.spec, key=run.lock and run.lock.password)
    run.x_test_int = emu.quantize_input(run.data.x_test)
    run.emulator_out = emu.run_int(run.x_test_int)
    if run.lock:
        from .techniques.lock.flow import after_emulator

        after_emulator(run)
    acc = float(np.mean(np.argmax(run.emulator_out, -1) == run.data.y_test))
    run.section("accuracy")["emulator"] = acc
    run.log(f"emulator: test accuracy {acc:.4f}")


def step_hls(run: Run) -> None:
    from .hls_view import HLSView

    if not run.cfg["hls"]["enabled"]:
        return
    run.log("hls: writing the hls4ml project and compiling its C-sim")
    view = HLSView(run.spec, run.out / "hls", run.cfg["hls"], run.cfg["board"]).compile()
    csim = csim_with_progress(view, run.x_test_int, key=run.lock and run.lock.password)
    equal = np.all(csim.reshape(len(csim), -1) == run.emulator_out.reshape(len(csim), -1), axis=1)
    be = run.section("bit_exact")
    be["samples"] = int(len(equal))
    be["emulator_vs_csim"] = float(np.mean(equal))
    run.section("accuracy")["csim"] = float(np.mean(np.argmax(csim, -1) == run.data.y_test))
    run.log(f"hls: C-sim equals the emulator on {int(equal.sum())}/{len(equal)} test samples")
    if run.lock:
        from .techniques.lock.flow import check_view

        check_view(run, "csim", lambda key: view.csim_int(run.x_test_int, key=key))


def csim_with_progress(view, x_int: np.ndarray, key=None, batch: int = 250) -> np.ndarray:
    """The C-sim on x_int in batches, each moving the "hls: C-sim samples" bar (codesign/progress.py)."""
    from .progress import advance

    outs = []
    for start in range(0, len(x_int), batch):
        outs.append(view.csim_int(x_int[start:start + batch], key=key))
        advance("hls: C-sim samples", min(start + batch, len(x_int)), len(x_int))
    return np.concatenate(outs)


def step_rtl(run: Run) -> None:
    if run.cfg["rtl"]["enabled"]:
        from .rtl_step import run_rtl

        run_rtl(run)


def step_robustness(run: Run) -> None:
    """Baselines (codesign/variants.py) + white/black-box attacks (codesign/robustness.py), only when the
    config enables it."""
    if run.cfg["robustness"]["enabled"]:
        from .robustness import run_robustness

        run_robustness(run)


def write_report(run: Run) -> None:
    from .report import write_reports

    run.report["timing_s"] = run.timing
    write_reports(run.report, run.out, run.cfg)
    if "robustness" in run.report:  # report.md's robustness tables are the step's own (robustness.markdown)
        from .robustness import append_markdown

        append_markdown(run.out, run.report, run.cfg)


STEPS = [("data", step_data), ("train", step_train), ("spec", step_spec), ("emulator", step_emulator),
         ("hls", step_hls), ("rtl", step_rtl), ("robustness", step_robustness)]


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its waited-for children so far."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_flow(cfg: dict, out: Path, log=print) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("report.json", "report.md", "report.html"):
        (out / stale).unlink(missing_ok=True)
    dump_config(cfg, out / "config.yaml")
    run = Run(cfg, out, log)
    start, cpu0 = time.time(), _cpu_s()
    cpu = {}  # CPU seconds per step (this process and its finished children): a busy machine inflates wall time only
    for name, step in STEPS:
        t, c = time.time(), _cpu_s()
        step(run)
        run.timing[name] = round(time.time() - t, 2)
        cpu[name] = round(_cpu_s() - c, 2)
    run.timing["total"] = round(time.time() - start, 2)
    cpu["total"] = round(_cpu_s() - cpu0, 2)
    run.timing["cpu_s"] = cpu
    write_report(run)
    return run.report
