"""The hardening techniques, one package each with the same inner layout.

Each ``codesign/techniques/<name>/`` holds, where the technique has that part:

- ``layer.py``: its Keras layer (or, for a quantizer, the rewrite of the config's layer list);
- ``train.py``: its training hooks (regularizer, pretrain + fit step) that codesign/train.py and
  codesign/flow.py call;
- ``extract.py``: its trained layer into a design-spec layer (codesign/extract.py calls it);
- ``hls.py``: its hls4ml Extension API binding (parser, IR layer, templates);
- ``__init__.py``: what it is and where its IP quartet lives: the layer kind (codesign/kinds/), the
  RTL (rtl/*.sv + its planner in codesign/rtl/), the HLS header (hls/) and the cocotb bench (sim/).

Techniques: `stq_jr` (stochastic ternary kernels + Jacobian regularization, distillation), `kron`
(separable Kronecker FC), `wings` (generated weights), `lock` (EdgePro neuron-authorization locks).
Nothing is imported here: a technique is loaded only when a run or a kind uses it.
"""
