"""Bit flips before synthesis: fault campaigns on a built design (`codesign faults RUN_DIR`).

- `model`: a fault is a set of flipped bits of the integers the hardware stores (site numbering);
- `engine`: the incremental emulator (only what a fault changes is recomputed), and the naive path;
- `campaign`: exhaustive / random / bfa campaigns, report section and plots;
- `store`: rows as per-chunk Parquet files, so a killed campaign resumes;
- `executor`: chunks in this process, local processes or on a dask.distributed cluster;
- `bfa`: the progressive bit-flip attack through the float twin of the integer design;
- `detect`: canary signatures and parameter checksums.
"""
