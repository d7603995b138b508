// Toy layer kind of tests/toy_kind.py for hls4ml: y[i] = cast(x[i] * scale[i]) to res_T.
// accum_t holds every product exactly; the only rounding is the cast to res_T (its ap_fixed modes),
// as the emulator's kernel does.
#ifndef NNET_TOY_SCALE_H_
#define NNET_TOY_SCALE_H_

#include "nnet_common.h"

namespace nnet {

struct toy_scale_config {
    static const unsigned n = 1;
    typedef float scale_t;
    typedef float accum_t;
};

template <class data_T, class res_T, typename CONFIG_T>
void toy_scale(data_T x[CONFIG_T::n], res_T y[CONFIG_T::n], typename CONFIG_T::scale_t scale[CONFIG_T::n]) {
    for (unsigned i = 0; i < CONFIG_T::n; i++) {
        typename CONFIG_T::accum_t acc = x[i] * scale[i];
        y[i] = (res_T)acc;
    }
}

}  // namespace nnet

#endif
