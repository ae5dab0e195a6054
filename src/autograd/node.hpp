#pragma once
// One entry of the tape (internal to the library). A node knows its value, its inputs and the op object that
// differentiates it; what that op keeps for its backward rule lives in the op, never here.
#include <cstdint>
#include <memory>
#include <vector>

#include "tapegrad/autograd/op.hpp"

namespace tapegrad::detail {

template <class T>
struct Node {
  const char* name = "leaf";
  Tensor<T> value;                       // the value, unless value_ref is set
  const Tensor<T>* value_ref = nullptr;  // a value living outside the tape (parameters, constant_ref)
  GradSlot<T> grad;                      // stale until the sweep reaches it (parameters: parameter->grad())
  Parameter<T>* parameter = nullptr;     // leaf living outside the tape
  std::vector<std::uint32_t> inputs;     // tape indices; keeps its capacity across clear()
  // The op of this node, kept across clear() so that the next step reuses it (and the buffers it owns).
  // It runs in the reverse sweep only when `differentiable` is set in this pass.
  std::unique_ptr<Op<T>> op;
  bool differentiable = false;
  bool requires_grad = false;
  // Computed from a gradient that was not recorded (grad() without create_graph): no gradient can flow back.
  bool unrecorded_gradient = false;
  bool hooked = false;  // Var::register_hook was called on it in this recording
  // A leaf's gradient recorded by backward(kCreateGraph): its node index, or none.
  std::uint32_t grad_var = TapeBackwardContext<T>::kNoGradient;

  void reset(const char* op_name) {
    name = op_name;
    value_ref = nullptr;
    parameter = nullptr;
    inputs.clear();
    differentiable = false;
    requires_grad = false;
    grad.discard();
    unrecorded_gradient = false;
    hooked = false;
    grad_var = TapeBackwardContext<T>::kNoGradient;
  }
};

}  // namespace tapegrad::detail
