// Losses. The book's losses are compositions of differentiable ops (their gradients follow); the fused
// softmax cross-entropy is one op with the book's (y - t) / N backward.
#include "tapegrad/ops/loss.hpp"

#include <cmath>
#include <optional>

#include "tensor/labels.hpp"
#include "ops/broadcast.hpp"
#include "ops/rule_text.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {
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

namespace {

// For one-hot or probability rows sum_j t_j = 1, and dx is the book's (y - t) / N.
template <class T>
struct SoftmaxCrossEntropyOp final : Op<T> {
  static constexpr const char* forward_text = "y = -sum(t * log_softmax(x)) / N  (inputs x, t; N rows)";
  static constexpr const char* backward_text =
      "dx = g * (softmax(x) * sum_j t_j - t) / N;  dt = -g * log_softmax(x) / N";
  Tensor<T> log_y;  // log_softmax(x), kept from forward
  void backward(BackwardContext<T>& d) override {
    const T scale = d.grad_output()[0] / static_cast<T>(d.input(0).shape()[0]);
    const auto log_y_view = detail::view(log_y);
    const auto t = detail::input_view(d, 1);
    const auto row_mass = xt::sum(t, {1}, xt::keep_dims | xt::evaluation_strategy::immediate);
    detail::accumulate_expr(d, 0, scale * (xt::exp(log_y_view) * row_mass - t));
    detail::accumulate_expr(d, 1, -scale * log_y_view);
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T> x = d.input(0), t = d.input(1);
    const Var<T> scale = d.grad_output() / static_cast<T>(x.shape()[0]);
    if (d.needs_grad(0)) d.accumulate(0, (softmax(x, 1) * sum(t, {1}, true) - t) * scale);
    if (d.needs_grad(1)) d.accumulate(1, -log_softmax(x, 1) * scale);
  }
};

template <class T>
struct SoftmaxCrossEntropyLabelsOp final : Op<T> {
  static constexpr const char* forward_text = "y = -sum_i log_softmax(x)[i, label_i] / N";
  static constexpr const char* backward_text = "dx = g * (softmax(x) - onehot(labels)) / N";
  Tensor<T> log_y;
  std::vector<std::size_t> labels;
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const std::size_t n = d.input(0).shape()[0], c = d.input(0).shape()[1];
    const T scale = d.grad_output()[0] / static_cast<T>(n);
    Tensor<T>& dx = d.input_grad(0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < c; ++j)
        dx[i * c + j] += scale * (std::exp(log_y[i * c + j]) - (labels[i] == j ? T(1) : T(0)));
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const Var<T> x = d.input(0);
    const std::size_t c = x.shape()[1];
    Tensor<T> onehot = Tensor<T>::zeros(x.shape());
    for (std::size_t i = 0; i < labels.size(); ++i) onehot[i * c + labels[i]] = T(1);
    d.accumulate(0, (softmax(x, 1) - d.constant(onehot)) * (d.grad_output() / static_cast<T>(labels.size())));
  }
};

// -sum(log_y * target) / N, accumulated in double.
template <class T>
T mean_negative_log(const Tensor<T>& log_y, const Tensor<T>& target, std::size_t n) {
  double loss = 0;
  for (std::size_t i = 0; i < log_y.size(); ++i) loss -= double(target[i]) * double(log_y[i]);
  return static_cast<T>(loss / double(n));
}

}  // namespace

namespace detail {
std::vector<DerivativeRule> loss_rules() {
  return {rule_text<SoftmaxCrossEntropyOp<double>>("softmax_cross_entropy", "loss"),
          rule_text<SoftmaxCrossEntropyLabelsOp<double>>("softmax_cross_entropy (labels)", "loss")};
}
}  // namespace detail

template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits_in, const Var<T>& t_in) {
  require_same_shape(logits_in.shape(), t_in.shape(), "softmax_cross_entropy");
  const Var<T> logits = as_batch(logits_in, "softmax_cross_entropy");
  const Var<T> t = t_in.shape().rank() == 1 ? reshape(t_in, logits.shape()) : t_in;
  auto r = record<SoftmaxCrossEntropyOp<T>>("softmax_cross_entropy", {logits, t});
  const Tensor<T>& x = r.var.tape().value(logits.index());
  const Tensor<T>& target = r.var.tape().value(t.index());
  std::optional<Tensor<T>> scratch;  // only when nothing needs a gradient (then the op keeps nothing)
  Tensor<T>& log_y = r.op ? r.op->log_y : scratch.emplace();
  log_softmax_of(x, log_y);
  r.output.resize(Shape{});
  r.output[0] = mean_negative_log(log_y, target, x.shape()[0]);
  return finish(r.var);
}

template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits_in, const std::vector<std::size_t>& labels) {
  const Var<T> logits = as_batch(logits_in, "softmax_cross_entropy");
  check_labels(labels, logits.shape());
  auto r = record<SoftmaxCrossEntropyLabelsOp<T>>("softmax_cross_entropy", {logits});
  const Tensor<T>& x = r.var.tape().value(logits.index());
  std::optional<Tensor<T>> scratch;  // a default Tensor allocates its shape: not in a training step
  Tensor<T>& log_y = r.op ? r.op->log_y : scratch.emplace();
  if (r.op) r.op->labels = labels;
  log_softmax_of(x, log_y);
  const std::size_t n = x.shape()[0], c = x.shape()[1];
  double loss = 0;
  for (std::size_t i = 0; i < n; ++i) loss -= double(log_y[i * c + labels[i]]);
  r.output.resize(Shape{});
  r.output[0] = static_cast<T>(loss / double(n));
  return finish(r.var);
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
