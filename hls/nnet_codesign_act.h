// Elementwise layers of a design spec that hls4ml has no exact layer for (codesign/hls_act.py).
//
// multi_threshold: y = levels[k], k = how many of the ascending thresholds x reaches (x >= t), as FINN's
// MultiThreshold: QKeras binary / binary_tanh / ternary activations. leaky_relu_q: QKeras quantized_relu with
// a power-of-two negative slope 2^-K: x >= 0 cast to res_T, x < 0 times 2^-K (exact: a product with a
// K-fraction-bit constant) cast to neg_t, whose range is QKeras' negative clip. Same integers as
// codesign/emulator.py multithreshold_kernel / leaky_relu_kernel.
#ifndef NNET_CODESIGN_ACT_H_
#define NNET_CODESIGN_ACT_H_

#include "nnet_common.h"

namespace nnet {

struct multi_threshold_config {
    static const unsigned n_in = 1;   // elements
    static const unsigned n_thr = 1;  // thresholds (levels: n_thr + 1)
};

template <class data_T, class res_T, typename CONFIG_T>
void multi_threshold(data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in],
                     typename CONFIG_T::thresholds_t thresholds[CONFIG_T::n_thr],
                     typename CONFIG_T::levels_t levels[CONFIG_T::n_thr + 1]) {
    #pragma HLS INLINE
Elements:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        unsigned k = 0;
    Thresholds:
        for (unsigned j = 0; j < CONFIG_T::n_thr; j++) {
            if (x[i] >= thresholds[j]) k++;
        }
        y[i] = (res_T)levels[k];
    }
}

struct leaky_relu_q_config {
    static const unsigned n_in = 1;
    static const unsigned slope_shift = 1;  // slope 2^-slope_shift
};

template <class data_T, class res_T, typename CONFIG_T>
void leaky_relu_q(data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS INLINE
    const ap_ufixed<CONFIG_T::slope_shift + 1, 1> slope = ap_ufixed<CONFIG_T::slope_shift + 1, 1>(1.0 / (1u << CONFIG_T::slope_shift));
Elements:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        if (x[i] >= 0) {
            y[i] = (res_T)x[i];
        } else {
            typename CONFIG_T::neg_t n = x[i] * slope;
            y[i] = (res_T)n;
        }
    }
}

struct scale_shift_config {
    static const unsigned n_in = 1;    // elements
    static const unsigned n_chan = 1;  // channels (the last axis)
    static const bool relu = false;
};

// y = cast(act(x * scale[c] + bias[c])), c the channel: batch norm and per-channel weight scales. The product
// is exact (ap_fixed keeps every bit) and accum_t holds every sum (the spec sizes it), so the one rounding is
// the cast to res_T, as codesign/emulator.py scale_kernel.
template <class data_T, class res_T, typename CONFIG_T>
void scale_shift(data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_in], typename CONFIG_T::scale_t scale[CONFIG_T::n_chan],
                 typename CONFIG_T::bias_t bias[CONFIG_T::n_chan]) {
    #pragma HLS INLINE
Elements:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        #pragma HLS UNROLL
        const unsigned c = i % CONFIG_T::n_chan;
        typename CONFIG_T::accum_t a = x[i] * scale[c];
        a += bias[c];
        if (CONFIG_T::relu && a < 0) a = 0;
        y[i] = (res_T)a;
    }
}

} // namespace nnet

#endif
