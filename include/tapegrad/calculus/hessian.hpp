#pragma once
// Curvature, built from ops: Hessian-vector products by double backward (Pearlmutter's trick, through grad()).
#include <functional>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// H v for the Hessian H of the scalar `f` with respect to `params` (all of them together): the gradient of
/// <grad f, v>, by double backward. `f` records on the tape it is given, reading each parameter through
/// tape.parameter(); `v` holds one tensor per parameter, of its shape. Returns one tensor per parameter;
/// parameters' grad is left untouched.
template <class T>
std::vector<Tensor<T>> hessian_vector_product(const std::function<Var<T>(Tape<T>&)>& f,
                                              const std::vector<Parameter<T>*>& params,
                                              const std::vector<Tensor<T>>& v);
/// The same on `tape`, cleared first and left holding the computation: repeated products (a conjugate-gradient
/// loop) reuse its buffers instead of allocating them each time.
template <class T>
std::vector<Tensor<T>> hessian_vector_product(Tape<T>& tape, const std::function<Var<T>(Tape<T>&)>& f,
                                              const std::vector<Parameter<T>*>& params,
                                              const std::vector<Tensor<T>>& v);

extern template std::vector<Tensor<float>> hessian_vector_product(Tape<float>&,
                                                                  const std::function<Var<float>(Tape<float>&)>&,
                                                                  const std::vector<Parameter<float>*>&,
                                                                  const std::vector<Tensor<float>>&);
extern template std::vector<Tensor<double>> hessian_vector_product(Tape<double>&,
                                                                   const std::function<Var<double>(Tape<double>&)>&,
                                                                   const std::vector<Parameter<double>*>&,
                                                                   const std::vector<Tensor<double>>&);
extern template std::vector<Tensor<float>> hessian_vector_product(const std::function<Var<float>(Tape<float>&)>&,
                                                                  const std::vector<Parameter<float>*>&,
                                                                  const std::vector<Tensor<float>>&);
extern template std::vector<Tensor<double>> hessian_vector_product(const std::function<Var<double>(Tape<double>&)>&,
                                                                   const std::vector<Parameter<double>*>&,
                                                                   const std::vector<Tensor<double>>&);

}  // namespace tapegrad
