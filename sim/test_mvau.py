"""cocotb unit bench of rtl/mvau.sv (quartet name: emulator.dense_kernel / rtl/mvau.sv / this file).

A generated wrapper (codesign.rtl.units.model_bundle) holds several single-layer model tops side by
side, each one mvau engine with its own shape, folding (padding where lanes do not divide), weight
kind (ternary add/subtract/skip or multiplier), shift, bias and rounding; the streaming bench of
test_model.py drives all of them at once with random stalls and compares every output integer
with the emulator's dense_kernel. Only the test is shared; the job file says what to run.
"""
from test_model import stream_samples  # noqa: F401  (cocotb collects the imported test)
