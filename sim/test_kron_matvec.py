"""cocotb unit bench of rtl/kron_matvec.sv (quartet: emulator.kron_matvec / hls/nnet_kron_matvec.h /
rtl/kron_matvec.sv / this file).

A generated wrapper (codesign.rtl.units.model_bundle) holds several single-layer model tops side by
side, each one kron_matvec engine with its own rank, factor shapes, folding (PE over m1, SIMD over
n1; stage 2's k = r*n2 + i2 padded to a multiple of SIMD), factor widths (ternary add/subtract or
multiplier), exact or rounding/overflowing `mid` type, bias, relu and output rounding; the
streaming bench of test_model.py drives all of them at once with random AXI-Stream stalls and
compares every output integer with the emulator's kron_matvec. Only the test is shared; the job
file (CODESIGN_SIM_JOB) says what to run.
"""
from test_model import stream_samples  # noqa: F401  (cocotb collects the imported test)
