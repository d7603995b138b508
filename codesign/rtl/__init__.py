"""RTL view of a design spec: generated SystemVerilog (rtl/ IP), cocotb+Verilator simulation, yosys synthesis.

    meta = generate(spec, out_dir, folding=None, target_cycles=None)
    outputs, throughput = simulate(spec, out_dir, x_int)
    resources = synthesize(out_dir, board="pynq-z2")
"""
from .generate import generate, plan, read_meta
from .plan import RTLError
from .simulate import RTLMismatch, RTLStreamError, SimResult, load_writes, run, simulate
from .synth import synthesize
from .toolchain import ToolchainError

__all__ = ["generate", "plan", "read_meta", "simulate", "run", "load_writes", "synthesize", "SimResult",
           "RTLError", "RTLMismatch", "RTLStreamError", "ToolchainError"]
