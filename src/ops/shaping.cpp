// Ops that move values. Their backward rules move gradients back the same way.
#include "tapegrad/ops/shaping.hpp"

#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>

#include "tensor/labels.hpp"
#include "ops/broadcast.hpp"
#include "ops/read_at.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {
namespace {

// The element count of a shape a user asked for; ShapeError naming the op when it overflows.
std::size_t numel_for(const Shape& shape, const char* op) {
  try {
    return shape.numel();
  } catch (const ShapeError& e) {
    throw ShapeError(fmt::format("{}: {}", op, e.what()));
  }
}

template <class T>
struct TransposeOp final : Op<T> {
  static constexpr const char* forward_text = "y = permute(x, p)";
  static constexpr const char* backward_text = "dx = permute(g, inverse of p)";
  std::vector<std::size_t> inverse;  // keeps its capacity across steps
  void backward(BackwardContext<T>& d) override {
    detail::accumulate_expr(d, 0, xt::transpose(detail::grad_view(d), inverse));
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override { d.accumulate(0, transpose(d.grad_output(), inverse)); }
};

// dx = g, element for element (reshape and identity move no value): written over a fresh buffer, added otherwise.
template <class T>
void pass_gradient_through(BackwardContext<T>& d) {
  if (!d.needs_grad(0)) return;
  bool overwrite = false;
  T* dx = d.input_grad_to_overwrite(0, overwrite).data();
  const T* g = d.grad_output().data();
  const std::size_t n = d.grad_output().size();
  if (overwrite) std::copy(g, g + n, dx);
  else
    for (std::size_t i = 0; i < n; ++i) dx[i] += g[i];
}

template <class T>
struct ReshapeOp final : Op<T> {
  static constexpr const char* forward_text = "y = x viewed in a new shape";
  static constexpr const char* backward_text = "dx = g viewed in x's shape";
  void backward(BackwardContext<T>& d) override { pass_gradient_through(d); }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    d.accumulate(0, reshape(d.grad_output(), d.input(0).shape()));
  }
};

template <class T>
struct IdentityOp final : Op<T> {
  static constexpr const char* forward_text = "y = x, as a node of its own";
  static constexpr const char* backward_text = "dx = g";
  void backward(BackwardContext<T>& d) override { pass_gradient_through(d); }
  void backward_on_tape(TapeBackwardContext<T>& d) override { d.accumulate(0, d.grad_output()); }
};

template <class T>
struct BroadcastOp final : Op<T> {
  static constexpr const char* forward_text = "y = x repeated to a shape (NumPy broadcasting)";
  static constexpr const char* backward_text = "dx = sum_to(g, x's shape)";
  void backward(BackwardContext<T>& d) override { detail::accumulate_expr(d, 0, detail::grad_view(d)); }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    d.accumulate(0, sum_to(d.grad_output(), d.input(0).shape()));
  }
};

template <class T>
struct SumToOp final : Op<T> {
  static constexpr const char* forward_text = "y = x summed over the axes broadcasting stretches, to a shape";
  static constexpr const char* backward_text = "dx = broadcast_to(g, x's shape)";
  void backward(BackwardContext<T>& d) override {
    detail::accumulate_expr(d, 0, xt::broadcast(detail::grad_view(d), d.input(0).shape().dims()));
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    d.accumulate(0, broadcast_to(d.grad_output(), d.input(0).shape()));
  }
};

// gather and scatter_add move values by one index list, each the other's adjoint (and so its gradient; the
// kernels in ops/broadcast.hpp).
struct GatherText {
  static constexpr const char* forward = "y[i] = x[index_i]  (0 where index_i is kNoElement)";
  static constexpr const char* backward = "dx[index_i] += g[i]";
};

template <class T>
struct ScatterAddOp final : Op<T> {
  static constexpr const char* forward_text = "y = zeros;  y[index_i] += x[i]";
  static constexpr const char* backward_text = "dx[i] = g[index_i]  (0 where index_i is kNoElement)";
  std::vector<std::size_t> indices;
  void backward(BackwardContext<T>& d) override {
    if (d.needs_grad(0)) detail::gather_add_into(d.grad_output().data(), indices, d.input_grad(0).data());
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    d.accumulate(0, gather(d.grad_output(), indices, d.input(0).shape()));
  }
};

void check_indices(const char* op, const std::vector<std::size_t>& indices, std::size_t count, const Shape& from,
                   const Shape& to) {
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] != kNoElement && indices[i] >= count)
      throw ShapeError(fmt::format("{}: index {} (at {}) is out of range for {} elements ({} to {})", op, indices[i], i,
                                   count, from.str(), to.str()));
}

