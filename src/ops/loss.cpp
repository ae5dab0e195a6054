// Losses. The book's losses are compositions of differentiable ops (their gradients follow); the fused
// softmax cross-entropy is one op with the book's (y - t) / N backward.
#include "tapegrad/ops/loss.hpp"

#include <cmath>

#include "core/labels.hpp"
#include "ops/kernel.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {
using detail::BackwardContext;
namespace {

constexpr double kBookLogGuard = 1e-7;  // the book's cross_entropy_error adds it inside the log

void require_same_shape(const Shape& y, const Shape& t, const char* op) {
  if (y != t) throw ShapeError(fmt::format("{}: prediction {} and target {} differ in shape", op, y.str(), t.str()));
}

// A 1-D prediction is a batch of one, as the book reshapes it.
template <class T>
Var<T> as_batch(const Var<T>& y, const char* op) {
  if (y.shape().rank() == 1) return reshape(y, Shape{1, y.shape()[0]});
  if (y.shape().rank() != 2)
    throw ShapeError(fmt::format("{}: needs (batch, classes) or (classes,) predictions, got {}", op, y.shape().str()));
  if (y.shape()[0] == 0) throw ValueError(fmt::format("{}: the batch is empty (shape {})", op, y.shape().str()));
  return y;
}

std::size_t batch_of(const Shape& y) { return y.rank() == 2 ? y[0] : 1; }

}  // namespace

template <class T>
Var<T> sum_of_squares(const Var<T>& y, const Var<T>& t) {
  require_same_shape(y.shape(), t.shape(), "sum_of_squares");
  return sum(pow(y - t, 2.0)) * T(0.5);
}

template <class T>
Var<T> mse(const Var<T>& y, const Var<T>& t) {
  require_same_shape(y.shape(), t.shape(), "mse");
  return mean(pow(y - t, 2.0));
}

template <class T>
Var<T> cross_entropy(const Var<T>& y, const Var<T>& t) {
  require_same_shape(y.shape(), t.shape(), "cross_entropy");
  const std::size_t n = batch_of(y.shape());
  if (n == 0) throw ValueError(fmt::format("cross_entropy: the batch is empty (shape {})", y.shape().str()));
  return -sum(t * log(y + T(kBookLogGuard))) / T(n);
}

template <class T>
Var<T> cross_entropy(const Var<T>& y, const std::vector<std::size_t>& labels) {
  const Var<T> batch = as_batch(y, "cross_entropy");
  return -sum(log(pick(batch, labels) + T(kBookLogGuard))) / T(batch.shape()[0]);
}

namespace {
// log softmax of each row of (N, C) logits, kept for backward.
template <class T>
void log_softmax_of(const Tensor<T>& x, Tensor<T>& out) {
  out.resize(x.shape());
  detail::log_softmax_rows(x.data(), out.data(), x.shape()[0], x.shape()[1]);
}

void check_labels(const std::vector<std::size_t>& labels, const Shape& logits) {
  if (labels.size() != logits[0])
    throw ShapeError(fmt::format("softmax_cross_entropy: {} labels for logits of shape {}", labels.size(), logits.str()));
  detail::check_label_range("softmax_cross_entropy", labels, logits[1]);
}
}  // namespace

// L = -sum(t log softmax(x)) / N     dx = g (softmax(x) sum_j t_j - t) / N     dt = -g log softmax(x) / N
// (for one-hot or probability rows sum_j t_j = 1 and dx is the book's (y - t) / N)
template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits_in, const Var<T>& t_in) {
  require_same_shape(logits_in.shape(), t_in.shape(), "softmax_cross_entropy");
  const Var<T> logits = as_batch(logits_in, "softmax_cross_entropy");
  const Var<T> t = t_in.shape().rank() == 1 ? reshape(t_in, logits.shape()) : t_in;
  auto [node, out] = detail::record<T>("softmax_cross_entropy", {logits, t}, [](BackwardContext<T>& d) {
    const T scale = d.grad_out()[0] / static_cast<T>(d.in(0).shape()[0]);
    const auto log_y = detail::view(d.node().saved);
    const auto row_mass = xt::sum(d.x(1), {1}, xt::keep_dims | xt::evaluation_strategy::immediate);
    d.to(0, scale * (xt::exp(log_y) * row_mass - d.x(1)));
    d.to(1, -scale * log_y);
  });
  const Tensor<T>& x = out.tape().value(logits.index());
  const Tensor<T>& target = out.tape().value(t.index());
  log_softmax_of(x, node.saved);
  const std::size_t n = x.shape()[0];
  double loss = 0;
  for (std::size_t i = 0; i < x.size(); ++i) loss -= double(target[i]) * double(node.saved[i]);
  node.value.resize(Shape{});
  node.value[0] = static_cast<T>(loss / double(n));
  return detail::finish(out);
}

// L = -sum_i log softmax(x)[i, label_i] / N     dx = g (softmax(x) - onehot(labels)) / N
template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits_in, const std::vector<std::size_t>& labels) {
  const Var<T> logits = as_batch(logits_in, "softmax_cross_entropy");
  check_labels(labels, logits.shape());
  auto [node, out] = detail::record<T>("softmax_cross_entropy", {logits}, [](BackwardContext<T>& d) {
    if (!d.needs(0)) return;
    const std::size_t n = d.in(0).shape()[0], c = d.in(0).shape()[1];
    const T scale = d.grad_out()[0] / static_cast<T>(n);
    const Tensor<T>& log_y = d.node().saved;
    Tensor<T>& dx = d.grad_in(0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < c; ++j)
        dx[i * c + j] += scale * (std::exp(log_y[i * c + j]) - (d.node().indices[i] == j ? T(1) : T(0)));
  });
  node.indices = labels;
  const Tensor<T>& x = out.tape().value(logits.index());
  log_softmax_of(x, node.saved);
  const std::size_t n = x.shape()[0], c = x.shape()[1];
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) loss -= double(node.saved[i * c + labels[i]]);
  node.value.resize(Shape{});
  node.value[0] = static_cast<T>(loss / double(n));
  return detail::finish(out);
}

#define TAPEGRAD_INSTANTIATE(T)                                                              \
  template Var<T> sum_of_squares(const Var<T>&, const Var<T>&);                              \
  template Var<T> mse(const Var<T>&, const Var<T>&);                                         \
  template Var<T> cross_entropy(const Var<T>&, const Var<T>&);                               \
  template Var<T> cross_entropy(const Var<T>&, const std::vector<std::size_t>&);             \
  template Var<T> softmax_cross_entropy(const Var<T>&, const Var<T>&);                       \
  template Var<T> softmax_cross_entropy(const Var<T>&, const std::vector<std::size_t>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
