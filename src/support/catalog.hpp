#pragma once
// Every built-in differentiable op and layer, as a gradient check ready to run (`tapegrad gradcheck`).
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/tensor/random.hpp"
#include "tapegrad/calculus/gradcheck.hpp"

namespace tapegrad::support {

/// Values with |x| in [0.2, 1.5] and random signs: inputs that sit on no kink (relu, abs at 0), in double.
Tensor<double> kink_free(const Shape& shape, Rng& rng);
/// Values in [low, high], for ops defined on positive numbers (log, sqrt, div's divisor).
Tensor<double> positive(const Shape& shape, Rng& rng, double low = 0.5, double high = 2.0);

struct CatalogCheck {
  std::string name;    // "add", "matmul", "Linear", ...
  std::string family;  // "arithmetic", "linalg", "shaping", "reduce", "activation", "loss", "layer", "network"
  /// Runs the check in double on inputs drawn from rng (shapes include broadcasting where the op has it).
  std::function<GradcheckReport(Rng&, const GradcheckOptions&)> run;
};

/// All of them, in a stable order. step is absent: its gradient is zero everywhere by definition.
const std::vector<CatalogCheck>& gradcheck_catalog();

}  // namespace tapegrad::support
