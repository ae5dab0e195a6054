#pragma once
// Ops: how a computation is recorded and differentiated. Every op, built-in or written by a user, is a class
// derived from Op<T> that owns what its backward rule needs (saved tensors, masks, axes, settings). Recording
// an op appends a node to the tape; in the reverse sweep the tape calls that op's backward(context), which
// reads the upstream gradient and adds into its inputs' gradients. The tape knows no op beyond this interface.
//
// Gradients of gradients (create_graph, see tapegrad/autograd/grad.hpp) need each rule a second time, written with
// tapegrad's own ops (backward_on_tape): the gradient is then itself recorded and can be differentiated again.
// The buffer rule stays the fast path of every first-order backward.
//
// Two ways to write one:
//   - Op<T> and record() (this header): the rule adds into the gradient buffers itself, as the built-in ops do
//     (BLAS with beta = 1, no temporary). Fastest; shapes are the rule's responsibility.
//   - CustomOp<T> and apply() (tapegrad/autograd/custom_op.hpp): forward returns the output, backward returns one
//     gradient per input, and tapegrad checks their count and shapes. The book's layer classes, in C++.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

namespace detail {
/// OpError "<op>: input k asked for, it has n input(s)": an op's rule reading past its inputs.
[[noreturn]] void input_out_of_range(const char* op, std::size_t k, std::size_t count);
}  // namespace detail

/// What an op's backward rule sees: the upstream gradient, the output, the inputs and their gradient buffers.
template <class T>
class BackwardContext {
 public:
  BackwardContext(Tape<T>& tape, std::uint32_t index);
  /// The same rule with the upstream gradient `grad_output` and the inputs' gradients in `input_grads` (one
  /// zero-filled tensor per input that needs one) instead of the tape's buffers: how grad() without
  /// create_graph runs an op that has no backward_on_tape.
  BackwardContext(Tape<T>& tape, std::uint32_t index, const Tensor<T>& grad_output, std::vector<Tensor<T>>& input_grads);

  /// The op's name, as errors and reports show it.
  const char* op_name() const { return name_; }
  /// d(root)/d(output): the gradient flowing into this op, of the output's shape.
  const Tensor<T>& grad_output() const { return *grad_output_; }
  const Tensor<T>& output() const { return *output_; }
  std::size_t input_count() const { return input_count_; }
  /// Input k's value; OpError naming the op when k >= input_count() (so for every k below).
  const Tensor<T>& input(std::size_t k) const { return tape_->value(at(k)); }
  /// Does input k want a gradient? A rule may skip the work for inputs that do not.
  bool needs_grad(std::size_t k) const { return tape_->requires_grad(at(k)); }
  /// The gradient buffer of input k (its shape, zero-filled on first use in the pass): add into it.
  Tensor<T>& input_grad(std::size_t k) { return local_ ? (*local_)[checked(k)] : tape_->grad(at(k)); }
  /// For a rule that writes every element of input k's gradient: the buffer, and whether to write (`overwrite`,
  /// nothing was added to it yet in this pass: it is not zero-filled) or to add.
  Tensor<T>& input_grad_to_overwrite(std::size_t k, bool& overwrite) {
    overwrite = false;
    return local_ ? (*local_)[checked(k)] : tape_->grad_to_overwrite(at(k), overwrite);
  }
  /// For a rule whose gradient of input k is an outer product, column (rows) x row (cols), as a weight's at a
  /// batch of one: true when input k is a parameter that keeps it as those factors (Parameter::defer_grad, and
  /// nothing added yet); otherwise false, and the rule writes it as usual.
  bool input_grad_outer(std::size_t k, const T* column, std::size_t rows, const T* row, std::size_t cols) {
    return !local_ && tape_->defer_outer_grad(at(k), column, rows, row, cols);
  }
  /// input_grad(k) += g when input k needs a gradient; ShapeError naming the op and both shapes if g does not
  /// have input k's shape.
  void accumulate(std::size_t k, const Tensor<T>& g);

 private:
  std::size_t checked(std::size_t k) const {
    if (__builtin_expect(k >= input_count_, 0)) detail::input_out_of_range(name_, k, input_count_);
    return k;
  }
  std::uint32_t at(std::size_t k) const { return inputs_[checked(k)]; }
  Tape<T>* tape_;
  const char* name_;
  const Tensor<T>* grad_output_;
  const Tensor<T>* output_;
  const std::uint32_t* inputs_;
  std::size_t input_count_;
  std::vector<Tensor<T>>* local_ = nullptr;
};

/// What an op's recorded rule sees (create_graph): the same as BackwardContext, as variables on the tape.
template <class T>
class TapeBackwardContext {
 public:
  /// Node `index` of `tape`, its upstream gradient `grad_output`; `grads[j]` is the index of node j's recorded
  /// gradient so far (kNoGradient when none) and receives what accumulate() adds.
  /// With `leads`, an input needs a gradient only where leads[input] is set (grad() asked for none through it).
  TapeBackwardContext(Tape<T>& tape, std::uint32_t index, Var<T> grad_output, std::vector<std::uint32_t>& grads,
                      const std::vector<char>* leads = nullptr);

