#include "tapegrad/nn/metrics.hpp"

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

template <class T>
std::vector<std::size_t> argmax(const Tensor<T>& scores) {
  const Shape& s = scores.shape();
  if (s.rank() < 1 || s.rank() > 2 || s[s.rank() - 1] == 0)
    throw ShapeError(fmt::format("argmax: needs (rows, classes) scores with at least one class, got {}", s.str()));
  const std::size_t classes = s[s.rank() - 1], rows = s.rank() == 2 ? s[0] : 1;
  std::vector<std::size_t> out(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    const T* row = scores.data() + i * classes;
    std::size_t best = 0;
    for (std::size_t j = 1; j < classes; ++j)
      if (row[j] > row[best]) best = j;
    out[i] = best;
  }
  return out;
}

template <class T>
double accuracy(const Tensor<T>& scores, const std::vector<std::size_t>& labels) {
  const std::vector<std::size_t> predicted = argmax(scores);
  if (predicted.size() != labels.size())
    throw ShapeError(fmt::format("accuracy: {} labels for scores of shape {}", labels.size(), scores.shape().str()));
  if (labels.empty()) throw ValueError("accuracy: no rows");
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += predicted[i] == labels[i];
  return double(correct) / double(labels.size());
}

template std::vector<std::size_t> argmax(const Tensor<float>&);
template std::vector<std::size_t> argmax(const Tensor<double>&);
template double accuracy(const Tensor<float>&, const std::vector<std::size_t>&);
template double accuracy(const Tensor<double>&, const std::vector<std::size_t>&);

}  // namespace tapegrad
