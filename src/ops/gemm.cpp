// The one place tapegrad calls BLAS (through xtensor-blas's cxxblas bindings to OpenBLAS).
#include "ops/gemm.hpp"

#include <climits>
#include <string>
#include <vector>
#include <complex>  // cxxblas uses std::complex without including it
#include <xtensor-blas/xblas_config.hpp>  // defines HAVE_CBLAS: without it cxxblas falls back to naive loops
#include <xflens/cxxblas/cxxblas.cxx>

#include <fmt/format.h>

#include "autograd/outer_product.hpp"
#include "tapegrad/tensor/error.hpp"
#include "tapegrad/ops/linalg.hpp"

// Present only when the BLAS is OpenBLAS: weak, so another BLAS still links.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
extern "C" char* openblas_get_corename() __attribute__((weak));

namespace tapegrad {

bool set_blas_threads(int threads) {
  if (openblas_set_num_threads == nullptr) return false;
  openblas_set_num_threads(threads);
  return true;
}

namespace detail {
namespace {

// OpenBLAS 0.3.21's AVX-512 small-matrix kernels (SkylakeX, Cooperlake, SapphireRapids) call malloc on many row-major A B
// products of at most about 10^6 multiply-adds whose n is not a multiple of the vector width (8 doubles, 16
// floats), e.g. a Linear 100 -> 10 at batch 100 (measured with a stand-alone cblas loop; the other transpose
// forms do not). Such a product is computed as C^T = B^T A^T into this thread's scratch buffer and added back
// transposed: a few microseconds, and no heap allocation once the buffer has grown.
template <class T>
std::vector<T>& small_gemm_transposed() {
  thread_local std::vector<T> scratch;
  return scratch;
}

// The OpenBLAS kernel in use ("" for another BLAS), fixed when OpenBLAS loads.
std::string openblas_core() { return openblas_get_corename == nullptr ? "" : openblas_get_corename(); }

bool avx512_small_kernels() {
  const std::string core = openblas_core();
  return core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
}

// How many rows a product may have and still be faster as one gemv per row (gemv reads op(B) once per row, where
// gemm would first pack it) than as one gemm, measured per OpenBLAS kernel by benchmarks/gemv_rows.cpp (the
// largest row count whose geometric mean of gemv / gemm over both precisions and both layouts of B stays below 1;
// benchmarks/GEMV_ROWS.md). A table, not a timing at start-up: the same product takes the same path, so results
// are the same bit for bit from run to run.
struct GemvRows {
  std::size_t small, large;  // for op(B) under 16384 elements (measured at 1,000 to 4,096), and above (65,536+)
};
GemvRows gemv_rows_for_kernel() {
  if (avx512_small_kernels()) return {0, 1};  // measured under Cooperlake; SkylakeX and SapphireRapids share its GEMM
  if (openblas_core() == "Haswell") return {3, 7};
  return {2, 2};  // a kernel not measured: the rule before the table
}
bool gemv_is_faster(std::size_t m, std::size_t n, std::size_t k) {
  static const GemvRows rows = gemv_rows_for_kernel();  // the kernel is fixed when OpenBLAS loads
  return m <= (n * k < 16384 ? rows.small : rows.large);
}

template <class T>
bool mallocs_in_openblas(std::size_t m, std::size_t n, std::size_t k) {
  static const bool affected = avx512_small_kernels();  // the kernel is chosen once, when OpenBLAS loads
  return affected && n % (64 / sizeof(T)) != 0 && double(m) * double(n) * double(k) <= 1e6;
}

template <class T>
void small_gemm_by_transposes(std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T beta, T* c) {
  std::vector<T>& ct = small_gemm_transposed<T>();
  if (ct.size() < m * n) ct.resize(m * n);
  cxxblas::gemm(cxxblas::RowMajor, cxxblas::Trans, cxxblas::Trans, static_cast<int>(n), static_cast<int>(m),
                static_cast<int>(k), T(1), b, static_cast<int>(n), a, static_cast<int>(k), T(0), ct.data(),
                static_cast<int>(m));
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      c[i * n + j] = (beta == T(0) ? T(0) : beta * c[i * n + j]) + ct[j * m + i];  // 0 * NaN would be NaN
}

}  // namespace

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
  if (k == 1) return outer_product(m, n, a, b, beta, c);
  const int lda = static_cast<int>(trans_a ? m : k);
  const int ldb = static_cast<int>(trans_b ? k : n);
  if (gemv_is_faster(m, n, k)) {  // a few rows: a matrix-vector product per row
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
  if (!trans_a && !trans_b && mallocs_in_openblas<T>(m, n, k)) return small_gemm_by_transposes(m, n, k, a, b, beta, c);
  cxxblas::gemm(cxxblas::RowMajor, trans_a ? cxxblas::Trans : cxxblas::NoTrans,
                trans_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), T(1), a, lda, b, ldb, beta, c, static_cast<int>(n));
}
template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, const float*, const float*, float, float*);
template void gemm(bool, bool, std::size_t, std::size_t, std::size_t, const double*, const double*, double,
                   double*);

}  // namespace detail

std::string blas_kernel_note() {
  if (detail::openblas_core() != "Prescott") return "";
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2");
  if (!avx512 && !avx2) return "";
  return fmt::format("OpenBLAS runs its generic Prescott kernel: it does not recognise this CPU, which has {}. "
                     "OPENBLAS_CORETYPE={} selects its kernel for {} (docs/benchmarks.md)",
                     avx512 ? "AVX-512" : "AVX2", avx512 ? "SkylakeX" : "Haswell", avx512 ? "AVX-512" : "AVX2");
}

}  // namespace tapegrad