  static constexpr std::uint32_t kNoGradient = 0xFFFFFFFFu;
  const char* op_name() const { return name_; }
  /// d(root)/d(output), a variable: what the rule computes from it is recorded too.
  const Var<T>& grad_output() const { return grad_output_; }
  Var<T> output() const { return tape_->handle(index_); }
  std::size_t input_count() const { return input_count_; }
  Var<T> input(std::size_t k) const { return tape_->handle(at(k)); }
  bool needs_grad(std::size_t k) const {
    const std::uint32_t input = at(k);
    return tape_->requires_grad(input) && (leads_ == nullptr || (*leads_)[input]);
  }
  /// A value the rule treats as fixed (a mask, a sign: its own derivative is zero where it is defined).
  Var<T> constant(const Tensor<T>& value) const { return tape_->constant(value); }
  /// Adds g into input k's gradient when input k needs one; ShapeError naming the op and both shapes if g does
  /// not have input k's shape.
  void accumulate(std::size_t k, const Var<T>& g);
  /// Whether the gradient is being recorded (create_graph) or only computed (grad() without it).
  bool recording() const { return recording_; }
  /// Without recording, `op`'s buffer rule can stand in for a missing backward_on_tape: runs it on this node
  /// and accumulates what it computes, as values.
  void accumulate_from_buffer_rule(Op<T>& op);

 private:
  std::uint32_t at(std::size_t k) const {
    if (__builtin_expect(k >= input_count_, 0)) detail::input_out_of_range(name_, k, input_count_);
    return inputs_[k];
  }
  Tape<T>* tape_;
  std::uint32_t index_;
  bool recording_;
  const char* name_;
  Var<T> grad_output_;
  const std::uint32_t* inputs_;
  std::size_t input_count_;
  std::vector<std::uint32_t>* grads_;
  const std::vector<char>* leads_;
};

/// What an op's re-evaluation rule sees (gradcheck's full mode, which perturbs one element at a time): some
/// elements of its inputs changed in place since the op ran. The rule recomputes from the inputs' current values
/// the output elements those can change, and writes each through set(); the rest of the output stays as it was.
template <class T>
class ChangeContext {
 public:
  /// One input: its current value and the flat indices of its elements that changed (empty: none).
  struct Input {
    const Tensor<T>* value;
    const std::vector<std::size_t>* changed;
  };
  /// What changed in one output: its elements' flat indices, their values before, and a mark per element.
  struct Journal {
    std::vector<std::size_t> changed;
    std::vector<T> before;
    std::vector<unsigned char> written;
  };
  ChangeContext(const char* name, const Input* inputs, std::size_t count, Tensor<T>& output, Journal& journal)
      : name_(name), inputs_(inputs), input_count_(count), output_(&output), journal_(&journal) {
    if (journal.written.size() != output.size()) journal.written.assign(output.size(), 0);
  }

  const char* op_name() const { return name_; }
  std::size_t input_count() const { return input_count_; }
  const Tensor<T>& input(std::size_t k) const { return *at(k).value; }
  const std::vector<std::size_t>& changed(std::size_t k) const { return *at(k).changed; }
  /// The output as it is now: recorded values, and the ones set() wrote.
  const Tensor<T>& output() const { return *output_; }
  /// Output element `index` is now `value`. Writing the value it holds changes nothing, and writing one element
  /// twice keeps the last value (inputs may share elements, as in x * x).
  void set(std::size_t index, T value) {
    T& slot = (*output_)[index];
    if (!journal_->written[index]) {
      if (value == slot) return;
      journal_->written[index] = 1;
      journal_->changed.push_back(index);
      journal_->before.push_back(slot);
    }
    slot = value;
  }

 private:
  const Input& at(std::size_t k) const {
    if (__builtin_expect(k >= input_count_, 0)) detail::input_out_of_range(name_, k, input_count_);
    return inputs_[k];
  }
  const char* name_;
  const Input* inputs_;
  std::size_t input_count_;
  Tensor<T>* output_;
  Journal* journal_;
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
  /// The same rule written with tapegrad ops, so that the gradient it computes is recorded and can be
  /// differentiated again (create_graph): context.accumulate(k, g) for each input that needs it. Every built-in
  /// op has one; this default refuses with a TapeError naming the op.
  virtual void backward_on_tape(TapeBackwardContext<T>& context);
  /// Optional: recompute the output elements that the changed input elements affect (see ChangeContext), from
  /// the inputs alone (what the op saved describes the recorded values, not the changed ones). Lets gradcheck's
  /// full mode evaluate a perturbation in time proportional to what it changes; without it (false, the default)
  /// gradcheck runs the whole function again.
  virtual bool reevaluate(ChangeContext<T>& context) const {
    (void)context;
    return false;
  }
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

extern template class TapeBackwardContext<float>;
extern template class TapeBackwardContext<double>;
extern template class Op<float>;
extern template class Op<double>;
extern template class BackwardContext<float>;
extern template class BackwardContext<double>;
extern template Var<float> finish(const Var<float>&);
extern template Var<double> finish(const Var<double>&);

}  // namespace tapegrad
