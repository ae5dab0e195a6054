#include "tapegrad/tensor/tensor.hpp"

#include <algorithm>
#include <cmath>
#include <new>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/tensor/random.hpp"

namespace tapegrad {
namespace {
// data.resize(n), or MemoryError naming the shape when it cannot be: never std::bad_alloc or length_error.
template <class T>
void allocate(std::vector<T>& data, std::size_t n, const Shape& shape, T fill = T(0)) {
  constexpr std::size_t kMaxBytes = std::size_t{1} << 46;  // 64 TiB: beyond any machine's memory
  if (n > kMaxBytes / sizeof(T))
    throw MemoryError(fmt::format("Tensor: shape {} needs {} bytes, more than any machine has", shape.str(),
                                  fmt::format("{:.3g}", double(n) * double(sizeof(T)))));
  try {
    data.resize(n, fill);
  } catch (const std::bad_alloc&) {
    throw MemoryError(fmt::format("Tensor: out of memory allocating {:.3g} GB for shape {}",
                                  double(n) * double(sizeof(T)) / 1e9, shape.str()));
  }
}
}  // namespace

template <class T>
Tensor<T>::Tensor(Shape shape, T fill) : shape_(std::move(shape)) {
  allocate(data_, shape_.numel(), shape_, fill);
}

template <class T>
Tensor<T>::Tensor(Shape shape, std::vector<T> values) : shape_(std::move(shape)), data_(std::move(values)) {
  if (data_.size() != shape_.numel())
    throw ShapeError(fmt::format("Tensor: shape {} holds {} values, {} were given", shape_.str(), shape_.numel(),
                                 data_.size()));
}

template <class T>
Tensor<T>::Tensor(std::initializer_list<T> values) : shape_{values.size()}, data_(values) {}

template <class T>
Tensor<T>::Tensor(std::initializer_list<std::initializer_list<T>> rows) {
  const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
  data_.reserve(rows.size() * cols);
  for (const auto& row : rows) {
    if (row.size() != cols)
      throw ShapeError(fmt::format("Tensor: ragged rows ({} and {} values)", cols, row.size()));
    data_.insert(data_.end(), row.begin(), row.end());
  }
  shape_ = Shape{rows.size(), cols};
}

template <class T>
Tensor<T> Tensor<T>::randn(const Shape& shape, Rng& rng, T stddev) {
  if (!(stddev >= 0) || !std::isfinite(stddev))
    throw ValueError(fmt::format("Tensor::randn: the standard deviation must be finite and >= 0, got {}", stddev));
  Tensor t(shape);
  for (T& v : t.data_) v = static_cast<T>(stddev * rng.normal());
  return t;
}

template <class T>
Tensor<T> Tensor<T>::uniform(const Shape& shape, Rng& rng, T low, T high) {
  Tensor t(shape);
  for (T& v : t.data_) v = static_cast<T>(rng.uniform(low, high));
  return t;
}

namespace {
std::size_t flat_offset(const std::vector<std::size_t>& index, const Shape& shape) {
  if (index.size() != shape.rank())
    throw ValueError(fmt::format("Tensor::at: {} indices for a tensor of shape {}", index.size(), shape.str()));
  std::size_t flat = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] >= shape[i])
      throw ValueError(
          fmt::format("Tensor::at: index {} is out of range for axis {} of shape {}", index[i], i, shape.str()));
    flat = flat * shape[i] + index[i];
  }
  return flat;
}
}  // namespace

template <class T>
T& Tensor<T>::at(const std::vector<std::size_t>& index) {
  return data_[flat_offset(index, shape_)];
}

template <class T>
T Tensor<T>::at(const std::vector<std::size_t>& index) const {
  return data_[flat_offset(index, shape_)];
}

template <class T>
T Tensor<T>::item() const {
  if (data_.size() != 1)
    throw ShapeError(fmt::format("item(): the tensor has shape {}, not a single element", shape_.str()));
  return data_[0];
}

template <class T>
Tensor<T> Tensor<T>::reshaped(const Shape& shape) const {
  if (shape.numel() != data_.size())
    throw ShapeError(fmt::format("reshape: cannot view shape {} as {}", shape_.str(), shape.str()));
  return Tensor(shape, data_);
}

template <class T>
void Tensor<T>::resize(const Shape& shape) {
  const std::size_t n = shape.numel();  // may throw: the tensor is left as it was
  if (n > data_.capacity()) allocate(data_, n, shape);
  else data_.resize(n);
  shape_ = shape;
}

template <class T>
void Tensor<T>::resize(std::initializer_list<std::size_t> dims) {
  // The same without building a Shape: steady-state training steps must not allocate.
  std::size_t n = 1;
  bool overflow = false, zero = false;
  for (std::size_t d : dims) {
    overflow |= __builtin_mul_overflow(n, d, &n);
    zero |= d == 0;
  }
  if (zero) n = 0;
  else if (overflow) Shape(dims).numel();  // throws the ShapeError
  if (n > data_.capacity()) allocate(data_, n, Shape(dims));
  else data_.resize(n);
  shape_.assign(dims);
}

template <class T>
void Tensor<T>::fill(T value) {
  std::fill(data_.begin(), data_.end(), value);
}

std::vector<std::size_t> unravel_index(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> index(shape.rank());
  for (std::size_t i = shape.rank(); i-- > 0;) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return index;
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace tapegrad
