#include "tapegrad/autograd/grad_slot.hpp"

#include <algorithm>

#include "autograd/outer_product.hpp"

namespace tapegrad {

template <class T>
GradSlot<T>::GradSlot(const GradSlot& other)
    : buffer_(other.buffer_),
      state_(other.state_),
      factors_(other.factors_ ? std::make_unique<Factors>(*other.factors_) : nullptr) {}

template <class T>
GradSlot<T>& GradSlot<T>::operator=(const GradSlot& other) {
  if (this != &other) *this = GradSlot(other);
  return *this;
}

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
    detail::outer_product(factors_->column.size(), factors_->row.size(), factors_->column.data(),
                          factors_->row.data(), T(0), buffer_.data());
  else
    buffer_.fill(T(0));
  state_ = State::Written;
}

template <class T>
bool GradSlot<T>::keep_factors(const Shape& shape, const T* column, std::size_t rows, const T* row,
                               std::size_t cols) {
  if (state_ != State::Deferred || shape.rank() != 2 || shape[0] != rows || shape[1] != cols) return false;
  if (!factors_) factors_ = std::make_unique<Factors>();  // once per parameter: kept for the next steps
  factors_->column.resize({rows});  // initializer lists: no Shape allocated in a training step
  factors_->row.resize({cols});
  std::copy(column, column + rows, factors_->column.data());
  std::copy(row, row + cols, factors_->row.data());
  state_ = State::Factored;
  return true;
}

template <class T>
bool GradSlot<T>::descend(T lr, Tensor<T>& value) const {
  if (state_ != State::Factored) return false;
  detail::descend_outer_product(factors_->column.size(), factors_->row.size(), factors_->column.data(),
                                factors_->row.data(), lr, value.data());
  return true;
}

template class GradSlot<float>;
template class GradSlot<double>;

}  // namespace tapegrad
