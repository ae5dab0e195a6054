// The contexts an op's rules see, and the defaults of Op: the interface between the engine and every op.
#include "tapegrad/autograd/op.hpp"

#include <fmt/format.h>

#include "autograd/accumulate.hpp"
#include "autograd/anomaly.hpp"
#include "autograd/node.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

namespace detail {

void input_out_of_range(const char* op, std::size_t k, std::size_t count) {
  throw OpError(fmt::format("{}: input {} asked for, but the op has {} input{} (0 to {})", op, k, count,
                            count == 1 ? "" : "s", count == 0 ? 0 : count - 1));
}

}  // namespace detail

// ---- BackwardContext

template <class T>
BackwardContext<T>::BackwardContext(Tape<T>& tape, std::uint32_t index) : tape_(&tape) {
  const detail::Node<T>& n = tape.node(index);
  name_ = n.name;
  grad_output_ = n.grad.written();  // the sweep runs only nodes whose gradient it wrote
  output_ = &tape.value(index);
  inputs_ = n.inputs.data();
  input_count_ = n.inputs.size();
}

template <class T>
BackwardContext<T>::BackwardContext(Tape<T>& tape, std::uint32_t index, const Tensor<T>& grad_output,
                                    std::vector<Tensor<T>>& input_grads)
    : BackwardContext(tape, index) {
  grad_output_ = &grad_output;
  local_ = &input_grads;
}

template <class T>
void BackwardContext<T>::accumulate(std::size_t k, const Tensor<T>& g) {
  if (k >= input_count_)
    throw ValueError(fmt::format("{}: backward: input {} does not exist; the op has {} inputs", name_, k, input_count_));
  if (!needs_grad(k)) return;
  const Tensor<T>& x = input(k);
  if (g.shape() != x.shape())
    throw ShapeError(fmt::format("{}: backward: the gradient of input {} has shape {}, the input has shape {}", name_, k,
                                 g.shape().str(), x.shape().str()));
  Tensor<T>& target = input_grad(k);
  T* out = target.data();
  const T* in = g.data();
  for (std::size_t i = 0, n = g.size(); i < n; ++i) out[i] += in[i];
}

// ---- TapeBackwardContext

template <class T>
TapeBackwardContext<T>::TapeBackwardContext(Tape<T>& tape, std::uint32_t index, Var<T> grad_output,
                                            std::vector<std::uint32_t>& grads, const std::vector<char>* leads)
    : tape_(&tape),
      index_(index),
      recording_(is_grad_enabled()),
      grad_output_(grad_output),
      grads_(&grads),
      leads_(leads) {
  const detail::Node<T>& n = tape.node(index);
  name_ = n.name;
  inputs_ = n.inputs.data();
  input_count_ = n.inputs.size();
}

template <class T>
void TapeBackwardContext<T>::accumulate(std::size_t k, const Var<T>& g) {
  if (k >= input_count_)
    throw ValueError(fmt::format("{}: backward_on_tape: input {} does not exist; the op has {} inputs", name_, k,
                                 input_count_));
  if (!needs_grad(k)) return;
  tape_->check(g, name_);
  const Shape& x = tape_->value(inputs_[k]).shape();
  if (g.shape() != x)
    throw ShapeError(fmt::format("{}: backward_on_tape: the gradient of input {} has shape {}, the input has shape {}",
                                 name_, k, g.shape().str(), x.str()));
  std::uint32_t& slot = (*grads_)[inputs_[k]];
  slot = slot == kNoGradient ? g.index() : detail::accumulate(tape_->handle(slot), g).index();
}

template <class T>
void TapeBackwardContext<T>::accumulate_from_buffer_rule(Op<T>& op) {
  std::vector<Tensor<T>> input_grads(input_count_);
  for (std::size_t k = 0; k < input_count_; ++k)
    if (needs_grad(k)) input_grads[k] = Tensor<T>::zeros(tape_->value(inputs_[k]).shape());
  BackwardContext<T> buffers(*tape_, index_, tape_->value(grad_output_.index()), input_grads);
  op.backward(buffers);
  for (std::size_t k = 0; k < input_count_; ++k)
    if (needs_grad(k)) accumulate(k, tape_->constant(input_grads[k]));
}

template <class T>
void Op<T>::backward_on_tape(TapeBackwardContext<T>& context) {
  if (!context.recording()) {  // grad() without create_graph: the buffer rule computes the same values
    context.accumulate_from_buffer_rule(*this);
    return;
  }
  throw TapeError(fmt::format(
      "{}: this op has no second-order rule (backward_on_tape), so its gradient cannot be recorded for create_graph; "
      "give it one written with tapegrad ops, or compute this gradient without create_graph",
      context.op_name()));
}

template <class T>
Var<T> finish(const Var<T>& out) {
  if (is_anomaly_detection_enabled()) detail::check_value(out.tape(), out.index());
  return out;
}

template class BackwardContext<float>;
template class BackwardContext<double>;
template class TapeBackwardContext<float>;
template class TapeBackwardContext<double>;
template class Op<float>;
template class Op<double>;
template Var<float> finish(const Var<float>&);
template Var<double> finish(const Var<double>&);

}  // namespace tapegrad
