"""Which key a view runs under, from a command-line choice: a sealed password file, `none`, `random`,
or (nothing given) the run's own sealed password when its design is locked."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .password import LockError, Password, draw_password, draw_perms, is_locked, locked_layers, perm_layers


def open_run_password(run_dir, password_file=None, device_key=None) -> Password:
    """Unseal a password for the run's spec (default file RUN_DIR/lock/password.enc)."""
    from .seal import device_key_path, read_device_key, spec_digest, unseal

    run_dir = Path(run_dir)
    path = Path(password_file) if password_file else run_dir / "lock" / "password.enc"
    return unseal(path, read_device_key(device_key_path(run_dir, device_key)), spec_digest(run_dir / "spec"))


def scheme_random_password(run_dir, spec, rng: np.random.Generator) -> Password:
    """A random key of the run's scheme (its config's fraction and value/scale ranges): what a thief
    who knows how the design was locked, but not the password, would try."""
    from ...config import load_config

    cfg = load_config(Path(run_dir) / "config.yaml")["harden"]["lock"]
    if cfg is None:
        raise LockError(f"{run_dir} was not built with harden.lock; it has no key to guess")
    perms = draw_perms({l.name: l.attrs["lock"]["units"] for l in perm_layers(spec)}, rng)
    if perms:
        return Password({}, perms)
    chosen, units = {}, {}
    for layer in locked_layers(spec):
        n = units[layer.name] = layer.attrs["lock"]["units"]
        chosen[layer.name] = rng.choice(n, max(1, int(round(cfg["fraction"] * n))), replace=False)
    return draw_password(units, chosen, cfg, rng)


def resolve_key(run_dir, spec, key: str | None, device_key=None, seed: int = 0):
    """None (no key) or a Password for `--key FILE|none|random` (None: the run's own password if locked)."""
    if key == "none":
        return None
    locked = is_locked(spec)
    if key == "random":
        return scheme_random_password(run_dir, spec, np.random.default_rng(seed))
    if key is None:
        return open_run_password(run_dir, device_key=device_key) if locked else None
    if not locked:
        raise LockError(f"the design of {run_dir} has no lock unit; drop --key")
    return open_run_password(run_dir, key, device_key)
