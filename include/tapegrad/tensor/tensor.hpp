#pragma once
// A dense, row-major, owning n-d array of float or double: the values and gradients tapegrad works on.
// Kept free of xtensor so that user code compiles fast; the kernels in src/ view it through xt::adapt.
#include <cstddef>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "tapegrad/tensor/shape.hpp"

namespace tapegrad {

class Rng;

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "tapegrad tensors hold float or double");

 public:
  using value_type = T;

  Tensor() : shape_{0} {}  // empty vector, shape (0,)
  explicit Tensor(Shape shape, T fill = T(0));
  Tensor(Shape shape, std::vector<T> values);  // throws ShapeError if the counts differ
  Tensor(std::initializer_list<T> values);      // a vector
  Tensor(std::initializer_list<std::initializer_list<T>> rows);  // a matrix; ragged rows throw

  static Tensor scalar(T value) { return Tensor(Shape{}, value); }
  static Tensor zeros(const Shape& shape) { return Tensor(shape, T(0)); }
  static Tensor ones(const Shape& shape) { return Tensor(shape, T(1)); }
  static Tensor randn(const Shape& shape, Rng& rng, T stddev = T(1));
  static Tensor uniform(const Shape& shape, Rng& rng, T low, T high);

  const Shape& shape() const { return shape_; }
  std::size_t rank() const { return shape_.rank(); }
  std::size_t size() const { return data_.size(); }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T* begin() { return data_.data(); }
  T* end() { return data_.data() + data_.size(); }
  const T* begin() const { return data_.data(); }
  const T* end() const { return data_.data() + data_.size(); }

  T& operator[](std::size_t flat) { return data_[flat]; }
  T operator[](std::size_t flat) const { return data_[flat]; }
  /// Element at a full multi-index; throws ValueError when out of range.
  T& at(const std::vector<std::size_t>& index);
  T at(const std::vector<std::size_t>& index) const;
  template <class... I>
  T& operator()(I... index) { return at({static_cast<std::size_t>(index)...}); }
  template <class... I>
  T operator()(I... index) const { return at({static_cast<std::size_t>(index)...}); }
  /// The single value of a one-element tensor; throws ShapeError otherwise.
  T item() const;

  /// Same values, new shape with the same element count (ShapeError otherwise).
  Tensor reshaped(const Shape& shape) const;
  /// Re-shape in place, keeping the allocation when it is large enough (values unspecified).
  void resize(const Shape& shape);
  void resize(std::initializer_list<std::size_t> dims);
  void fill(T value);

  template <class U>
  Tensor<U> cast() const {
    return Tensor<U>(shape_, std::vector<U>(data_.begin(), data_.end()));
  }

  friend bool operator==(const Tensor& a, const Tensor& b) { return a.shape_ == b.shape_ && a.data_ == b.data_; }
  friend bool operator!=(const Tensor& a, const Tensor& b) { return !(a == b); }

 private:
  Shape shape_;
  std::vector<T> data_;
};

/// Flat offset to multi-index, row-major.
std::vector<std::size_t> unravel_index(std::size_t flat, const Shape& shape);

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace tapegrad
