#pragma once
// Ops that cut tensors apart and join them (src/ops/indexing.cpp): what sequence models read and write time step
// by time step. Indices and axes count from 0; a negative one cannot be written (they are unsigned), and one past
// the end is an error naming the op.
#include <cstddef>
#include <limits>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// One axis of a slice: start, start + step, ... below stop. kEnd: the axis's extent.
struct Range {
  static constexpr std::size_t kEnd = std::numeric_limits<std::size_t>::max();
  std::size_t start = 0, stop = kEnd, step = 1;
};

/// The general form: one Range per leading axis (the axes not given are taken whole), as NumPy's
/// a[0:2, 1:5:2]. ShapeError naming the op for a start past the extent, a stop beyond it, an empty range, step 0 or
/// more ranges than axes.
template <class T>
Var<T> slice(const Var<T>& a, const std::vector<Range>& ranges);
/// `a` along one axis: start, start + step, ... below stop.
template <class T>
Var<T> slice(const Var<T>& a, std::size_t axis, std::size_t start, std::size_t stop, std::size_t step = 1);
/// Cut along `axis` into consecutive pieces of these sizes (they must add up to the axis's extent).
template <class T>
std::vector<Var<T>> split(const Var<T>& a, std::size_t axis, const std::vector<std::size_t>& sizes);
/// Join along an existing axis; all other extents must agree.
template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, std::size_t axis);
/// Join along a new axis (at position `axis`, 0 to rank); every part has the same shape. Built from reshape and
/// concat, so its rules are theirs.
template <class T>
Var<T> stack(const std::vector<Var<T>>& parts, std::size_t axis);
/// Rows of `weight` (V, D) picked by `indices` (each below V): shape `indices_shape` + (D). Its gradient adds into
/// the rows read, so a repeated index gets the sum. ValueError naming the position of an index out of range.
template <class T>
Var<T> embedding(const Var<T>& weight, const std::vector<std::size_t>& indices, const Shape& indices_shape);

}  // namespace tapegrad
