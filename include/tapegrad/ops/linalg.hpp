#pragma once
// Matrix products through BLAS (src/ops/matmul.cpp).
#include "tapegrad/core/tape.hpp"

namespace tapegrad {

/// (m,k)·(k,n) -> (m,n); (m,k)·(k) -> (m); (k)·(k,n) -> (n). Other ranks throw ShapeError.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b);

}  // namespace tapegrad
