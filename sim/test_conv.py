"""cocotb unit bench of rtl/swg.sv + rtl/mvau.sv (conv2d) and rtl/maxpool.sv (quartet names:
emulator.conv2d_kernel, emulator.maxpool2d_kernel / rtl/swg.sv, rtl/maxpool.sv / this file).

A generated wrapper (codesign.rtl.units.model_bundle) holds single-layer conv and maxpool tops and small
CNN chains side by side; the streaming bench of test_model.py drives all of them at once with random
stalls and compares every output integer with the emulator (tests/test_rtl_conv.py says what runs).
"""
from test_model import stream_samples  # noqa: F401  (cocotb collects the imported test)
