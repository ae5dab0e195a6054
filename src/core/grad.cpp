#include "tapegrad/core/grad.hpp"

#include <fmt/format.h>

#include "tapegrad/core/error.hpp"
#include "tapegrad/core/op.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"

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
  Tensor<T> ones(root_shape);
  ones.fill(T(1));
  const std::vector<std::uint32_t> grads = tape.gradient_nodes(root, tape.constant(ones), options.create_graph);
  std::vector<Var<T>> out;
  out.reserve(inputs.size());
  for (const Var<T>& x : inputs) {
    const bool reached = x.index() < grads.size() && grads[x.index()] != TapeBackwardContext<T>::kNoGradient;
    out.push_back(reached ? tape.handle(grads[x.index()]) : tape.constant(Tensor<T>::zeros(x.shape())));
  }
  return out;
}

template <class T>
std::vector<Tensor<T>> hessian_vector_product(const std::function<Var<T>(Tape<T>&)>& f,
                                              const std::vector<Parameter<T>*>& params,
                                              const std::vector<Tensor<T>>& v) {
  Tape<T> tape;
  return hessian_vector_product(tape, f, params, v);
}

template <class T>
std::vector<Tensor<T>> hessian_vector_product(Tape<T>& tape, const std::function<Var<T>(Tape<T>&)>& f,
                                              const std::vector<Parameter<T>*>& params,
                                              const std::vector<Tensor<T>>& v) {
  if (v.size() != params.size())
    throw ValueError(fmt::format("hessian_vector_product: {} vectors for {} parameters", v.size(), params.size()));
  for (std::size_t k = 0; k < params.size(); ++k) {
    if (params[k] == nullptr) throw ValueError(fmt::format("hessian_vector_product: parameter {} is null", k));
    if (v[k].shape() != params[k]->value.shape())
      throw ShapeError(fmt::format("hessian_vector_product: v[{}] has shape {} but parameter '{}' has shape {}", k,
                                   v[k].shape().str(), params[k]->name, params[k]->value.shape().str()));
  }
  tape.clear();
  const Var<T> y = f(tape);
  // A parameter read more than once has the sum of its uses' gradients.
  std::vector<Var<T>> uses;
  std::vector<std::size_t> owner;
  for (std::size_t k = 0; k < params.size(); ++k)
    for (const Var<T>& use : tape.uses_of(*params[k])) {
      uses.push_back(use);
      owner.push_back(k);
    }
  if (uses.empty()) throw ValueError("hessian_vector_product: f read none of the parameters (through tape.parameter)");
  const std::vector<Var<T>> g = grad(y, uses, kCreateGraph);
  Var<T> g_dot_v;
  for (std::size_t u = 0; u < uses.size(); ++u) {
    const Var<T> term = sum(g[u] * tape.constant(v[owner[u]]));
    g_dot_v = u == 0 ? term : g_dot_v + term;
  }
  std::vector<Tensor<T>> hv;
  for (Parameter<T>* p : params) hv.push_back(Tensor<T>::zeros(p->value.shape()));
  if (!g_dot_v.requires_grad()) return hv;  // f is linear in the parameters: H = 0
  const std::vector<Var<T>> h = grad(g_dot_v, uses);
  for (std::size_t u = 0; u < uses.size(); ++u) {
    const Tensor<T>& part = h[u].value();
    Tensor<T>& target = hv[owner[u]];
    for (std::size_t i = 0; i < part.size(); ++i) target[i] += part[i];
  }
  return hv;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                  \
  template std::vector<Var<T>> grad(const Var<T>&, const std::vector<Var<T>>&, GradOptions);                  \
  template std::vector<Tensor<T>> hessian_vector_product(Tape<T>&, const std::function<Var<T>(Tape<T>&)>&,      \
                                                         const std::vector<Parameter<T>*>&,                      \
                                                         const std::vector<Tensor<T>>&);                         \
  template std::vector<Tensor<T>> hessian_vector_product(const std::function<Var<T>(Tape<T>&)>&,                \
                                                         const std::vector<Parameter<T>*>&,                      \
                                                         const std::vector<Tensor<T>>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
