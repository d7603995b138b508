"""The board catalogue (boards/boards.json), the one place a board is described.

Config validation, the yosys resource estimate, the hls4ml project and `codesign deploy` all look
boards up here, so a board added to boards.json is known to every view at once and no two tables
can disagree on a part or a capacity.

`BOARDS[name]` is a flat view for the estimate and the views: part, yosys family, capacity keys
(LUT, FF, DSP, BRAM36, URAM) at the top level, and the rest of the entry (board part, board files,
PS, DMA width, default clock). `board(name)` returns the same with the PS settings resolved.
"""
from __future__ import annotations

import json

from .errors import ConfigError
from .paths import ip_dir

CAPACITY_KEYS = ("LUT", "FF", "DSP", "BRAM36", "URAM")
REQUIRED = ("name", "part", "family", "capacity", "board_part", "board_files", "ps", "dma_width", "clock_mhz")


def _load() -> tuple[dict, dict]:
    doc = json.loads((ip_dir("boards") / "boards.json").read_text())
    ps = doc["_ps"]
    boards = {}
    for key, entry in doc.items():
        if key.startswith("_"):
            continue
        missing = [k for k in REQUIRED if k not in entry]
        if missing or entry["ps"] not in ps or sorted(entry["capacity"]) != sorted(CAPACITY_KEYS):
            raise RuntimeError(f"boards/boards.json entry {key!r} is incomplete: missing {missing}, "
                               f"ps {entry.get('ps')!r}, capacity keys {sorted(entry.get('capacity', {}))}")
        boards[key] = {**{k: v for k, v in entry.items() if k != "capacity"}, **entry["capacity"]}
    return boards, ps


BOARDS, PS = _load()


def board(name: str) -> dict:
    """The catalogue entry of `name` with its processing-system settings under "ps_settings"."""
    if name not in BOARDS:
        raise ConfigError(f"unknown board {name!r}; known boards: {sorted(BOARDS)}")
    b = BOARDS[name]
    return {"board": name, **b, "ps_settings": PS[b["ps"]]}


def capacity(name: str) -> dict:
    """LUT, FF, DSP, BRAM36, URAM of the board's part."""
    return {k: board(name)[k] for k in CAPACITY_KEYS}
