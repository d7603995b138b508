"""The run configuration's schema: every key of a `codesign flow` config, its default and its bound, in one place.

pydantic v2 models, strict (YAML's types as written: no "3" -> 3, no true -> 1) and `extra="forbid"` (a
typo'd key is an error). Each field's description is what `codesign config --schema` hands an editor and
what the config reference page (docs/gen_config.py) prints; its bounds are both the check and the schema.

What depends on the model's layers (is `dense_7` a layer? does a relu follow it?) is checked after this,
in codesign/config.py. A pydantic error becomes ONE `ConfigError` line naming the dotted key, the value
given and what is allowed (`config_error`), as every other bad-input error of the CLI.
"""
from __future__ import annotations

import typing
from typing import Annotated, Any, Literal, Optional, Union

from annotated_types import Ge, Gt, Le, Lt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from .attack_settings import ATTACKS, EMULATOR_ATTACKS, VARIANTS
from .boards import BOARDS
from .data import DATASETS
from .errors import ConfigError

SCHEMA_ID = "codesign-config.schema.json"
# rtl.opt: C++ optimisation of the verilated model -> Verilator make variables (codesign/rtl/toolchain.py).
# "fast" (-O2) evaluates ~1.5x faster than Verilator's default -Os and suits long runs (thousands of
# samples); "quick" (-O0) compiles fastest and suits unit benches that simulate a few thousand cycles.
OPT_LEVELS = {"fast": "OPT_FAST=-O2", "default": "", "quick": "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"}


class Section(BaseModel):
    """A mapping of known keys: strict types, unknown keys refused. `MUST` overrides the generated
    "must be ..." text of a key's error where the bound alone does not say enough."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=False)
    MUST: typing.ClassVar[dict[str, str]] = {}


def _switch(value):
    """An optional block: null/false is off, true is on with every default, a mapping sets some keys."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


def optional_block(model: type[Section]):
    """The annotation of an optional block of `model`'s keys (`_switch` semantics)."""
    return Annotated[Optional[model], BeforeValidator(_switch, json_schema_input_type=Union[model, bool, None])]


def _range(value):
    """A secret drawn per neuron: a number (fixed) or [low, high] (uniform); stored as [low, high]."""
    if isinstance(value, list):
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError("not [low, high]")
        return [float(v) for v in value]
    return [float(value), float(value)]


# ------------------------------------------------------------------------------------------- data, model
class Data(Section):
    dataset: Literal[tuple(sorted(DATASETS))] = Field(
        "mnist", description="dataset to train and test on (offline: the npz files in $CODESIGN_DATA)")
    train: Optional[int] = Field(None, ge=1, description="training samples; null: the dataset's default split")
    test: Optional[int] = Field(None, ge=1, description="test samples; null: the dataset's default split")


def _layers_json_schema(field_schema: dict) -> None:
    """Editors complete layer kinds and their arguments: each list item is one `kind: {args}` mapping with
    the kinds and keys codesign/models.py knows (which checks them, with the values, when a config loads)."""
    from .models import LAYER_KEYS, REQUIRED

    kinds = {kind: {"type": ["object", "null"], "additionalProperties": False,
                    "required": sorted(REQUIRED.get(kind, ())), "properties": {k: {} for k in sorted(keys)}}
             for kind, keys in LAYER_KEYS.items()}
    item = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "properties": kinds}
    for branch in field_schema.get("anyOf", [field_schema]):
        if branch.get("type") == "array":
            branch["items"] = item


class ModelSection(Section):
    MUST = {"layers": "a list of layers (see examples/mnist_mlp.yaml)"}
    layers: Optional[list[Any]] = Field(
        None, description="the network, one `kind: {args}` mapping per layer (dense, conv2d, relu, maxpool2d, "
                          "flatten, kron_dense, wings_dense); required", json_schema_extra=_layers_json_schema)


