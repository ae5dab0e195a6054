#pragma once
// Your own op with your own backward, the way the book writes its layers (and torch.autograd.Function):
//
//   struct MySigmoid : tapegrad::CustomOp<double> {
//     tapegrad::Tensor<double> out;                              // any state you like, as members
//     const char* name() const override { return "MySigmoid"; }
//     tapegrad::Tensor<double> forward(const tapegrad::Inputs<double>& x) override {
//       out = x[0];
//       for (double& v : out) v = 1 / (1 + std::exp(-v));
//       return out;
//     }
//     std::vector<tapegrad::Tensor<double>> backward(const tapegrad::Tensor<double>& dout) override {
//       tapegrad::Tensor<double> dx = dout;
//       for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= (1 - out[i]) * out[i];
//       return {dx};
//     }
//   };
//   Var<double> y = tapegrad::apply<MySigmoid>({x});
//
// For gradients of gradients (create_graph), also give it the same rule written with tapegrad ops:
//
//     std::vector<tapegrad::Var<double>> backward_on_tape(const tapegrad::Var<double>& dout,
//                                                         const std::vector<tapegrad::Var<double>>& x,
//                                                         const tapegrad::Var<double>& out) override {
//       return {dout * out * (1.0 - out)};
//     }
//
// Without it, recording this op's gradient stops with a TapeError naming the op (never a silent zero).
// tapegrad checks what backward returns: one gradient per input, each of its input's shape (ShapeError naming
// the op and both shapes); a forward or backward that throws is reported with the op's name. When no input
// needs a gradient (NoGradGuard, constants only) the op object is discarded right after forward.
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/op.hpp"

namespace tapegrad {

/// The input values an op's forward reads (any number of them).
template <class T>
class Inputs {
 public:
  Inputs(std::vector<const Tensor<T>*> tensors, const char* op) : tensors_(std::move(tensors)), op_(op) {}
  /// Input k's value; OpError naming the op when k >= size().
  const Tensor<T>& operator[](std::size_t k) const {
    if (k >= tensors_.size()) detail::input_out_of_range(op_, k, tensors_.size());
    return *tensors_[k];
  }
  std::size_t size() const { return tensors_.size(); }

 private:
  std::vector<const Tensor<T>*> tensors_;
  const char* op_;
};

/// Base of a user-written op: forward computes the output from the inputs' values and keeps in members what
/// backward needs; backward returns d(root)/d(input k) for every input, given d(root)/d(output).
template <class T>
class CustomOp {
 public:
  virtual ~CustomOp() = default;
  /// Shown in errors, anomaly reports and gradcheck tables. Return a string literal (it is kept by pointer).
  virtual const char* name() const = 0;
  virtual Tensor<T> forward(const Inputs<T>& inputs) = 0;
  /// One gradient per input, in order, each of that input's shape. An entry for an input that needs no
  /// gradient (needs_grad(k) is false) is ignored and may be left empty.
  virtual std::vector<Tensor<T>> backward(const Tensor<T>& grad_output) = 0;
  /// Optional, for create_graph: the same gradients computed with tapegrad ops from the upstream gradient, the
  /// inputs and the output as variables, so that they are recorded and can be differentiated again. One per
  /// input (an entry for an input that needs no gradient is ignored: return a default Var there).
  virtual std::vector<Var<T>> backward_on_tape(const Var<T>& grad_output, const std::vector<Var<T>>& inputs,
                                               const Var<T>& output);

 protected:
  /// During backward: whether input k needs a gradient (skip the work when it does not); OpError naming the op
  /// for k out of range.
  bool needs_grad(std::size_t k) const { return context_ != nullptr && context_->needs_grad(k); }
  /// During backward: the value of input k (saves copying inputs in forward).
  const Tensor<T>& input(std::size_t k) const;

 private:
  template <class, class>
  friend class CustomOpNode;
  const BackwardContext<T>* context_ = nullptr;
};

/// Holds a user's op on the tape and applies the checks (internal to apply(); not for direct use).
template <class T, class U>
class CustomOpNode final : public Op<T> {
 public:
  explicit CustomOpNode(U&& user) : user_(std::move(user)) {}
  U& user() { return user_; }
  void backward(BackwardContext<T>& context) override;
  void backward_on_tape(TapeBackwardContext<T>& context) override;

