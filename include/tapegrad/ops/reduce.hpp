#pragma once
// Reductions (src/ops/reduce.cpp). Axes may be negative (counted from the end).
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// Sum of every element: a scalar.
template <class T>
Var<T> sum(const Var<T>& a);
/// Sum along `axes`; keepdims leaves them as extent 1.
template <class T>
Var<T> sum(const Var<T>& a, const std::vector<int>& axes, bool keepdims = false);
template <class T>
Var<T> mean(const Var<T>& a);
template <class T>
Var<T> mean(const Var<T>& a, const std::vector<int>& axes, bool keepdims = false);
/// Maximum along one axis; the gradient goes to the first maximal element of each slice.
template <class T>
Var<T> max(const Var<T>& a, int axis, bool keepdims = false);
/// Maximum of every element: a scalar (as sum(a) and mean(a) are).
template <class T>
Var<T> max(const Var<T>& a);

}  // namespace tapegrad
