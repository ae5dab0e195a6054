#include "tapegrad/nn/networks.hpp"

#include <fmt/format.h>

#include "tapegrad/core/error.hpp"

namespace tapegrad {

Activation parse_activation(const std::string& text) {
  if (text == "relu") return Activation::ReLU;
  if (text == "sigmoid") return Activation::Sigmoid;
  if (text == "tanh") return Activation::Tanh;
  throw ValueError(fmt::format("activation: '{}' is not relu, sigmoid or tanh", text));
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::ReLU: break;
  }
  return "relu";
}

std::string MlpSpec::str() const {
  std::string text = fmt::format("{} {} {}", fmt::join(sizes, "-"), to_string(activation), init.str());
  if (batchnorm) text += " batchnorm";
  if (dropout > 0) text += fmt::format(" dropout {:g}", dropout);
  return text;
}

template <class T>
std::unique_ptr<Sequential<T>> make_mlp(const MlpSpec& spec, Rng& rng) {
  if (spec.sizes.size() < 2)
    throw ValueError(fmt::format("mlp: needs at least an input and an output size, got '{}'", fmt::join(spec.sizes, "-")));
  auto net = std::make_unique<Sequential<T>>();
  for (std::size_t i = 0; i + 1 < spec.sizes.size(); ++i) {
    net->template add<Linear<T>>(spec.sizes[i], spec.sizes[i + 1], spec.init, rng);
    if (i + 2 == spec.sizes.size()) break;  // the last Linear gives logits
    if (spec.batchnorm) net->template add<BatchNorm<T>>(spec.sizes[i + 1]);
    switch (spec.activation) {
      case Activation::ReLU: net->template add<ReLU<T>>(); break;
      case Activation::Sigmoid: net->template add<Sigmoid<T>>(); break;
      case Activation::Tanh: net->template add<Tanh<T>>(); break;
    }
    if (spec.dropout > 0) net->template add<Dropout<T>>(spec.dropout, rng.engine()());
  }
  return net;
}

template std::unique_ptr<Sequential<float>> make_mlp(const MlpSpec&, Rng&);
template std::unique_ptr<Sequential<double>> make_mlp(const MlpSpec&, Rng&);

}  // namespace tapegrad
