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


def test_missing_offline_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CODESIGN_DATA", str(tmp_path))
    with pytest.raises(DataError, match="CODESIGN_DATA.*mnist8k.npz"):
        load_dataset({"dataset": "mnist", "train": None, "test": None}, seed=0)


def test_digits_share_the_uint8_convention():
    d = load_digits()
    assert d.x_train.dtype == np.uint8 and d.x_train.shape[1:] == (8, 8) and d.num_classes == 10


def test_npz_without_labels(tmp_path):
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match=r"\['y'\]"):
        read_npz(tmp_path / "x.npz")
