// Input-permutation lock for hls4ml: the flattened input of the first dense layer, permuted by the key.
//
// y[j] = x[perm[j]] for each of the n_in inputs. perm is the key (a top-level input of the design,
// never a synthesis constant), filled from the decrypted password at run time; the identity is the
// no-key design. Same integers as codesign/techniques/lock/kernel.py input_perm; in RTL the first
// layer's weight rows are written permuted over the load port instead (codesign/techniques/lock/rtl.py).
#ifndef NNET_INPUT_PERM_H_
#define NNET_INPUT_PERM_H_

#include "nnet_common.h"

namespace nnet {

struct input_perm_config {
    static const unsigned n_in = 1;  // inputs permuted
};

template <class data_T, class perm_T, class res_T, typename CONFIG_T>
void input_perm(data_T x[CONFIG_T::n_in], perm_T perm[CONFIG_T::n_in], res_T y[CONFIG_T::n_in]) {
    #pragma HLS INLINE
Inputs:
    for (unsigned j = 0; j < CONFIG_T::n_in; j++) {
        #pragma HLS UNROLL
        const unsigned i = perm[j].to_uint();
        y[j] = (res_T)x[i < CONFIG_T::n_in ? i : 0];
    }
}

} // namespace nnet

#endif
