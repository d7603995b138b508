"""The variants a robustness table compares (float, float_jr, q8, stq, stq_jr, dense_ref), trained with
the run's own `train:` recipe: which layers, quantized or not, JR or not, and distillation from the
teacher `harden.distill.teacher` names (float_jr, or dense_ref: a Kronecker network's dense reference).

Training of every variant lives here, beside codesign/train.py (the loop) and codesign/techniques/ (the
penalties), and so does where a run keeps them (RUN/robustness/<variant>/model.h5); the attacks that
judge the variants live in codesign/robustness.py.
"""
from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def variant_layers(variant: str, layers: list, harden: dict) -> tuple[list, bool, bool]:
    """(layer list, quantized, use JR) of a variant, all from the run's own layer list."""
    from .techniques.kron.reference import dense_twin
    from .techniques.stq_jr.layer import apply_stq, to_q8

    stq_layers = apply_stq(layers, (harden or {}).get("stq"))
    return {"float": (stq_layers, False, False), "float_jr": (stq_layers, False, True),
            "q8": (to_q8(stq_layers), True, False), "stq": (stq_layers, True, False),
            "stq_jr": (stq_layers, True, True), "dense_ref": (dense_twin(stq_layers), True, False)}[variant]


def main_variant(cfg: dict) -> str:
    """The variant `codesign flow` itself trains (and sends through spec, emulator, HLS, RTL)."""
    from .techniques.stq_jr.train import make_regularizer

    return "stq_jr" if make_regularizer(cfg.get("harden")) else "stq"


def training_regularizer(cfg: dict, data, quantized: bool, log=print, trained: dict | None = None):
    """What a model's training adds to its cross-entropy: the config's JR (None without lambdas), and,
    for a quantized model when `harden.distill` is on, distillation from the variant its `teacher` names
    (`float_jr`, which needs JR, or `dense_ref`; codesign/techniques/stq_jr/distill.py), taken from
    `trained` (variant -> model) or trained here and put there."""
    from .techniques.stq_jr.distill import TEACHERS, Distillation
    from .techniques.stq_jr.train import JacobianRegularizer, make_regularizer

    jr = make_regularizer(cfg.get("harden"))
    distill = (cfg.get("harden") or {}).get("distill")
    if not (quantized and distill):
        return jr
    distill = dict(distill)
    teacher = TEACHERS[distill.pop("teacher", "float_jr")]
    if teacher == "float_jr" and not jr:
        return jr
    trained = {} if trained is None else trained
    if teacher not in trained:
        log(f"train: the distillation teacher first ({teacher})")
        trained[teacher] = train_variant(teacher, cfg, data, log, trained)
    return Distillation(trained[teacher], jr or JacobianRegularizer({}), **distill)


def distills(cfg: dict, variant: str) -> bool:
    """Whether `variant` is the student of a `harden.distill` whose teacher needs no JR (teacher: dense):
    the run's own main variant, `stq` for a network without JR lambdas."""
    distill = (cfg.get("harden") or {}).get("distill") or {}
    return distill.get("teacher", "float_jr") != "float_jr" and variant == main_variant(cfg)


def train_variant(variant: str, cfg: dict, data, log=print, trained: dict | None = None):
    """One variant trained with the config's `train:` recipe (JR only for the *_jr variants; `stq_jr`
    distilled from `float_jr` when `harden.distill` is on, the teacher taken from `trained` if there).
    `float` is the plain float32 network: the recipe without `train.adversarial` too, so a config that
    trains its hardened variants adversarially still compares clean accuracy with an ordinary model."""
    from .models import build_model
    from .train import train_from_config

    layers, quantized, jr = variant_layers(variant, cfg["model"]["layers"], cfg.get("harden"))
    t = cfg["train"]
    if variant == "float":  # the plain float32 baseline ("clean within 2 points of float"): no PGD training either
        t = {**t, "adversarial": None}
    model = build_model(layers, data.input_shape, data.num_classes, quantized=quantized, seed=cfg["seed"],
                        name=f"{cfg['name']}_{variant}")
    train_from_config(model, data.x_train, data.y_train, t, cfg["seed"], stochastic=quantized and t["stochastic"],
                      regularizer=training_regularizer(cfg, data, quantized, log, trained) if jr or distills(cfg, variant)
                      else None,
                      progress=lambda e, n, l: log(f"train: {variant} epoch {e}/{n} loss {l:.4f}"))
    return model


def model_size(model, quantized: bool):
    """(stored weight bits, spec or None): the design spec's bits for QKeras, 32 per parameter for float."""
    if not quantized:
        return 32 * int(model.count_params()), None
    from .extract import extract_spec

    spec = extract_spec(model, model.name)
    return int(spec.weight_bits()), spec


def variant_models(run) -> tuple[dict, dict]:
    """({variant: model}, {variant: spec}) of the flow's robustness step, every model saved to
    RUN/robustness/<variant>/: the main variant is the run's own model and spec, the train step's
    float32 baseline or distillation teacher is reused, every other variant is trained here."""
    from .models import save_model

    cfg = run.cfg
    main = main_variant(cfg)
    models, specs = {}, {}
    for variant in cfg["robustness"]["variants"]:
        folder = run.out / "robustness" / variant
        if variant == main:
            models[variant], specs[variant] = run.model, run.spec
            save_model(run.model, folder)
            continue
        if variant not in run.variants:  # else the train step's float32 baseline or distillation teacher
            run.variants[variant] = train_variant(variant, cfg, run.data, run.log, run.variants)
        models[variant] = run.variants[variant]
        save_model(models[variant], folder)
    return models, specs


def load_variant_models(run_dir: Path, cfg: dict) -> dict:
    """{variant: model} a built run saved (`variant_models`), for `codesign robustness RUN_DIR`."""
    from .models import load_model

    models = {}
    for variant in cfg["robustness"]["variants"]:
        folder = run_dir / "robustness" / variant
        if not (folder / "model.h5").exists():
            raise ConfigError(f"{folder / 'model.h5'} is missing: the run was built without the robustness step "
                              "(set `robustness: {enabled: true}` in its config and run `codesign flow`)")
        models[variant] = load_model(folder)
    return models
