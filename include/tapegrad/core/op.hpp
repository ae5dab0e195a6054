#pragma once
// Ops: how a computation is recorded and differentiated. Every op, built-in or written by a user, is a class
// derived from Op<T> that owns what its backward rule needs (saved tensors, masks, axes, settings). Recording
// an op appends a node to the tape; in the reverse sweep the tape calls that op's backward(context), which
// reads the upstream gradient and adds into its inputs' gradients. The tape knows no op beyond this interface.
//
// Two ways to write one:
//   - Op<T> and record() (this header): the rule adds into the gradient buffers itself, as the built-in ops do
//     (BLAS with beta = 1, no temporary). Fastest; shapes are the rule's responsibility.
//   - CustomOp<T> and apply() (tapegrad/core/custom_op.hpp): forward returns the output, backward returns one
//     gradient per input, and tapegrad checks their count and shapes. The book's layer classes, in C++.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "tapegrad/core/tape.hpp"

namespace tapegrad {

/// What an op's backward rule sees: the upstream gradient, the output, the inputs and their gradient buffers.
template <class T>
class BackwardContext {
 public:
  BackwardContext(Tape<T>& tape, std::uint32_t index);

  /// The op's name, as errors and reports show it.
  const char* op_name() const { return name_; }
  /// d(root)/d(output): the gradient flowing into this op, of the output's shape.
  const Tensor<T>& grad_output() const { return *grad_output_; }
  const Tensor<T>& output() const { return *output_; }
  std::size_t input_count() const { return input_count_; }
  const Tensor<T>& input(std::size_t k) const { return tape_->value(inputs_[k]); }
  /// Does input k want a gradient? A rule may skip the work for inputs that do not.
  bool needs_grad(std::size_t k) const { return tape_->requires_grad(inputs_[k]); }
  /// The gradient buffer of input k (its shape, zero-filled on first use in the pass): add into it.
  Tensor<T>& input_grad(std::size_t k) { return tape_->grad(inputs_[k]); }
  /// For a rule that writes every element of input k's gradient: the buffer, and whether to write (`overwrite`,
  /// nothing was added to it yet in this pass: it is not zero-filled) or to add.
  Tensor<T>& input_grad_to_overwrite(std::size_t k, bool& overwrite) {
    return tape_->grad_to_overwrite(inputs_[k], overwrite);
  }
  /// input_grad(k) += g when input k needs a gradient; ShapeError naming the op and both shapes if g does not
  /// have input k's shape.
  void accumulate(std::size_t k, const Tensor<T>& g);

 private:
  Tape<T>* tape_;
  const char* name_;
  const Tensor<T>* grad_output_;
  const Tensor<T>* output_;
  const std::uint32_t* inputs_;
  std::size_t input_count_;
};

/// The base of every op. Derived classes are default-constructible and keep their state as members; the tape
/// keeps the object across tape.clear() and hands it back to the next recording of the same op at the same
/// position, so buffers held in members are reused (steady-state steps do not allocate).
template <class T>
class Op {
 public:
  virtual ~Op() = default;
  /// The chain rule for this op: add d(root)/d(input k) into context.input_grad(k) for each input that needs it.
  virtual void backward(BackwardContext<T>& context) = 0;
};

/// What recording an op gives its forward implementation.
template <class T, class OpT>
struct Recorded {
  Tensor<T>& output;  // fill it (resize, then write); the buffer is reused from earlier steps
  OpT* op;            // save what backward needs here; null when nothing needs a gradient: then keep nothing
  Var<T> var;         // the handle to return (through finish())
};

/// Appends the node of op `name` (a string literal: it is kept by pointer) reading `inputs`, all on one tape.
/// The node is differentiable, and gets an OpT, when grad mode is on and some input requires a gradient.
template <class OpT, class T>
Recorded<T, OpT> record(const char* name, const Var<T>* inputs, std::size_t count) {
  static_assert(std::is_base_of_v<Op<T>, OpT>, "record<OpT>: OpT must derive from tapegrad::Op<T>");
  Tape<T>& tape = Tape<T>::of(name, inputs, count);
  const std::uint32_t index = tape.append(name, inputs, count);
  OpT* op = nullptr;
  if (tape.differentiable(index)) {
    std::unique_ptr<Op<T>>& slot = tape.op_slot(index);
    if (!slot || typeid(*slot) != typeid(OpT)) slot = std::make_unique<OpT>();
    op = static_cast<OpT*>(slot.get());
  }
  return {tape.output(index), op, tape.handle(index)};
}
template <class OpT, class T>
Recorded<T, OpT> record(const char* name, std::initializer_list<Var<T>> inputs) {
  return record<OpT, T>(name, inputs.begin(), inputs.size());
}
template <class OpT, class T>
Recorded<T, OpT> record(const char* name, const std::vector<Var<T>>& inputs) {
  return record<OpT, T>(name, inputs.data(), inputs.size());
}

/// Every op returns its output through here: under DetectAnomalyGuard the value is checked for NaN and
/// infinity (NumericError naming the op).
template <class T>
Var<T> finish(const Var<T>& out);

extern template class BackwardContext<float>;
extern template class BackwardContext<double>;
extern template Var<float> finish(const Var<float>&);
extern template Var<double> finish(const Var<double>&);

}  // namespace tapegrad
