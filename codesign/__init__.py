"""codesign: harden, compile and verify small neural networks for FPGAs."""
__version__ = "0.1.0"

from . import kinds  # noqa: E402,F401  registers the built-in layer kinds (codesign/kinds) every view looks up
