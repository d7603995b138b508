"""Robustness of a trained model and of its deployed integer design, judged by ART attacks.

White-box: FGSM, PGD and AutoPGD (APGD-CE and APGD-DLR, Croce & Hein 2020, ART's implementation with a
vectorized DLR loss) through `TensorFlowV2Classifier` (logits, cross-entropy, clip values (0, 255/256)
because a uint8 pixel p means p/256). Black-box: Square (score-based) and HopSkipJump
(decision-based) on a subset with the query budget of the config. Every adversarial example is also
run on the deployed integer emulator exactly as the FPGA would receive it: reals -> uint8 by
floor(x * 256) clipped to 0..255 -> `Emulator(spec).run_int`.

HopSkipJump searches for the *smallest* L-inf perturbation instead of one within eps; its example is
projected onto each eps-ball (x + clip(x_adv - x, -eps, eps)) and judged there, which is never
weaker than counting only found examples within eps.

The deployed integer design is attacked too (`pgd_emulator`): PGD steps differentiate through the Keras
twin (QKeras quantizers are straight-through), and every iterate is scored on the integer emulator, a
sample counting as broken at the first iterate the emulator misclassifies. `emulator_worst_case` is the
per-sample worst case on the emulator over every attack run (the others' examples transferred).

The number to quote is `worst_case`: per sample, robust only if every attack run on it failed
(RobustBench convention); the single attacks are there for diagnosis.

Gradient masking: when a black-box attack leaves lower accuracy than the best white-box attack on
the same samples at the same eps, the white-box figure is not a robustness measure; the variant is
flagged (`gradient_masking.detected`); it is flagged too when the worst case of the strong attacks
(APGD-CE, APGD-DLR, Square) falls more than `masking_margin` below PGD on the same samples (PGD-20
was then blunted, e.g. by quantization).

report.json: ``robustness: {variant: {attack: {epsilon: accuracy}, clean_accuracy (attacked digits),
clean_accuracy_test (whole test split), emulator: {attack: {epsilon: accuracy}}, emulator_clean_accuracy,
emulator_clean_accuracy_test, worst_case, size_kb, weight_bits, gradient_masking,
samples}}`` with epsilon keys written as strings ("0.1").
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .attack_settings import (ATTACKS, BLACK_BOX, CLIP, EMULATOR_ATTACKS, STRONG, VARIANTS,  # noqa: F401
                              WHITE_BOX, eps_key)
from .config_schema import Robustness
from .data import to_model_input
from .errors import ConfigError
from .variants import load_variant_models, main_variant, model_size, variant_layers, variant_models

DEFAULTS = Robustness().model_dump()  # the `robustness:` defaults (keys and bounds: codesign/config_schema.py)

# ---------------------------------------------------------------------------------------------
# attacks

def image_model(model):
    """The model taking (H, W, C) images: ART's Square attack needs image-shaped inputs.

    A model on (H, W) inputs (the MLP's 28x28) gets a channel axis in front, reshaped away."""
    from tensorflow import keras

    shape = tuple(model.input_shape[1:])
    if len(shape) != 2:
        return model
    inp = keras.Input(shape + (1,))
    return keras.Model(inp, model(keras.layers.Reshape(shape)(inp)), name=f"{model.name}_hwc")


# a QKeras layer's quantizer attribute -> the weight it quantizes
_QUANTIZED_WEIGHTS = {"kernel_quantizer_internal": "kernel", "bias_quantizer_internal": "bias",
                      "depthwise_quantizer_internal": "depthwise_kernel"}


@contextmanager
def frozen_quantizers(model):
    """Inside: every QKeras weight quantizer of `model` (nested models too) returns its weight's
    quantized value computed once, held in a non-trainable variable, instead of re-quantizing on every
    call; yields those variables. The inference function is the same (a deployed quantizer is deterministic: stochastic ternary
    rounds to nearest at inference); a stochastic-ternary kernel's quantizer alone was ~12 ms of a 15 ms
    forward pass of the MLP, whatever the batch, and Square makes ~15,000 of them."""
    import tensorflow as tf

    swapped, held_all = [], []

    def layers(m):
        for layer in m.layers:
            yield layer
            if hasattr(layer, "layers"):
                yield from layers(layer)

    for layer in layers(model):
        if type(layer).__name__.endswith("Batchnorm"):  # QKeras quantizes the folded kernel, not self.kernel:
            continue  # left as it is (correct, only not sped up)
        for attr, weight in _QUANTIZED_WEIGHTS.items():
            quantizer, w = getattr(layer, attr, None), getattr(layer, weight, None)
            if quantizer is None or w is None:
                continue
            held = tf.Variable(quantizer(w), trainable=False, name=f"{layer.name}_{weight}_quantized")
            swapped.append((layer, attr, quantizer))
            held_all.append(held)
            setattr(layer, attr, lambda _w, held=held: held)
    try:
        yield held_all  # a function traced inside refers to these: its caller keeps them alive
    finally:
        for layer, attr, quantizer in swapped:
            setattr(layer, attr, quantizer)


class _Compiled:
    """The model's inference call as one traced tf.function (ART calls the model eagerly, batch by
    batch; Square and HopSkipJump make thousands of such calls, ~20x faster traced), traced with the
    weight quantizers frozen (`frozen_quantizers`): ~8x faster again for a stochastic-ternary model.
    `check` compares it with the model's own call on real inputs."""

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        spec = tf.TensorSpec((None,) + tuple(model.input_shape[1:]), tf.float32)
        self._fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        with frozen_quantizers(model) as self.held:
            self._fn.get_concrete_function()  # the one trace (the input signature admits no other)

    def __call__(self, x, training=False):
        import tensorflow as tf

        return self._fn(tf.cast(x, tf.float32))

    def check(self, x: np.ndarray) -> None:
        """The traced call must give the model's own logits on `x`, bit for bit (no silent wrong answer
        from the frozen quantizers: every attack's examples are judged on this function)."""
        mine = self(x).numpy()
        own = self.model.predict(x, batch_size=500, verbose=0)
        if not np.array_equal(mine, own):
            raise AssertionError(f"{self.model.name}: the traced attack model differs from the model on "
                                 f"{int(np.sum(np.any(mine != own, axis=-1)))} of {len(x)} inputs "
                                 f"(max |diff| {float(np.max(np.abs(mine - own))):.3g})")


class DifferenceOfLogitsRatio:
    """DLR loss (Croce & Hein 2020), -(z_y - max_{i!=y} z_i) / (z_(1) - z_(3) + 1e-12), vectorized.

    ART's own TensorFlow DLR loops over the batch in Python and gathers an N x N matrix (143 s vs
    4.8 s for APGD-CE on 200 digits here); this one is the same function in a few tensor ops. ART's
    `compute_loss` sets `reduction` to Keras' names ("none", "sum", "sum_over_batch_size")."""

    def __init__(self):
        self.reduction = "sum_over_batch_size"

    def __call__(self, y_true, y_pred, *args, **kwargs):
        import tensorflow as tf

        y_true = tf.cast(y_true, y_pred.dtype)
        top = tf.sort(y_pred, axis=1, direction="DESCENDING")
        z_y = tf.reduce_sum(y_true * y_pred, axis=1)
        true_is_top = tf.equal(tf.argmax(y_pred, axis=1), tf.argmax(y_true, axis=1))
        z_other = tf.where(true_is_top, top[:, 1], top[:, 0])
        dlr = -(z_y - z_other) / (top[:, 0] - top[:, 2] + 1e-12)
        if self.reduction == "none":
            return dlr
        return tf.reduce_sum(dlr) if self.reduction == "sum" else tf.reduce_mean(dlr)


def classifier(model, loss: str = "cross_entropy"):
    return _art_classifier(_Compiled(model), loss)


def _art_classifier(compiled: _Compiled, loss: str):
    """ART's view of a traced model with cross-entropy or DLR as its loss (the trace is shared)."""
    import tensorflow as tf
    from art.estimators.classification import TensorFlowV2Classifier

    model = compiled.model
    loss_object = (DifferenceOfLogitsRatio() if loss == "dlr"
                   else tf.keras.losses.CategoricalCrossentropy(from_logits=True))
    return TensorFlowV2Classifier(compiled, nb_classes=int(model.output_shape[-1]),
                                  input_shape=tuple(model.input_shape[1:]), loss_object=loss_object,
                                  clip_values=CLIP)


def _onehot(y, n):
    return np.eye(n, dtype=np.float32)[y]


def run_attack(name: str, clf, x: np.ndarray, y: np.ndarray, eps: float | None, r: dict) -> np.ndarray:
    """Adversarial reals for one attack (HopSkipJump ignores eps: minimal L-inf perturbation)."""
    from art.attacks.evasion import (AutoProjectedGradientDescent, FastGradientMethod, HopSkipJump,
                                     ProjectedGradientDescent, SquareAttack)

    yo = _onehot(y, clf.nb_classes)
    bs = r["batch_size"]
    if name == "fgsm":
        atk = FastGradientMethod(clf, norm=np.inf, eps=eps, batch_size=bs)
    elif name == "pgd":
        p = r["pgd"]
        atk = ProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=eps * p["step_ratio"],
                                       max_iter=int(p["steps"]), num_random_init=int(p.get("random_init", 0)),
                                       batch_size=bs, verbose=False)
    elif name in ("apgd_ce", "apgd_dlr"):
        a = r["apgd"]
        if name == "apgd_dlr":  # the same traced model with the DLR loss (ART's loss_type=None path)
            clf = _art_classifier(clf.model, loss="dlr")
        atk = AutoProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=int(a["steps"]),
                                           nb_random_init=int(a["restarts"]), batch_size=bs,
                                           loss_type="cross_entropy" if name == "apgd_ce" else None, verbose=False)
    elif name == "square":
        s = r["square"]
        atk = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=int(s["max_queries"]), nb_restarts=int(s["restarts"]),
                           p_init=float(s["p_init"]), batch_size=bs, verbose=False)
    elif name == "hopskipjump":
        h = r["hopskipjump"]
        atk = HopSkipJump(clf, norm=np.inf, targeted=False, max_iter=int(h["max_iter"]), max_eval=int(h["max_eval"]),
                          init_eval=int(h["init_eval"]), init_size=int(h["init_size"]), batch_size=bs, verbose=False)
        return atk.generate(x=x)
    else:
        raise ValueError(f"unknown attack {name!r}")
    return atk.generate(x=x, y=yo).astype(np.float32)


