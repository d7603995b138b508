"""cocotb unit bench of rtl/wings_gen.sv (quartet: emulator.wings_gen / hls/nnet_wings_gen.h /
rtl/wings_gen.sv / this file).

A generated wrapper (codesign.rtl.units.model_bundle) holds several single-layer model tops side by
side, each one wings_gen engine with its own shape (input image H x W, units, components K, support
vectors S), basis form (pixel grid gr x gc, or stored), folding (PE x SIMD, with padded rows and
columns), generator widths and cast modes (round half to even + saturate as WINGs makes them, or
random ap_fixed modes), bias, relu and output type. Each engine generates its weights after reset
(or after a load-port write), then the streaming bench of test_model.py drives all of them at once
with random AXI-Stream stalls and compares every output integer with the emulator's wings_gen.
Only the test is shared; the job file (CODESIGN_SIM_JOB) says what to run (tests/test_rtl_wings.py).
"""
from test_model import stream_samples  # noqa: F401  (cocotb collects the imported test)
