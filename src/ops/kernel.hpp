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

#include "core/anomaly.hpp"
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

/// Every op returns through here: in anomaly-detection mode its value is checked for NaN and infinity.
template <class T>
Var<T> finish(const Var<T>& out) {
  if (is_anomaly_detection_enabled()) check_value(out.tape(), out.index());
  return out;
}

/// Axis `axis` of a rank-`rank` tensor, negative counting from the end; ValueError when out of range.
inline std::size_t normalize_axis(int axis, std::size_t rank, const char* op) {
  const long r = static_cast<long>(rank);
  if (axis < -r || axis >= r)
    throw ValueError(fmt::format("{}: axis {} is out of range for a tensor of rank {}", op, axis, rank));
  return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

}  // namespace tapegrad::detail
