// Reductions. sum and mean share one rule (mean is sum scaled by 1/count).
#include "tapegrad/ops/reduce.hpp"

#include <limits>

#include <xtensor/xbroadcast.hpp>

#include "ops/kernel.hpp"

namespace tapegrad {
using detail::BackwardContext;
namespace {

std::vector<std::size_t> normalize_axes(const std::vector<int>& axes, std::size_t rank, const char* op) {
  std::vector<std::size_t> out;
  for (int axis : axes) out.push_back(detail::normalize_axis(axis, rank, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ValueError(fmt::format("{}: axes ({}) repeat an axis", op, fmt::join(axes, ", ")));
  return out;
}

// The input's shape with the reduced axes set to 1 (keepdims = true) or removed.
std::vector<std::size_t> reduced_dims(const Shape& in, const std::vector<std::size_t>& axes, bool keepdims) {
  std::vector<std::size_t> dims;
  for (std::size_t i = 0; i < in.rank(); ++i) {
    const bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced) dims.push_back(in[i]);
    else if (keepdims) dims.push_back(1);
  }
  return dims;
}

// Z = scale * sum_{axes} A       dA = scale * broadcast(G with the axes kept, A's shape)
template <class T>
Var<T> scaled_sum(const char* op, const Var<T>& a, std::vector<std::size_t> axes, bool keepdims, bool mean) {
  const Shape in = a.shape();
  std::size_t count = 1;
  for (std::size_t axis : axes) count *= in[axis];
  auto [node, out] = detail::record<T>(op, {a}, [](BackwardContext<T>& d) {
    const Shape& in = d.in(0).shape();
    const T scale = static_cast<T>(d.node().scalar);
    auto kept = xt::adapt(d.grad_out().data(), d.grad_out().size(), xt::no_ownership(),
                          reduced_dims(in, d.node().indices, true));
    d.to(0, scale * xt::broadcast(kept, in.dims()));
  });
  node.scalar = mean ? (count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / double(count)) : 1.0;
  node.keepdims = keepdims;
  node.indices = axes;
  node.value.resize(Shape(reduced_dims(in, axes, keepdims)));
  // Write through a view without the kept axes: same element order.
  auto z = xt::adapt(node.value.data(), node.value.size(), xt::no_ownership(), reduced_dims(in, axes, false));
  const T scale = static_cast<T>(node.scalar);
  xt::noalias(z) = scale * xt::sum(detail::view(out.tape().value(a.index())), axes, xt::evaluation_strategy::immediate);
  return detail::finish(out);
}

std::vector<std::size_t> all_axes(std::size_t rank) {
  std::vector<std::size_t> axes(rank);
  for (std::size_t i = 0; i < rank; ++i) axes[i] = i;
  return axes;
}

}  // namespace

template <class T>
Var<T> sum(const Var<T>& a) { return scaled_sum("sum", a, all_axes(a.shape().rank()), false, false); }

template <class T>
Var<T> sum(const Var<T>& a, const std::vector<int>& axes, bool keepdims) {
  return scaled_sum("sum", a, normalize_axes(axes, a.shape().rank(), "sum"), keepdims, false);
}

template <class T>
Var<T> mean(const Var<T>& a) {
  if (a.shape().numel() == 0) throw ValueError(fmt::format("mean: the tensor of shape {} is empty", a.shape().str()));
  return scaled_sum("mean", a, all_axes(a.shape().rank()), false, true);
}

template <class T>
Var<T> mean(const Var<T>& a, const std::vector<int>& axes, bool keepdims) {
  auto normalized = normalize_axes(axes, a.shape().rank(), "mean");
  for (std::size_t axis : normalized)
    if (a.shape()[axis] == 0)
      throw ValueError(fmt::format("mean: axis {} of shape {} is empty", axis, a.shape().str()));
  return scaled_sum("mean", a, std::move(normalized), keepdims, true);
}

// z = max_j A[.., j, ..]         dA[.., argmax, ..] += g   (first maximum of each slice)
template <class T>
Var<T> max(const Var<T>& a, int axis_in, bool keepdims) {
  const Shape in = a.shape();
  const std::size_t axis = detail::normalize_axis(axis_in, in.rank(), "max");
  const std::size_t len = in[axis];
  if (len == 0) throw ValueError(fmt::format("max: axis {} of shape {} is empty", axis, in.str()));
  std::size_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= in[i];
  for (std::size_t i = axis + 1; i < in.rank(); ++i) inner *= in[i];

  auto [node, out] = detail::record<T>("max", {a}, [](BackwardContext<T>& d) {
    if (!d.needs(0)) return;
    Tensor<T>& da = d.grad_in(0);
    const auto& argmax = d.node().indices;  // flat input offsets
    for (std::size_t i = 0; i < argmax.size(); ++i) da[argmax[i]] += d.grad_out()[i];
  });
  node.keepdims = keepdims;
  node.value.resize(Shape(reduced_dims(in, {axis}, keepdims)));
  node.indices.resize(outer * inner);
  const Tensor<T>& x = out.tape().value(a.index());
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < inner; ++i) {
      std::size_t best = (o * len) * inner + i;
      for (std::size_t j = 1; j < len; ++j) {
        const std::size_t at = (o * len + j) * inner + i;
        if (x[at] > x[best]) best = at;
      }
      node.indices[o * inner + i] = best;
      node.value[o * inner + i] = x[best];
    }
  return detail::finish(out);
}

#define TAPEGRAD_INSTANTIATE(T)                                          \
  template Var<T> sum(const Var<T>&);                                    \
  template Var<T> sum(const Var<T>&, const std::vector<int>&, bool);     \
  template Var<T> mean(const Var<T>&);                                   \
  template Var<T> mean(const Var<T>&, const std::vector<int>&, bool);    \
  template Var<T> max(const Var<T>&, int, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