# ------------------------------------------------------------------------------------------------ train
class Adversarial(Section):
    """PGD adversarial training (Madry et al. 2018) on inputs p/256 (codesign/train.py)."""
    MUST = {"epsilon": "an L-inf radius in (0, 1] on inputs p/256",
            "mix": "a number in (0, 1] (weight of the adversarial loss)",
            "step_ratio": "a number in (0, 1] (step = step_ratio * epsilon)",
            "warmup": "an integer number of epochs >= 0"}
    epsilon: float = Field(0.1, gt=0, le=1, description="L-inf radius on the model input (pixel / 256)")
    steps: int = Field(7, ge=1, description="PGD steps per batch")
    step_ratio: float = Field(0.25, gt=0, le=1, description="step size as a fraction of epsilon")
    mix: float = Field(0.5, gt=0, le=1, description="weight of the adversarial cross-entropy; 1 - mix on the clean one")
    warmup: int = Field(0, ge=0, description="epochs over which epsilon ramps linearly up to `epsilon` (0: full "
                                            "from the start)")


class Finetune(Section):
    """A last phase with stochastic quantizers deterministic (the deployed network), every variant alike."""
    epochs: int = Field(5, ge=0, description="epochs of the final phase")
    learning_rate: float = Field(3e-4, gt=0, description="its Adam learning rate (a fresh optimizer)")


class Train(Section):
    MUST = {"ema": "null or a momentum in (0, 1) such as 0.99"}
    epochs: int = Field(10, ge=0, description="epochs of the main phase")
    batch_size: int = Field(64, ge=1, description="samples per step")
    learning_rate: float = Field(0.001, gt=0, description="Adam learning rate")
    stochastic: bool = Field(True, description="stochastic quantizers (STQ) sample while training")
    adversarial: optional_block(Adversarial) = Field(None, description="null (off) | " + Adversarial.__doc__)
    finetune: optional_block(Finetune) = Field(None, description="null (off) | " + Finetune.__doc__)
    ema: Optional[float] = Field(None, gt=0, lt=1, description="null (off) | momentum: each phase ends on the "
                                                               "exponential moving average of its weights")


class Baseline(Section):
    float: bool = Field(True, description="also train and report the float32 twin of the model")


# ----------------------------------------------------------------------------------------------- harden
class Stq(Section):
    MUST = {"layers": "`all` or a list of layer names"}
    layers: Union[Literal["all"], list[str]] = Field(
        "all", description="`all` (every dense/conv2d kernel but the last layer's) or the layer names")


class Jr(Section):
    """Per-layer Jacobian regularization (Hoffman, Roberts & Yaida 2019), codesign/techniques/stq_jr/train.py."""
    MUST = {"layers": "a mapping of layer names (or `logits`) to lambdas; a lambda must be a number >= 0",
            "warmup": "an integer number of epochs >= 0"}
    layers: Annotated[dict[str, Annotated[float, Ge(0)]], BeforeValidator(lambda v: {} if v is None else v)] = Field(
        {}, description="{layer name or `logits`: lambda}: the Jacobian of that layer (with its activation) or of "
                        "the whole model (`logits`) gets lambda/2 * ||J||_F^2")
    projections: int = Field(1, ge=1, description="random unit projections (vector-Jacobian products) per step")
    jacobian_of: Literal["sampled", "deployed"] = Field(
        "sampled", description="whose Jacobian is penalized while stochastic quantizers train: the network with "
                               "this step's sampled weights, or the deterministic one the design deploys")
    warmup: int = Field(0, ge=0, description="epochs over which every lambda ramps linearly up to its value")


class Wings(Section):
    """Start wings_dense layers from a PCA + SVR fit of a pretrained 8-bit dense twin
    (codesign/techniques/wings/train.py)."""
    pretrain_epochs: int = Field(30, ge=1, description="epochs of the dense twin before the fit")
    permute: bool = Field(True, description="order the generated neurons (and the next layer's inputs) for the fit")


