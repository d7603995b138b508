"""codesign: harden, compile and verify small neural networks for FPGAs."""
__version__ = "0.1.0"
