// BLAS would fill C for beta = 0 first, then add into it: at 784 x 100 that was twice the time of one pass. Each
// kernel is built for AVX-512 and AVX2 as well as the baseline, picked when the library loads: the loops are
// bound by how wide a load or store is. One clone set per precision (clang multiversions plain functions only).
#include "autograd/outer_product.hpp"

namespace tapegrad::detail {
namespace {

template <class T>
inline __attribute__((always_inline)) void outer_product_loop(std::size_t m, std::size_t n, const T* a, const T* b,
                                                             T beta, T* c) {
  for (std::size_t i = 0; i < m; ++i) {
    const T a_i = a[i];
    T* row = c + i * n;
    if (beta == T(0))
      for (std::size_t j = 0; j < n; ++j) row[j] = a_i * b[j];
    else
      for (std::size_t j = 0; j < n; ++j) row[j] = beta * row[j] + a_i * b[j];
  }
}

template <class T>
inline __attribute__((always_inline)) void descend_outer_product_loop(std::size_t m, std::size_t n, const T* a,
                                                                     const T* b, T lr, T* p) {
  for (std::size_t i = 0; i < m; ++i) {
    const T a_i = a[i];
    T* p_row = p + i * n;
    for (std::size_t j = 0; j < n; ++j) {
      const T g_ij = a_i * b[j];
      p_row[j] -= lr * g_ij;  // as SGD's own loop computes it from a written gradient
    }
  }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void outer_product(std::size_t m, std::size_t n,
                                                                               const float* a, const float* b,
                                                                               float beta, float* c) {
  outer_product_loop(m, n, a, b, beta, c);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void outer_product(std::size_t m, std::size_t n,
                                                                               const double* a, const double* b,
                                                                               double beta, double* c) {
  outer_product_loop(m, n, a, b, beta, c);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void descend_outer_product(
    std::size_t m, std::size_t n, const float* a, const float* b, float lr, float* p) {
  descend_outer_product_loop(m, n, a, b, lr, p);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void descend_outer_product(
    std::size_t m, std::size_t n, const double* a, const double* b, double lr, double* p) {
  descend_outer_product_loop(m, n, a, b, lr, p);
}

}  // namespace tapegrad::detail