def to_pixels(x_real: np.ndarray) -> np.ndarray:
    """What the FPGA receives: floor(x * 256) clipped to 0..255, as uint8."""
    return np.clip(np.floor(np.asarray(x_real, np.float64) * 256.0), 0, 255).astype(np.uint8)


def emulator_classes(emu, x_real: np.ndarray) -> np.ndarray:
    """Classes the deployed integer design gives real inputs (argmax of the integer outputs)."""
    q = emu.run_int(emu.quantize_input(to_pixels(x_real)))
    return np.argmax(q.reshape(len(q), -1), axis=-1)


def keras_classes(model, x_real: np.ndarray) -> np.ndarray:
    return np.argmax(model.predict(x_real, batch_size=500, verbose=0), axis=-1)


def worst_case(correct: dict, epsilons) -> tuple[dict, int]:
    """Per sample, robust only if every attack that ran on it failed; over the samples the black-box
    attacks covered (their largest subset; all samples when only white-box attacks ran)."""
    bb = [len(next(iter(correct[a].values()))) for a in BLACK_BOX if a in correct]
    k = max(bb) if bb else max(len(next(iter(v.values()))) for v in correct.values())
    result = {}
    for e in epsilons:
        ok = np.ones(k, bool)
        for per_eps in correct.values():
            c = per_eps[eps_key(e)][:k]
            ok[:len(c)] &= c
        result[eps_key(e)] = float(np.mean(ok))
    return result, k