class Distill(Section):
    """The quantized model also learns a teacher's soft labels on perturbed inputs: the float + JR model
    (`teacher: float_jr`, needs JR) or the network's dense reference (`teacher: dense`, every kron_dense
    layer a dense one) (codesign/techniques/stq_jr/distill.py)."""
    MUST = {"epsilon": "an L-inf radius in [0, 1] on inputs p/256",
            "step_ratio": "a number in (0, 1] (step = step_ratio * epsilon)"}
    weight: float = Field(10.0, gt=0, description="factor on T^2 * KL(teacher || student)")
    temperature: float = Field(1.0, gt=0, description="softmax temperature T of both")
    epsilon: float = Field(0.1, ge=0, le=1, description="L-inf radius of the student's inputs x' (pixel / 256); "
                                                         "0: clean inputs")
    steps: int = Field(1, ge=1, description="signed-gradient steps that make x' (after its random start)")
    step_ratio: float = Field(1.0, gt=0, le=1, description="each step's size as a fraction of epsilon")
    teacher: Literal["float_jr", "dense"] = Field(
        "float_jr", description="float_jr: the float32 model of the same layers trained with JR; dense: the same "
                                "network with every kron_dense layer a dense layer of its units and quantizers, "
                                "trained with the same train: recipe (codesign/techniques/kron/reference.py)")


class LockAttacks(Section):
    epochs: int = Field(20, ge=1, description="epochs of each of the thief's training attacks")


class Lock(Section):
    """EdgePro neuron-authorization lock (codesign/techniques/lock/)."""
    MUST = {"layers": "`all` or a non-empty list of layer names",
            "mix": "a fraction in (0, 1) (locked part of a batch)",
            "wrong": "a fraction in [0, 1] (decoy part of the unlocked samples)",
            "value": "a number or [low, high] with low <= high",
            "scale": "a number or [low, high] with low <= high",
            "device_key": "null or a path to a device key file",
            "near": "null or [low, high] with 0 <= low <= high <= 1"}
    scheme: Literal["neuron", "input_perm"] = Field(
        "neuron", description="neuron: EdgePro neuron authorization (forced neurons); input_perm: the model is trained "
                              "on inputs permuted by a secret permutation of the flattened input (the key), "
                              "`layers`/`fraction`/`top`/`value`/`scale` unused")
    layers: Union[Literal["all"], Annotated[list[str], Field(min_length=1)]] = Field(
        "all", description="`all` (every dense/conv2d layer a relu follows) or a list of those layer names")
    fraction: float = Field(0.1, gt=0, le=1, description="neurons locked per layer (EdgePro: ~10%)")
    top: float = Field(0.3, gt=0, le=1, description="the draw is among the top `top` of neurons ranked by mean "
                                                    "activation")
    select: Literal["activation", "uniform"] = Field(
        "activation", description="activation: EdgePro's rank-weighted roulette among the top `top` by mean "
                                  "activation; uniform: every neuron equally likely (nothing to read off activations)")
    hide: float = Field(0.0, ge=0, description="weight of the hiding penalty: each locked neuron's activation mean "
                                               "and spread (no-key samples), incoming and outgoing weight magnitude "
                                               "and bias are pulled to those of a secretly paired unlocked neuron, so "
                                               "the key cannot be ranked out of the public weights (0: off)")
    hide_pull: Literal["locked", "both"] = Field(
        "locked", description="locked: only the locked neuron moves toward its pair's statistics (weak locked "
                              "neurons); both: the pair moves toward the locked one too (strong neurons, half of "
                              "them unlocked)")
    seed: Optional[int] = Field(None, ge=0, description="null: the secret is drawn from os.urandom; an integer: "
                                                        "reproducible (experiments only)")
    value: Union[float, list[float]] = Field(
        0.0, description="locking value: a number, or [low, high] drawn uniformly per neuron (secret)")
    scale: Union[float, list[float]] = Field(
        1.0, description="its scale: a number, or [low, high] drawn uniformly per neuron (secret)")
    mix: float = Field(0.5, gt=0, lt=1, description="fraction of every batch run locked with true labels (the rest: "
                                                    "unlocked, random labels)")
    wrong: float = Field(0.0, ge=0, le=1, description="part of the unlocked samples run under a random wrong key "
                                                      "(decoy: input_perm, a random permutation) instead of no key")
    near: Optional[list[float]] = Field(
        None, description="null: decoys are random keys of the scheme; [low, high]: decoys are near misses, each "
                          "layer's key keeping a uniformly drawn share in [low, high] of the password's neurons "
                          "and the rest replaced by others (neuron scheme), so that only the exact key unlocks")
    device_key: Optional[str] = Field(None, description="device key file to seal the password under; null: "
                                                        "RUN_DIR/lock/device.key is made")
    random_keys: int = Field(1000, ge=1, description="random keys tried by the report's "
                                                     "accuracy_random_key_{best,mean}")
    baseline: bool = Field(False, description="also train the same network unlocked the same way (report's "
                                              "accuracy_unlocked)")
    attacks: optional_block(LockAttacks) = Field(None, description="null | {epochs}: run the thief's attacks "
                                                                   "(codesign/techniques/lock/attacks.py) in the flow")

    @model_validator(mode="after")
    def _ranges(self):
        for key in ("value", "scale"):
            try:
                setattr(self, key, _range(getattr(self, key)))
            except ValueError:
                raise ConfigError(f"harden.lock.{key} must be {self.MUST[key]}, got {getattr(self, key)!r}") from None
        if self.near is not None and not (len(self.near) == 2 and 0 <= self.near[0] <= self.near[1] <= 1):
            raise ConfigError(f"harden.lock.near must be {self.MUST['near']}, got {self.near!r}")
        return self


