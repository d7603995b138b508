"""The password at rest: AES-256-GCM under a device key, the spec's hash as associated data.

A sealed password opens only with its device key and only for the design it was made for: the
GCM tag covers the ciphertext and the spec hash, so a wrong key, a flipped byte or another
design's spec all fail the same check, reported as one LockError line.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .password import LockError, Password

DEVICE_KEY_FORMAT = "codesign-device-key/1"
SEALED_FORMAT = "codesign-lock-sealed/1"
ENV_DEVICE_KEY = "CODESIGN_DEVICE_KEY"


def spec_digest(spec_dir) -> str:
    """SHA-256 of a saved spec: spec.json's bytes, then every params.npz array (name, dtype, shape,
    bytes in sorted order; the npz container's own bytes carry timestamps)."""
    spec_dir = Path(spec_dir)
    h = hashlib.sha256((spec_dir / "spec.json").read_bytes())
    with np.load(spec_dir / "params.npz") as npz:
        for name in sorted(npz.files):
            a = np.ascontiguousarray(npz[name])
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def write_device_key(path) -> Path:
    """A fresh 256-bit device key (os.urandom), written owner-read-only; refuses to overwrite."""
    path = Path(path)
    if path.exists():
        raise LockError(f"device key {path} already exists; remove it first or choose another path")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = json.dumps({"format": DEVICE_KEY_FORMAT, "key": os.urandom(32).hex()})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(doc + "\n")
    return path


def read_device_key(path) -> bytes:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        key = bytes.fromhex(doc["key"])
        assert doc["format"] == DEVICE_KEY_FORMAT and len(key) == 32
    except FileNotFoundError:
        raise LockError(f"device key {path} does not exist; make one with `codesign lock keygen {path}`") from None
    except (ValueError, KeyError, TypeError, AssertionError):
        raise LockError(f"{path} is not a codesign device key; make one with `codesign lock keygen FILE`") from None
    return key


def device_key_path(run_dir, given=None) -> Path:
    """The device key to use: `given`, else $CODESIGN_DEVICE_KEY, else RUN_DIR/lock/device.key."""
    return Path(given or os.environ.get(ENV_DEVICE_KEY) or Path(run_dir) / "lock" / "device.key")


def seal(password: Password, device_key: bytes, digest: str, path) -> Path:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    ct = AESGCM(device_key).encrypt(nonce, password.to_json().encode(), bytes.fromhex(digest))
    doc = {"format": SEALED_FORMAT, "spec_sha256": digest, "nonce": nonce.hex(),
           "ciphertext": base64.b64encode(ct).decode()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(path)
    return path


def unseal(path, device_key: bytes, digest: str) -> Password:
    """Open a sealed password for the design of hash `digest`; any mismatch is one LockError line."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        assert doc["format"] == SEALED_FORMAT
        nonce, ct = bytes.fromhex(doc["nonce"]), base64.b64decode(doc["ciphertext"], validate=True)
    except FileNotFoundError:
        raise LockError(f"sealed password {path} does not exist; `codesign lock seal RUN_DIR` writes one") from None
    except (ValueError, KeyError, TypeError, AssertionError):
        raise LockError(f"{path} is not a sealed codesign password (damaged file?)") from None
    if doc.get("spec_sha256") != digest:
        raise LockError(f"{path} was sealed for another design (spec hash {str(doc.get('spec_sha256'))[:12]}..., "
                        f"this design {digest[:12]}...); use the password of this run")
    try:
        text = AESGCM(device_key).decrypt(nonce, ct, bytes.fromhex(digest))
    except InvalidTag:
        raise LockError(f"{path} does not open with this device key: wrong device key or a tampered file") from None
    return Password.from_json(text.decode())
