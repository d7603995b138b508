"""STQ + JR: stochastic ternary kernels trained with per-layer Jacobian regularization (`harden:` stq, jr, distill).

- `layer`: which dense/conv2d kernels become QKeras ``stochastic_ternary`` (`apply_stq`), and the
  all-8-bit twin of a layer list (`to_q8`);
- `train`: the Jacobian regularizer the training loop calls (Hoffman, Roberts & Yaida 2019);
- `distill`: robust distillation from the float + JR variant into the ternary network.

No extraction or hls4ml binding of its own: the trained network is plain QKeras, so
codesign/extract.py makes ordinary ``dense``/``conv2d`` spec layers with narrow integer weights.
Its IP is the standard one: the kinds codesign/kinds/dense.py and conv2d.py, RTL rtl/mvau.sv (planned by
codesign/rtl/plan.py; conv2d with rtl/swg.sv, codesign/rtl/conv.py), hls4ml's own dense/conv templates (no
header in hls/), cocotb bench sim/test_mvau.py. Variant training (float, float_jr, q8, stq, stq_jr):
codesign/variants.py.
"""
