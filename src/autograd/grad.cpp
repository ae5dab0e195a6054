#include "tapegrad/autograd/grad.hpp"

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/op.hpp"

namespace tapegrad {

template <class T>
std::vector<Var<T>> grad(const Var<T>& root, const std::vector<Var<T>>& inputs, GradOptions options) {
  Tape<T>& tape = root.tape();
  const Shape root_shape = root.shape();
  if (root_shape.numel() != 1)
    throw TapeError(fmt::format("grad: the root has shape {}; reduce it to one element first (e.g. sum or mean)",
                                root_shape.str()));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    tape.check(inputs[k], "grad");
    if (!inputs[k].requires_grad())
      throw TapeError(fmt::format("grad: input {} (a {} of shape {}) does not require a gradient; create it with "
                                  "tape.variable() or tape.parameter()",
                                  k, inputs[k].op(), inputs[k].shape().str()));
  }
  const std::vector<std::uint32_t> grads = tape.gradient_nodes(root, options.create_graph);
  std::vector<Var<T>> out;
  out.reserve(inputs.size());
  for (const Var<T>& x : inputs) {
    const bool reached = x.index() < grads.size() && grads[x.index()] != TapeBackwardContext<T>::kNoGradient;
    out.push_back(reached ? tape.handle(grads[x.index()]) : tape.constant(Tensor<T>::zeros(x.shape())));
  }
  return out;
}

template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, GradOptions);
template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, GradOptions);

}  // namespace tapegrad
