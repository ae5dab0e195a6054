#pragma once
// Broadcasting, as the built-in ops share it (internal): xtensor views of tensors, the walk over a broadcast
// output, and its gradient reduction (sum_to), written once. Recording and the backward context are the public
// tapegrad/autograd/op.hpp.
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

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/autograd/op.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "tapegrad/xtensor.hpp"

namespace tapegrad::detail {

/// xtensor views over a tensor's buffer, no copy (the public interop header's, under the kernels' short name).
template <class T>
auto view(Tensor<T>& t) { return as_xtensor(t); }
template <class T>
auto view(const Tensor<T>& t) { return as_xtensor(t); }

/// Walks the elements of a broadcast output, keeping the flat offsets into both inputs (stride 0 on the axes
/// an input is stretched along).
class BroadcastWalk {
 public:
  BroadcastWalk(const Shape& out, const Shape& a, const Shape& b)
      : dims_(out.dims()), stride_a_(strides_for(out, a)), stride_b_(strides_for(out, b)), index_(out.rank(), 0) {}
  template <class F>
  void run(F&& visit) {
    const std::size_t total = Shape(dims_).numel();
    std::size_t at_a = 0, at_b = 0;
    for (std::size_t i = 0; i < total; ++i) {
      visit(i, at_a, at_b);
      for (std::size_t axis = dims_.size(); axis-- > 0;) {  // odometer step
        at_a += stride_a_[axis];
        at_b += stride_b_[axis];
        if (++index_[axis] < dims_[axis]) break;
        at_a -= stride_a_[axis] * dims_[axis];
        at_b -= stride_b_[axis] * dims_[axis];
        index_[axis] = 0;
      }
    }
  }

 private:
  static std::vector<std::size_t> strides_for(const Shape& out, const Shape& in) {
    std::vector<std::size_t> strides(out.rank(), 0);
    std::size_t stride = 1;
    for (std::size_t k = 0; k < in.rank(); ++k) {
      const std::size_t axis_in = in.rank() - 1 - k, axis_out = out.rank() - 1 - k;
      strides[axis_out] = in[axis_in] == 1 ? 0 : stride;
      stride *= in[axis_in];
    }
    return strides;
  }
  std::vector<std::size_t> dims_, stride_a_, stride_b_, index_;
};

/// target += e, where e has the shape of an op's output and target that of one of its inputs: the axes
/// broadcasting added or stretched are summed away (NumPy's sum_to), by walking the output once and adding
/// each element into the input element it came from. The elementwise kernels use the same walk.
template <class T, class E>
void add_sum_to(Tensor<T>& target, const E& e) {
  const auto& es = e.shape();
  auto t = view(target);
  if (std::equal(es.begin(), es.end(), target.shape().begin(), target.shape().end())) {
    xt::noalias(t) += e;
    return;
  }
  const xt::xarray<T> full = e;
  const Shape full_shape(std::vector<std::size_t>(full.shape().begin(), full.shape().end()));
  if (broadcast_shapes(full_shape, target.shape(), "sum_to") != full_shape)
    throw Error(fmt::format("internal: a gradient of shape {} does not reduce to {}", full_shape.str(),
                            target.shape().str()));
  T* out = target.data();
  const T* in = full.data();
  BroadcastWalk(full_shape, target.shape(), target.shape()).run([&](std::size_t i, std::size_t at, std::size_t) {
    out[at] += in[i];
  });
}

/// d(input k) += e for an xtensor expression e of the op's output shape, reduced over broadcast axes.
template <class T, class E>
void accumulate_expr(BackwardContext<T>& d, std::size_t k, const E& e) {
  if (d.needs_grad(k)) add_sum_to(d.input_grad(k), e);
}
/// to[indices[i]] += from[i], skipping kNoElement: gather's gradient and scatter_add's value.
template <class T>
void scatter_add_into(const T* from, const std::vector<std::size_t>& indices, T* to) {
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] != kNoElement) to[indices[i]] += from[i];
}
/// to[i] += from[indices[i]], skipping kNoElement: gather's value and scatter_add's gradient.
template <class T>
void gather_add_into(const T* from, const std::vector<std::size_t>& indices, T* to) {
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] != kNoElement) to[i] += from[indices[i]];
}

/// xtensor views of the upstream gradient and of input k.
template <class T>
auto grad_view(const BackwardContext<T>& d) { return view(d.grad_output()); }
template <class T>
auto input_view(const BackwardContext<T>& d, std::size_t k) { return view(d.input(k)); }

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
