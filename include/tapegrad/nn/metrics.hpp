#pragma once
// Reading predictions: the class each row votes for, and how often that is right.
#include <vector>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

/// Index of the largest element of each row of a (rows, classes) matrix (a vector is one row); the first one
/// on ties. ShapeError for other ranks or no classes.
template <class T>
std::vector<std::size_t> argmax(const Tensor<T>& scores);

/// Fraction of rows whose argmax equals the label (ShapeError if the counts differ, ValueError if empty).
template <class T>
double accuracy(const Tensor<T>& scores, const std::vector<std::size_t>& labels);

}  // namespace tapegrad
