#pragma once
// The book's networks: TwoLayerNet and MultiLayerNet(Extend) as one builder of multi-layer perceptrons,
// SimpleConvNet, and networks described by a line of text (what the program's --net takes).
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/conv_layers.hpp"
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

/// "100-50" -> {100, 50}; "" or "none" -> {}; ValueError naming the text unless each size is in [1, 100000].
std::vector<std::size_t> parse_layer_sizes(const std::string& text);

/// The book's SimpleConvNet as a layer list: conv 30 filters 5x5 (stride 1, pad 0), max pool 2x2 stride 2, ReLU,
/// Affine 100, ReLU (then the output Affine, from the data). The book applies ReLU before the pool; ReLU and max
/// commute (the same values and gradients, bit for bit: tests/test_conv_nets.cpp), and after the pool ReLU reads
/// and writes a quarter of the values.
inline constexpr const char* kSimpleConvNet = "conv:30:5,maxpool:2,relu,linear:100,relu";

/// The book's DeepConvNet (ch8/deep_convnet.py) as a layer list: six 3x3 convolutions of 16, 16, 32, 32, 64 and 64
/// filters (pad 1, the fourth pad 2), ReLU after each, a 2x2 max pool after every second, Affine 50, ReLU, dropout
/// 0.5 (then the output Affine, from the data): 123,552 parameters for 1x28x28 images and 10 classes. The book
/// also drops out the output Affine's values in training; an output layer here is never followed by another.
inline constexpr const char* kDeepConvNet =
    "conv:16:3:pad=1,relu,conv:16:3:pad=1,relu,maxpool:2,conv:32:3:pad=1,relu,conv:32:3:pad=2,relu,maxpool:2,"
    "conv:64:3:pad=1,relu,conv:64:3:pad=1,relu,maxpool:2,linear:50,relu,dropout:0.5";

/// How big a network is: what a program checks against the machine's memory before building it.
struct NetFootprint {
  double parameters = 0;   // weights and biases
  double activations = 0;  // values per sample summed over the layers' outputs (and the input)
};

/// A network for samples of one shape, described in text:
///   "100", "256-128", "none"  the hidden sizes of an MLP (with `activation`; MlpSpec)
///   "simple_conv"             the book's SimpleConvNet (kSimpleConvNet)
///   "deep_conv"               the book's DeepConvNet (kDeepConvNet)
///   "conv:30:5,relu,..."      a list of layers, comma-separated:
///       conv:FILTERS:KERNEL[:stride=S][:pad=P]   KERNEL, S, P: one number or HxW (e.g. 5, 3x5)
///       maxpool:WINDOW[:stride=S][:pad=P]        the stride defaults to the window
///       avgpool:WINDOW[:stride=S][:pad=P]        (each of the three also takes remainder=drop: allow_remainder)
///       linear:SIZE   relu   sigmoid   tanh   flatten   batchnorm   dropout:RATIO
///       lstm:HIDDEN[:layers=L]   gru:...   rnn:...   reads each sample as a sequence (an image's rows, top to
///                                        bottom; a vector's values one by one) and gives its last h (LastHidden)
/// Image data enters as rows and is reshaped to `sample` before the first conv or pooling layer; Linear
/// flattens what it gets; the output Linear (to `classes`) is always added.
struct NetSpec {
  Shape sample{784};  // one input: (features,) or (channels, height, width)
  std::size_t classes = 10;
  std::string layers = "100";
  Activation activation = Activation::ReLU;  // for hidden sizes; a layer list names its own
  Init init = Init::he();
  bool batchnorm = false;  // for hidden sizes (MlpSpec); a layer list names its own (batchnorm, dropout:RATIO)
  double dropout = 0;

  bool is_mlp() const;          // layers are hidden sizes
  MlpSpec mlp() const;          // ValueError unless is_mlp() and the sample is flat
  /// The layer list spelled out ("simple_conv" expanded); ValueError naming the bad part of the text.
  std::string layer_list() const;
  /// Sizes the network without building it (same checks and errors as make_network).
  NetFootprint footprint() const;
  /// "784-100-10 relu he", or "1x28x28 conv:30:5,maxpool:2,relu,linear:100,relu -> 10 he".
  std::string str() const;
};

/// Builds the network a spec describes; ValueError or ShapeError (naming the layer) when the layers do not fit
/// the sample, e.g. a kernel larger than the image.
template <class T>
std::unique_ptr<Sequential<T>> make_network(const NetSpec& spec, Rng& rng);

/// The book's SimpleConvNet for images of shape `image` (C, H, W); the book draws weights with std 0.01.
template <class T>
std::unique_ptr<Sequential<T>> make_simple_conv_net(const Shape& image, std::size_t classes, Rng& rng,
                                                    Init init = Init::fixed_std(0.01)) {
  NetSpec spec;
  spec.sample = image;
  spec.classes = classes;
  spec.layers = kSimpleConvNet;
  spec.init = init;
  return make_network<T>(spec, rng);
}

}  // namespace tapegrad