def detect_masking(correct: dict, tolerance: float = 0.0, margin: float | None = None) -> dict:
    """Signs that a white-box figure is not a robustness measure, on the same samples at the same eps.

    `correct[attack][eps]` is a boolean per-sample array; shorter arrays cover a prefix of the longer.
    A case is recorded (1) per black-box attack that beats the best white-box attack by more than
    `tolerance`, and (2) when `margin` is given, where the per-sample worst case of the strong attacks
    (APGD-CE, APGD-DLR, Square) is more than `margin` below PGD (kind "strong_below_pgd").
    Returns {detected, cases: [...]}.
    """
    cases = []
    for bb in BLACK_BOX:
        for ek, bb_ok in correct.get(bb, {}).items():
            k = len(bb_ok)
            wbs = [(wb, float(np.mean(correct[wb][ek][:k]))) for wb in WHITE_BOX if ek in correct.get(wb, {})]
            if not wbs:
                continue
            wb, wb_acc = min(wbs, key=lambda t: t[1])
            bb_acc = float(np.mean(bb_ok))
            if bb_acc < wb_acc - tolerance:
                cases.append({"kind": "black_box_beats_white_box", "epsilon": ek, "black_box": bb,
                              "black_box_accuracy": bb_acc, "white_box": wb, "white_box_accuracy": wb_acc,
                              "samples": int(k)})
    if margin is not None:
        for ek, pgd_ok in correct.get("pgd", {}).items():
            strong = [correct[a][ek] for a in STRONG if ek in correct.get(a, {})]
            if not strong:
                continue
            k = min(len(c) for c in strong + [pgd_ok])
            survived = np.logical_and.reduce([c[:k] for c in strong])
            strong_acc, pgd_acc = float(np.mean(survived)), float(np.mean(pgd_ok[:k]))
            if strong_acc < pgd_acc - margin:
                cases.append({"kind": "strong_below_pgd", "epsilon": ek, "strong_accuracy": strong_acc,
                              "pgd_accuracy": pgd_acc, "margin": margin, "samples": int(k),
                              "attacks": [a for a in STRONG if ek in correct.get(a, {})]})
    return {"detected": bool(cases), "cases": cases}


