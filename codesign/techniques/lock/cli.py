"""`codesign lock keygen | seal | check`: device keys and sealed passwords of locked runs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Neuron-authorization locks: device keys and sealed passwords (codesign/techniques/lock).")


def _guard(fn):
    from ...cli_common import _fail, _user_errors

    try:
        return fn()
    except _user_errors() as e:
        _fail(e)


@app.command()
def keygen(out: Path = typer.Argument(..., help="device key file to create (kept on the device, 0600)")):
    """Create a 256-bit device key."""
    from .seal import write_device_key

    path = _guard(lambda: write_device_key(out))
    sys.stdout.write(f"{path}\n")


@app.command()
def seal(run_dir: Path = typer.Argument(..., help="a locked run folder made by `codesign flow`"),
         device_key: Path = typer.Option(..., "--device-key", help="the device key to seal the password for"),
         current_key: Path = typer.Option(None, "--current-key",
                                          help="the key the run's password is sealed under now "
                                               "(default $CODESIGN_DEVICE_KEY or RUN_DIR/lock/device.key)"),
         out: Path = typer.Option(None, "--out", help="sealed password to write (default RUN_DIR/lock/password.enc)")):
    """Re-seal a run's password under another device key (e.g. the board's)."""
    from .keys import open_run_password
    from .seal import read_device_key, spec_digest
    from .seal import seal as seal_password

    def go():
        password = open_run_password(run_dir, device_key=current_key)
        return seal_password(password, read_device_key(device_key), spec_digest(run_dir / "spec"),
                             out or run_dir / "lock" / "password.enc")

    sys.stdout.write(f"{_guard(go)}\n")


@app.command()
def check(run_dir: Path = typer.Argument(..., help="a locked run folder made by `codesign flow`"),
          password: Path = typer.Option(None, "--password", help="sealed password (default RUN_DIR/lock/password.enc)"),
          device_key: Path = typer.Option(None, "--device-key", help="device key (default $CODESIGN_DEVICE_KEY or "
                                                                      "RUN_DIR/lock/device.key)")):
    """Open a sealed password against the run's spec; print what it locks (not the secret)."""
    from ...spec import DesignSpec
    from .keys import open_run_password
    from .seal import spec_digest

    def go():
        p = open_run_password(run_dir, password, device_key)
        p.key(DesignSpec.load(run_dir / "spec"))  # fits the design's lock units
        return {"ok": True, "layers": sorted(p.layers), "neurons": p.neurons(),
                "spec_sha256": spec_digest(run_dir / "spec")}

    sys.stdout.write(json.dumps(_guard(go)) + "\n")


@app.command()
def attacks(run_dir: Path = typer.Argument(..., help="a locked run folder made by `codesign flow`"),
            epochs: int = typer.Option(20, "--epochs", help="epochs of every fine-tuning and from-scratch training"),
            random_keys: int = typer.Option(None, "--random-keys", help="random keys to try (default: the config's)"),
            device_key: Path = typer.Option(None, "--device-key", help="device key opening the run's password")):
    """Attack a locked run as a thief with its weights: no key, random keys, fine-tuning on 1% / 10% of the
    training data vs from scratch (head start), pruning + fine-tuning, an adaptive guess. Updates report.json."""
    from ...cli_common import _quiet_tensorflow, console
    from .attacks import run_attacks

    _quiet_tensorflow()
    out = _guard(lambda: run_attacks(run_dir, epochs, random_keys, device_key,
                                     log=lambda m: console.log(m, highlight=False)))
    sys.stdout.write(json.dumps({k: out[k] for k in ("head_start", "attacks") if k in out}) + "\n")
