#include "tapegrad/calculus/hessian.hpp"

#include <fmt/format.h>

#include "calculus/gradient_dot.hpp"
#include "tapegrad/autograd/grad.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

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
  for (const Tensor<T>& direction : v) out.directions.push_back(tape.constant(direction));
  const std::vector<Var<T>> g = grad(root, out.uses, kCreateGraph);
  for (std::size_t u = 0; u < out.uses.size(); ++u) {
    const Var<T> term = sum(g[u] * out.directions[out.owner[u]]);
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
  template std::vector<Tensor<T>> hessian_vector_product(Tape<T>&, const std::function<Var<T>(Tape<T>&)>&,      \
                                                         const std::vector<Parameter<T>*>&,                      \
                                                         const std::vector<Tensor<T>>&);                         \
  template std::vector<Tensor<T>> hessian_vector_product(const std::function<Var<T>(Tape<T>&)>&,                \
                                                         const std::vector<Parameter<T>*>&,                      \
                                                         const std::vector<Tensor<T>>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
