"""Every example config loads and runs through `codesign flow`, shortened (600 training digits, one
epoch per phase, no C-sim or RTL: those views of each layer kind are covered by the other flow tests).

Each run must extract a spec from the architecture the example ships and the integer emulator must
predict every one of the 200 test digits as Keras does. The examples run in full elsewhere:
mnist_mlp (tests/test_flow_mlp.py), mnist_cnn (test_flow_cnn.py), mnist_mlp_kron (test_kron.py),
mnist_mlp_wings (test_wings.py, smaller layer), mnist_mlp_stq_jr (test_example_stq_jr.py, `pytest -m long`),
cifar10_cnn_wings (test_data.py, synthetic data), digits_mlp (test_flow_small.py, test_deploy.py),
digits_mlp_lock (test_lock.py); mnist_cnn_stq_jr_lock shortened (`pytest -m long`) and mnist_mlp_lock's config in test_lock.py.
"""
import json

import numpy as np
import pytest

from conftest import EXAMPLES, codesign

SHORT = ["--no-rtl", "--set", "data.train=600", "--set", "data.test=200", "--set", "train.epochs=1",
         "--set", "hls.enabled=false", "--set", "baseline.float=false"]
EXTRA = {
    "mnist_cnn_stq_jr.yaml": ["--set", "train.finetune.epochs=1", "--set", "robustness.enabled=false"],
    "mnist_mlp_kron_robust.yaml": [],
    "mnist_cnn_wings.yaml": ["--set", "harden.wings.pretrain_epochs=1"],
    # in full (40 epochs, distilled, attacked) only under `pytest -m long` (tests/test_example_stq_jr.py)
    "mnist_mlp_stq_jr.yaml": ["--set", "train.finetune.epochs=1", "--set", "robustness.enabled=false"],
}


def test_every_example_is_covered():
    covered = {"mnist_mlp.yaml", "mnist_cnn.yaml", "mnist_mlp_kron.yaml", "mnist_mlp_wings.yaml",
               "cifar10_cnn_wings.yaml", "digits_mlp.yaml", "digits_mlp_lock.yaml",
               "mnist_mlp_lock.yaml", "mnist_cnn_stq_jr_lock.yaml",
               "digits_mlp_perm_lock.yaml", "mnist_mlp_perm_lock.yaml"} | set(EXTRA)  # the last two: test_lock.py
    assert {p.name for p in EXAMPLES.glob("*.yaml")} <= covered


@pytest.mark.slow
@pytest.mark.parametrize("example", sorted(EXTRA))
def test_example_runs_shortened(example, tmp_path, mnist_folder):
    from codesign.config import load_config
    from codesign.data import load_dataset, to_model_input
    from codesign.emulator import Emulator
    from codesign.models import load_model
    from codesign.spec import DesignSpec

    out = tmp_path / "run"
    codesign("flow", EXAMPLES / example, "--out", out, *SHORT, *EXTRA[example])
    report = json.loads((out / "report.json").read_text())
    cfg = load_config(out / "config.yaml")
    d = load_dataset(cfg["data"], cfg["seed"])
    assert len(d.y_test) == 200
    model, spec = load_model(out / "model"), DesignSpec.load(out / "spec")
    keras_classes = np.argmax(model.predict(to_model_input(d.x_test).reshape((-1,) + tuple(model.input_shape[1:])),
                                            verbose=0), -1)
    emu = Emulator(spec)
    emu_classes = np.argmax(emu.run_int(emu.quantize_input(d.x_test)).reshape(200, -1), -1)
    assert np.array_equal(keras_classes, emu_classes), np.nonzero(keras_classes != emu_classes)[0]
    assert report["accuracy"]["keras"] == report["accuracy"]["emulator"] == float(np.mean(emu_classes == d.y_test))
    kinds = {l.kind for l in spec.layers}
    assert kinds >= {"mnist_cnn_stq_jr.yaml": {"conv2d", "maxpool2d", "dense"},
                     "mnist_mlp_kron_robust.yaml": {"kron_dense", "dense"},
                     "mnist_cnn_wings.yaml": {"conv2d", "wings_dense", "dense"},
                     "mnist_mlp_stq_jr.yaml": {"dense"}}[example], kinds