def pgd_on_emulator(clf, emu, x: np.ndarray, y: np.ndarray, eps: float, p: dict, seed: int = 0):
    """L-inf PGD through the Keras twin, scored on the integer emulator at every iterate.

    Random start in the eps-ball, `steps` signed steps of `step_ratio * eps`; a sample is broken at the
    first iterate the emulator misclassifies, and that iterate is kept. Returns (examples, correct)."""
    rng = np.random.default_rng(seed)
    yo = _onehot(y, clf.nb_classes)
    lo, hi = np.clip(x - eps, *CLIP), np.clip(x + eps, *CLIP)
    xa = np.clip(x + rng.uniform(-eps, eps, x.shape).astype(np.float32), lo, hi).astype(np.float32)
    broken = emulator_classes(emu, xa) != y
    best = xa.copy()
    for _ in range(int(p["steps"])):
        grad = clf.loss_gradient(xa, yo)
        xa = np.clip(xa + eps * float(p["step_ratio"]) * np.sign(grad), lo, hi).astype(np.float32)
        now = emulator_classes(emu, xa) != y
        fresh = now & ~broken
        best[fresh] = xa[fresh]
        broken |= now
    best[~broken] = xa[~broken]
    return best, ~broken


def evaluate_model(model, x_uint8: np.ndarray, y: np.ndarray, r: dict, spec=None, log=print) -> dict:
    """Accuracy under every configured attack and eps, for Keras and (given a spec) the emulator."""
    n = min(r["samples"], len(x_uint8))
    model = image_model(model)
    x = to_model_input(x_uint8[:n]).reshape((n,) + tuple(model.input_shape[1:]))
    y_all = np.asarray(y, dtype=np.int64)
    y = y_all[:n]
    clf = classifier(model)
    clf.model.check(x)
    emu = None
    if spec is not None:
        from .emulator import Emulator

        emu = Emulator(spec)
    out: dict = {"clean_accuracy": float(np.mean(keras_classes(model, x) == y))}
    if emu is not None:
        out["emulator_clean_accuracy"] = float(np.mean(emulator_classes(emu, x) == y))
    # clean accuracy on the whole test split too (the attacked digits are its first `samples`)
    x_all = to_model_input(x_uint8).reshape((len(x_uint8),) + tuple(model.input_shape[1:]))
    out["clean_accuracy_test"] = float(np.mean(keras_classes(model, x_all) == y_all))
    if emu is not None:
        out["emulator_clean_accuracy_test"] = float(np.mean(emulator_classes(emu, x_all) == y_all))
    correct: dict = {}      # attack -> eps -> per-sample bool, judged on Keras
    emu_correct: dict = {}  # the same examples (and pgd_emulator's) judged on the integer emulator
    samples = {}
    from .progress import advance

    runs = [a for a in ATTACKS if a in r["attacks"] and (a not in EMULATOR_ATTACKS or emu is not None)]
    seconds: dict = {}  # attack -> {wall, cpu}: where an evaluation's time goes (cpu: every thread of the process)
    for attack in [a for a in ATTACKS if a in r["attacks"]]:
        if attack in EMULATOR_ATTACKS and emu is None:
            continue  # a float variant has no integer design to attack
        t0 = (time.perf_counter(), time.process_time())
        k = n if attack not in BLACK_BOX else min(n, int(r[attack]["samples"]))
        samples[attack] = k
        xs, ys = x[:k], y[:k]
        keras_ok, emu_ok = {}, {}
        hsj = run_attack(attack, clf, xs, ys, None, r) if attack == "hopskipjump" else None
        for e in r["epsilons"]:
            ek = eps_key(e)
            if hsj is not None:
                xa = np.clip(xs + np.clip(hsj - xs, -e, e), *CLIP).astype(np.float32)
            elif attack == "pgd_emulator":
                xa, emu_ok[ek] = pgd_on_emulator(clf, emu, xs, ys, float(e), r["pgd_emulator"])
            else:
                xa = run_attack(attack, clf, xs, ys, float(e), r)
            linf = float(np.max(np.abs(xa - xs))) if k else 0.0
            if linf > e + 1e-6:
                raise AssertionError(f"{attack} left the eps={e} ball (L-inf {linf})")
            if attack not in EMULATOR_ATTACKS:
                keras_ok[ek] = keras_classes(model, xa) == ys
                if emu is not None:
                    emu_ok[ek] = emulator_classes(emu, xa) == ys
            advance("robustness: attack runs (attack x ε)", runs.index(attack) * len(r["epsilons"])
                    + r["epsilons"].index(e) + 1, len(runs) * len(r["epsilons"]))
        if keras_ok:
            correct[attack] = keras_ok
            out[attack] = {ek: float(np.mean(v)) for ek, v in keras_ok.items()}
        else:  # scored on the emulator only
            out[attack] = {ek: float(np.mean(v)) for ek, v in emu_ok.items()}
        if emu_ok:
            emu_correct[attack] = emu_ok
        seconds[attack] = {"wall": round(time.perf_counter() - t0[0], 2), "cpu": round(time.process_time() - t0[1], 2)}
        log(f"robustness: {attack} " + " ".join(f"eps={ek}: {a:.3f}" for ek, a in out[attack].items())
            + f" ({seconds[attack]['wall']:.1f} s wall, {seconds[attack]['cpu']:.1f} CPU-s)")
    if emu is not None:
        out["emulator"] = {a: {ek: float(np.mean(v)) for ek, v in per.items()} for a, per in emu_correct.items()}
        out["emulator_worst_case"], _ = worst_case(emu_correct, r["epsilons"])
    out["worst_case"], k = worst_case(correct, r["epsilons"])
    out["samples"] = {"clean": n, "clean_test": len(x_uint8), **samples, "worst_case": k}
    out["gradient_masking"] = detect_masking(correct, r.get("masking_tolerance", 0.0), r.get("masking_margin"))
    out["seconds"] = seconds
    return out


