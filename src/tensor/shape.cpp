#include "tapegrad/tensor/shape.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

std::size_t Shape::numel() const {
  std::size_t n = 1;
  bool overflow = false;
  for (std::size_t d : dims_) overflow |= __builtin_mul_overflow(n, d, &n);
  if (overflow && std::find(dims_.begin(), dims_.end(), std::size_t{0}) == dims_.end())
    throw ShapeError(fmt::format("shape {} has more elements than a 64-bit count holds", str()));
  return overflow ? 0 : n;
}

std::string Shape::str() const {
  if (dims_.size() == 1) return fmt::format("({},)", dims_[0]);
  return fmt::format("({})", fmt::join(dims_, ", "));
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const std::size_t rank = std::max(a.rank(), b.rank());
  std::vector<std::size_t> out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    // align from the last axis; a missing axis counts as extent 1
    const std::size_t da = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
    const std::size_t db = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} do not broadcast (axis {} has {} vs {})", op, a.str(),
                                   b.str(), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return Shape(std::move(out));
}

}  // namespace tapegrad
