#pragma once
// Gradient-check a whole module with one call: every parameter and the input, on a batch.
#include "tapegrad/calculus/gradcheck.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// Checks d(sum(v * module(x)))/d(each parameter, x) for a random upstream v. Random draws (Dropout) are
/// frozen and buffers (BatchNorm's running statistics) restored, so the module is left as it was.
template <class T>
GradcheckReport gradcheck_module(Module<T>& module, const Tensor<T>& input, const GradcheckOptions& options = {});

}  // namespace tapegrad
