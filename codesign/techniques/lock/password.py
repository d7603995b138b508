"""The password (the secret) and the key registers every view is given at run time.

A `Password` holds, per locked layer, the chosen neuron indices and their real locking values and
scales. `Password.key(spec)` turns it into a `LockKey`: per lock unit a mask bit and a value
register for EVERY neuron of the layer (value = locking value x scale rounded half-to-even and
saturated to the layer's output type, as the relu's own cast), so the public spec never says which
neurons are locked. `LockKey` is what the emulator, the C-sim and the RTL key register block load.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ...errors import CodesignError
from ...spec import DesignSpec

PASSWORD_FORMAT = "codesign-lock-password/1"


class LockError(CodesignError, ValueError):
    """A key or password that does not fit the design, cannot be opened, or is missing."""


INPUT_PERM = "input_perm"  # attrs["lock"]["scheme"] of an input-permutation lock (on the flatten before a dense)


def locked_layers(spec: DesignSpec) -> list:
    """The spec's layers that carry a neuron lock unit (attrs["lock"] without a scheme)."""
    return [l for l in spec.layers if l.attrs.get("lock") and l.attrs["lock"].get("scheme") is None]


def perm_layers(spec: DesignSpec) -> list:
    """The spec's layers whose outputs an input-permutation lock permutes (attrs["lock"]["scheme"] input_perm)."""
    return [l for l in spec.layers if l.attrs.get("lock") and l.attrs["lock"].get("scheme") == INPUT_PERM]


def is_locked(spec: DesignSpec) -> bool:
    return any(l.attrs.get("lock") for l in spec.layers)


def check_perm(perm, n: int, where: str) -> np.ndarray:
    """A permutation of 0..n-1 as int64, or a LockError naming `where`."""
    perm = np.asarray(perm)
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise LockError(f"{where}: the key needs a permutation of the layer's {n} inputs")
    return perm.astype(np.int64)


def quantize_value(real: np.ndarray, out_type) -> np.ndarray:
    """Reals to integers of `out_type`: round half to even (RND_CONV), saturate."""
    q = np.round(np.asarray(real, np.float64) * 2.0 ** out_type.frac)
    return np.clip(q, out_type.qmin, out_type.qmax).astype(np.int64)


@dataclass
class LockKey:
    """Per lock-unit layer: mask (n,) in {0, 1} and value (n,) integers of the layer's output type.
    An all-zero mask is the no-key state: the lock unit passes every activation through."""

    layers: dict  # name -> (mask int64 (n,), value int64 (n,))
    perms: dict = None  # input-permutation locks: name -> permutation int64 (n,) (pixel j <- pixel perm[j])

    def __post_init__(self):
        self.perms = dict(self.perms or {})

    @classmethod
    def empty(cls, spec: DesignSpec) -> "LockKey":
        """No key: masks all zero, permutations the identity."""
        return cls({l.name: (np.zeros(l.attrs["lock"]["units"], np.int64),) * 2 for l in locked_layers(spec)},
                   {l.name: np.arange(l.attrs["lock"]["units"], dtype=np.int64) for l in perm_layers(spec)})

    def check(self, spec: DesignSpec) -> "LockKey":
        """The key must fill exactly the spec's lock units, each value fitting the layer's output type."""
        units = {l.name: l for l in locked_layers(spec)}
        if set(self.layers) != set(units):
            raise LockError(f"the key is for lock units {sorted(self.layers)} but design {spec.name!r} has "
                            f"{sorted(units)}; use the password sealed for this design")
        for name, (mask, value) in self.layers.items():
            n, t = units[name].attrs["lock"]["units"], units[name].out_type
            if mask.shape != (n,) or value.shape != (n,) or not np.isin(mask, (0, 1)).all():
                raise LockError(f"lock unit {name!r}: the key needs a 0/1 mask and a value for each of {n} neurons")
            if not t.contains(value):
                raise LockError(f"lock unit {name!r}: key values do not fit the output type {t.hls()}")
        perms = {l.name: l for l in perm_layers(spec)}
        if set(self.perms) != set(perms):
            raise LockError(f"the key permutes the outputs of {sorted(self.perms)} but design {spec.name!r} has "
                            f"input-permutation locks on {sorted(perms)}; use the password sealed for this design")
        for name, perm in self.perms.items():
            self.perms[name] = check_perm(perm, perms[name].attrs["lock"]["units"], f"input permutation {name!r}")
        return self


def check_key(spec: DesignSpec, key) -> LockKey:
    """A view's `key` argument: None (no key: all masks 0), a LockKey or a Password."""
    if key is None:
        return LockKey.empty(spec)
    if isinstance(key, Password):
        key = key.key(spec)
    if not isinstance(key, LockKey):
        raise LockError(f"a lock key must be None, a Password or a LockKey, got {type(key).__name__}")
    return key.check(spec)


