"""Where chunks of a campaign run: in this process, in local worker processes, or on a
dask.distributed cluster (`--scheduler ADDRESS`). Every worker builds the campaign's engine once
(from the run folder) and keeps it; a chunk's rows depend only on the chunk, so every executor
gives the same rows.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed

_CONTEXT: dict = {}  # per worker process: (run_dir, campaign key) -> Campaign context


def _context(job: dict):
    from .context import Context

    key = (job["run_dir"], job["key"])
    if key not in _CONTEXT:
        _CONTEXT.clear()
        _CONTEXT[key] = Context.open(job)
    return _CONTEXT[key]


def run_chunk(job: dict, chunk: int, payload) -> tuple[int, dict]:
    """One chunk's rows (runs in any worker)."""
    return chunk, _context(job).run_chunk(chunk, payload)


def execute(job: dict, chunks: list[tuple[int, object]], on_rows, workers: int = 1, scheduler: str | None = None):
    """Run (chunk, payload) pairs, calling on_rows(chunk, rows) as each finishes (any order)."""
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler, timeout="20s") as client:
            futures = [client.submit(run_chunk, job, c, p, pure=False, key=f"faults-{job['key']}-{c}") for c, p in chunks]
            for fut in dask_completed(futures):
                on_rows(*fut.result())
        return
    if workers <= 1:
        for c, p in chunks:
            on_rows(*run_chunk(job, c, p))
        return
    env_threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # one BLAS thread per worker process: the processes are the parallelism
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_chunk, job, c, p) for c, p in chunks]
            for fut in as_completed(futures):
                on_rows(*fut.result())
    finally:
        if env_threads is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env_threads
