"""WINGs: dense layers whose weights are generated at inference from a PCA basis and SVR curves.

- `layer.WingsDense`: the Keras layer (generator in the training loop, fixed point with straight-through
  rounding at exactly the points the design spec casts);
- `extract.wings_layer_spec`: the spec layer (kind ``wings_dense``), integer parameters + exact types;
- `fit`: scikit-learn PCA + neuron-order permutation + SVR of a trained dense layer, optional fine-tune;
- `hls`: hls4ml Extension API registration, C++ in ``hls/nnet_wings_gen.h``;
- `faults`: single-bit-flip amplification and canary detection;
- `sensitivity`: per-layer accuracy drop under rank-k PCA reconstruction, and the chooser of layers to compress.

The emulator kernel is ``wings_gen`` (codesign/emulator.py).
"""
