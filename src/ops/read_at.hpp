#pragma once
// The op behind gather, slice and embedding (internal): y[i] = x[position_i], read by a list of flat positions
// (kNoElement reads 0). Its rule is the same for all three: the gradient adds back where each value was read,
// through scatter_add, whose own rule is gather, so every order is differentiable. `Text` names the op's rule
// in the rules table.
#include <vector>

#include "ops/broadcast.hpp"

namespace tapegrad::detail {

template <class T, class Text>
struct ReadAtOp final : Op<T> {
  static constexpr const char* forward_text = Text::forward;
  static constexpr const char* backward_text = Text::backward;
  std::vector<std::size_t> positions;
  void backward(BackwardContext<T>& d) override {
    if (d.needs_grad(0)) scatter_add_into(d.grad_output().data(), positions, d.input_grad(0).data());
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    d.accumulate(0, scatter_add(d.grad_output(), positions, d.input(0).shape()));
  }
};

/// Records op `name` reading `a` at `positions` (checked by the caller) into an output of `shape`.
template <class Text, class T>
Var<T> read_at(const char* name, const Var<T>& a, std::vector<std::size_t> positions, const Shape& shape) {
  auto r = record<ReadAtOp<T, Text>>(name, {a});
  r.output.resize(shape);
  const T* x = r.var.tape().value(a.index()).data();
  for (std::size_t i = 0; i < positions.size(); ++i)
    r.output[i] = positions[i] == kNoElement ? T(0) : x[positions[i]];
  if (r.op) r.op->positions = std::move(positions);
  return finish(r.var);
}

}  // namespace tapegrad::detail
