"""The lock's part of a deploy package: what the PYNQ driver needs to turn a sealed password into key
register writes on the board (boards/pynq/codesign_driver.py `unlock`), and nothing secret.

manifest["lock"] = {spec_sha256: the content digest the password is sealed against (seal.spec_digest),
units: per lock unit its load-port select, lanes, output width, beats, neurons and output type,
perms: per input-permutation lock the geometry of the weight memory its key permutes and the
package path of its public image}.
"""
from __future__ import annotations

from pathlib import Path


def lock_manifest(run_dir, spec, meta: dict) -> dict | None:
    """The manifest's `lock` section of a run (None when its design has no lock unit)."""
    from .seal import spec_digest

    if not meta.get("lock") and not meta.get("input_perm"):
        return None
    units = []
    for lk in meta.get("lock", {}).values():
        t = spec.layer(lk["layer"]).out_type
        units.append({"layer": lk["layer"], "sel": lk["sel"], "pe": lk["pe"], "out_w": lk["out_w"], "nf": lk["nf"],
                      "units": spec.layer(lk["layer"]).attrs["lock"]["units"], "frac": t.frac,
                      "qmin": int(t.qmin), "qmax": int(t.qmax)})
    out = {"spec_sha256": spec_digest(Path(run_dir) / "spec"), "units": units}
    if meta.get("input_perm"):  # the dense engine whose weight rows the key permutes; its public image in rtl/
        out["perms"] = [dict(pm, layer=name, image=f"rtl/{pm['image']}") for name, pm in meta["input_perm"].items()]
    return out
