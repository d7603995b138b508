"""The run config's schema (codesign/config_schema.py): every example validates, every mistake is one line
naming the key, and the JSON schema `codesign config --schema` prints checks configs as the loader does.

Cheap: no training; one subprocess per CLI contract (exit code 2 and one line need a real process)."""
import json

import jsonschema
import pytest
import yaml

from conftest import EXAMPLES, assert_user_error, codesign

from codesign.config import check_config, load_config
from codesign.config_schema import RunConfig, defaults, json_schema
from codesign.errors import ConfigError

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
LAYERS = yaml.safe_load((EXAMPLES / "digits_mlp.yaml").read_text())["model"]["layers"]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_validates(path):
    """Through the loader and through the JSON schema an editor uses; the config as run (defaults filled
    in, as `codesign flow` writes RUN_DIR/config.yaml) loads again unchanged."""
    given = yaml.safe_load(path.read_text())
    jsonschema.Draft202012Validator(json_schema()).validate(given)
    cfg = load_config(path)
    assert cfg["name"] == given["name"] and cfg["model"]["layers"] == given["model"]["layers"]
    for section, keys in given.items():  # what the example sets is what runs; the rest are the defaults
        if isinstance(keys, dict) and section not in ("model", "harden"):
            assert {k: cfg[section][k] for k in keys if not isinstance(keys[k], dict)} == \
                {k: v for k, v in keys.items() if not isinstance(v, dict)}, section
    assert check_config(yaml.safe_load(yaml.safe_dump(cfg))) == cfg


def test_defaults_round_trip():
    """The defaults dumped, loaded back and re-dumped are the same; the JSON schema states the same
    defaults as the models (pydantic's two code paths agree), and the JSON schema accepts them."""
    d = defaults()
    assert RunConfig.model_validate(d).model_dump() == d
    schema = json_schema()
    jsonschema.Draft202012Validator(schema).validate(d)

    def schema_defaults(node):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].split("/")[-1]]
        return {k: p["default"] if "default" in p else schema_defaults(p) for k, p in node["properties"].items()}

    assert schema_defaults(schema) == d
    assert set(d) == {"name", "seed", "data", "model", "train", "baseline", "harden", "robustness", "board", "hls",
                      "rtl"}
    assert d["train"]["epochs"] == 10 and d["rtl"]["cocotb_samples"] == 256 and d["harden"]["lock"] is None


@pytest.mark.parametrize("override, message", [
    # unknown keys, at every depth
    ("trian.epochs=3", "unknown config key 'trian'; allowed: ['baseline', 'board', 'data', 'harden'"),
    ("robustness.pgd.stpes=3", "unknown config key robustness.pgd.'stpes'; allowed: ['random_init', 'step_ratio'"),
    ("harden.lock={fraktion: 0.2}", "unknown config key harden.lock.'fraktion'; allowed: ['attacks', 'baseline'"),
    # wrong types (strict: no "3" -> 3, no true -> 1, no 2.0 -> 2)
    ("train.epochs='3'", "train.epochs must be an integer >= 0, got '3'"),
    ("train.batch_size=32.0", "train.batch_size must be an integer >= 1, got 32.0"),
    ("train.stochastic=1", "train.stochastic must be true or false, got 1"),
    ("rtl.pnr=yes please", "rtl.pnr must be true or false (place and route with nextpnr-ecp5), got 'yes please'"),
    ("train.learning_rate=1e-3", "train.learning_rate must be a number > 0, got '1e-3' (YAML reads 1e-3 as text"),
    ("hls=[1]", "hls must be a mapping of ['clock_period_ns', 'enabled', 'io_type', 'reuse_factor', 'strategy']"),
    ("hls.strategy=fast", "hls.strategy must be one of ['Latency', 'Resource'], got 'fast'"),
    # out of bounds
    ("robustness.square.p_init=1.5", "robustness.square.p_init must be a number in (0, 1], got 1.5"),
    ("hls.clock_period_ns=0", "hls.clock_period_ns must be a number > 0, got 0"),
    ("rtl.target_cycles=0", "rtl.target_cycles must be null or an integer >= 1, got 0"),
    ("harden.lock={mix: 1}", "harden.lock.mix must be a fraction in (0, 1) (locked part of a batch), got 1"),
    ("harden.lock={scale: [2, 1]}", "harden.lock.scale must be a number or [low, high] with low <= high"),
    ("data.test=0", "data.test must be null or an integer >= 1, got 0"),
    # what depends on the layers
    ("harden.lock={layers: [dense_2]}", "harden.lock.layers: ['dense_2'] are not layers a relu follows; "
                                        "choose from ['dense_1']"),
    ("harden.stq={layers: [dense_9]}", "harden.stq.layers: ['dense_9'] are not dense/conv2d layers"),
])
def test_bad_values_name_the_key(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(EXAMPLES / "digits_mlp.yaml", [override])
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_schema_completes_layers():
    """The JSON schema knows the layer kinds and their keys (what an editor completes in model.layers)."""
    validator = jsonschema.Draft202012Validator(json_schema())
    for layers in ([{"lstm": {"units": 4}}], [{"dense": {"unitz": 4}}], [{"dense": {}}], [{"flatten": {}, "relu": {}}]):
        assert not validator.is_valid({"model": {"layers": layers}}), layers
    assert validator.is_valid({"model": {"layers": LAYERS}})


def test_switch_blocks_and_ranges():
    """Optional blocks: true = every default, false/null = off; lock ranges stored as [low, high]."""
    cfg = check_config({"model": {"layers": LAYERS}, "train": {"adversarial": True, "finetune": False},
                        "harden": {"lock": {"value": 2, "scale": [0.5, 1.5]}}})
    assert cfg["train"]["adversarial"] == {"epsilon": 0.1, "steps": 7, "step_ratio": 0.25, "mix": 0.5, "warmup": 0}
    assert cfg["train"]["finetune"] is None
    lock = cfg["harden"]["lock"]
    assert lock["value"] == [2.0, 2.0] and lock["scale"] == [0.5, 1.5] and lock["layers"] == ["dense_1"]
    assert isinstance(lock["value"][0], float) and lock["attacks"] is None


def test_config_command(tmp_path):
    """`codesign config --schema` is a JSON schema that checks configs as the loader does;
    `--defaults` is a config that loads; `--check` prints the config as it would run, or one error line."""
    schema = json.loads(codesign("config", "--schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    validator.validate(yaml.safe_load((EXAMPLES / "mnist_cnn_stq_jr.yaml").read_text()))
    bad = {"train": {"epochz": 3}}
    assert [e.validator for e in validator.iter_errors(bad)] == ["additionalProperties"]
    assert schema["properties"]["board"]["enum"][:1] and "pynq-z2" in schema["properties"]["board"]["enum"]

    given = yaml.safe_load(codesign("config", "--defaults").stdout)
    assert given == defaults()

    ran = yaml.safe_load(codesign("config", "--check", EXAMPLES / "digits_mlp.yaml", "--set", "train.epochs=3").stdout)
    assert ran == load_config(EXAMPLES / "digits_mlp.yaml", ["train.epochs=3"]) and ran["train"]["epochs"] == 3

    proc = codesign("config", "--check", EXAMPLES / "digits_mlp.yaml", "--set", "rtl.cocotb_samples=-1", check=False)
    assert_user_error(proc, "rtl.cocotb_samples must be an integer >= 0, got -1")
    assert proc.stdout == ""
