#include "tapegrad/autograd/grad_slot.hpp"

#include <algorithm>

#include "autograd/outer_product.hpp"

namespace tapegrad {

template <class T>
void GradSlot<T>::zero(const Shape& shape) {
  buffer_.resize(shape);
  buffer_.fill(T(0));
  state_ = State::Written;
}

template <class T>
void GradSlot<T>::settle(const Shape& shape) const {
  buffer_.resize(shape);
  if (state_ == State::Factored)
    detail::outer_product(column_.size(), row_.size(), column_.data(), row_.data(), T(0), buffer_.data());
  else
    buffer_.fill(T(0));
  state_ = State::Written;
}

template <class T>
bool GradSlot<T>::keep_factors(const Shape& shape, const T* column, std::size_t rows, const T* row,
                               std::size_t cols) {
  if (state_ != State::Deferred || shape.rank() != 2 || shape[0] != rows || shape[1] != cols) return false;
  column_.resize({rows});  // initializer lists: no Shape allocated in a training step
  row_.resize({cols});
  std::copy(column, column + rows, column_.data());
  std::copy(row, row + cols, row_.data());
  state_ = State::Factored;
  return true;
}

template <class T>
bool GradSlot<T>::descend(T lr, Tensor<T>& value) const {
  if (state_ != State::Factored) return false;
  detail::descend_outer_product(column_.size(), row_.size(), column_.data(), row_.data(), lr, value.data());
  return true;
}

template class GradSlot<float>;
template class GradSlot<double>;

}  // namespace tapegrad
