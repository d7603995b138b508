"""cocotb bench of rtl/lock_unit.sv (quartet: codesign/techniques/lock/kernel.py lock_unit / hls/nnet_lock.h /
rtl/lock_unit.sv / this file).

The unit is driven in place: codesign.techniques.lock.bench.run_lock_bench generates a one-layer locked model top
(an mvau followed by its lock unit), writes the key registers through the load port before the first
sample, and the streaming bench of test_model.py feeds samples with random valid/ready stalls and
compares every output integer with the emulator under the same key.
"""
from test_model import stream_samples  # noqa: F401  (cocotb collects the imported test)
