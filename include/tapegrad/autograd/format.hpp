#pragma once
// fmt support for variables: fmt::print("{:.3}", var) prints its value (and shapes and tensors, from the floor below).
#include "tapegrad/autograd/tape.hpp"
#include "tapegrad/tensor/format.hpp"

template <class T>
struct fmt::formatter<tapegrad::Var<T>> : fmt::formatter<tapegrad::Tensor<T>> {
  template <class Context>
  auto format(const tapegrad::Var<T>& v, Context& ctx) const {
    return fmt::formatter<tapegrad::Tensor<T>>::format(v.value(), ctx);
  }
};
