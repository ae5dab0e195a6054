#include "tapegrad/autograd/grad.hpp"

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/op.hpp"

namespace tapegrad {

namespace {

template <class T>
std::vector<Var<T>> gradients(const Var<T>& root, const std::vector<Var<T>>& inputs, const Tensor<T>* seed,
                              GradOptions options) {
  Tape<T>& tape = root.tape();
  const Shape root_shape = root.shape();
  if (seed == nullptr && root_shape.numel() != 1)
    throw TapeError(fmt::format("grad: the root has shape {}; reduce it to one element first (e.g. sum or mean), "
                                "or give a seed of its shape (the vector of a vector-Jacobian product)",
                                root_shape.str()));
  if (seed != nullptr && seed->shape() != root_shape)
    throw ShapeError(fmt::format("grad: the seed has shape {} but the root has shape {}", seed->shape().str(),
                                 root_shape.str()));
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    tape.check(inputs[k], "grad");
    if (!inputs[k].requires_grad())
      throw TapeError(fmt::format("grad: input {} (a {} of shape {}) does not require a gradient; create it with "
                                  "tape.variable() or tape.parameter()",
                                  k, inputs[k].op(), inputs[k].shape().str()));
  }
  const std::vector<std::uint32_t> grads = tape.gradient_nodes(root, options.create_graph, seed, &inputs);
  std::vector<Var<T>> out;
  out.reserve(inputs.size());
  for (const Var<T>& x : inputs) {
    const bool reached = x.index() < grads.size() && grads[x.index()] != TapeBackwardContext<T>::kNoGradient;
    out.push_back(reached ? tape.handle(grads[x.index()]) : tape.constant(Tensor<T>::zeros(x.shape())));
  }
  return out;
}

}  // namespace

template <class T>
std::vector<Var<T>> grad(const Var<T>& root, const std::vector<Var<T>>& inputs, GradOptions options) {
  return gradients<T>(root, inputs, nullptr, options);
}

template <class T>
std::vector<Var<T>> grad(const Var<T>& root, const std::vector<Var<T>>& inputs, const Tensor<T>& seed,
                         GradOptions options) {
  return gradients<T>(root, inputs, &seed, options);
}

template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, GradOptions);
template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, GradOptions);
template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, const Tensor<float>&,
                                      GradOptions);
template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, const Tensor<double>&,
                                       GradOptions);

}  // namespace tapegrad
