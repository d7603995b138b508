"""Kronecker FC: a dense layer whose weight is a sum of Kronecker products, W = sum_r B_r (x) A_r.

- `layer`: the Keras layer `KronDense` (quantized factors; its sparsity and conditioning penalties are
  its own `add_loss` terms, so it has no separate training hook);
- `extract`: a trained `KronDense` into a ``kron_dense`` spec layer (integer factors, exact stage types);
- `hls`: the hls4ml Extension API binding (parser, IR layer, templates).

IP quartet: the kind codesign/kinds/kron_dense.py; RTL rtl/kron_matvec.sv with its planner and memory
images in codesign/rtl/kron.py; the HLS header hls/nnet_kron_matvec.h; the cocotb bench
sim/test_kron_matvec.py. Emulator kernel: `kron_matvec` (codesign/emulator.py).
"""
