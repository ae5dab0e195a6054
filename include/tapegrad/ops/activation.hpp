#pragma once
// Activations and (log-)softmax (src/ops/activation.cpp).
#include "tapegrad/core/tape.hpp"

namespace tapegrad {

/// max(0, x); derivative 0 at x <= 0, as the book's Relu layer.
template <class T>
Var<T> relu(const Var<T>& a);
template <class T>
Var<T> sigmoid(const Var<T>& a);
template <class T>
Var<T> tanh(const Var<T>& a);
/// 1 where x > 0, else 0; its gradient is zero everywhere.
template <class T>
Var<T> step(const Var<T>& a);
/// Softmax over the last axis (each row of a matrix), shifted by the row max for stability.
template <class T>
Var<T> softmax(const Var<T>& a);
/// log(softmax(a)) over the last axis, computed without forming softmax's logarithm.
template <class T>
Var<T> log_softmax(const Var<T>& a);

}  // namespace tapegrad