@dataclass
class Password:
    """name -> {"units": n, "indices": [...], "values": [...], "scales": [...]} (reals); `perms`: an
    input-permutation lock's name -> {"units": n, "perm": [...]} (the secret permutation)."""

    layers: dict
    perms: dict = None

    def __post_init__(self):
        self.perms = dict(self.perms or {})

    def key(self, spec: DesignSpec) -> LockKey:
        out = {}
        perms = {n: np.asarray(p["perm"], np.int64) for n, p in self.perms.items()}
        units = {l.name: l for l in locked_layers(spec)}
        if set(self.layers) != set(units):
            raise LockError(f"the password locks {sorted(self.layers)} but design {spec.name!r} has lock units "
                            f"{sorted(units)}")
        for name, p in self.layers.items():
            layer = units[name]
            n = layer.attrs["lock"]["units"]
            idx = np.asarray(p["indices"], np.int64)
            if p["units"] != n or idx.size and (idx.min() < 0 or idx.max() >= n):
                raise LockError(f"lock unit {name!r}: the password addresses neurons outside 0..{n - 1}")
            mask = np.zeros(n, np.int64)
            value = np.zeros(n, np.int64)
            mask[idx] = 1
            value[idx] = quantize_value(np.asarray(p["values"]) * np.asarray(p["scales"]), layer.out_type)
            out[name] = (mask, value)
        return LockKey(out, perms).check(spec)

    def neurons(self) -> int:
        """Neurons forced (neuron locks) plus inputs permuted (input-permutation locks)."""
        return sum(len(p["indices"]) for p in self.layers.values()) + sum(p["units"] for p in self.perms.values())

    def key_bits(self, value_bits: dict | None = None) -> float:
        """Bits of the secret: log2 C(n, k) index choices per layer, plus the value registers' width for
        each locked neuron when locking values are drawn (`value_bits`: name -> bits, 0 for a fixed value)."""
        bits = 0.0
        for name, p in self.layers.items():
            bits += math.log2(math.comb(p["units"], len(p["indices"])))
            bits += len(p["indices"]) * (value_bits or {}).get(name, 0)
        bits += sum(math.lgamma(p["units"] + 1) / math.log(2) for p in self.perms.values())  # log2 n!
        return round(bits, 1)

    def to_json(self) -> str:
        doc = {"format": PASSWORD_FORMAT, "layers": self.layers}
        if self.perms:
            doc["perms"] = self.perms
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Password":
        doc = json.loads(text)
        if doc.get("format") != PASSWORD_FORMAT:
            raise LockError(f"not a codesign lock password (format {doc.get('format')!r})")
        return cls(doc["layers"], doc.get("perms"))


def draw_password(units: dict, chosen: dict, cfg: dict, rng: np.random.Generator) -> Password:
    """A password: `chosen` indices per layer name, values and scales drawn from the config's ranges."""
    layers = {}
    for name, idx in chosen.items():
        k = len(idx)
        layers[name] = {"units": int(units[name]), "indices": sorted(int(i) for i in idx),
                        "values": [float(v) for v in rng.uniform(*cfg["value"], k)],
                        "scales": [float(s) for s in rng.uniform(*cfg["scale"], k)]}
    return Password(layers)


def draw_perms(units: dict, rng: np.random.Generator) -> dict:
    """Input-permutation secrets: name -> {"units": n, "perm": a uniformly random permutation of n}."""
    return {name: {"units": int(n), "perm": [int(i) for i in rng.permutation(int(n))]} for name, n in units.items()}


def random_password(like: Password, cfg: dict, rng: np.random.Generator) -> Password:
    """A wrong key an attacker who knows the scheme (layers, neuron counts, value ranges) would guess."""
    chosen = {n: rng.choice(p["units"], len(p["indices"]), replace=False) for n, p in like.layers.items()}
    out = draw_password({n: p["units"] for n, p in like.layers.items()}, chosen, cfg, rng)
    out.perms = draw_perms({n: p["units"] for n, p in like.perms.items()}, rng)
    return out


def near_miss_password(like: Password, cfg: dict, rng: np.random.Generator) -> Password:
    """A wrong key close to `like` (neuron scheme): each layer keeps a share drawn uniformly in cfg["near"]
    of the password's neurons (with their true values and scales) and replaces the rest with neurons outside
    the password (values and scales drawn from the config's ranges); at least one neuron differs overall.
    Training against these decoys makes every locked neuron matter, so a key that shares most of the
    password's neurons unlocks no more than a random one (random keys alone leave such keys working)."""
    lo, hi = cfg["near"]
    names = list(like.layers)
    keep = {}
    for n in names:
        k = len(like.layers[n]["indices"])
        keep[n] = min(k, int(np.floor(rng.uniform(lo, hi) * k + 0.5)))
    full = [n for n in names if keep[n] == len(like.layers[n]["indices"])
            and len(like.layers[n]["indices"]) < like.layers[n]["units"]]
    if len(full) == len(names) and full:  # the exact password: make one layer miss one neuron
        keep[full[rng.integers(len(full))]] -= 1
    layers = {}
    for n in names:
        p = like.layers[n]
        idx = np.asarray(p["indices"])
        k = len(idx)
        kept = np.sort(rng.choice(k, keep[n], replace=False))
        others = np.setdiff1d(np.arange(p["units"]), idx)
        new = rng.choice(others, min(k - keep[n], len(others)), replace=False)
        m = len(new)
        layers[n] = {"units": p["units"],
                     "indices": [int(i) for i in idx[kept]] + [int(i) for i in new],
                     "values": [p["values"][i] for i in kept] + [float(v) for v in rng.uniform(*cfg["value"], m)],
                     "scales": [p["scales"][i] for i in kept] + [float(s) for s in rng.uniform(*cfg["scale"], m)]}
        order = np.argsort(layers[n]["indices"])
        layers[n] = {"units": p["units"], **{f: [layers[n][f][i] for i in order] for f in ("indices", "values", "scales")}}
    return Password(layers)
