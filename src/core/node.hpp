#pragma once
// One entry of the tape (internal to the library).
#include <array>
#include <cstdint>
#include <vector>

#include "tapegrad/core/tape.hpp"

namespace tapegrad::detail {

template <class T>
class BackwardContext;
/// An op's backward rule: reads the node's upstream gradient, adds into its inputs' gradients.
template <class T>
using BackwardFn = void (*)(BackwardContext<T>&);

template <class T>
struct Node {
  const char* op = "leaf";
  Tensor<T> value;                     // the value, unless value_ref is set
  const Tensor<T>* value_ref = nullptr;  // a value living outside the tape (parameters, constant_ref)
  Tensor<T> grad;                      // valid when has_grad (or parameter->grad for parameters)
  Parameter<T>* parameter = nullptr;   // leaf living outside the tape
  BackwardFn<T> backward = nullptr;   // null for leaves and for values that need no gradient
  std::array<std::uint32_t, 3> inputs{};
  std::uint8_t input_count = 0;
  bool requires_grad = false;
  bool has_grad = false;
  // what an op keeps for its backward rule
  double scalar = 0;
  bool keepdims = false;
  std::vector<std::size_t> indices;  // axes, a permutation, or class labels
  Tensor<T> saved;                   // e.g. the softmax inside the fused loss

  void reset(const char* name) {
    op = name;
    value_ref = nullptr;
    parameter = nullptr;
    backward = nullptr;
    input_count = 0;
    requires_grad = false;
    has_grad = false;
    scalar = 0;
    keepdims = false;
    indices.clear();
  }
};

}  // namespace tapegrad::detail
