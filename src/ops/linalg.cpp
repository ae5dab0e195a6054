// Matrix products, straight to BLAS (ops/gemm.cpp): forward and both backward products write into their buffers
// (beta = 1 accumulates gradients in place), so no operand is copied or transposed in memory.
#include "tapegrad/ops/linalg.hpp"

#include <algorithm>

#include "ops/gemm.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "ops/broadcast.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {

namespace {

// Y (m, n) = op(A) op(B), with op(A) (m, k) and op(B) (k, n), A and B an op's inputs 0 and 1 (op transposes
// when the flag is set; a 1-D A is read as a row (1, k) and a 1-D B as a column (k, 1)). With dA' = G op(B)^T and
// dB' = op(A)^T G, dA is dA' (or its transpose, B' G^T, when A was transposed) and dB is dB' (or G^T A'): each one
// BLAS call straight into the gradient buffer, reading the operands transposed in place. Shared by matmul and
// affine.
struct Product {
  std::size_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  template <class T>
  void backward(BackwardContext<T>& d) const {
    const T* g = d.grad_output().data();
    const T* a = d.input(0).data();
    const T* b = d.input(1).data();
    if (d.needs_grad(0)) {
      bool overwrite = false;  // beta = 0 when nothing was added to dA yet: no zero-fill, no read
      T* da = d.input_grad_to_overwrite(0, overwrite).data();
      const T beta = overwrite ? T(0) : T(1);
      if (!trans_a) detail::gemm<T>(false, !trans_b, m, k, n, g, b, beta, da);  // G op(B)^T
      else detail::gemm<T>(trans_b, true, k, m, n, b, g, beta, da);              // op(B) G^T
    }
    if (d.needs_grad(1)) {
      // one row in A: dB is an outer product (a row of A with G, or G with it), which a deferring parameter keeps
      if (m == 1 && (trans_b ? d.input_grad_outer(1, g, n, a, k) : d.input_grad_outer(1, a, k, g, n))) return;
      bool overwrite = false;  // a parameter's discarded gradient (Parameter::discard_grad) is written over
      T* db = d.input_grad_to_overwrite(1, overwrite).data();
      const T beta = overwrite ? T(0) : T(1);
      if (!trans_b) detail::gemm<T>(!trans_a, false, k, n, m, a, g, beta, db);  // op(A)^T G
      else detail::gemm<T>(true, trans_a, n, k, m, g, a, beta, db);             // G^T op(A)
    }
  }
  // Re-evaluation: a changed element of A changes a row of Y, one of B a column (bias: a column too); each
  // element of those is its dot product again, from the inputs' current values.
  template <class T>
  void reevaluate(ChangeContext<T>& c, const T* bias) const {
    const T* a = c.input(0).data();
    const T* b = c.input(1).data();
    const auto a_at = [&](std::size_t i, std::size_t j) { return trans_a ? a[j * m + i] : a[i * k + j]; };
    const auto b_at = [&](std::size_t j, std::size_t col) { return trans_b ? b[col * k + j] : b[j * n + col]; };
    std::vector<T> sums;  // a row's, summed over j ascending like the column's below
    for (std::size_t index : c.changed(0)) {
      const std::size_t row = trans_a ? index % m : index / k;
      if (bias) sums.assign(bias, bias + n);
      else sums.assign(n, T(0));
      for (std::size_t j = 0; j < k; ++j) {  // B walked by rows
        const T a_rj = a_at(row, j);
        for (std::size_t col = 0; col < n; ++col) sums[col] += a_rj * b_at(j, col);
      }
      for (std::size_t col = 0; col < n; ++col) c.set(row * n + col, sums[col]);
    }
    // B's column read once per 4 rows, whose sums stay in registers (4 independent chains of additions: a sum
    // kept in memory would make every step wait for the last)
    const std::size_t a_step = trans_a ? m : 1, b_step = trans_b ? 1 : n;
    const auto redo_column = [&](std::size_t col) {
      const T* column = trans_b ? b + col * k : b + col;
      for (std::size_t first = 0; first < m; first += 4) {
        const auto row_start = [&](std::size_t r) {  // past the end: the last row again
          const std::size_t row = std::min(first + r, m - 1);
          return trans_a ? a + row : a + row * k;
        };
        const T *a0 = row_start(0), *a1 = row_start(1), *a2 = row_start(2), *a3 = row_start(3);
        const T start = bias ? bias[col] : T(0);
        T s0 = start, s1 = start, s2 = start, s3 = start;
        for (std::size_t j = 0; j < k; ++j) {
          const T b_jc = column[j * b_step];
          const std::size_t at = j * a_step;
          s0 += a0[at] * b_jc;
          s1 += a1[at] * b_jc;
          s2 += a2[at] * b_jc;
          s3 += a3[at] * b_jc;
        }
        c.set(first * n + col, s0);
        if (first + 1 < m) c.set((first + 1) * n + col, s1);
        if (first + 2 < m) c.set((first + 2) * n + col, s2);
        if (first + 3 < m) c.set((first + 3) * n + col, s3);
      }
    };
    for (std::size_t index : c.changed(1)) redo_column(trans_b ? index / k : index % n);
    if (bias)
      for (std::size_t col : c.changed(2)) redo_column(col);
  }
  // The same products on the tape, as transposed-operand matmuls (no transposed copies); 1-D operands are
  // viewed as the matrices above and the results viewed back.
  template <class T>
  void backward_on_tape(TapeBackwardContext<T>& d) const {
    const auto as = [](const Var<T>& v, const Shape& shape) { return v.shape() == shape ? v : reshape(v, shape); };
    const Var<T> g = as(d.grad_output(), Shape{m, n});
    const Var<T> a = as(d.input(0), trans_a ? Shape{k, m} : Shape{m, k});
    const Var<T> b = as(d.input(1), trans_b ? Shape{n, k} : Shape{k, n});
    if (d.needs_grad(0))
      d.accumulate(0, as(trans_a ? matmul(b, g, trans_b, true) : matmul(g, b, false, !trans_b), d.input(0).shape()));
    if (d.needs_grad(1))
      d.accumulate(1, as(trans_b ? matmul(g, a, true, trans_a) : matmul(a, g, !trans_a, false), d.input(1).shape()));
  }
};

template <class T>
struct MatMulOp final : Op<T> {
  static constexpr const char* forward_text = "y = a b  (matrix product; a^T or b^T when asked, read in place)";
  static constexpr const char* backward_text =
      "da = g b^T;  db = a^T g  (transposed operands: da = b g^T for a^T, db = g^T a for b^T)";
  Product product;
  void backward(BackwardContext<T>& d) override { product.backward(d); }
  void backward_on_tape(TapeBackwardContext<T>& d) override { product.backward_on_tape(d); }
  bool reevaluate(ChangeContext<T>& c) const override {
    product.reevaluate(c, static_cast<const T*>(nullptr));
    return true;
  }
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
  bool reevaluate(ChangeContext<T>& c) const override {
    product.reevaluate(c, c.input(2).data());
    return true;
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
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool transpose_a, bool transpose_b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  if (sa.rank() != 2 || sb.rank() != 2)
    throw ShapeError(fmt::format("matmul: transposed operands must be matrices, got {} and {}", sa.str(), sb.str()));
  const std::size_t m = transpose_a ? sa[1] : sa[0], k = transpose_a ? sa[0] : sa[1];
  const std::size_t kb = transpose_b ? sb[1] : sb[0], n = transpose_b ? sb[0] : sb[1];
  if (k != kb)
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {}{} and {}{} ({} vs {})", sa.str(),
                                 transpose_a ? "^T" : "", sb.str(), transpose_b ? "^T" : "", k, kb));
  auto r = record<MatMulOp<T>>("matmul", {a, b});
  if (r.op) r.op->product = {m, n, k, transpose_a, transpose_b};
  r.output.resize({m, n});
  const Tape<T>& tape = r.var.tape();
  detail::gemm<T>(transpose_a, transpose_b, m, n, k, tape.value(a.index()).data(), tape.value(b.index()).data(), T(0),
                  r.output.data());
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
  // x (N, C, H, W) is read in place as N rows of C*H*W (no copy), and its gradient written in its own shape
  std::size_t k = sx.rank() >= 2 ? 1 : 0;
  bool overflow = false;  // possible only for an empty batch, (0, huge, huge): then no row size matches
  for (std::size_t axis = 1; axis < sx.rank(); ++axis) overflow |= __builtin_mul_overflow(k, sx[axis], &k);
  if (sx.rank() < 2 || sw.rank() != 2 || sb.rank() != 1 || overflow || k != sw[0] || sb[0] != sw[1])
    throw ShapeError(fmt::format("affine: needs x (N, in) or (N, ...) of in values per row, W (in, out), b (out,); "
                                 "got x {}, W {}, b {}",
                                 sx.str(), sw.str(), sb.str()));
  const std::size_t m = sx[0], n = sw[1];
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
  template Var<T> matmul(const Var<T>&, const Var<T>&, bool, bool);        \
  template Var<T> matmul(const Var<T>&, const Tensor<T>&);                 \
  template Var<T> matmul(const Tensor<T>&, const Var<T>&);                 \
  template Var<T> affine(const Var<T>&, const Var<T>&, const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