def evaluate_variants(models: dict, cfg: dict, data, specs: dict | None = None, log=print) -> dict:
    """{variant: result} for already-trained models; specs given are used, others are extracted."""
    r = cfg["robustness"]
    result = {}
    for variant, model in models.items():
        quantized = variant_layers(variant, cfg["model"]["layers"], cfg.get("harden"))[1]
        bits, spec = model_size(model, quantized)
        if specs and variant in specs:
            spec = specs[variant]
        log(f"robustness: evaluating {variant} ({bits / 8192:.1f} KB of weights)")
        res = evaluate_model(model, data.x_test, data.y_test, r, spec=spec, log=log)
        res.update(weight_bits=bits, size_kb=round(bits / 8192, 2))
        ordered = {a: res.pop(a) for a in ATTACKS if a in res}
        result[variant] = {**ordered, **res}
    return result


def run_robustness(run) -> None:
    """The flow's robustness step: the variants (trained and saved by codesign/variants.py), every one
    attacked, plots + tables written."""
    models, specs = variant_models(run)
    run.report["robustness"] = evaluate_variants(models, run.cfg, run.data, specs, run.log)
    plot(run.report["robustness"], run.out / "plots" / "robustness.png")


def rerun(run_dir, log=print) -> dict:
    """`codesign robustness RUN_DIR`: re-evaluate the saved variant models of a built run."""
    from .config import load_config
    from .data import load_dataset
    from .spec import DesignSpec

    run_dir = Path(run_dir)
    if not (run_dir / "report.json").exists():
        raise ConfigError(f"{run_dir} has no report.json: not a finished `codesign flow` run folder")
    cfg = load_config(run_dir / "config.yaml")
    cfg["robustness"]["enabled"] = True
    data = load_dataset(cfg["data"], cfg["seed"])
    models = load_variant_models(run_dir, cfg)
    specs = {main_variant(cfg): DesignSpec.load(run_dir / "spec")} if (run_dir / "spec").exists() else {}
    rob = evaluate_variants(models, cfg, data, specs, log)
    report = json.loads((run_dir / "report.json").read_text())
    report["robustness"] = rob
    plot(rob, run_dir / "plots" / "robustness.png")
    from .report import write_reports

    write_reports(report, run_dir, cfg)
    append_markdown(run_dir, report, cfg)
    return rob


