#pragma once
// The book's networks: TwoLayerNet and MultiLayerNet(Extend) as one builder of multi-layer perceptrons.
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/layers.hpp"

namespace tapegrad {

enum class Activation { ReLU, Sigmoid, Tanh };
Activation parse_activation(const std::string& text);  // "relu", "sigmoid", "tanh"
std::string to_string(Activation a);

struct MlpSpec {
  std::vector<std::size_t> sizes{784, 100, 10};  // input, hidden..., output
  Activation activation = Activation::ReLU;
  Init init = Init::he();
  bool batchnorm = false;  // after each hidden Linear
  double dropout = 0;      // after each hidden activation (book mode), 0 = none
  std::string str() const;  // "784-100-10 relu he"
};

/// Linear, [BatchNorm], activation, [Dropout] for each hidden layer, then a Linear giving logits.
template <class T>
std::unique_ptr<Sequential<T>> make_mlp(const MlpSpec& spec, Rng& rng);

/// The book's TwoLayerNet: input-hidden-output, weights 0.01 * randn (ch04 uses sigmoid, ch05 ReLU).
template <class T>
std::unique_ptr<Sequential<T>> make_two_layer_net(std::size_t input, std::size_t hidden, std::size_t output,
                                                   Rng& rng, Activation activation = Activation::ReLU,
                                                   double weight_std = 0.01) {
  return make_mlp<T>({{input, hidden, output}, activation, Init::fixed_std(weight_std)}, rng);
}

}  // namespace tapegrad
