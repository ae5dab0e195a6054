#pragma once
// Optimizers on a function of two variables, as the book's optimizer_compare_naive.py shows them.
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::support {

using Point2 = std::array<double, 2>;

/// The book's f(x, y) = x^2 / 20 + y^2, on the tape (xy has shape (2,)).
Var<double> book_bowl(const Var<double>& xy);
inline double book_bowl_value(const Point2& p) { return p[0] * p[0] / 20 + p[1] * p[1]; }

/// The start point (-7, 2) and the book's optimizers for it: SGD lr 0.95, Momentum lr 0.1, AdaGrad lr 1.5,
/// Adam lr 0.3; with `all`, also Nesterov lr 0.1 and RMSProp lr 0.3.
inline constexpr Point2 kBookStart{-7.0, 2.0};
std::vector<OptimizerSpec> book_bowl_optimizers(bool all = false);

/// `steps` updates of the optimizer on f from start, gradients by the tape; returns start and every iterate.
std::vector<Point2> descend(const OptimizerSpec& spec, const std::function<Var<double>(const Var<double>&)>& f,
                            Point2 start, int steps);

}  // namespace tapegrad::support
