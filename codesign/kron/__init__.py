"""Separable (Kronecker) fully connected layers: Keras layer, spec extraction, hls4ml extension."""
