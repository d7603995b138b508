"""Campaign rows on disk: `RUN/faults/<campaign>/plan.json` plus one Parquet file per finished chunk.

Why per-chunk files: Parquet cannot be appended to, and a chunk written to a temporary name and
renamed into place is either whole or absent. A killed campaign therefore resumes by skipping
every chunk whose file exists (no fault runs twice) and re-running the rest; the plan (campaign,
seed, sizes, and a digest of the fault list) must match, or the user is told to start afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import CodesignError


class StoreError(CodesignError):
    """A faults folder that does not belong to the campaign asked for."""


def plan_digest(keys: list[str]) -> str:
    h = hashlib.sha256()
    for k in keys:
        h.update(k.encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


class RowStore:
    """Rows of one campaign in `folder`: chunk k's rows in part-<k>.parquet."""

    def __init__(self, folder: Path, plan: dict, fresh: bool = False):
        self.folder = Path(folder)
        if fresh and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "plan.json"
        if path.exists():
            old = json.loads(path.read_text())
            if old != plan:
                diff = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
                raise StoreError(f"{self.folder} holds a different campaign (differs in {diff}); "
                                 "pass --fresh to discard it or choose other options")
        else:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(plan, indent=1))
            os.replace(tmp, path)
        self.plan = plan

    def part(self, chunk: int) -> Path:
        return self.folder / f"part-{chunk:06d}.parquet"

    def done(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.parquet")}

    def write(self, chunk: int, columns: dict) -> None:
        """Chunk `chunk`'s rows (a dict of equal-length columns), atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: np.asarray(v) if not isinstance(v, list) else v for k, v in columns.items()})
        tmp = self.folder / f".part-{chunk:06d}.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.part(chunk))

    def read(self) -> dict:
        """Every finished row, chunks in order, as numpy columns (empty dict when none)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = sorted(self.folder.glob("part-*.parquet"))
        if not parts:
            return {}
        table = pa.concat_tables([pq.read_table(p) for p in parts])
        return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