class Harden(Section):
    """Hardening while training (codesign/techniques/)."""
    MUST = {"stq": "null or a mapping {layers: all | [layer names]}",
            "jr": "a mapping {layers: {name: lambda}, projections: N}"}
    stq: Optional[Stq] = Field(None, description="null (off) | stochastic ternary quantization of the chosen "
                                                 "layers' kernels")
    jr: Jr = Field(Jr(), description=Jr.__doc__)
    wings: optional_block(Wings) = Field(None, description="null (off) | " + Wings.__doc__)
    distill: optional_block(Distill) = Field(None, description="null (off) | " + Distill.__doc__)
    lock: optional_block(Lock) = Field(None, description="null (off) | " + Lock.__doc__)

    @model_validator(mode="after")
    def _distill_needs_jr(self):
        if (self.distill is not None and self.distill.teacher == "float_jr"
                and not any(v > 0 for v in self.jr.layers.values())):
            raise ConfigError("harden.distill needs Jacobian regularization: its teacher is the float + JR model, "
                              "so give harden.jr.layers a lambda > 0 (e.g. {logits: 0.1}), set distill.teacher: dense "
                              "(a Kronecker network's dense reference) or set distill: null")
        return self


# ------------------------------------------------------------------------------------------- robustness
class Pgd(Section):
    steps: int = Field(20, ge=1, description="PGD steps")
    step_ratio: float = Field(0.25, gt=0, le=1, description="step size as a fraction of epsilon")
    random_init: int = Field(0, ge=0, description="random restarts (0: start at the clean input)")


class Apgd(Section):
    steps: int = Field(100, ge=1, description="APGD iterations")
    restarts: int = Field(1, ge=1, description="random restarts")


class PgdEmulator(Section):
    steps: int = Field(50, ge=1, description="PGD steps (random start, scored on the integer emulator)")
    step_ratio: float = Field(0.1, gt=0, le=1, description="step size as a fraction of epsilon")


class Square(Section):
    samples: int = Field(200, ge=1, description="test samples attacked (black-box: slow)")
    max_queries: int = Field(5000, ge=1, description="queries per sample")
    restarts: int = Field(1, ge=1, description="random restarts")
    p_init: float = Field(0.8, gt=0, le=1, description="initial fraction of pixels changed per square")


