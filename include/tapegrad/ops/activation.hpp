#pragma once
// Activations and (log-)softmax (src/ops/activation.cpp).
#include "tapegrad/autograd/tape.hpp"

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
/// Softmax along `axis` (default: the last, each row of a matrix), shifted by the slice's max for stability.
/// Negative axes count from the end.
template <class T>
Var<T> softmax(const Var<T>& a, int axis = -1);
/// log(softmax(a)) along `axis`, computed without forming softmax's logarithm.
template <class T>
Var<T> log_softmax(const Var<T>& a, int axis = -1);

}  // namespace tapegrad
