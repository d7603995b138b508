"""Pipeline depth of the MAC lanes (rtl/mac_pipe.sv, rtl/dot_simd.sv), shared by every generator.

Why one place: the RTL's extra stages change when a result lands (kron_matvec's mid writes, the
latency), so the generator that schedules around them and the parameters it passes must agree.
Placed and routed on an ECP5 (codesign/rtl/pnr.py), the memory outputs plus a whole SIMD adder tree
in one cycle ran at 36.9 MHz; an operand register and a register every DOT_LVL adder levels
(products count as one) cut that path at no cost in cycles per inference (one term a cycle still).
"""
from __future__ import annotations

DOT_LVL = 2   # adder-tree levels between registers in dot_simd (0: the whole tree in one cycle)
OP_REG = 1    # 1: register the MAC operands (memory outputs) before the products
MREG = 1      # 1: a multiplier lane registers its operands and copies its product (dot_simd MS)


def tree_levels(simd: int) -> int:
    """Levels of dot_simd's binary adder tree over SIMD products: clog2(SIMD)."""
    return max(0, (int(simd) - 1).bit_length())


def dot_stages(simd: int, ww: int, dot_lvl: int = DOT_LVL, mreg: int = MREG) -> int:
    """dot_simd's register stages: after tree level l < clog2(SIMD) when (PL + l) % DOT_LVL == 0, where
    the products weigh PL = 1 level (add/subtract, WW <= 2) or a whole stage (a multiplier); a multiplier
    lane adds two when mreg (its operands registered before the hard multiplier and its product copied
    after it: dot_simd MS)."""
    if dot_lvl <= 0:
        return 0
    pl = 1 if ww <= 2 else dot_lvl
    t = tree_levels(simd)
    return (pl + t - 1) // dot_lvl - (pl - 1) // dot_lvl + (2 if ww > 2 and mreg else 0)


def mac_extra_stages(simd: int, ww: int, dot_lvl: int = DOT_LVL, op_reg: int = OP_REG, mreg: int = MREG) -> int:
    """Cycles mac_pipe adds between its operand stage and its dot-product register (its DS)."""
    return int(op_reg) + dot_stages(simd, ww, dot_lvl, mreg)


def pipeline_params() -> dict:
    """The Verilog parameters every engine with a mac_pipe takes."""
    return {"DOT_LVL": DOT_LVL, "OP_REG": OP_REG}