# ---------------------------------------------------------------------------------------------
# plots and tables

def plot(rob: dict, path: Path) -> None:
    # no pyplot: a notebook's inline backend stays as it is
    from .report_plots import subplots

    attacks = [a for a in ATTACKS + ("worst_case",) if any(a in v for v in rob.values())]
    # at most four panels a row: eight in one row shrink below what a report page can show
    cols = min(4, len(attacks))
    rows = -(-len(attacks) // cols)
    fig, axes = subplots(rows, cols, figsize=(3.6 * cols, 3.2 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(attacks):]:
        ax.set_visible(False)
    for ax, attack in zip(flat, attacks):
        for variant, res in rob.items():
            if attack not in res:
                continue
            eps = [0.0] + [float(e) for e in res[attack]]
            acc = [res["clean_accuracy"]] + list(res[attack].values())
            ax.plot(eps, acc, marker="o", label=variant)
        ax.set_title(attack)
        ax.set_xlabel("L-inf epsilon")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("accuracy")
    flat[len(attacks) - 1].legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def markdown(rob: dict, cfg: dict) -> str:
    r = cfg["robustness"]
    eps = [eps_key(e) for e in r["epsilons"]]
    p, s, h = r["pgd"], r["square"], r["hopskipjump"]
    lines = ["## robustness (tables)", "",
             f"L-inf attacks on the first test digits (clip (0, 255/256)); PGD {p['steps']} steps of "
             f"{p['step_ratio']}·eps; APGD-CE/DLR {r['apgd']['steps']} iterations, {r['apgd']['restarts']} "
             f"restart(s); Square {s['max_queries']} queries; HopSkipJump max_iter {h['max_iter']}, "
             f"max_eval {h['max_eval']}. **Robust accuracy = `worst_case`**: a sample counts only if it survives "
             "every attack run on it; the single attacks below are for diagnosis. "
             "Emulator = the deployed integer design on floor(x·256) pixels.", "",
             "| variant | size KB | clean | emulator clean | gradient masking | "
             + " | ".join(f"worst-case ε={e}" for e in eps) + " | "
             + " | ".join(f"emulator worst-case ε={e}" for e in eps) + " |",
             "|---|---|---|---|---|" + "---|" * (2 * len(eps))]
    for v, res in rob.items():
        gm = res["gradient_masking"]
        flag = ("**yes**: " + "; ".join(_masking_case(c) for c in gm["cases"]) if gm["detected"] else "no")
        emu = res.get("emulator_clean_accuracy")
        lines.append(f"| {v} | {res['size_kb']:.1f} | {res['clean_accuracy']:.3f} | "
                     f"{'—' if emu is None else f'{emu:.3f}'} | {flag} | "
                     + " | ".join(f"{res['worst_case'][e]:.3f}" for e in eps) + " | "
                     + " | ".join(f"{res['emulator_worst_case'][e]:.3f}" if "emulator_worst_case" in res else "—"
                                  for e in eps) + " |")
    lines.append("")
    for attack in [a for a in ATTACKS if a in r["attacks"]]:
        lines += [f"**{attack}** (Keras model / deployed emulator)", "",
                  "| variant | samples | " + " | ".join(f"ε={e}" for e in eps) + " |",
                  "|---|---|" + "---|" * len(eps)]
        for v, res in rob.items():
            if attack not in res:  # pgd_emulator: only variants with an integer design
                continue
            emu = res.get("emulator", {}).get(attack, {})
            cells = [f"{res[attack][e]:.3f}" + (f" / {emu[e]:.3f}" if e in emu else "") for e in eps]
            note = " (gradient masking: not a robustness figure)" if (
                attack in WHITE_BOX and res["gradient_masking"]["detected"]) else ""
            lines.append(f"| {v}{note} | {res['samples'][attack]} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["![robust accuracy vs epsilon](plots/robustness.png)", ""]
    return "\n".join(lines)


def _masking_case(c: dict) -> str:
    if c.get("kind") == "strong_below_pgd":
        return (f"APGD/Square worst case {c['strong_accuracy']:.3f} < PGD {c['pgd_accuracy']:.3f} - "
                f"{c['margin']} at ε={c['epsilon']}")
    return (f"{c['black_box']} {c['black_box_accuracy']:.3f} < {c['white_box']} {c['white_box_accuracy']:.3f} "
            f"at ε={c['epsilon']}")


def append_markdown(out: Path, report: dict, cfg: dict) -> None:
    """Add the robustness tables to report.md, then rewrite report.json so it stays the last file written."""
    if "robustness" not in report:
        return
    md = Path(out) / "report.md"
    md.write_text(md.read_text() + "\n" + markdown(report["robustness"], cfg))
    js = Path(out) / "report.json"
    js.write_text(js.read_text())
