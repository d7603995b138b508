// WINGs generated dense layer for hls4ml: the weights are generated, never stored.
//
//   curve[k][j] = (curve_t)( beta[k] + sum_s alpha[k][s] * klut[|j - sv[k][s]|] )      RBF SVR per component
//   basis[k][r*W+c] = (basis_t)( sum_a plut[|r - prow[a]|] * sum_b z[k][a][b] * plut[|c - pcol[b]|] )
//   w[i][j] = (gw_t)( sum_k basis[k][i] * curve[k][j] )
//   y[j] = (res_T)( bias[j] + sum_i x[i] * w[i][j] )
//
// A table read past its length is 0. The sums (curve_acc_t, basis_mid_t, basis_acc_t, weight_acc_t,
// accum_t) are exact with the types codesign's design spec chooses, so the only roundings are the
// three casts (RND_CONV, SAT) and the final one -- the same integers as the emulator kernel wings_gen
// (codesign/techniques/wings/gen.py). In hardware the basis images are generated once per call and the weights of
// neuron j while neuron j is computed (one column of w at a time, n_in words of storage); the C
// simulation runs the same generator functions once and keeps the columns (see wings_gen).
#ifndef NNET_WINGS_GEN_H_
#define NNET_WINGS_GEN_H_

#include "nnet_common.h"

namespace nnet {

struct wings_config {
    static const unsigned n_in = 1, n_out = 1, n_comp = 1, n_sv = 1, klut_len = 1, plut_len = 1;
    static const unsigned height = 1, width = 1, grid_rows = 1, grid_cols = 1;
    static const unsigned reuse_factor = 1;
    typedef float alpha_t;
    typedef float beta_t;
    typedef float sv_t;
    typedef float klut_t;
    typedef float z_t;
    typedef float plut_t;
    typedef float prow_t;
    typedef float pcol_t;
    typedef float bias_t;
    typedef float curve_acc_t;
    typedef float curve_t;
    typedef float basis_mid_t;
    typedef float basis_acc_t;
    typedef float basis_t;
    typedef float weight_acc_t;
    typedef float gw_t;
    typedef float accum_t;
};

inline unsigned wings_dist(int a, int b) { return (unsigned)(a > b ? a - b : b - a); }

// basis[k][r*W+c] for every component (once per call: n_comp * H * W words)
template <typename CONFIG_T>
void wings_basis(typename CONFIG_T::z_t z[CONFIG_T::n_comp * CONFIG_T::grid_rows * CONFIG_T::grid_cols],
                 typename CONFIG_T::plut_t plut[CONFIG_T::plut_len],
                 typename CONFIG_T::prow_t prow[CONFIG_T::grid_rows],
                 typename CONFIG_T::pcol_t pcol[CONFIG_T::grid_cols],
                 typename CONFIG_T::basis_t basis[CONFIG_T::n_comp][CONFIG_T::height * CONFIG_T::width]) {
    typename CONFIG_T::basis_mid_t mid[CONFIG_T::grid_rows][CONFIG_T::width];
Basis:
    for (unsigned k = 0; k < CONFIG_T::n_comp; k++) {
    BasisCols:  // mid[a][c] = sum_b z[k][a][b] * plut[|c - pcol[b]|]
        for (unsigned a = 0; a < CONFIG_T::grid_rows; a++) {
            for (unsigned c = 0; c < CONFIG_T::width; c++) {
                typename CONFIG_T::basis_mid_t s = 0;
                for (unsigned b = 0; b < CONFIG_T::grid_cols; b++) {
                    unsigned d = wings_dist(c, pcol[b].to_int());
                    if (d < CONFIG_T::plut_len) {
                        s += z[(k * CONFIG_T::grid_rows + a) * CONFIG_T::grid_cols + b] * plut[d];
                    }
                }
                mid[a][c] = s;
            }
        }
    BasisRows:  // basis[k][r][c] = cast(sum_a plut[|r - prow[a]|] * mid[a][c])
        for (unsigned r = 0; r < CONFIG_T::height; r++) {
            for (unsigned c = 0; c < CONFIG_T::width; c++) {
                typename CONFIG_T::basis_acc_t s = 0;
                for (unsigned a = 0; a < CONFIG_T::grid_rows; a++) {
                    unsigned d = wings_dist(r, prow[a].to_int());
                    if (d < CONFIG_T::plut_len) {
                        s += plut[d] * mid[a][c];
                    }
                }
                basis[k][r * CONFIG_T::width + c] = (typename CONFIG_T::basis_t)s;
            }
        }
    }
}

// column j of w: the SVR curves at neuron position j, then w[i][j] = cast(sum_k basis[k][i] * curve[k])
template <typename CONFIG_T>
void wings_column(unsigned j, typename CONFIG_T::alpha_t alpha[CONFIG_T::n_comp * CONFIG_T::n_sv],
                  typename CONFIG_T::beta_t beta[CONFIG_T::n_comp],
                  typename CONFIG_T::sv_t sv[CONFIG_T::n_comp * CONFIG_T::n_sv],
                  typename CONFIG_T::klut_t klut[CONFIG_T::klut_len],
                  typename CONFIG_T::basis_t basis[CONFIG_T::n_comp][CONFIG_T::height * CONFIG_T::width],
                  typename CONFIG_T::gw_t col[CONFIG_T::n_in]) {
    typename CONFIG_T::curve_t curve[CONFIG_T::n_comp];
Curves:
    for (unsigned k = 0; k < CONFIG_T::n_comp; k++) {
        typename CONFIG_T::curve_acc_t s = beta[k];
        for (unsigned v = 0; v < CONFIG_T::n_sv; v++) {
            unsigned d = wings_dist(j, sv[k * CONFIG_T::n_sv + v].to_int());
            if (d < CONFIG_T::klut_len) {
                s += alpha[k * CONFIG_T::n_sv + v] * klut[d];
            }
        }
        curve[k] = (typename CONFIG_T::curve_t)s;
    }
Column:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        typename CONFIG_T::weight_acc_t ws = 0;
        for (unsigned k = 0; k < CONFIG_T::n_comp; k++) {
            ws += basis[k][i] * curve[k];
        }
        col[i] = (typename CONFIG_T::gw_t)ws;
    }
}