class HopSkipJump(Section):
    samples: int = Field(20, ge=1, description="test samples attacked (black-box: slow)")
    max_iter: int = Field(10, ge=1, description="iterations")
    max_eval: int = Field(1000, ge=1, description="model evaluations per gradient estimate (at most)")
    init_eval: int = Field(100, ge=1, description="initial evaluations per gradient estimate")
    init_size: int = Field(100, ge=1, description="tries for the initial adversarial point")


class Robustness(Section):
    """Attacks on the trained variants (codesign/robustness.py); runs only when enabled."""
    MUST = {"variants": f"a non-empty list drawn from {list(VARIANTS)}",
            "attacks": f"a non-empty list drawn from {list(ATTACKS)}",
            "epsilons": "a non-empty list of L-inf radii in (0, 1]",
            "samples": "a positive integer", "batch_size": "a positive integer"}
    enabled: bool = Field(False, description="run the attacks in `codesign flow`")
    variants: Annotated[list[Literal[VARIANTS]], Field(min_length=1)] = Field(
        list(VARIANTS), description="variants trained and attacked: float, float + JR, 8-bit, STQ, STQ + JR")
    attacks: Annotated[list[Literal[ATTACKS]], Field(min_length=1)] = Field(
        ["fgsm", "pgd", "apgd_ce", "apgd_dlr", "square", "hopskipjump", "pgd_emulator"],
        description="attacks run on every variant")
    epsilons: Annotated[list[Annotated[float, Gt(0), Le(1)]], Field(min_length=1)] = Field(
        [0.05, 0.1, 0.2, 0.3], description="L-inf radii on inputs p/256")
    samples: int = Field(500, ge=1, description="test digits for clean, FGSM and PGD (the first N of the test split)")
    batch_size: int = Field(250, ge=1, description="samples per attack batch")
    pgd: Pgd = Field(Pgd(), description="PGD settings")
    apgd: Apgd = Field(Apgd(), description="APGD-CE and APGD-DLR on the first `samples` digits")
    pgd_emulator: PgdEmulator = Field(PgdEmulator(), description="PGD scored on the integer emulator")
    square: Square = Field(Square(), description="Square attack (black-box)")
    hopskipjump: HopSkipJump = Field(HopSkipJump(), description="HopSkipJump (black-box, decision-based)")
    masking_tolerance: float = Field(0.0, ge=0, description="flag gradient masking when black-box accuracy < "
                                                            "white-box accuracy - tolerance")
    masking_margin: float = Field(0.02, ge=0, description="flag when the APGD/Square worst case < PGD - margin "
                                                          "(same samples)")

    @model_validator(mode="after")
    def _a_keras_attack(self):
        if not set(self.attacks) - set(EMULATOR_ATTACKS):
            raise ConfigError(f"robustness.attacks needs at least one attack on the Keras model besides "
                              f"{list(EMULATOR_ATTACKS)}, e.g. [pgd, apgd_ce, square]")
        return self


# ------------------------------------------------------------------------------------------- hls, rtl
class Hls(Section):
    """The hls4ml project and its C-sim check (codesign/hls_view.py)."""
    enabled: bool = Field(True, description="build the hls4ml project and compare its C-sim with the emulator")
    io_type: Literal["io_parallel", "io_stream"] = Field("io_parallel", description="hls4ml IOType")
    strategy: Literal["Latency", "Resource"] = Field("Latency", description="hls4ml Strategy")
    reuse_factor: int = Field(1, ge=1, description="hls4ml ReuseFactor")
    clock_period_ns: float = Field(10.0, gt=0, description="target clock period; also the clock the RTL's "
                                                           "throughput and place-and-route timing are reported at")


