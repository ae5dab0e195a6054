#pragma once
// Every built-in op's derivative rule, in one notation, read from the op classes themselves (each rule's text
// stands beside its code in src/ops/). docs/reference/derivatives.md is this table; a test keeps the two equal.
#include <string>
#include <vector>

namespace tapegrad {

/// One op's math. Notation: inputs a, b (x for one input), output y, upstream gradient g = dL/dy; "da = ..."
/// is what the rule adds into dL/da. Elementwise rules with broadcasting are summed back to each input's shape
/// (sum_to).
struct DerivativeRule {
  std::string op;        // as errors and tapes name it: "mul"
  std::string family;    // "arithmetic", "activation", "linalg", "shaping", "reduce", "loss"
  std::string forward;   // "y = a * b"
  std::string backward;  // "da = g * b;  db = g * a"
};

/// All of them, grouped by family, in a stable order.
const std::vector<DerivativeRule>& derivative_rules();
/// The same as a Markdown table (the contents of docs/reference/derivatives.md).
std::string derivative_rules_markdown();

}  // namespace tapegrad