template <class T>
struct PickOp final : Op<T> {
  static constexpr const char* forward_text = "y[i] = x[i, label_i]";
  static constexpr const char* backward_text = "dx[i, label_i] = g[i]";
  std::vector<std::size_t> labels;
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    Tensor<T>& dx = d.input_grad(0);
    const std::size_t classes = d.input(0).shape()[1];
    for (std::size_t i = 0; i < labels.size(); ++i) dx[i * classes + labels[i]] += d.grad_output()[i];
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const std::size_t classes = d.input(0).shape()[1];
    std::vector<std::size_t> at(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) at[i] = i * classes + labels[i];
    d.accumulate(0, scatter_add(d.grad_output(), at, d.input(0).shape()));
  }
};

}  // namespace

namespace detail {
std::vector<DerivativeRule> shaping_rules() {
  const char* f = "shaping";
  return {rule_text<TransposeOp<double>>("transpose", f), rule_text<ReshapeOp<double>>("reshape", f),
          rule_text<IdentityOp<double>>("identity", f),
          rule_text<BroadcastOp<double>>("broadcast_to", f), rule_text<SumToOp<double>>("sum_to", f),
          rule_text<PickOp<double>>("pick", f), rule_text<detail::ReadAtOp<double, GatherText>>("gather", f),
          rule_text<ScatterAddOp<double>>("scatter_add", f)};
}
}  // namespace detail

template <class T>
Var<T> transpose(const Var<T>& a, std::vector<std::size_t> permutation) {
  const Shape in = a.shape();
  if (permutation.empty()) {
    permutation.resize(in.rank());
    std::iota(permutation.rbegin(), permutation.rend(), std::size_t{0});
  }
  std::vector<std::size_t> sorted = permutation;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted.size() != in.rank() || sorted[i] != i)
      throw ShapeError(fmt::format("transpose: ({}) is not a permutation of the axes of {}",
                                   fmt::join(permutation, ", "), in.str()));
  std::vector<std::size_t> dims(in.rank());
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = in[permutation[i]];

  auto r = record<TransposeOp<T>>("transpose", {a});
  if (r.op) {
    r.op->inverse.resize(permutation.size());
    for (std::size_t i = 0; i < permutation.size(); ++i) r.op->inverse[permutation[i]] = i;
  }
  r.output.resize(Shape(std::move(dims)));
  const Tensor<T>& x = r.var.tape().value(a.index());
  if (in.rank() == 2 && permutation[0] == 1) {  // a matrix (the recorded matmul rules' case): in cache-sized tiles
    const std::size_t rows = in[0], cols = in[1], tile = 32;
    T* y = r.output.data();
    for (std::size_t i0 = 0; i0 < rows; i0 += tile)
      for (std::size_t j0 = 0; j0 < cols; j0 += tile)
        for (std::size_t i = i0; i < std::min(rows, i0 + tile); ++i)
          for (std::size_t j = j0; j < std::min(cols, j0 + tile); ++j) y[j * rows + i] = x[i * cols + j];
    return finish(r.var);
  }
  auto z = detail::view(r.output);
  xt::noalias(z) = xt::transpose(detail::view(x), permutation);
  return finish(r.var);
}

// `a`'s values in new extents (a Shape, or a braced list that builds none: flatten_rows runs in every
// training step, which must not allocate).
template <class T, class Extents>
Var<T> copy_reshaped(const Var<T>& a, const Extents& extents) {
  auto r = record<ReshapeOp<T>>("reshape", {a});
  const Tensor<T>& in = r.var.tape().value(a.index());
  r.output.resize(extents);
  std::copy(in.begin(), in.end(), r.output.begin());
  return finish(r.var);
}

template <class T>
Var<T> identity(const Var<T>& a) {
  auto r = record<IdentityOp<T>>("identity", {a});
  r.output = r.var.tape().value(a.index());
  return finish(r.var);
}

template <class T>
Var<T> reshape(const Var<T>& a, const Shape& shape) {
  if (numel_for(shape, "reshape") != a.shape().numel())
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} values) to {} ({} values)", a.shape().str(),
                                 a.shape().numel(), shape.str(), shape.numel()));
  return copy_reshaped(a, shape);
}

template <class T>
Var<T> flatten_rows(const Var<T>& a) {
  const Shape& s = a.shape();
  if (s.rank() < 1) throw ShapeError(fmt::format("flatten_rows: needs at least one axis, got {}", s.str()));
  const std::size_t rows = s[0], columns = rows == 0 ? 0 : s.numel() / rows;
  return copy_reshaped(a, std::initializer_list<std::size_t>{rows, columns});
}

