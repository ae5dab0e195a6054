#pragma once
// The sharpness of a classifier's training loss: the largest eigenvalues of its Hessian with respect to all the
// model's parameters, measured as PyHessian measures it. Gradient descent at rate lr is stable on a quadratic
// only while the sharpness stays below 2 / lr; full-batch training drives it up to that edge (Cohen et al. 2021).
#include "tapegrad/calculus/curvature.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// The top options.k eigenvalues of the Hessian of the mean softmax cross-entropy over every row of `data` (one
/// batch), by Lanczos on Hessian-vector products (top_eigenvalues: the loss is recorded once). The model is in
/// evaluation mode meanwhile (dropout off, BatchNorm on its running statistics) and is put back as it was.
/// ValueError for empty or invalid data (Dataset::validate), a model with no parameters, or a k larger than the
/// parameter count.
template <class T>
Eigenpairs<T> loss_sharpness(Module<T>& model, const Dataset& data, const CurvatureOptions& options = {});

extern template Eigenpairs<float> loss_sharpness(Module<float>&, const Dataset&, const CurvatureOptions&);
extern template Eigenpairs<double> loss_sharpness(Module<double>&, const Dataset&, const CurvatureOptions&);

}  // namespace tapegrad
