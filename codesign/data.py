"""Datasets as uint8 images plus labels, split deterministically.

MNIST comes from Keras' download when online. Offline (or whenever ``CODESIGN_DATA`` is set)
it is read from ``$CODESIGN_DATA/mnist8k.npz`` (``x`` uint8 N x 28 x 28, ``y`` uint8) and split
with a seeded permutation into train/test (6,000/2,000 by default). ``cifar10`` works the same way
(``cifar10.npz``, ``x`` uint8 N x 32 x 32 x 3; online the Keras download). ``digits`` is scikit-learn's
8 x 8 digits, scaled from 0..16 to uint8 (v * 16, clipped to 255) so every dataset shares one
input convention: a uint8 pixel p means p / 256, exactly ``ufixed<8,0>``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

OFFLINE_FILES = {"mnist": "mnist8k.npz", "cifar10": "cifar10.npz"}


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def _split(x, y, n_train, n_test, seed):
    if n_train + n_test > len(x):
        raise DataError(f"asked for {n_train} train + {n_test} test samples but the file has {len(x)}")
    order = np.random.default_rng(seed).permutation(len(x))
    tr, te = order[:n_train], order[n_train:n_train + n_test]
    return x[tr], y[tr], x[te], y[te]


def read_npz(path: str | Path, reals: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An npz with uint8 `x` (or, with `reals`, float `x` too) and integer `y`; one clear error if it is not that."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    with np.load(path) as npz:
        missing = {"x", "y"} - set(npz.files)
        if missing:
            raise DataError(f"{path} lacks array(s) {sorted(missing)}; it needs `x` (uint8 images) and `y` (labels)")
        x, y = npz["x"], npz["y"]
    if x.dtype != np.uint8 and not (reals and np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{path}: `x` must be uint8 pixels (p means p/256){' or real values' if reals else ''}, "
                        f"got {x.dtype}")
    if len(x) != len(y):
        raise DataError(f"{path}: `x` has {len(x)} samples but `y` has {len(y)}")
    return x, y.astype(np.int64)


def _load_keras(name: str, n_train: int, n_test: int, seed: int) -> Dataset:
    """`name` from $CODESIGN_DATA/<OFFLINE_FILES[name]> when set, else from Keras' download; then split."""
    folder = os.environ.get("CODESIGN_DATA")
    file = OFFLINE_FILES[name]
    if folder:
        path = Path(folder) / file
        if not path.exists():
            raise DataError(f"CODESIGN_DATA={folder} but {path} does not exist; "
                            f"put {file} there or unset CODESIGN_DATA to download {name}")
        x, y = read_npz(path)
        return Dataset(name, *_split(x, y, n_train, n_test, seed))
    try:
        from tensorflow import keras

        (xtr, ytr), (xte, yte) = getattr(keras.datasets, name).load_data()
    except Exception as e:  # no network, no cache
        raise DataError(f"could not download {name} ({type(e).__name__}); offline, set CODESIGN_DATA to a folder "
                        f"holding {file}") from None
    x, y = np.concatenate([xtr, xte]), np.concatenate([ytr, yte]).reshape(-1).astype(np.int64)
    return Dataset(name, *_split(x, y, n_train, n_test, seed))


def load_mnist(n_train=6000, n_test=2000, seed=0) -> Dataset:
    return _load_keras("mnist", n_train, n_test, seed)


def load_cifar10(n_train=50000, n_test=10000, seed=0) -> Dataset:
    """CIFAR-10: uint8 N x 32 x 32 x 3 (offline file `cifar10.npz` with `x`, `y`), same p/256 convention."""
    return _load_keras("cifar10", n_train, n_test, seed)


def load_digits(n_train=1400, n_test=397, seed=0) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = np.clip(d.images * 16, 0, 255).astype(np.uint8)
    return Dataset("digits", *_split(x, d.target.astype(np.int64), n_train, n_test, seed))


DATASETS = {"mnist": load_mnist, "digits": load_digits, "cifar10": load_cifar10}


def load_dataset(cfg_data: dict, seed: int) -> Dataset:
    name = cfg_data["dataset"]
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")
    sizes = {k: cfg_data[k] for k in ("train", "test") if cfg_data.get(k) is not None}
    sizes = {("n_" + k): v for k, v in sizes.items()}
    return DATASETS[name](seed=seed, **sizes)


def to_model_input(x_uint8: np.ndarray) -> np.ndarray:
    """uint8 pixels to the float model input p/256 (exact in float32)."""
    return x_uint8.astype(np.float32) / 256.0
