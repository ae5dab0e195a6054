#pragma once
// The book's chapter 7 layers as modules: Convolution, Pooling, and the reshapes between images and rows.
#include "tapegrad/tensor/random.hpp"
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops/conv.hpp"

namespace tapegrad {

/// The book's Convolution: filters W (FN, C, FH, FW) and bias b (FN,), initialised by `init` with fan-in
/// C * FH * FW.
template <class T>
class Conv2D : public Module<T> {
 public:
  Conv2D(std::size_t in_channels, std::size_t filters, Extent2d kernel, Init init, Rng& rng,
         Conv2dSettings settings = {});
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;  // "Conv2D(1 -> 30, 5x5, stride 1, padding 0)"
  const Conv2dSettings& settings() const { return settings_; }

  Parameter<T> W, b;  // registered as "W" and "b"

 private:
  Conv2dSettings settings_;
};

/// The book's Pooling (max) and its average twin.
template <class T>
class MaxPool2D : public Module<T> {
 public:
  explicit MaxPool2D(Pool2dSettings settings) : settings_(settings) {}
  Var<T> forward(Tape<T>&, const Var<T>& x) override { return max_pool2d(x, settings_); }
  bool parameter_free() const override { return true; }
  std::string describe() const override;  // "MaxPool2D(2, stride 2, padding 0)"

 private:
  Pool2dSettings settings_;
};

template <class T>
class AvgPool2D : public Module<T> {
 public:
  explicit AvgPool2D(Pool2dSettings settings) : settings_(settings) {}
  Var<T> forward(Tape<T>&, const Var<T>& x) override { return avg_pool2d(x, settings_); }
  bool parameter_free() const override { return true; }
  std::string describe() const override;

 private:
  Pool2dSettings settings_;
};

/// (N, d1, d2, ...) -> (N, d1 * d2 * ...).
template <class T>
class Flatten : public Module<T> {
 public:
  Var<T> forward(Tape<T>&, const Var<T>& x) override;
  std::string describe() const override { return "Flatten"; }
  bool parameter_free() const override { return true; }
};

/// (N, ...) -> (N, sample...): rows of pixels back into images, e.g. sample (1, 28, 28).
template <class T>
class Reshape : public Module<T> {
 public:
  explicit Reshape(Shape sample);
  Var<T> forward(Tape<T>&, const Var<T>& x) override;
  bool parameter_free() const override { return true; }
  std::string describe() const override;  // "Reshape(1, 28, 28)"

 private:
  Shape sample_;
  Shape target_;  // (N, sample...), updated in place: no allocation per step
};

#define TAPEGRAD_EXTERN_LAYER(L) \
  extern template class L<float>; \
  extern template class L<double>;
TAPEGRAD_EXTERN_LAYER(Conv2D)
TAPEGRAD_EXTERN_LAYER(MaxPool2D)
TAPEGRAD_EXTERN_LAYER(AvgPool2D)
TAPEGRAD_EXTERN_LAYER(Flatten)
TAPEGRAD_EXTERN_LAYER(Reshape)
#undef TAPEGRAD_EXTERN_LAYER

}  // namespace tapegrad
