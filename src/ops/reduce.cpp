// Reductions. sum and mean share one rule (mean is sum scaled by 1/count).
#include "tapegrad/ops/reduce.hpp"

#include <limits>
#include <numeric>

#include <xtensor/xbroadcast.hpp>

#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/shaping.hpp"

#include "ops/broadcast.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {
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

// sum and mean: mean is the sum scaled by 1 / count.
template <class T>
struct SumOp final : Op<T> {
  static constexpr const char* forward_text = "y = s * sum of x over the axes  (s = 1, or 1/count for mean)";
  static constexpr const char* backward_text = "dx = s * g repeated along the summed axes";
  std::vector<std::size_t> axes, kept_dims;  // kept_dims: x's shape with the summed axes as 1
  double scale = 1;
  void backward(BackwardContext<T>& d) override {
    if (d.input(0).size() == 0 || !d.needs_grad(0)) return;  // nothing to route the gradient to
    if (d.grad_output().size() == 1) {  // a sum of everything: one value repeated (xtensor's broadcast is slow here)
      const T each = static_cast<T>(scale) * d.grad_output()[0];
      for (T& v : d.input_grad(0)) v += each;
      return;
    }
    auto kept = xt::adapt(d.grad_output().data(), d.grad_output().size(), xt::no_ownership(), kept_dims);
    detail::accumulate_expr(d, 0, static_cast<T>(scale) * xt::broadcast(kept, d.input(0).shape().dims()));
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T> spread = broadcast_to(reshape(d.grad_output(), Shape(kept_dims)), d.input(0).shape());
    d.accumulate(0, scale == 1 ? spread : spread * static_cast<T>(scale));
  }
};

template <class T>
Var<T> scaled_sum(const char* op, const Var<T>& a, std::vector<std::size_t> axes, bool keepdims, bool mean) {
  const Shape in = a.shape();
  std::size_t count = 1;
  for (std::size_t axis : axes) count *= in[axis];
  const double scale = mean ? (count == 0 ? std::numeric_limits<double>::quiet_NaN() : 1.0 / double(count)) : 1.0;
  auto r = record<SumOp<T>>(op, {a});
  if (r.op) {
    r.op->axes = axes;
    r.op->kept_dims = reduced_dims(in, axes, true);
    r.op->scale = scale;
  }
  r.output.resize(Shape(reduced_dims(in, axes, keepdims)));
  const Tensor<T>& x = r.var.tape().value(a.index());
  if (x.size() == 0) {  // a sum of nothing is 0 (xtensor's reducer does not take empty input)
    r.output.fill(T(0));
    return finish(r.var);
  }
  // Write through a view without the kept axes: same element order.
  auto z = xt::adapt(r.output.data(), r.output.size(), xt::no_ownership(), reduced_dims(in, axes, false));
  xt::noalias(z) = static_cast<T>(scale) *
                   xt::sum(detail::view(r.var.tape().value(a.index())), axes, xt::evaluation_strategy::immediate);
  return finish(r.var);
}

// Along an axis the gradient goes to the first maximal element of each slice (PyTorch's max(x, dim) picks one
// index too); over all elements it is shared by every maximal element, g / k for k ties, as PyTorch's max(x).
template <class T>
struct MaxOp final : Op<T> {
  static constexpr const char* forward_text = "y = max of x along an axis (or over all)";
  static constexpr const char* backward_text =
      "dx = g at the first maximal element of each slice, else 0;  over all: g / k at each of k tied maxima";
  std::vector<std::size_t> argmax;  // flat input offsets: one per output, or (over all) every tied maximum
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    if (argmax.size() == d.grad_output().size()) {
      detail::scatter_add_into(d.grad_output().data(), argmax, d.input_grad(0).data());
      return;
    }
    const T share = d.grad_output()[0] / static_cast<T>(argmax.size());
    for (std::size_t at : argmax) d.input_grad(0)[at] += share;
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T>& g = d.grad_output();
    if (argmax.size() == g.shape().numel()) {
      d.accumulate(0, scatter_add(g, argmax, d.input(0).shape()));
      return;
    }
    const Var<T> share = broadcast_to(g * static_cast<T>(1.0 / double(argmax.size())), Shape{argmax.size()});
    d.accumulate(0, scatter_add(share, argmax, d.input(0).shape()));
  }
};

}  // namespace

