#pragma once
// The extents of a tensor, outermost first (row-major), e.g. (batch, features).
#include <cstddef>
#include <initializer_list>
#include <string>
#include <vector>

namespace tapegrad {

class Shape {
 public:
  Shape() = default;  // rank 0: a scalar
  Shape(std::initializer_list<std::size_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::size_t> dims) : dims_(std::move(dims)) {}

  /// Replace the extents in place (no allocation when the rank does not grow).
  void assign(std::initializer_list<std::size_t> dims) { dims_.assign(dims); }

  std::size_t rank() const { return dims_.size(); }
  std::size_t numel() const;  // product of the extents; 1 for a scalar
  std::size_t operator[](std::size_t axis) const { return dims_[axis]; }
  std::size_t& operator[](std::size_t axis) { return dims_[axis]; }
  const std::vector<std::size_t>& dims() const { return dims_; }
  auto begin() const { return dims_.begin(); }
  auto end() const { return dims_.end(); }

  friend bool operator==(const Shape& a, const Shape& b) { return a.dims_ == b.dims_; }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

  /// "(2, 3)"; a scalar is "()" and a vector "(4,)", as NumPy prints them.
  std::string str() const;

 private:
  std::vector<std::size_t> dims_;
};

/// NumPy's broadcasting of two shapes; throws ShapeError naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace tapegrad