template <class data_T, typename CONFIG_T>
typename CONFIG_T::accum_t wings_dot(data_T x[CONFIG_T::n_in], typename CONFIG_T::gw_t col[CONFIG_T::n_in],
                                     typename CONFIG_T::bias_t b) {
    typename CONFIG_T::accum_t acc = b;
Dot:
    for (unsigned i = 0; i < CONFIG_T::n_in; i++) {
        acc += x[i] * col[i];
    }
    return acc;
}

template <class data_T, class res_T, typename CONFIG_T>
void wings_gen(data_T x[CONFIG_T::n_in], res_T y[CONFIG_T::n_out],
               typename CONFIG_T::alpha_t alpha[CONFIG_T::n_comp * CONFIG_T::n_sv],
               typename CONFIG_T::beta_t beta[CONFIG_T::n_comp],
               typename CONFIG_T::sv_t sv[CONFIG_T::n_comp * CONFIG_T::n_sv],
               typename CONFIG_T::klut_t klut[CONFIG_T::klut_len],
               typename CONFIG_T::z_t z[CONFIG_T::n_comp * CONFIG_T::grid_rows * CONFIG_T::grid_cols],
               typename CONFIG_T::plut_t plut[CONFIG_T::plut_len],
               typename CONFIG_T::prow_t prow[CONFIG_T::grid_rows],
               typename CONFIG_T::pcol_t pcol[CONFIG_T::grid_cols],
               typename CONFIG_T::bias_t bias[CONFIG_T::n_out]) {
    static typename CONFIG_T::basis_t basis[CONFIG_T::n_comp][CONFIG_T::height * CONFIG_T::width];
#ifndef __SYNTHESIS__
    // C simulation: the generator's output does not depend on x, so the same code runs on the first
    // call only and its columns are kept (n_out * n_in words, a simulation-only cache).
    static bool generated = false;
    static typename CONFIG_T::gw_t w_sim[CONFIG_T::n_out][CONFIG_T::n_in];
    if (!generated) {
        wings_basis<CONFIG_T>(z, plut, prow, pcol, basis);
        for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
            wings_column<CONFIG_T>(j, alpha, beta, sv, klut, basis, w_sim[j]);
        }
        generated = true;
    }
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        y[j] = (res_T)wings_dot<data_T, CONFIG_T>(x, w_sim[j], bias[j]);
    }
#else
    wings_basis<CONFIG_T>(z, plut, prow, pcol, basis);
Neurons:
    for (unsigned j = 0; j < CONFIG_T::n_out; j++) {
        typename CONFIG_T::gw_t col[CONFIG_T::n_in];
        wings_column<CONFIG_T>(j, alpha, beta, sv, klut, basis, col);  // generated while neuron j is computed
        y[j] = (res_T)wings_dot<data_T, CONFIG_T>(x, col, bias[j]);
    }
#endif
}

} // namespace nnet

#endif
