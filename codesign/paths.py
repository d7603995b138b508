"""Where the shipped IP lives: top-level hls/, rtl/, sim/, boards/ in a checkout,
codesign/_ip/... inside an installed wheel (see pyproject's force-include)."""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent
IP_KINDS = ("hls", "rtl", "sim", "boards")


def ip_dir(kind: str) -> Path:
    """Folder of shipped files of one kind: 'hls', 'rtl', 'sim' or 'boards'."""
    if kind not in IP_KINDS:
        raise ValueError(f"unknown IP folder {kind!r}; one of {IP_KINDS}")
    for candidate in (_PKG / "_ip" / kind, _PKG.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"codesign's {kind}/ folder is missing from {_PKG} and its parent; reinstall codesign")
