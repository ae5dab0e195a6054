#include "tapegrad/ops/derivatives.hpp"

#include <fmt/format.h>

#include "ops/rule_text.hpp"

namespace tapegrad {

const std::vector<DerivativeRule>& derivative_rules() {
  static const std::vector<DerivativeRule> rules = [] {  // immutable once built
    std::vector<DerivativeRule> all;
    for (auto family : {detail::arithmetic_rules, detail::activation_rules, detail::linalg_rules,
                        detail::shaping_rules, detail::reduce_rules, detail::loss_rules, detail::conv_rules})
      for (DerivativeRule& r : family()) all.push_back(std::move(r));
    return all;
  }();
  return rules;
}

std::string derivative_rules_markdown() {
  std::string out =
      "# Derivative rules of tapegrad's built-in ops\n\n"
      "Generated from the op classes in `src/ops/` (each rule's text stands beside its code); "
      "`tests/test_custom.cpp` fails when this file and the code differ. Regenerate with "
      "`build/tapegrad rules > docs/derivatives.md`.\n\n"
      "Notation: inputs `a`, `b` (`x` for a single input), output `y`, upstream gradient `g = dL/dy`; "
      "`da = ...` is what the rule adds into `dL/da`. Elementwise ops broadcast like NumPy, and their gradients "
      "are summed back to each input's shape (`sum_to`, written once in `src/ops/kernel.hpp`).\n\n"
      "| op | family | forward | backward |\n|---|---|---|---|\n";
  for (const DerivativeRule& r : derivative_rules())
    out += fmt::format("| `{}` | {} | `{}` | `{}` |\n", r.op, r.family, r.forward, r.backward);
  return out;
}

}  // namespace tapegrad