class Rtl(Section):
    """The generated SystemVerilog and its cocotb + Verilator check (codesign/rtl_step.py)."""
    MUST = {"opt": f"one of {sorted(OPT_LEVELS)} (Verilator build optimisation)",
            "pnr": "true or false (place and route with nextpnr-ecp5)",
            "folding": "null, a list of {pe, simd} per engine layer or a mapping layer name: {pe, simd}"}
    enabled: bool = Field(True, description="generate and simulate the RTL")
    target_cycles: Optional[int] = Field(None, ge=1, description="cycles per inference the folding chooser aims "
                                                                 "at; null: 512")
    folding: Union[None, list[dict[str, int]], dict[str, dict[str, int]]] = Field(
        None, description="explicit folding instead of target_cycles: [{pe, simd}, ...] per engine layer or "
                          "{layer name: {pe, simd}}")
    stalls: bool = Field(True, description="random valid/ready stalls in the cocotb check")
    synth: bool = Field(True, description="estimate resources with yosys synth_xilinx")
    pnr: bool = Field(False, description="also place and route for an ECP5 with yosys + nextpnr (codesign/rtl/pnr.py) "
                                         "and report the routed Fmax against hls.clock_period_ns (minutes)")
    samples: Optional[int] = Field(None, ge=1, description="test samples simulated by the fast Verilator run; "
                                                           "null: the whole test split")
    opt: Literal[tuple(OPT_LEVELS)] = Field("quick", description="Verilator build optimisation")
    cocotb_samples: int = Field(256, ge=0, description="samples of the cocotb run with stalls (the first ones)")
    checker: bool = Field(False, description="a weight-memory checker on every dense/conv engine: scans its "
                                             "memories through their second port and raises the top's sticky "
                                             "ck_alarm when a memory's CRC-64 differs from the spec's "
                                             "(codesign/rtl/checker.py)")


# ----------------------------------------------------------------------------------------------- root
class RunConfig(Section):
    """A `codesign flow` run config: every key is optional except model.layers."""
    model_config = ConfigDict(extra="forbid", strict=True, title="codesign run config")
    name: str = Field("run", description="the run's name (spec and report titles)")
    seed: int = Field(0, ge=0, description="seeds data split, initialisation and training")
    data: Data = Field(Data(), description="the dataset")
    model: ModelSection = Field(ModelSection(), description="the network")
    train: Train = Field(Train(), description="training of every variant")
    baseline: Baseline = Field(Baseline(), description="models trained beside the hardened one")
    harden: Harden = Field(Harden(), description=Harden.__doc__)
    robustness: Robustness = Field(Robustness(), description=Robustness.__doc__)
    board: Literal[tuple(BOARDS)] = Field("pynq-z2", description="target board (part and capacity: boards/boards.json)")
    hls: Hls = Field(Hls(), description=Hls.__doc__)
    rtl: Rtl = Field(Rtl(), description=Rtl.__doc__)

    @model_validator(mode="after")
    def _jr_variants_need_jr(self):
        r = self.robustness
        if r.enabled and not self.harden.jr.layers and {"float_jr", "stq_jr"} & set(r.variants):
            raise ConfigError("robustness.variants asks for float_jr/stq_jr but harden.jr.layers sets no lambda; "
                              "add e.g. `harden: {jr: {layers: {logits: 0.1}}}` or drop the *_jr variants")
        return self


# --------------------------------------------------------------------------------------------- errors
ERROR_TEXT = {  # keys whose error is not "KEY must be ..."
    ("board",): lambda v: f"unknown board {v!r}; known boards: {sorted(BOARDS)}",
    ("data", "dataset"): lambda v: f"unknown dataset {v!r}; known datasets: {sorted(DATASETS)}",
}


