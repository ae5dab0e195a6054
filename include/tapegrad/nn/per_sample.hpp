#pragma once
// Per-sample gradients: the gradient of each example's loss alone, for every parameter of a model, from one
// batch. What a gradient-noise plot, per-example clipping (DP-SGD) or "which examples pull where" needs.
//
// A parameter read only as an affine layer's weight or bias (Linear) gets them from the batch's one backward
// pass: sample n's gradient is the outer product of that layer's input row n with its output gradient row n
// (Goodfellow, 2015). Any other parameter (conv2d filters, BatchNorm's scale) gets them from one backward pass
// per sample; the result says which method each parameter used and how many passes ran.
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// The loss of the samples [first, first + count) of a batch, as a mean over them, from the model's output for
/// exactly those samples (softmax_cross_entropy(output, labels of those samples), say).
template <class T>
using SampleLoss = std::function<Var<T>(const Var<T>& output, std::size_t first, std::size_t count)>;

template <class T>
struct PerSampleGradients {
  std::vector<std::string> names;       // the model's qualified parameter names
  std::vector<Tensor<T>> gradients;     // per parameter: (batch, ...its shape); slice n is sample n's gradient
  std::vector<std::string> methods;     // per parameter: "outer products" or "a pass per sample"
  std::size_t backward_passes = 0;      // 1, plus one per sample when some parameter needed it
};

/// Per-sample gradients of `loss` for the batch `inputs` (first axis: samples). Their mean over the batch is the
/// batch gradient. The model's parameters' grad() is left as it was. ValueError for an empty batch, a model with
/// no parameters, BatchNorm in training mode (it mixes the samples of a batch: call set_training(false)), Dropout
/// in training mode when a pass per sample is needed (the masks would differ), or a loss that is not one element.
template <class T>
PerSampleGradients<T> per_sample_gradients(Module<T>& model, const Tensor<T>& inputs, const SampleLoss<T>& loss);

extern template PerSampleGradients<float> per_sample_gradients(Module<float>&, const Tensor<float>&,
                                                               const SampleLoss<float>&);
extern template PerSampleGradients<double> per_sample_gradients(Module<double>&, const Tensor<double>&,
                                                                const SampleLoss<double>&);

}  // namespace tapegrad
