#include "tapegrad/nn/conv_layers.hpp"

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {
namespace {
std::string window_text(const Extent2d& window, const Extent2d& stride, const Extent2d& padding) {
  return fmt::format("{}, stride {}, padding {}", window.str(), stride.str(), padding.str());
}
}  // namespace

template <class T>
Conv2D<T>::Conv2D(std::size_t in_channels, std::size_t filters, Extent2d kernel, Init init, Rng& rng,
                  Conv2dSettings settings)
    : W("W", Tensor<T>()), b("b", Tensor<T>()), settings_(settings) {
  if (in_channels == 0 || filters == 0 || kernel.h == 0 || kernel.w == 0)
    throw ValueError(fmt::format("Conv2D: channels, filters and kernel must be positive, got {} -> {}, {}",
                                 in_channels, filters, kernel.str()));
  const Shape shape{filters, in_channels, kernel.h, kernel.w};
  W.value = Tensor<T>::randn(shape, rng, static_cast<T>(init.scale(in_channels * kernel.h * kernel.w)));
  W.grad() = Tensor<T>::zeros(shape);
  b.value = Tensor<T>::zeros({filters});
  b.grad() = Tensor<T>::zeros({filters});
  this->register_parameter("W", W);
  this->register_parameter("b", b);
}

template <class T>
Var<T> Conv2D<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return conv2d(x, tape.parameter(W), tape.parameter(b), settings_);
}

template <class T>
std::string Conv2D<T>::describe() const {
  const Shape& s = W.value.shape();
  return fmt::format("Conv2D({} -> {}, {})", s[1], s[0],
                     window_text({s[2], s[3]}, settings_.stride, settings_.padding));
}

template <class T>
std::string MaxPool2D<T>::describe() const {
  return fmt::format("MaxPool2D({})", window_text(settings_.window, settings_.stride, settings_.padding));
}
template <class T>
std::string AvgPool2D<T>::describe() const {
  return fmt::format("AvgPool2D({})", window_text(settings_.window, settings_.stride, settings_.padding));
}

template <class T>
Var<T> Flatten<T>::forward(Tape<T>&, const Var<T>& x) { return flatten_rows(x); }

template <class T>
Reshape<T>::Reshape(Shape sample) : sample_(std::move(sample)) {
  std::vector<std::size_t> dims{0};
  dims.insert(dims.end(), sample_.begin(), sample_.end());
  target_ = Shape(dims);
}

template <class T>
Var<T> Reshape<T>::forward(Tape<T>&, const Var<T>& x) {
  if (x.shape().rank() == 0) throw ShapeError("Reshape: needs a batch axis, got a scalar");
  target_[0] = x.shape()[0];
  if (target_.numel() != x.shape().numel())
    throw ShapeError(fmt::format("Reshape: cannot view x {} as {} samples of {}", x.shape().str(), x.shape()[0],
                                 sample_.str()));
  return reshape(x, target_);
}

template <class T>
std::string Reshape<T>::describe() const {
  return fmt::format("Reshape({})", fmt::join(sample_.dims(), ", "));
}

#define TAPEGRAD_LAYER(L)  \
  template class L<float>; \
  template class L<double>;
TAPEGRAD_LAYER(Conv2D)
TAPEGRAD_LAYER(MaxPool2D)
TAPEGRAD_LAYER(AvgPool2D)
TAPEGRAD_LAYER(Flatten)
TAPEGRAD_LAYER(Reshape)

}  // namespace tapegrad
