"""Bad input gives one clear error line through the CLI (at an 80-column terminal), exit code 2 and no report.json."""
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, assert_user_error, codesign


def _config(tmp_path, mutate) -> Path:
    cfg = yaml.safe_load((EXAMPLES / "mnist_mlp.yaml").read_text())
    mutate(cfg)
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _assert_clean_failure(proc, out: Path, *needles):
    assert_user_error(proc, *needles)
    assert not (out / "report.json").exists()


@pytest.mark.parametrize("mutate, needles", [
    (lambda c: c["model"]["layers"].insert(1, {"lstm": {"units": 4}}), ["unknown layer 'lstm'", "known layers"]),
    (lambda c: c["data"].update(dataset="cifar100"), ["unknown dataset 'cifar100'"]),
    (lambda c: c.update(board="de10-nano"), ["unknown board 'de10-nano'", "pynq-z2"]),
    (lambda c: c["train"].update(epochz=3), ["unknown config key train.'epochz'"]),
    (lambda c: c["train"].update(adversarial={"epsilon": 0.1, "stepz": 7}),
     ["unknown config key train.adversarial.'stepz'", "step_ratio"]),
    (lambda c: c["train"].update(finetune={"epochs": 5, "lr": 0.001}),
     ["unknown config key train.finetune.'lr'", "learning_rate"]),
    (lambda c: c["train"].update(finetune={"epochs": -1}), ["train.finetune.epochs must be an integer >= 0"]),
    (lambda c: c["model"]["layers"][1]["dense"].update(kernel="binary"), ["quantizer 'binary' unknown"]),
    (lambda c: c.setdefault("rtl", {}).update(opt="O3"), ["rtl.opt must be one of", "quick"]),
])
def test_bad_config(tmp_path, mutate, needles):
    out = tmp_path / "run"
    proc = codesign("flow", _config(tmp_path, mutate), "--out", out, check=False)
    _assert_clean_failure(proc, out, *needles)


def test_bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: [unclosed\n")
    proc = codesign("flow", path, "--out", tmp_path / "run", check=False)
    _assert_clean_failure(proc, tmp_path / "run", "not valid YAML")


def test_missing_data_folder(tmp_path):
    out = tmp_path / "run"
    proc = codesign("flow", EXAMPLES / "mnist_mlp.yaml", "--out", out, check=False,
                    env={"CODESIGN_DATA": str(tmp_path / "nowhere")})
    _assert_clean_failure(proc, out, "CODESIGN_DATA", "mnist8k.npz")


def test_unsupported_layer(tmp_path):
    from tensorflow import keras
    from qkeras import QDense, quantized_bits

    model = keras.Sequential([keras.Input((8,)), QDense(4, kernel_quantizer=quantized_bits(8, 0, alpha=1),
                                                        bias_quantizer=quantized_bits(8, 3, alpha=1), name="fc"),
                              keras.layers.RepeatVector(2, name="rv")])
    model.save(tmp_path / "m.h5")
    proc = codesign("compile", tmp_path / "m.h5", "--out", tmp_path / "spec", check=False)
    assert_user_error(proc, "'rv'", "RepeatVector")
    assert not (tmp_path / "spec" / "spec.json").exists()


def test_bad_set_override(tmp_path):
    out = tmp_path / "run"
    proc = codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", out, "--set", "train.epochz=3", check=False)
    _assert_clean_failure(proc, out, "unknown config key train.'epochz'")
    proc = codesign("flow", EXAMPLES / "digits_mlp.yaml", "--out", out, "--set", "train.epochs", check=False)
    _assert_clean_failure(proc, out, "expected dotted.key=value")
