"""The offline MNIST loader splits deterministically; a missing file names CODESIGN_DATA and the file."""
import numpy as np
import pytest

from codesign.data import load_dataset, load_digits, read_npz
from codesign.errors import DataError


def test_offline_split_is_seeded(mnist_folder):
    a = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    b = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)
    c = load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=1)
    assert a.x_train.shape == (6000, 28, 28) and a.x_test.shape == (2000, 28, 28) and a.x_train.dtype == np.uint8
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)
    x, _ = read_npz(mnist_folder / "mnist8k.npz")
    train_rows = {r.tobytes() for r in a.x_train}
    assert sum(r.tobytes() in train_rows for r in a.x_test) < 20  # disjoint up to duplicate digits in MNIST
    assert len(x) == 8000


@pytest.mark.parametrize("dataset, file", [("mnist", "mnist8k.npz"), ("cifar10", "cifar10.npz")])
def test_missing_offline_file(tmp_path, monkeypatch, dataset, file):
    monkeypatch.setenv("CODESIGN_DATA", str(tmp_path))
    with pytest.raises(DataError, match=f"CODESIGN_DATA.*{file}"):
        load_dataset({"dataset": dataset, "train": None, "test": None}, seed=0)


def test_digits_share_the_uint8_convention():
    d = load_digits()
    assert d.x_train.dtype == np.uint8 and d.x_train.shape[1:] == (8, 8) and d.num_classes == 10


def test_npz_without_labels(tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"\['y'\]"):
        read_npz(tmp_path / "x.npz")


@pytest.mark.slow
def test_cifar10_config_runs_on_a_cifar_shaped_file(tmp_path):
    """examples/cifar10_cnn_wings.yaml (for users online) through `codesign flow`, shortened, on a synthetic
    CIFAR-shaped cifar10.npz (there is no CIFAR-10 offline here): 32x32x3 uint8 inputs reach every layer,
    the WINGs fit step runs and Keras equals the integer emulator on every test sample."""
    import json

    from conftest import EXAMPLES, codesign

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300).astype(np.uint8)
    x = rng.integers(0, 64, (300, 32, 32, 3)).astype(np.uint8)
    x[np.arange(300), :, :, y % 3] += (y[:, None, None] * 19).astype(np.uint8)  # a learnable colour cue
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "cifar10.npz", x=x, y=y)
    out = tmp_path / "run"
    codesign("flow", EXAMPLES / "cifar10_cnn_wings.yaml", "--out", out, "--no-rtl",
             "--set", "data={dataset: cifar10, train: 200, test: 100}", "--set", "train.epochs=1",
             "--set", "harden.wings={pretrain_epochs: 2}", "--set", "hls.enabled=false",
             "--set", "baseline.float=false", env={"CODESIGN_DATA": str(folder)})
    report = json.loads((out / "report.json").read_text())
    assert report["accuracy"]["keras"] == report["accuracy"]["emulator"]
    assert report["wings_fit"]["layers"]["wings_dense_1"]["pca_explained_variance"] > 0
    assert report["compression"]["layers"]["wings_dense_1"]["kind"] == "wings_dense"
