#pragma once
// The engine's one rule (internal): where two paths of the graph meet, their gradients add. Recorded under
// create_graph like any op, as "accumulate", so a gradient summed over paths can be differentiated again.
#include "tapegrad/autograd/tape.hpp"

namespace tapegrad::detail {

/// a + b for two gradients of one node (equal shapes: ShapeError naming "accumulate" otherwise).
template <class T>
Var<T> accumulate(const Var<T>& a, const Var<T>& b);

/// Its rule as the table of derivative rules shows it (tapegrad rules, docs/reference/derivatives.md).
constexpr const char* kAccumulateForward = "y = a + b  (two gradients of one value meet; equal shapes)";
constexpr const char* kAccumulateBackward = "da = g;  db = g";

extern template Var<float> accumulate(const Var<float>&, const Var<float>&);
extern template Var<double> accumulate(const Var<double>&, const Var<double>&);

}  // namespace tapegrad::detail