// The sum of every element, what a loss ends with at every step: the axes and shapes are written into the op's
// kept buffers, so a steady-state step allocates nothing here.
template <class T>
Var<T> whole_sum(const char* op, const Var<T>& a, bool mean) {
  const std::size_t count = a.shape().numel(), rank = a.shape().rank();
  auto r = record<SumOp<T>>(op, {a});
  if (r.op) {
    r.op->axes.resize(rank);
    std::iota(r.op->axes.begin(), r.op->axes.end(), std::size_t{0});
    r.op->kept_dims.assign(rank, 1);
    r.op->scale = mean ? 1.0 / double(count) : 1.0;
  }
  r.output.resize({});
  const Tensor<T>& x = r.var.tape().value(a.index());
  T total = 0;
  for (std::size_t i = 0; i < count; ++i) total += x[i];
  r.output[0] = mean ? static_cast<T>(1.0 / double(count)) * total : total;
  return finish(r.var);
}

template <class T>
Var<T> sum(const Var<T>& a) { return whole_sum("sum", a, false); }

template <class T>
Var<T> sum(const Var<T>& a, const std::vector<int>& axes, bool keepdims) {
  return scaled_sum("sum", a, normalize_axes(axes, a.shape().rank(), "sum"), keepdims, false);
}

template <class T>
Var<T> mean(const Var<T>& a) {
  if (a.shape().numel() == 0) throw ValueError(fmt::format("mean: the tensor of shape {} is empty", a.shape().str()));
  return whole_sum("mean", a, true);
}

template <class T>
Var<T> mean(const Var<T>& a, const std::vector<int>& axes, bool keepdims) {
  auto normalized = normalize_axes(axes, a.shape().rank(), "mean");
  for (std::size_t axis : normalized)
    if (a.shape()[axis] == 0)
      throw ValueError(fmt::format("mean: axis {} of shape {} is empty", axis, a.shape().str()));
  return scaled_sum("mean", a, std::move(normalized), keepdims, true);
}

template <class T>
Var<T> max(const Var<T>& a, int axis_in, bool keepdims) {
  const Shape in = a.shape();
  const std::size_t axis = detail::normalize_axis(axis_in, in.rank(), "max");
  const std::size_t len = in[axis];
  if (len == 0) throw ValueError(fmt::format("max: axis {} of shape {} is empty", axis, in.str()));
  std::size_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= in[i];
  for (std::size_t i = axis + 1; i < in.rank(); ++i) inner *= in[i];

  auto r = record<MaxOp<T>>("max", {a});
  r.output.resize(Shape(reduced_dims(in, {axis}, keepdims)));
  const Tensor<T>& x = r.var.tape().value(a.index());
  if (r.op) r.op->argmax.resize(outer * inner);
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < inner; ++i) {
      std::size_t best = (o * len) * inner + i;
      for (std::size_t j = 1; j < len; ++j) {
        const std::size_t at = (o * len + j) * inner + i;
        if (x[at] > x[best]) best = at;
      }
      if (r.op) r.op->argmax[o * inner + i] = best;
      r.output[o * inner + i] = x[best];
    }
  return finish(r.var);
}

template <class T>
Var<T> max(const Var<T>& a) {
  if (a.shape().numel() == 0) throw ValueError(fmt::format("max: the tensor of shape {} is empty", a.shape().str()));
  auto r = record<MaxOp<T>>("max", {a});
  r.output.resize(Shape{});
  const Tensor<T>& x = r.var.tape().value(a.index());
  T best = x[0];
  for (std::size_t i = 1; i < x.size(); ++i)
    if (x[i] > best) best = x[i];
  r.output[0] = best;
  if (r.op)
    for (std::size_t i = 0; i < x.size(); ++i)
      if (x[i] == best) r.op->argmax.push_back(i);
  if (r.op && r.op->argmax.empty()) r.op->argmax.push_back(0);  // a NaN first element, as along an axis
  return finish(r.var);
}

namespace detail {
std::vector<DerivativeRule> reduce_rules() {
  return {rule_text<SumOp<double>>("sum", "reduce"), rule_text<SumOp<double>>("mean", "reduce"),
          rule_text<MaxOp<double>>("max", "reduce")};
}
}  // namespace detail

#define TAPEGRAD_INSTANTIATE(T)                                          \
  template Var<T> sum(const Var<T>&);                                    \
  template Var<T> sum(const Var<T>&, const std::vector<int>&, bool);     \
  template Var<T> mean(const Var<T>&);                                   \
  template Var<T> mean(const Var<T>&, const std::vector<int>&, bool);    \
  template Var<T> max(const Var<T>&, int, bool);      \
  template Var<T> max(const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