// Whether broadcasting `from` to `to` repeats `from` whole: its extents, leading 1s aside, are `to`'s last ones.
bool repeats_whole(const Shape& from, const Shape& to) {
  std::size_t first = 0;
  while (first < from.rank() && from[first] == 1) ++first;
  const std::size_t rank = from.rank() - first;
  if (rank == 0 || rank > to.rank()) return false;
  for (std::size_t i = 0; i < rank; ++i)
    if (from[first + i] != to[to.rank() - rank + i]) return false;
  return true;
}

template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape) {
  numel_for(shape, "broadcast_to");
  if (broadcast_shapes(a.shape(), shape, "broadcast_to") != shape)
    throw ShapeError(fmt::format("broadcast_to: cannot broadcast {} to {}", a.shape().str(), shape.str()));
  auto r = record<BroadcastOp<T>>("broadcast_to", {a});
  r.output.resize(shape);
  const Tensor<T>& x = r.var.tape().value(a.index());
  if (x.size() == 1) {  // a scalar everywhere (the recorded rule of a full sum)
    r.output.fill(x[0]);
    return finish(r.var);
  }
  if (repeats_whole(a.shape(), shape)) {  // x repeated as one block (a row over a batch): copies, no odometer
    for (std::size_t at = 0; at < r.output.size(); at += x.size()) std::copy(x.begin(), x.end(), r.output.data() + at);
    return finish(r.var);
  }
  auto z = detail::view(r.output);
  xt::noalias(z) = xt::broadcast(detail::view(x), shape.dims());
  return finish(r.var);
}

template <class T>
Var<T> pick(const Var<T>& a, const std::vector<std::size_t>& labels) {
  const Shape& s = a.shape();
  if (s.rank() != 2)
    throw ShapeError(fmt::format("pick: needs a (rows, classes) matrix, got {}", s.str()));
  if (labels.size() != s[0])
    throw ShapeError(fmt::format("pick: {} labels for a matrix of shape {}", labels.size(), s.str()));
  const std::size_t classes = s[1];
  detail::check_label_range("pick", labels, classes);

  auto r = record<PickOp<T>>("pick", {a});
  if (r.op) r.op->labels = labels;
  r.output.resize({labels.size()});
  const Tensor<T>& in = r.var.tape().value(a.index());
  for (std::size_t i = 0; i < labels.size(); ++i) r.output[i] = in[i * classes + labels[i]];
  return finish(r.var);
}

template <class T>
Var<T> sum_to(const Var<T>& a, const Shape& shape) {
  numel_for(shape, "sum_to");
  if (broadcast_shapes(shape, a.shape(), "sum_to") != a.shape())
    throw ShapeError(fmt::format("sum_to: cannot sum {} to {} ({} does not broadcast to {})", a.shape().str(),
                                 shape.str(), shape.str(), a.shape().str()));
  auto r = record<SumToOp<T>>("sum_to", {a});
  r.output.resize(shape);
  r.output.fill(T(0));
  detail::add_sum_to(r.output, detail::view(r.var.tape().value(a.index())));
  return finish(r.var);
}

template <class T>
Var<T> gather(const Var<T>& a, const std::vector<std::size_t>& indices, const Shape& shape) {
  if (numel_for(shape, "gather") != indices.size())
    throw ShapeError(fmt::format("gather: {} indices for an output of shape {}", indices.size(), shape.str()));
  check_indices("gather", indices, a.shape().numel(), a.shape(), shape);
  return detail::read_at<GatherText>("gather", a, indices, shape);
}

template <class T>
Var<T> scatter_add(const Var<T>& a, const std::vector<std::size_t>& indices, const Shape& shape) {
  if (a.shape().numel() != indices.size())
    throw ShapeError(fmt::format("scatter_add: {} indices for an input of shape {}", indices.size(), a.shape().str()));
  check_indices("scatter_add", indices, numel_for(shape, "scatter_add"), a.shape(), shape);
  auto r = record<ScatterAddOp<T>>("scatter_add", {a});
  if (r.op) r.op->indices = indices;
  r.output.resize(shape);
  r.output.fill(T(0));
  detail::scatter_add_into(r.var.tape().value(a.index()).data(), indices, r.output.data());
  return finish(r.var);
}

#define TAPEGRAD_INSTANTIATE(T)                                               \
  template Var<T> sum_to(const Var<T>&, const Shape&);                        \
  template Var<T> gather(const Var<T>&, const std::vector<std::size_t>&, const Shape&);      \
  template Var<T> scatter_add(const Var<T>&, const std::vector<std::size_t>&, const Shape&); \
  template Var<T> transpose(const Var<T>&, std::vector<std::size_t>);         \
  template Var<T> reshape(const Var<T>&, const Shape&);                       \
  template Var<T> identity(const Var<T>&);                                    \
  template Var<T> flatten_rows(const Var<T>&);                                \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                  \
  template Var<T> pick(const Var<T>&, const std::vector<std::size_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
