#pragma once
// <d root/d params, v>, recorded on the tape (internal): what hessian_vector_product differentiates once more and
// what gradgradcheck checks.
#include <cstddef>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad::detail {

template <class T>
struct GradientDot {
  Var<T> value;                    // the sum over k of sum(d root/d params[k] * v[k]), recorded (create_graph)
  std::vector<Var<T>> uses;        // every read of the parameters on root's tape (each tape.parameter call)
  std::vector<std::size_t> owner;  // uses[u] reads params[owner[u]]: a parameter read twice adds both gradients
  std::vector<Var<T>> directions;  // v[k] as one constant per parameter: overwrite its buffer for another v
};

/// ValueError naming `op` when the tape read none of the parameters.
template <class T>
GradientDot<T> gradient_dot(const char* op, const Var<T>& root, const std::vector<Parameter<T>*>& params,
                            const std::vector<Tensor<T>>& v);

extern template GradientDot<float> gradient_dot(const char*, const Var<float>&, const std::vector<Parameter<float>*>&,
                                                const std::vector<Tensor<float>>&);
extern template GradientDot<double> gradient_dot(const char*, const Var<double>&,
                                                 const std::vector<Parameter<double>*>&,
                                                 const std::vector<Tensor<double>>&);

}  // namespace tapegrad::detail