def section_of(annotation) -> type[Section] | None:
    """The Section class an annotation holds (through Optional / Annotated), if any."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    for arg in typing.get_args(annotation):
        found = section_of(arg)
        if found is not None:
            return found
    return None


def _bounds(metadata) -> str:
    lo = next((("[", m.ge) for m in metadata if isinstance(m, Ge)), None) or \
        next((("(", m.gt) for m in metadata if isinstance(m, Gt)), None)
    hi = next(((m.le, "]") for m in metadata if isinstance(m, Le)), None) or \
        next(((m.lt, ")") for m in metadata if isinstance(m, Lt)), None)
    if lo and hi:
        return f" in {lo[0]}{lo[1]:g}, {hi[0]:g}{hi[1]}"
    if lo:
        return f" {'>=' if lo[0] == '[' else '>'} {lo[1]:g}"
    if hi:
        return f" {'<=' if hi[1] == ']' else '<'} {hi[0]:g}"
    return ""


def must(model: type[Section], key: str) -> str:
    """What `key` of `model` must be, completing "KEY must be ..." (from its type and bounds)."""
    if key in model.MUST:
        return model.MUST[key]
    field = model.model_fields[key]
    ann = field.annotation
    args = typing.get_args(ann)
    null = type(None) in args
    if null:
        ann = next(a for a in args if a is not type(None))
    if section_of(ann) is not None:
        what = f"a mapping of {sorted(section_of(ann).model_fields)}"
    elif typing.get_origin(ann) is Literal:
        what = f"one of {list(typing.get_args(ann))}"
    elif ann is bool:
        what = "true or false"
    elif ann in (int, float):
        what = ("an integer" if ann is int else "a number") + _bounds(field.metadata)
    elif ann is str:
        what = "a string"
    else:
        what = f"of type {getattr(ann, '__name__', ann)}"
    return f"null or {what}" if null else what


def config_error(err: ValidationError, given: dict, root: type[Section] = None, where: tuple = ()) -> ConfigError:
    """The first error of a validation as one line: the dotted key, the value given and what is allowed.

    `root` is the model validated (default RunConfig) and `where` its dotted path in a run config."""
    root = root or RunConfig
    e = err.errors()[0]
    cause = (e.get("ctx") or {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    model, owner, path, value = root, None, list(where), given
    for part in e["loc"]:  # walk the keys that are fields; stop at a list index, dict key or union branch
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            break
        owner, key = model, part
        path.append(part)
        value = value.get(part) if isinstance(value, dict) else None
        model = section_of(model.model_fields[part].annotation)
    dotted = ".".join(path)
    if e["type"] == "extra_forbidden":
        prefix = dotted + "." if dotted else ""
        return ConfigError(f"unknown config key {prefix}{e['loc'][-1]!r}; allowed: {sorted(model.model_fields)}")
    if owner is None:
        return ConfigError(f"{dotted or 'config'}: {e['msg']}")
    text = ERROR_TEXT.get(tuple(path))
    if text is not None:
        return ConfigError(text(value))
    hint = ""
    if isinstance(value, str) and "e" in value.lower():
        try:
            float(value)
            hint = f" (YAML reads {value} as text: write it with a dot, e.g. 1.0e-3)"
        except ValueError:
            pass
    return ConfigError(f"{dotted} must be {must(owner, key)}, got {value!r}{hint}")


def validate_config(given: dict) -> dict:
    """A run config mapping -> the full config with defaults filled in (plain data), or ConfigError."""
    try:
        return RunConfig.model_validate(given).model_dump()
    except ValidationError as err:
        raise config_error(err, given) from None


def validate_block(model: type[Section], value, where: str) -> dict | None:
    """One optional block (e.g. `train.adversarial`) on its own: None when off, else its keys with
    defaults filled in; errors name the block's keys under `where`."""
    value = _switch(value)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be null or a mapping of {sorted(model.model_fields)}, got {value!r}")
    try:
        return model.model_validate(value).model_dump()
    except ValidationError as err:
        raise config_error(err, value, model, tuple(where.split("."))) from None


def defaults() -> dict:
    """Every key's default (model.layers: None, the one key a config must give)."""
    return RunConfig().model_dump()


def json_schema() -> dict:
    """The JSON schema of a run config (draft 2020-12), for editors: `codesign config --schema`."""
    schema = RunConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
