// The one place tapegrad calls BLAS (through xtensor-blas's cxxblas bindings to OpenBLAS).
#include "ops/gemm.hpp"

#include <climits>
#include <complex>  // cxxblas uses std::complex without including it
#include <xtensor-blas/xblas_config.hpp>  // defines HAVE_CBLAS: without it cxxblas falls back to naive loops
#include <xflens/cxxblas/cxxblas.cxx>

#include <fmt/format.h>

#include "tapegrad/core/error.hpp"
#include "tapegrad/ops/linalg.hpp"

// Present only when the BLAS is OpenBLAS: weak, so another BLAS still links.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace tapegrad {

bool set_blas_threads(int threads) {
  if (openblas_set_num_threads == nullptr) return false;
  openblas_set_num_threads(threads);
  return true;
}

namespace detail {

template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b,
          T beta, T* c) {
  if (m == 0 || n == 0) return;
  constexpr std::size_t blas_max = INT_MAX;
  if (m > blas_max || n > blas_max || k > blas_max)
    throw ShapeError(fmt::format("gemm: the product ({}, {}) x ({}, {}) exceeds BLAS's int sizes", m, k, k, n));
  if (k == 0) {  // empty sum: BLAS would reject the leading dimensions
    if (beta == T(0)) std::fill(c, c + m * n, T(0));
    return;
  }
  const int lda = static_cast<int>(trans_a ? m : k);
  const int ldb = static_cast<int>(trans_b ? k : n);
  if (m <= 2) {
    // A product with one or two rows is a matrix-vector product per row: gemv reads op(B) once per row,
    // where gemm would first pack (copy) all of it.
    if (beta == T(0)) std::fill(c, c + m * n, T(0));  // a reused buffer may hold NaN, and 0 * NaN is NaN
    for (std::size_t i = 0; i < m; ++i) {
      const T* row = trans_a ? a + i : a + i * k;
      const int inc = trans_a ? lda : 1;
      if (trans_b)
        cxxblas::gemv(cxxblas::RowMajor, cxxblas::NoTrans, static_cast<int>(n), static_cast<int>(k), T(1), b, ldb,
                      row, inc, T(1), c + i * n, 1);
      else
        cxxblas::gemv(cxxblas::RowMajor, cxxblas::Trans, static_cast<int>(k), static_cast<int>(n), T(1), b, ldb, row,
                      inc, T(1), c + i * n, 1);
    }
    return;
  }
  cxxblas::gemm(cxxblas::RowMajor, trans_a ? cxxblas::Trans : cxxblas::NoTrans,
                trans_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), T(1), a, lda, b, ldb, beta, c, static_cast<int>(n));
}
template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, const float*, const float*, float, float*);
template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, const double*, const double*, double,
                   double*);

}  // namespace detail
}  // namespace tapegrad
