#pragma once
// Where a gradient accumulates, for tape nodes and parameters alike. Besides holding the values it can be stale
// (the next backward writes over it instead of adding, so a step needs no zero-fill: at batch one that fill was
// a fifth of the step) and, for a parameter's rank-one gradient at batch one, factored (kept as column x row until
// read; SGD applies it in one pass and never writes it).
#include <cstdint>
#include <memory>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

template <class T>
class GradSlot {
 public:
  GradSlot() = default;
  GradSlot(const GradSlot& other);
  GradSlot& operator=(const GradSlot& other);
  GradSlot(GradSlot&&) noexcept = default;
  GradSlot& operator=(GradSlot&&) noexcept = default;

  /// The gradient at `shape`: a stale slot reads as zeros, a factored one as its outer product (written out
  /// now; not safe from two threads at once).
  const Tensor<T>& read(const Shape& shape) const {
    if (state_ != State::Written) settle(shape);
    return buffer_;
  }
  Tensor<T>& read(const Shape& shape) {
    if (state_ != State::Written) settle(shape);
    return buffer_;
  }
  /// The same, to add into; a buffer of another shape (the value was replaced) is zeroed at `shape` first.
  Tensor<T>& accumulate_into(const Shape& shape) {
    read(shape);
    if (buffer_.shape() != shape) zero(shape);
    return buffer_;
  }
  /// For a rule that writes every element of a stale slot: the buffer at `shape`, not zero-filled, now written.
  Tensor<T>& overwrite(const Shape& shape) {
    buffer_.resize(shape);
    state_ = State::Written;
    return buffer_;
  }
  /// Zeros at `shape` (the allocation kept).
  void zero(const Shape& shape);
  /// Stale: the next backward writes over it; until then it reads as zeros.
  void discard() { state_ = State::Stale; }
  /// Stale, and the next backward may keep a rank-one gradient as its factors (keep_factors).
  void defer() { state_ = State::Deferred; }
  /// When deferred and `shape` is (rows, cols): the gradient is column x row, kept as those factors; true.
  /// Otherwise false and nothing changes.
  bool keep_factors(const Shape& shape, const T* column, std::size_t rows, const T* row, std::size_t cols);
  /// When factored: value -= lr (column x row) in one pass, true (the gradient stays factored); otherwise false.
  bool descend(T lr, Tensor<T>& value) const;

  bool stale() const { return state_ == State::Stale || state_ == State::Deferred; }
  bool factored() const { return state_ == State::Factored; }
  /// The values when written (nothing to settle), or null.
  const Tensor<T>* written() const { return state_ == State::Written ? &buffer_ : nullptr; }

 private:
  enum class State : std::uint8_t { Written, Stale, Deferred, Factored };
  void settle(const Shape& shape) const;  // writes zeros or the outer product
  mutable Tensor<T> buffer_;
  mutable State state_ = State::Written;
  // A factored gradient's factors: made on first use, so a tape node (never factored) carries one pointer.
  struct Factors {
    Tensor<T> column, row;
  };
  std::unique_ptr<Factors> factors_;
};

extern template class GradSlot<float>;
extern template class GradSlot<double>;

}  // namespace tapegrad
