#pragma once
// Gradients as variables (torch.autograd.grad): d(root)/d(x) returned as variables on the tape. With
// kCreateGraph the computation of the gradient is recorded like any other, so it can be used in further
// computation and differentiated again, to any order: the n-th derivative of tanh, Newton's method with both
// derivatives from the tape, Hessian-vector products (tapegrad/calculus/hessian.hpp).
//
//   Var<double> x = tape.variable(Tensor<double>::scalar(0.5));
//   Var<double> y = tanh(x);
//   Var<double> dy = grad(y, {x}, kCreateGraph)[0];   // 1 - tanh(x)^2, recorded
//   Var<double> d2y = grad(dy, {x}, kCreateGraph)[0]; // its derivative, recorded again
//
// Each op contributes its backward_on_tape rule (tapegrad/autograd/op.hpp); an op without one (a user's custom op
// that did not write it) stops the sweep with a TapeError naming the op.
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// d(root)/d(inputs[k]) for each k, as variables on root's tape, of each input's shape (zeros when the root does
/// not depend on an input). The root must have one element; every input must require a gradient. Parameters'
/// and leaves' grad() are left untouched. Without options.create_graph the results are values that cannot be
/// differentiated (a TapeError says so if one tries).
template <class T>
std::vector<Var<T>> grad(const Var<T>& root, const std::vector<Var<T>>& inputs, GradOptions options = {});

/// The same for a root of any shape, seeded with `seed` (torch.autograd.grad's grad_outputs): d<seed, root>/d(x),
/// the vector-Jacobian product. `seed` must have the root's shape (ShapeError otherwise).
template <class T>
std::vector<Var<T>> grad(const Var<T>& root, const std::vector<Var<T>>& inputs, const Tensor<T>& seed,
                         GradOptions options = {});

extern template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, GradOptions);
extern template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&, GradOptions);
extern template std::vector<Var<float>> grad(const Var<float>&, const std::vector<Var<float>>&, const Tensor<float>&,
                                             GradOptions);
extern template std::vector<Var<double>> grad(const Var<double>&, const std::vector<Var<double>>&,
                                              const Tensor<double>&, GradOptions);

}  // namespace tapegrad
