// Matrix products, straight to BLAS (ops/gemm.cpp): forward and both backward products write into their buffers
// (beta = 1 accumulates gradients in place), so no operand is copied or transposed in memory.
#include "tapegrad/ops/linalg.hpp"

#include "ops/gemm.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "ops/kernel.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {

namespace {

// A 1-D A is read as a row (1, k) and a 1-D B as a column (k, 1).
// Z (m, n) = A (m, k) B (k, n) with A and B an op's inputs 0 and 1: dA = G B^T, dB = A^T G, straight into the
// gradient buffers. Shared by matmul and affine.
struct Product {
  std::size_t m = 0, n = 0, k = 0;
  template <class T>
  void backward(BackwardContext<T>& d) const {
    const T* g = d.grad_output().data();
    if (d.needs_grad(0)) {
      bool overwrite = false;  // beta = 0 when nothing was added to dA yet: no zero-fill, no read
      T* da = d.input_grad_to_overwrite(0, overwrite).data();
      detail::gemm<T>(false, true, m, k, n, g, d.input(1).data(), overwrite ? T(0) : T(1), da);
    }
    if (d.needs_grad(1)) detail::gemm<T>(true, false, k, n, m, d.input(0).data(), g, T(1), d.input_grad(1).data());
  }
  // The same products on the tape; 1-D operands are viewed as the matrices above and the results viewed back.
  template <class T>
  void backward_on_tape(TapeBackwardContext<T>& d) const {
    const auto as = [](const Var<T>& v, const Shape& shape) { return v.shape() == shape ? v : reshape(v, shape); };
    const Var<T> g = as(d.grad_output(), Shape{m, n});
    if (d.needs_grad(0))
      d.accumulate(0, as(matmul(g, transpose(as(d.input(1), Shape{k, n}))), d.input(0).shape()));
    if (d.needs_grad(1))
      d.accumulate(1, as(matmul(transpose(as(d.input(0), Shape{m, k})), g), d.input(1).shape()));
  }
};

template <class T>
struct MatMulOp final : Op<T> {
  static constexpr const char* forward_text = "y = a b  (matrix product)";
  static constexpr const char* backward_text = "da = g b^T;  db = a^T g";
  Product product;
  void backward(BackwardContext<T>& d) override { product.backward(d); }
  void backward_on_tape(TapeBackwardContext<T>& d) override { product.backward_on_tape(d); }
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
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    product.backward_on_tape(d);
    if (d.needs_grad(2)) d.accumulate(2, sum(d.grad_output(), {0}));
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
  detail::gemm<T>(false, false, m, n, k, tape.value(a.index()).data(), tape.value(b.index()).data(), T(0), r.output.data());
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
  detail::gemm<T>(false, false, m, n, k, tape.value(x.index()).data(), tape.value(w.index()).data(), T(1), z);
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
