// Ops that move values. Their backward rules move gradients back the same way.
#include "tapegrad/ops/shaping.hpp"

#include <numeric>

#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>

#include "core/labels.hpp"
#include "ops/kernel.hpp"

namespace tapegrad {
using detail::BackwardContext;

// Z = permute(A, p)              dA = permute(G, p^-1)
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

  auto [node, out] = detail::record<T>("transpose", {a}, [](BackwardContext<T>& d) {
    const auto& p = d.node().indices;
    std::vector<std::size_t> inverse(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) inverse[p[i]] = i;
    d.to(0, xt::transpose(d.g(), inverse));
  });
  node.indices = permutation;
  node.value.resize(Shape(std::move(dims)));
  auto z = detail::view(node.value);
  xt::noalias(z) = xt::transpose(detail::view(out.tape().value(a.index())), permutation);
  return detail::finish(out);
}

// Z = A viewed as `shape`        dA = G viewed as A's shape
template <class T>
Var<T> reshape(const Var<T>& a, const Shape& shape) {
  if (shape.numel() != a.shape().numel())
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} values) to {} ({} values)", a.shape().str(),
                                 a.shape().numel(), shape.str(), shape.numel()));
  auto [node, out] = detail::record<T>("reshape", {a}, [](BackwardContext<T>& d) {
    d.to(0, xt::adapt(d.grad_out().data(), d.grad_out().size(), xt::no_ownership(), d.in(0).shape().dims()));
  });
  const Tensor<T>& in = out.tape().value(a.index());
  node.value.resize(shape);
  std::copy(in.begin(), in.end(), node.value.begin());
  return detail::finish(out);
}

template <class T>
Var<T> flatten_rows(const Var<T>& a) {
  const Shape& s = a.shape();
  if (s.rank() < 1) throw ShapeError(fmt::format("flatten_rows: needs at least one axis, got {}", s.str()));
  const std::size_t rows = s[0];
  return reshape(a, Shape{rows, rows == 0 ? 0 : s.numel() / rows});
}

// Z = A repeated to `shape`      dA = sum_to(G, A's shape)
template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape) {
  if (broadcast_shapes(a.shape(), shape, "broadcast_to") != shape)
    throw ShapeError(fmt::format("broadcast_to: cannot broadcast {} to {}", a.shape().str(), shape.str()));
  auto [node, out] = detail::record<T>("broadcast_to", {a}, [](BackwardContext<T>& d) { d.to(0, d.g()); });
  node.value.resize(shape);
  auto z = detail::view(node.value);
  xt::noalias(z) = xt::broadcast(detail::view(out.tape().value(a.index())), shape.dims());
  return detail::finish(out);
}

// z_i = A[i, label_i]            dA[i, label_i] += g_i
template <class T>
Var<T> pick(const Var<T>& a, const std::vector<std::size_t>& labels) {
  const Shape& s = a.shape();
  if (s.rank() != 2)
    throw ShapeError(fmt::format("pick: needs a (rows, classes) matrix, got {}", s.str()));
  if (labels.size() != s[0])
    throw ShapeError(fmt::format("pick: {} labels for a matrix of shape {}", labels.size(), s.str()));
  const std::size_t classes = s[1];
  detail::check_label_range("pick", labels, classes);

  auto [node, out] = detail::record<T>("pick", {a}, [](BackwardContext<T>& d) {
    if (!d.needs(0)) return;
    Tensor<T>& da = d.grad_in(0);
    const std::size_t classes = d.in(0).shape()[1];
    const auto& labels = d.node().indices;
    for (std::size_t i = 0; i < labels.size(); ++i) da[i * classes + labels[i]] += d.grad_out()[i];
  });
  node.indices = labels;
  node.value.resize({labels.size()});
  const Tensor<T>& in = out.tape().value(a.index());
  for (std::size_t i = 0; i < labels.size(); ++i) node.value[i] = in[i * classes + labels[i]];
  return detail::finish(out);
}

#define TAPEGRAD_INSTANTIATE(T)                                               \
  template Var<T> transpose(const Var<T>&, std::vector<std::size_t>);         \
  template Var<T> reshape(const Var<T>&, const Shape&);                       \
  template Var<T> flatten_rows(const Var<T>&);                                \
  template Var<T> broadcast_to(const Var<T>&, const Shape&);                  \
  template Var<T> pick(const Var<T>&, const std::vector<std::size_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
