"""codesign: harden, compile and verify small neural networks for FPGAs."""
__version__ = "0.1.0"

# The built-in layer kinds (codesign/kinds) every view looks up, each registering itself; order = the
# order `kinds.names()` lists them in messages. Here and not in kinds/__init__.py: see its docstring.
from .kinds import dense, conv2d, maxpool2d, flatten, kron_dense, wings_dense, avgpool2d, multithreshold, leaky_relu, scale, depthwise2d, merge, upsample2d  # noqa: E402,F401
