#pragma once
// Losses (src/ops/loss.cpp). A 1-D prediction counts as a batch of one, as in the book.
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// The book's sum of squares: 0.5 * sum((y - t)^2).
template <class T>
Var<T> sum_of_squares(const Var<T>& y, const Var<T>& t);
/// mean((y - t)^2) over every element.
template <class T>
Var<T> mse(const Var<T>& y, const Var<T>& t);
/// The book's cross-entropy of probabilities y and one-hot t: -sum(t * log(y + 1e-7)) / N.
template <class T>
Var<T> cross_entropy(const Var<T>& y, const Var<T>& t);
/// The same for integer class labels: -sum(log(y[i, label_i] + 1e-7)) / N.
template <class T>
Var<T> cross_entropy(const Var<T>& y, const std::vector<std::size_t>& labels);
/// Fused softmax + cross-entropy of logits against one-hot t: -sum(t * log_softmax(x)) / N.
/// Backward is (softmax(x) - t) / N. Unlike the book it needs no 1e-7 guard: log_softmax is exact.
template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits, const Var<T>& t);
/// The same for integer class labels.
template <class T>
Var<T> softmax_cross_entropy(const Var<T>& logits, const std::vector<std::size_t>& labels);

}  // namespace tapegrad
