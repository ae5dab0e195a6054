// Matrix products, straight to BLAS: forward and both backward products write into their buffers
// (beta = 1 accumulates gradients in place), so no operand is copied or transposed in memory.
#include "tapegrad/ops/linalg.hpp"

#include <complex>  // cxxblas uses std::complex without including it
#include <xtensor-blas/xblas_config.hpp>  // defines HAVE_CBLAS: without it cxxblas falls back to naive loops
#include <xflens/cxxblas/cxxblas.cxx>

#include "ops/kernel.hpp"
#include "ops/rule_text.hpp"

// Present only when the BLAS is OpenBLAS: weak, so another BLAS still links.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace tapegrad {

bool set_blas_threads(int threads) {
  if (openblas_set_num_threads == nullptr) return false;
  openblas_set_num_threads(threads);
  return true;
}

namespace {

// C(m,n) = op(A) op(B) + beta C, row-major; op transposes when asked.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b,
          T beta, T* c) {
  if (m == 0 || n == 0) return;
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


// A 1-D A is read as a row (1, k) and a 1-D B as a column (k, 1).
// Z (m, n) = A (m, k) B (k, n) with A and B an op's inputs 0 and 1: dA = G B^T, dB = A^T G, straight into the
// gradient buffers. Shared by matmul and affine.
struct Product {
  std::size_t m = 0, n = 0, k = 0;
  template <class T>
  void backward(BackwardContext<T>& d) const {
    const T* g = d.grad_output().data();
    if (d.needs_grad(0)) gemm<T>(false, true, m, k, n, g, d.input(1).data(), T(1), d.input_grad(0).data());
    if (d.needs_grad(1)) gemm<T>(true, false, k, n, m, d.input(0).data(), g, T(1), d.input_grad(1).data());
  }
};

template <class T>
struct MatMulOp final : Op<T> {
  static constexpr const char* forward_text = "y = a b  (matrix product)";
  static constexpr const char* backward_text = "da = g b^T;  db = a^T g";
  Product product;
  void backward(BackwardContext<T>& d) override { product.backward(d); }
};

// The book's Affine, fused: one op instead of matmul, broadcast and add.
template <class T>
struct AffineOp final : Op<T> {
  static constexpr const char* forward_text = "y = x W + b  (inputs x, W, b)";
  static constexpr const char* backward_text = "dx = g W^T;  dW = x^T g;  db = sum over rows of g";
  Product product;
  void backward(BackwardContext<T>& d) override {
    product.backward(d);
    if (!d.needs_grad(2)) return;
    const T* g = d.grad_output().data();
    T* db = d.input_grad(2).data();
    for (std::size_t i = 0; i < product.m; ++i)
      for (std::size_t j = 0; j < product.n; ++j) db[j] += g[i * product.n + j];
  }
};

}  // namespace

namespace detail {
std::vector<DerivativeRule> linalg_rules() {
  return {rule_text<MatMulOp<double>>("matmul", "linalg"), rule_text<AffineOp<double>>("affine", "linalg")};
}
}  // namespace detail

template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  const Shape& sa = a.shape();  // references stay valid: tape nodes never move
  const Shape& sb = b.shape();
  if (sa.rank() < 1 || sa.rank() > 2 || sb.rank() < 1 || sb.rank() > 2)
    throw ShapeError(fmt::format("matmul: needs 1-D or 2-D operands, got {} and {}", sa.str(), sb.str()));
  const std::size_t m = sa.rank() == 2 ? sa[0] : 1, k = sa.rank() == 2 ? sa[1] : sa[0];
  const std::size_t kb = sb[0], n = sb.rank() == 2 ? sb[1] : 1;
  if (k != kb)
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} and {} ({} vs {})", sa.str(), sb.str(), k, kb));

  auto r = record<MatMulOp<T>>("matmul", {a, b});
  if (r.op) r.op->product = {m, n, k};
  if (sa.rank() == 2 && sb.rank() == 2) r.output.resize({m, n});
  else if (sa.rank() == 2) r.output.resize({m});
  else if (sb.rank() == 2) r.output.resize({n});
  else r.output.resize(std::initializer_list<std::size_t>{});
  const Tape<T>& tape = r.var.tape();
  gemm<T>(false, false, m, n, k, tape.value(a.index()).data(), tape.value(b.index()).data(), T(0), r.output.data());
  return finish(r.var);
}

template <class T>
Var<T> matmul(const Var<T>& a, const Tensor<T>& b) { return matmul(a, a.tape().constant(b)); }
template <class T>
Var<T> matmul(const Tensor<T>& a, const Var<T>& b) { return matmul(b.tape().constant(a), b); }

template <class T>
Var<T> affine(const Var<T>& x, const Var<T>& w, const Var<T>& b) {
  const Shape& sx = x.shape();
  const Shape& sw = w.shape();
  const Shape& sb = b.shape();
  if (sx.rank() != 2 || sw.rank() != 2 || sb.rank() != 1 || sx[1] != sw[0] || sb[0] != sw[1])
    throw ShapeError(fmt::format("affine: needs x (N, in), W (in, out), b (out,); got x {}, W {}, b {}", sx.str(),
                                 sw.str(), sb.str()));
  const std::size_t m = sx[0], k = sx[1], n = sw[1];
  auto r = record<AffineOp<T>>("affine", {x, w, b});
  if (r.op) r.op->product = {m, n, k};
  r.output.resize({m, n});
  const Tape<T>& tape = r.var.tape();
  T* z = r.output.data();
  const T* bias = tape.value(b.index()).data();
  for (std::size_t i = 0; i < m; ++i) std::copy(bias, bias + n, z + i * n);
  gemm<T>(false, false, m, n, k, tape.value(x.index()).data(), tape.value(w.index()).data(), T(1), z);
  return finish(r.var);
}

#define TAPEGRAD_INSTANTIATE(T)                                            \
  template Var<T> matmul(const Var<T>&, const Var<T>&);                    \
  template Var<T> matmul(const Var<T>&, const Tensor<T>&);                 \
  template Var<T> matmul(const Tensor<T>&, const Var<T>&);                 \
  template Var<T> affine(const Var<T>&, const Var<T>&, const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
