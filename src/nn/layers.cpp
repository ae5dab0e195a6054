#include "tapegrad/nn/layers.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {

template <class T>
Linear<T>::Linear(std::size_t in, std::size_t out, Init init, Rng& rng)
    : W("W", Tensor<T>::randn(Shape{in, out}, rng, static_cast<T>(init.scale(in)))), b("b", Tensor<T>::zeros({out})) {
  if (in == 0 || out == 0) throw ValueError(fmt::format("Linear: sizes must be positive, got {} -> {}", in, out));
  this->register_parameter("W", W);
  this->register_parameter("b", b);
}

template <class T>
Var<T> Linear<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return affine(x, tape.parameter(W), tape.parameter(b));  // reads an image batch as rows in place
}

template <class T>
std::string Linear<T>::describe() const {
  return fmt::format("Linear({} -> {})", W.value.shape()[0], W.value.shape()[1]);
}

namespace detail {
template <class T>
Var<T> ReLUFunction::apply(const Var<T>& x) { return relu(x); }
template <class T>
Var<T> SigmoidFunction::apply(const Var<T>& x) { return sigmoid(x); }
template <class T>
Var<T> TanhFunction::apply(const Var<T>& x) { return tanh(x); }
template <class T>
Var<T> SoftmaxFunction::apply(const Var<T>& x) { return softmax(x); }
}  // namespace detail

template <class T>
Dropout<T>::Dropout(double ratio, std::uint64_t seed, Mode mode) : ratio_(ratio), mode_(mode), seed_(seed), rng_(seed) {
  if (!(ratio >= 0 && ratio < 1)) throw ValueError(fmt::format("Dropout: ratio must be in [0, 1), got {}", ratio));
}

template <class T>
Var<T> Dropout<T>::forward(Tape<T>& tape, const Var<T>& x) {
  if (!this->training_) return mode_ == Mode::Book ? x * static_cast<T>(1 - ratio_) : x;
  if (!frozen_ || mask_.shape() != x.shape()) {
    mask_.resize(x.shape());
    const T keep = mode_ == Mode::Book ? T(1) : static_cast<T>(1 / (1 - ratio_));
    for (T& m : mask_) m = rng_.uniform() > ratio_ ? keep : T(0);  // the book: rand > ratio
  }
  return x * tape.constant(mask_);
}

template <class T>
std::string Dropout<T>::describe() const {
  return fmt::format("Dropout({:g}, {})", ratio_, mode_ == Mode::Book ? "book" : "inverted");
}

template <class T>
BatchNorm<T>::BatchNorm(std::size_t features, double momentum, double eps)
    : gamma("gamma", Tensor<T>::ones({features})),
      beta("beta", Tensor<T>::zeros({features})),
      running_mean(Tensor<T>::zeros({features})),
      running_var(Tensor<T>::zeros({features})),
      momentum_(momentum),
      eps_(eps) {
  if (features == 0) throw ValueError("BatchNorm: needs at least one feature");
  if (!(momentum >= 0 && momentum <= 1))
    throw ValueError(fmt::format("BatchNorm: the momentum must be in [0, 1], got {}", momentum));
  if (!(eps > 0) || !std::isfinite(eps))
    throw ValueError(fmt::format("BatchNorm: eps must be a positive finite number, got {}", eps));
  this->register_parameter("gamma", gamma);
  this->register_parameter("beta", beta);
  this->register_buffer("running_mean", running_mean);
  this->register_buffer("running_var", running_var);
}

template <class T>
Var<T> BatchNorm<T>::forward(Tape<T>& tape, const Var<T>& x_in) {
  const Var<T> x = x_in.shape().rank() > 2 ? flatten_rows(x_in) : x_in;
  if (x.shape().rank() != 2 || x.shape()[1] != gamma.value.size())
    throw ShapeError(fmt::format("BatchNorm: input {} does not have {} features", x_in.shape().str(),
                                 gamma.value.size()));
  Var<T> normalized;
  if (this->training_) {
    if (x.shape()[0] == 0) throw ValueError("BatchNorm: the batch is empty");
    const Var<T> mu = mean(x, {0});
    const Var<T> centered = x - mu;
    const Var<T> var = mean(centered * centered, {0});
    normalized = centered / sqrt(var + static_cast<T>(eps_));
    const T m = static_cast<T>(momentum_);
    for (std::size_t j = 0; j < running_mean.size(); ++j) {
      running_mean[j] = m * running_mean[j] + (T(1) - m) * mu.value()[j];
      running_var[j] = m * running_var[j] + (T(1) - m) * var.value()[j];
    }
  } else {
    normalized = (x - tape.constant(running_mean)) /
                 sqrt(tape.constant(running_var) + static_cast<T>(eps_));
  }
  return tape.parameter(gamma) * normalized + tape.parameter(beta);
}

template <class T>
std::string BatchNorm<T>::describe() const {
  return fmt::format("BatchNorm({}, momentum {:g}, eps {:g})", gamma.value.size(), momentum_, eps_);
}

#define TAPEGRAD_LAYER(L)     \
  template class L<float>;    \
  template class L<double>;
TAPEGRAD_LAYER(Linear)
#define TAPEGRAD_ACTIVATION(F)                                  \
  template Var<float> detail::F::apply(const Var<float>&);      \
  template Var<double> detail::F::apply(const Var<double>&);   \
  template class ActivationLayer<float, detail::F>;             \
  template class ActivationLayer<double, detail::F>;
TAPEGRAD_ACTIVATION(ReLUFunction)
TAPEGRAD_ACTIVATION(SigmoidFunction)
TAPEGRAD_ACTIVATION(TanhFunction)
TAPEGRAD_ACTIVATION(SoftmaxFunction)
TAPEGRAD_LAYER(Dropout)
TAPEGRAD_LAYER(BatchNorm)

}  // namespace tapegrad
