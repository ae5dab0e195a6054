#pragma once
// What a model predicts on a data set, and how often it is right: evaluation needs a model and data, no
// optimizer and no Trainer.
#include <cstddef>
#include <limits>
#include <vector>

#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/tensor/precision.hpp"

namespace tapegrad {

/// The class whose logit is largest, for rows [begin, end) of `data` (end past the rows: to the last), in
/// batches of `batch` rows: evaluation mode and no gradients, the model's mode restored afterwards.
template <class T>
std::vector<std::size_t> predict(Module<T>& model, const Dataset& data, std::size_t batch = 1000,
                                 std::size_t begin = 0, std::size_t end = std::numeric_limits<std::size_t>::max());

/// Fraction of the rows of `data` whose predicted class is the label (ValueError for an empty set).
template <class T>
double accuracy(Module<T>& model, const Dataset& data, std::size_t batch = 1000);

/// What predict_rounded gives: the predictions, and how many values became infinite when rounded.
struct RoundedPrediction {
  std::vector<std::size_t> predicted;
  std::size_t overflowed_parameters = 0, overflowed_values = 0;  // values: the inputs and layer outputs
};

/// predict() with the model's parameters rounded to `precision`, and, with `activations`, the input and the
/// output of each of the Sequential's layers too (the book's half_float_network.py runs its float32-trained
/// network in float16 this way). The parameters are restored afterwards, also when it throws.
template <class T>
RoundedPrediction predict_rounded(Sequential<T>& model, const Dataset& data, Precision precision,
                                  bool activations = true, std::size_t batch = 1000);

extern template RoundedPrediction predict_rounded(Sequential<float>&, const Dataset&, Precision, bool, std::size_t);
extern template RoundedPrediction predict_rounded(Sequential<double>&, const Dataset&, Precision, bool, std::size_t);
extern template std::vector<std::size_t> predict(Module<float>&, const Dataset&, std::size_t, std::size_t, std::size_t);
extern template std::vector<std::size_t> predict(Module<double>&, const Dataset&, std::size_t, std::size_t,
                                                 std::size_t);
extern template double accuracy(Module<float>&, const Dataset&, std::size_t);
extern template double accuracy(Module<double>&, const Dataset&, std::size_t);

}  // namespace tapegrad