 private:
  U user_;
};

namespace detail {
struct NoSecondOrderRule {};  // what CustomOp's default backward_on_tape throws; never escapes CustomOpNode
[[noreturn]] void rethrow_from_custom_op(const char* op, const char* stage);
template <class T>
void check_custom_gradients(BackwardContext<T>& context, const std::vector<Tensor<T>>& grads);
}  // namespace detail

template <class T, class U>
void CustomOpNode<T, U>::backward(BackwardContext<T>& context) {
  struct Bind {  // needs_grad() and input() work during the user's backward only
    CustomOp<T>& op;
    ~Bind() { op.context_ = nullptr; }
  } bind{user_};
  user_.context_ = &context;
  std::vector<Tensor<T>> grads;
  try {
    grads = user_.backward(context.grad_output());
  } catch (...) {
    detail::rethrow_from_custom_op(context.op_name(), "backward");
  }
  detail::check_custom_gradients(context, grads);
}

template <class T>
std::vector<Var<T>> CustomOp<T>::backward_on_tape(const Var<T>&, const std::vector<Var<T>>&, const Var<T>&) {
  throw detail::NoSecondOrderRule{};
}

template <class T, class U>
void CustomOpNode<T, U>::backward_on_tape(TapeBackwardContext<T>& context) {
  std::vector<Var<T>> inputs;
  for (std::size_t k = 0; k < context.input_count(); ++k) inputs.push_back(context.input(k));
  std::vector<Var<T>> grads;
  try {
    grads = user_.backward_on_tape(context.grad_output(), inputs, context.output());
  } catch (const detail::NoSecondOrderRule&) {
    if (!context.recording()) {  // grad() without create_graph: the tensor rule computes the same values
      context.accumulate_from_buffer_rule(*this);
      return;
    }
    throw TapeError(std::string(context.op_name()) +
                    ": this custom op has no backward_on_tape, so its gradient cannot be recorded for create_graph; "
                    "override CustomOp::backward_on_tape with the rule written in tapegrad ops, or compute this "
                    "gradient without create_graph");
  } catch (...) {
    detail::rethrow_from_custom_op(context.op_name(), "backward_on_tape");
  }
  if (grads.size() != context.input_count())
    throw OpError(std::string(context.op_name()) + ": backward_on_tape returned " + std::to_string(grads.size()) +
                  " gradient(s) for " + std::to_string(context.input_count()) + " input(s)");
  for (std::size_t k = 0; k < grads.size(); ++k)
    if (context.needs_grad(k)) context.accumulate(k, grads[k]);  // ShapeError names the op and both shapes
}

template <class T>
const Tensor<T>& CustomOp<T>::input(std::size_t k) const {
  if (context_ == nullptr) throw TapeError(std::string(name()) + ": input(k) can be read only during backward");
  return context_->input(k);  // OpError naming the op for k out of range
}

/// Runs op U (a CustomOp<T>, constructed from `args`) on `inputs` and records it: the output's handle.
template <class U, class T, class... Args>
Var<T> apply(const std::vector<Var<T>>& inputs, Args&&... args) {
  static_assert(std::is_base_of_v<CustomOp<T>, U>, "apply<U>: U must derive from tapegrad::CustomOp<T>");
  U user(std::forward<Args>(args)...);
  const char* name = user.name();
  Tape<T>& tape = Tape<T>::of(name, inputs.data(), inputs.size());
  std::vector<const Tensor<T>*> values;
  values.reserve(inputs.size());
  for (const Var<T>& v : inputs) values.push_back(&tape.value(v.index()));
  Tensor<T> out;
  try {
    out = user.forward(Inputs<T>(std::move(values), name));
  } catch (...) {
    detail::rethrow_from_custom_op(name, "forward");
  }
  const std::uint32_t index = tape.append(name, inputs.data(), inputs.size());
  if (tape.differentiable(index)) tape.op_slot(index) = std::make_unique<CustomOpNode<T, U>>(std::move(user));
  tape.output(index) = std::move(out);
  return finish(tape.handle(index));
}
template <class U, class T, class... Args>
Var<T> apply(std::initializer_list<Var<T>> inputs, Args&&... args) {
  return apply<U>(std::vector<Var<T>>(inputs), std::forward<Args>(args)...);
}

}  // namespace tapegrad
