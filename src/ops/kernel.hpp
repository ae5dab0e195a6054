#pragma once
// The machinery every op uses (internal): xtensor views of tensors, recording an output node, and the
// context a backward rule runs in. Broadcasting's gradient reduction (sum_to) lives here, once.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <utility>

#include <fmt/format.h>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xreducer.hpp>

#include "core/node.hpp"
#include "tapegrad/core/error.hpp"
#include "tapegrad/core/grad_mode.hpp"
#include "tapegrad/core/tape.hpp"

namespace tapegrad::detail {

/// xtensor views over a tensor's buffer, no copy.
template <class T>
auto view(Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), t.shape().dims());
}
template <class T>
auto view(const Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), t.shape().dims());
}

/// target += e, where e has the shape of an op's output and target that of one of its inputs: the axes
/// broadcasting added or stretched are summed away (NumPy's sum_to). Written once for every op.
template <class T, class E>
void add_sum_to(Tensor<T>& target, const E& e) {
  const auto& es = e.shape();
  auto t = view(target);
  if (std::equal(es.begin(), es.end(), target.shape().begin(), target.shape().end())) {
    xt::noalias(t) += e;
    return;
  }
  xt::xarray<T> full = e;
  if (full.dimension() < target.rank())
    throw Error(fmt::format("internal: gradient of rank {} for an input of shape {}", full.dimension(),
                            target.shape().str()));
  const std::size_t lead = full.dimension() - target.rank();
  std::vector<std::size_t> axes;
  for (std::size_t i = 0; i < lead; ++i) axes.push_back(i);
  for (std::size_t j = 0; j < target.rank(); ++j) {
    if (full.shape()[lead + j] == target.shape()[j]) continue;
    if (target.shape()[j] != 1)
      throw Error(fmt::format("internal: gradient shape does not reduce to {}", target.shape().str()));
    axes.push_back(lead + j);
  }
  xt::xarray<T> reduced = xt::sum(full, axes, xt::evaluation_strategy::immediate);
  // Only extent-1 axes were removed from the target's view, so the element order is the target's.
  T* out = target.data();
  for (std::size_t i = 0; i < target.size(); ++i) out[i] += reduced.data()[i];
}

/// What a backward rule sees: its node's upstream gradient and output, its inputs, and where to add.
template <class T>
class BackwardContext {
 public:
  BackwardContext(Tape<T>& tape, std::uint32_t index) : tape_(tape), node_(tape.node(index)) {}

  Node<T>& node() { return node_; }
  const Tensor<T>& grad_out() const { return node_.grad; }
  const Tensor<T>& out() const { return node_.value; }
  const Tensor<T>& in(std::size_t k) const { return tape_.value(node_.inputs[k]); }
  auto g() const { return view(node_.grad); }
  auto y() const { return view(node_.value); }
  auto x(std::size_t k) const { return view(in(k)); }
  /// Does input k want a gradient? Rules may skip work for inputs that do not.
  bool needs(std::size_t k) const { return tape_.node(node_.inputs[k]).requires_grad; }
  /// The gradient buffer of input k, for rules that write into it directly (BLAS with beta = 1).
  Tensor<T>& grad_in(std::size_t k) { return tape_.grad(node_.inputs[k]); }
  /// d(input k) += e, reduced over broadcast axes.
  template <class E>
  void to(std::size_t k, const E& e) {
    if (needs(k)) add_sum_to(grad_in(k), e);
  }

 private:
  Tape<T>& tape_;
  Node<T>& node_;
};

/// Appends the output node of `op` with `inputs`. The backward rule is kept only when grad mode is on and
/// some input requires a gradient.
template <class T>
std::pair<Node<T>&, Var<T>> record(const char* op, std::initializer_list<Var<T>> inputs, BackwardFn<T> backward) {
  Tape<T>& tape = inputs.begin()->tape();
  for (const Var<T>& v : inputs) tape.check(v, op);
  bool requires_grad = false;
  if (is_grad_enabled())
    for (const Var<T>& v : inputs) requires_grad = requires_grad || tape.node(v.index()).requires_grad;
  Node<T>& node = tape.push(op);
  for (const Var<T>& v : inputs) node.inputs[node.input_count++] = v.index();
  node.requires_grad = requires_grad;
  node.backward = requires_grad ? backward : nullptr;
  return {node, tape.handle(static_cast<std::uint32_t>(tape.size() - 1))};
}

/// An elementwise op of one input: forward(out_view, in_view).
template <class T, class Forward>
Var<T> unary(const char* op, const Var<T>& a, Forward forward, BackwardFn<T> backward, double scalar = 0) {
  auto [node, out] = record<T>(op, {a}, backward);
  node.scalar = scalar;
  const Tensor<T>& in = out.tape().value(a.index());
  node.value.resize(in.shape());
  auto z = view(node.value);
  forward(z, view(in));
  return out;
}

/// An elementwise op of two broadcast inputs: forward(out_view, a_view, b_view).
template <class T, class Forward>
Var<T> binary(const char* op, const Var<T>& a, const Var<T>& b, Forward forward, BackwardFn<T> backward) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  auto [node, out] = record<T>(op, {a, b}, backward);
  node.value.resize(shape);
  auto z = view(node.value);
  forward(z, view(out.tape().value(a.index())), view(out.tape().value(b.index())));
  return out;
}

// out = x - max(x) - log(sum(exp(x - max(x)))), row by row: the stable log-softmax.
template <class T>
void log_softmax_rows(const T* x, T* out, std::size_t rows, std::size_t length) {
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = x + i * length;
    T* o = out + i * length;
    const T top = *std::max_element(row, row + length);
    T total = 0;
    for (std::size_t j = 0; j < length; ++j) total += std::exp(row[j] - top);
    const T log_total = std::log(total);
    for (std::size_t j = 0; j < length; ++j) o[j] = row[j] - top - log_total;
  }
}

/// Axis `axis` of a rank-`rank` tensor, negative counting from the end; ValueError when out of range.
inline std::size_t normalize_axis(int axis, std::size_t rank, const char* op) {
  const long r = static_cast<long>(rank);
  if (axis < -r || axis >= r)
    throw ValueError(fmt::format("{}: axis {} is out of range for a tensor of rank {}", op, axis, rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

}  // namespace tapegrad::detail
