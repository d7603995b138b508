"""WINGs: dense layers whose weights are generated at inference from a PCA basis and SVR curves.

- `layer.WingsDense`: the Keras layer (generator in the training loop, fixed point with straight-through
  rounding at exactly the points the design spec casts);
- `train`: the `harden.wings` training hook (pretrain an 8-bit dense twin, fit, swap in, fine-tune);
- `extract.wings_layer_spec`: the spec layer (kind ``wings_dense``), integer parameters + exact types;
- `hls`: hls4ml Extension API registration, C++ in ``hls/nnet_wings_gen.h``;
- `gen`: the generator in integers, the reference every view reproduces (emulator kernel ``wings_gen``);
- `fit`: scikit-learn PCA + neuron-order permutation + SVR of a trained dense layer, optional fine-tune;
- `faults`: single-bit-flip amplification and canary detection;
- `sensitivity`: per-layer accuracy drop under rank-k PCA reconstruction, and the chooser of layers to compress.

IP quartet: the kind codesign/kinds/wings_dense.py; RTL rtl/wings_gen.sv with its planner and memory
images in codesign/rtl/wings.py; the HLS header hls/nnet_wings_gen.h; the cocotb bench
sim/test_wings_gen.py. The emulator kernel is ``wings_gen`` (codesign/emulator.py).
"""
