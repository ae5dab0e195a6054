// Matrix products, straight to BLAS: forward and both backward products write into their buffers
// (beta = 1 accumulates gradients in place), so no operand is copied or transposed in memory.
#include "tapegrad/ops/linalg.hpp"

#include <complex>  // cxxblas uses std::complex without including it
#include <xflens/cxxblas/cxxblas.cxx>

#include "ops/kernel.hpp"

namespace tapegrad {
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
  cxxblas::gemm(cxxblas::RowMajor, trans_a ? cxxblas::Trans : cxxblas::NoTrans,
                trans_b ? cxxblas::Trans : cxxblas::NoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), T(1), a, lda, b, ldb, beta, c, static_cast<int>(n));
}

}  // namespace

// Z = A B  with a 1-D A read as a row (1, k) and a 1-D B as a column (k, 1).
// dA = G B^T        dB = A^T G
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b) {
  const Shape sa = a.shape(), sb = b.shape();
  if (sa.rank() < 1 || sa.rank() > 2 || sb.rank() < 1 || sb.rank() > 2)
    throw ShapeError(fmt::format("matmul: needs 1-D or 2-D operands, got {} and {}", sa.str(), sb.str()));
  const std::size_t m = sa.rank() == 2 ? sa[0] : 1, k = sa.rank() == 2 ? sa[1] : sa[0];
  const std::size_t kb = sb[0], n = sb.rank() == 2 ? sb[1] : 1;
  if (k != kb)
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} and {} ({} vs {})", sa.str(), sb.str(), k, kb));

  auto [node, out] = detail::record<T>("matmul", {a, b}, [](detail::BackwardContext<T>& d) {
    const std::size_t m = d.node().indices[0], n = d.node().indices[1], k = d.node().indices[2];
    if (d.needs(0)) gemm<T>(false, true, m, k, n, d.grad_out().data(), d.in(1).data(), T(1), d.grad_in(0).data());
    if (d.needs(1)) gemm<T>(true, false, k, n, m, d.in(0).data(), d.grad_out().data(), T(1), d.grad_in(1).data());
  });
  node.indices.assign({m, n, k});
  if (sa.rank() == 2 && sb.rank() == 2) node.value.resize(Shape{m, n});
  else if (sa.rank() == 2) node.value.resize(Shape{m});
  else if (sb.rank() == 2) node.value.resize(Shape{n});
  else node.value.resize(Shape{});
  const Tape<T>& tape = out.tape();
  gemm<T>(false, false, m, n, k, tape.value(a.index()).data(), tape.value(b.index()).data(), T(0), node.value.data());
  return out;
}

template Var<float> matmul(const Var<float>&, const Var<float>&);
template Var<double> matmul(const Var<double>&, const Var<double>&);

}  // namespace tapegrad
