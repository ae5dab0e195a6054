#include "autograd/accumulate.hpp"

#include <fmt/format.h>

#include "tapegrad/autograd/op.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {
namespace {

// y = a + b on equal shapes: the sum of two paths' gradients, so backward hands g to both, unchanged.
template <class T>
struct AccumulateOp final : Op<T> {
  void backward(BackwardContext<T>& c) override {
    const T* g = c.grad_output().data();
    for (std::size_t k = 0; k < 2; ++k) {
      if (!c.needs_grad(k)) continue;
      T* out = c.input_grad(k).data();
      for (std::size_t i = 0, n = c.grad_output().size(); i < n; ++i) out[i] += g[i];
    }
  }
  void backward_on_tape(TapeBackwardContext<T>& c) override {
    c.accumulate(0, c.grad_output());
    c.accumulate(1, c.grad_output());
  }
  bool reevaluate(ChangeContext<T>& c) const override {
    const T* a = c.input(0).data();
    const T* b = c.input(1).data();
    for (std::size_t k = 0; k < 2; ++k)
      for (const std::size_t i : c.changed(k)) c.set(i, a[i] + b[i]);
    return true;
  }
};

}  // namespace

template <class T>
Var<T> accumulate(const Var<T>& a, const Var<T>& b) {
  if (a.shape() != b.shape())
    throw ShapeError(fmt::format("accumulate: two gradients of one value have shapes {} and {}", a.shape().str(),
                                 b.shape().str()));
  auto r = record<AccumulateOp<T>>("accumulate", {a, b});
  const Tape<T>& tape = r.var.tape();
  const Tensor<T>& x = tape.value(a.index());
  const Tensor<T>& y = tape.value(b.index());
  r.output.resize(x.shape());
  T* out = r.output.data();
  for (std::size_t i = 0, n = x.size(); i < n; ++i) out[i] = x[i] + y[i];
  return finish(r.var);
}

template Var<float> accumulate(const Var<float>&, const Var<float>&);
template Var<double> accumulate(const Var<double>&, const Var<double>&);

}  // namespace tapegrad::detail
