#pragma once
// What a model predicts on a data set, and how often it is right: evaluation needs a model and data, no
// optimizer and no Trainer.
#include <cstddef>
#include <limits>
#include <vector>

#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// The class whose logit is largest, for rows [begin, end) of `data` (end past the rows: to the last), in
/// batches of `batch` rows: evaluation mode and no gradients, the model's mode restored afterwards.
template <class T>
std::vector<std::size_t> predict(Module<T>& model, const Dataset& data, std::size_t batch = 1000,
                                 std::size_t begin = 0, std::size_t end = std::numeric_limits<std::size_t>::max());

/// Fraction of the rows of `data` whose predicted class is the label (ValueError for an empty set).
template <class T>
double accuracy(Module<T>& model, const Dataset& data, std::size_t batch = 1000);

extern template std::vector<std::size_t> predict(Module<float>&, const Dataset&, std::size_t, std::size_t, std::size_t);
extern template std::vector<std::size_t> predict(Module<double>&, const Dataset&, std::size_t, std::size_t,
                                                 std::size_t);
extern template double accuracy(Module<float>&, const Dataset&, std::size_t);
extern template double accuracy(Module<double>&, const Dataset&, std::size_t);

}  // namespace tapegrad
