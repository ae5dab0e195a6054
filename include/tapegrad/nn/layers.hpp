#pragma once
// The book's layers as modules.
#include "tapegrad/tensor/random.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// The book's Affine: y = x W + b; an N-d input is flattened to (N, -1) first.
template <class T>
class Linear : public Module<T> {
 public:
  Linear(std::size_t in, std::size_t out, Init init, Rng& rng);
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

  Parameter<T> W, b;  // registered as "W" and "b"
};

/// A layer that applies one function of the ops and holds nothing: ReLU, Sigmoid, Tanh, Softmax. `Function`
/// names it (describe(), summaries) and applies it.
template <class T, class Function>
class ActivationLayer : public Module<T> {
 public:
  Var<T> forward(Tape<T>&, const Var<T>& x) override { return Function::apply(x); }
  std::string describe() const override { return Function::name; }
  bool parameter_free() const override { return true; }
};

namespace detail {
struct ReLUFunction {
  static constexpr const char* name = "ReLU";
  template <class T>
  static Var<T> apply(const Var<T>& x);
};
struct SigmoidFunction {
  static constexpr const char* name = "Sigmoid";
  template <class T>
  static Var<T> apply(const Var<T>& x);
};
struct TanhFunction {
  static constexpr const char* name = "Tanh";
  template <class T>
  static Var<T> apply(const Var<T>& x);
};
struct SoftmaxFunction {  // over the last axis
  static constexpr const char* name = "Softmax";
  template <class T>
  static Var<T> apply(const Var<T>& x);
};
}  // namespace detail

template <class T>
using ReLU = ActivationLayer<T, detail::ReLUFunction>;
template <class T>
using Sigmoid = ActivationLayer<T, detail::SigmoidFunction>;
template <class T>
using Tanh = ActivationLayer<T, detail::TanhFunction>;
template <class T>
using Softmax = ActivationLayer<T, detail::SoftmaxFunction>;

/// Drops each input with probability `ratio` in train mode.
/// Book mode (default, as the book): train x * mask, eval x * (1 - ratio).
/// Inverted mode (PyTorch, Keras): train x * mask / (1 - ratio), eval x.
template <class T>
class Dropout : public Module<T> {
 public:
  enum class Mode { Book, Inverted };
  Dropout(double ratio, std::uint64_t seed, Mode mode = Mode::Book);
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;
  bool parameter_free() const override { return true; }

 protected:
  void on_freeze_randomness(bool frozen) override { frozen_ = frozen; }
  void on_random_step(std::uint64_t step) override { rng_ = Rng(mix_seed(mix_seed(seed_) ^ step)); }

 private:
  double ratio_;
  Mode mode_;
  std::uint64_t seed_;
  Rng rng_;
  Tensor<T> mask_;
  bool frozen_ = false;
};

/// Batch normalisation over features of (N, D) input (N-d input flattened), as the book's BatchNormalization:
/// eps 1e-6 inside the sqrt, running mean/var with momentum 0.9, biased batch variance.
template <class T>
class BatchNorm : public Module<T> {
 public:
  explicit BatchNorm(std::size_t features, double momentum = 0.9, double eps = 1e-6);
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

  Parameter<T> gamma, beta;             // registered as "gamma" and "beta"
  Tensor<T> running_mean, running_var;  // buffers "running_mean" and "running_var"

 private:
  double momentum_, eps_;
};

#define TAPEGRAD_EXTERN_LAYER(L) \
  extern template class L<float>; \
  extern template class L<double>;
TAPEGRAD_EXTERN_LAYER(Linear)
TAPEGRAD_EXTERN_LAYER(Dropout)
TAPEGRAD_EXTERN_LAYER(BatchNorm)
#undef TAPEGRAD_EXTERN_LAYER
#define TAPEGRAD_EXTERN_ACTIVATION(F)                                  \
  extern template Var<float> detail::F::apply(const Var<float>&);      \
  extern template Var<double> detail::F::apply(const Var<double>&);
TAPEGRAD_EXTERN_ACTIVATION(ReLUFunction)
TAPEGRAD_EXTERN_ACTIVATION(SigmoidFunction)
TAPEGRAD_EXTERN_ACTIVATION(TanhFunction)
TAPEGRAD_EXTERN_ACTIVATION(SoftmaxFunction)
#undef TAPEGRAD_EXTERN_ACTIVATION

}  // namespace tapegrad
