#include "tapegrad/core/grad.hpp"

#include <fmt/format.h>

#include "core/gradient_dot.hpp"

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
  const std::vector<std::uint32_t> grads = tape.gradient_nodes(root, options.create_graph);
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
  const detail::GradientDot<T> g_dot_v = detail::gradient_dot("hessian_vector_product", f(tape), params, v);
  std::vector<Tensor<T>> hv;
  for (Parameter<T>* p : params) hv.push_back(Tensor<T>::zeros(p->value.shape()));
  if (!g_dot_v.value.requires_grad()) return hv;  // f is linear in the parameters: H = 0
  const std::vector<Var<T>> h = grad(g_dot_v.value, g_dot_v.uses);
  for (std::size_t u = 0; u < g_dot_v.uses.size(); ++u) {
    const Tensor<T>& part = h[u].value();
    Tensor<T>& target = hv[g_dot_v.owner[u]];
    for (std::size_t i = 0; i < part.size(); ++i) target[i] += part[i];
  }
  return hv;
}

namespace detail {

template <class T>
GradientDot<T> gradient_dot(const char* op, const Var<T>& root, const std::vector<Parameter<T>*>& params,
                            const std::vector<Tensor<T>>& v) {
  Tape<T>& tape = root.tape();
  GradientDot<T> out;
  for (std::size_t k = 0; k < params.size(); ++k)
    for (const Var<T>& use : tape.uses_of(*params[k])) {
      out.uses.push_back(use);
      out.owner.push_back(k);
    }
  if (out.uses.empty())
    throw ValueError(fmt::format("{}: the function read none of the parameters (through tape.parameter)", op));
  const std::vector<Var<T>> g = grad(root, out.uses, kCreateGraph);
  for (std::size_t u = 0; u < out.uses.size(); ++u) {
    const Var<T> term = sum(g[u] * tape.constant(v[out.owner[u]]));
    out.value = u == 0 ? term : out.value + term;
  }
  return out;
}

template GradientDot<float> gradient_dot(const char*, const Var<float>&, const std::vector<Parameter<float>*>&,
                                         const std::vector<Tensor<float>>&);
template GradientDot<double> gradient_dot(const char*, const Var<double>&, const std::vector<Parameter<double>*>&,
                                          const std::vector<Tensor<double>>&);

}  // namespace detail

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
