#pragma once
// Ops that move values without arithmetic (src/ops/shaping.cpp).
#include <vector>

#include "tapegrad/core/tape.hpp"

namespace tapegrad {

/// Permute the axes; with no permutation, reverse them (a matrix transpose).
template <class T>
Var<T> transpose(const Var<T>& a, std::vector<std::size_t> permutation = {});
/// Same values in a new shape of the same element count.
template <class T>
Var<T> reshape(const Var<T>& a, const Shape& shape);
/// (N, d1, d2, ...) -> (N, d1*d2*...), as the book's Affine layer does.
template <class T>
Var<T> flatten_rows(const Var<T>& a);
/// Repeat `a` to `shape` under NumPy's broadcasting rules.
template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape);
/// out[i] = a[i, labels[i]] for a (N, C) matrix: the picked class scores, one per row.
template <class T>
Var<T> pick(const Var<T>& a, const std::vector<std::size_t>& labels);

}  // namespace tapegrad
