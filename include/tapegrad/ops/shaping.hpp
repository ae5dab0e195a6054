#pragma once
// Ops that move values without arithmetic (src/ops/shaping.cpp).
#include <cstddef>
#include <limits>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// Permute the axes; with no permutation, reverse them (a matrix transpose).
template <class T>
Var<T> transpose(const Var<T>& a, std::vector<std::size_t> permutation = {});
/// Same values in a new shape of the same element count.
template <class T>
Var<T> reshape(const Var<T>& a, const Shape& shape);
/// The same values as a node of their own: a place for a hook that sees only this path's gradient (module
/// backward hooks put one at a module's input).
template <class T>
Var<T> identity(const Var<T>& a);
/// (N, d1, d2, ...) -> (N, d1*d2*...), as the book's Affine layer does.
template <class T>
Var<T> flatten_rows(const Var<T>& a);
/// Repeat `a` to `shape` under NumPy's broadcasting rules.
template <class T>
Var<T> broadcast_to(const Var<T>& a, const Shape& shape);
/// out[i] = a[i, labels[i]] for a (N, C) matrix: the picked class scores, one per row.
template <class T>
Var<T> pick(const Var<T>& a, const std::vector<std::size_t>& labels);
/// The adjoint of broadcast_to: `a` summed over the axes broadcasting would stretch `shape` along, giving
/// `shape` (NumPy's sum_to; what broadcasting's gradient does).
template <class T>
Var<T> sum_to(const Var<T>& a, const Shape& shape);

/// An index that names no element: gather reads 0 there, scatter_add drops the value (padding, in conv2d).
inline constexpr std::size_t kNoElement = std::numeric_limits<std::size_t>::max();
/// out (of `shape`)[i] = a's flat element indices[i], or 0 where it is kNoElement. indices.size() must equal
/// the shape's element count.
template <class T>
Var<T> gather(const Var<T>& a, const std::vector<std::size_t>& indices, const Shape& shape);
/// The adjoint of gather: out (of `shape`) = zeros, then out's flat element indices[i] += a's flat element i
/// (kNoElement: dropped). indices.size() must equal a's element count.
template <class T>
Var<T> scatter_add(const Var<T>& a, const std::vector<std::size_t>& indices, const Shape& shape);

}  // namespace tapegrad
