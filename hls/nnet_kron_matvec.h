// Separable (Kronecker) fully connected layer for hls4ml: Y = sum_r B_r X A_r^T.
//
// x is the layer input, length n1*n2, read row-major as X (n2 x n1); the output y (m2 x m1) is
// row-major, length m1*m2. W = sum_r A_r (x) B_r is never built: stage 1 computes
// mid_r = X A_r^T (n2 x m1) into mid_t, stage 2 accumulates B_r mid_r into accum_t, then the bias
// (aligned to accum_t) is added and the sum is cast to res_T. With the types codesign's design
// spec chooses (mid_t and accum_t wide enough for every input), both stages are exact and the
// only rounding is the final cast -- the same integers as codesign's emulator kernel kron_matvec.
#ifndef NNET_KRON_MATVEC_H_
#define NNET_KRON_MATVEC_H_

#include "nnet_common.h"

namespace nnet {

struct kron_config {
    static const unsigned n1 = 1, n2 = 1, m1 = 1, m2 = 1, rank = 1;
    static const unsigned reuse_factor = 1;
    typedef float a_t;
    typedef float b_t;
    typedef float bias_t;
    typedef float mid_t;
    typedef float accum_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void kron_matvec(data_T x[CONFIG_T::n1 * CONFIG_T::n2], res_T y[CONFIG_T::m1 * CONFIG_T::m2],
                 typename CONFIG_T::a_t a[CONFIG_T::rank * CONFIG_T::m1 * CONFIG_T::n1],
                 typename CONFIG_T::b_t b[CONFIG_T::rank * CONFIG_T::m2 * CONFIG_T::n2],
                 typename CONFIG_T::bias_t bias[CONFIG_T::m1 * CONFIG_T::m2]) {
    typename CONFIG_T::accum_t acc[CONFIG_T::m2 * CONFIG_T::m1];
    typename CONFIG_T::mid_t mid[CONFIG_T::n2 * CONFIG_T::m1];

Init:
    for (unsigned k = 0; k < CONFIG_T::m2 * CONFIG_T::m1; k++) {
        acc[k] = (typename CONFIG_T::accum_t)bias[k];
    }
Rank:
    for (unsigned r = 0; r < CONFIG_T::rank; r++) {
    Stage1:  // mid = X A_r^T
        for (unsigned i2 = 0; i2 < CONFIG_T::n2; i2++) {
            for (unsigned j1 = 0; j1 < CONFIG_T::m1; j1++) {
                typename CONFIG_T::mid_t s = 0;
                for (unsigned i1 = 0; i1 < CONFIG_T::n1; i1++) {
                    s += x[i2 * CONFIG_T::n1 + i1] * a[(r * CONFIG_T::m1 + j1) * CONFIG_T::n1 + i1];
                }
                mid[i2 * CONFIG_T::m1 + j1] = s;
            }
        }
    Stage2:  // acc += B_r mid
        for (unsigned j2 = 0; j2 < CONFIG_T::m2; j2++) {
            for (unsigned j1 = 0; j1 < CONFIG_T::m1; j1++) {
                typename CONFIG_T::accum_t s = 0;
                for (unsigned i2 = 0; i2 < CONFIG_T::n2; i2++) {
                    s += b[(r * CONFIG_T::m2 + j2) * CONFIG_T::n2 + i2] * mid[i2 * CONFIG_T::m1 + j1];
                }
                acc[j2 * CONFIG_T::m1 + j1] += s;
            }
        }
    }
Out:
    for (unsigned k = 0; k < CONFIG_T::m2 * CONFIG_T::m1; k++) {
        y[k] = (res_T)acc[k];
    }
}

} // namespace nnet

#endif
