// Lock unit (EdgePro neuron authorization) for hls4ml: the epilogue of a locked layer.
//
// y[i] = mask[i] ? value[i] : x[i] for each of the layer's n_in neurons (a conv2d layer's channels:
// its output is n_pix pixels of n_in channels, channels last, each pixel keyed alike). mask and value are the key
// register bank, a top-level input of the design (never a synthesis constant), filled from the
// decrypted password at run time; an all-zero mask (no key) passes every activation through.
// Same integers as codesign/techniques/lock/kernel.py lock_unit and rtl/lock_unit.sv.
#ifndef NNET_LOCK_H_
#define NNET_LOCK_H_

#include "nnet_common.h"

namespace nnet {

struct lock_config {
    static const unsigned n_in = 1;   // neurons (channels) keyed
    static const unsigned n_pix = 1;  // pixels of a conv2d output (1: dense)
};

template <class data_T, class mask_T, class value_T, class res_T, typename CONFIG_T>
void lock_unit(data_T x[CONFIG_T::n_pix * CONFIG_T::n_in], mask_T mask[CONFIG_T::n_in], value_T value[CONFIG_T::n_in],
               res_T y[CONFIG_T::n_pix * CONFIG_T::n_in]) {
    #pragma HLS INLINE
Pixels:
    for (unsigned p = 0; p < CONFIG_T::n_pix; p++) {
    Neurons:
        for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
            #pragma HLS UNROLL
            const unsigned j = p * CONFIG_T::n_in + i;
            y[j] = mask[i] != 0 ? (res_T)value[i] : (res_T)x[j];
        }
    }
}

} // namespace nnet

#endif
