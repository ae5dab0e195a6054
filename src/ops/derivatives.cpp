#include "tapegrad/ops/derivatives.hpp"

#include <fmt/format.h>

#include "autograd/accumulate.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {

const std::vector<DerivativeRule>& derivative_rules() {
  static const std::vector<DerivativeRule> rules = [] {  // immutable once built
    std::vector<DerivativeRule> all{{"accumulate", "engine", detail::kAccumulateForward, detail::kAccumulateBackward}};
    for (auto family : {detail::arithmetic_rules, detail::activation_rules, detail::linalg_rules,
                        detail::shaping_rules, detail::indexing_rules, detail::recurrent_rules, detail::reduce_rules,
                        detail::loss_rules, detail::conv_rules})
      for (DerivativeRule& r : family()) all.push_back(std::move(r));
    return all;
  }();
  return rules;
}

std::string derivative_rules_markdown() {
  std::string out =
      "# Derivative rules of tapegrad's built-in ops\n\n"
      "Generated from the op classes in `src/ops/` and the engine's own rule, `accumulate` "
      "(`src/autograd/accumulate.hpp`: where two paths meet, their gradients add); each rule's text stands beside "
      "its code. "
      "`tests/test_custom.cpp` fails when this file and the code differ. Regenerate with "
      "`build/tapegrad rules > docs/reference/derivatives.md`.\n\n"
      "Notation: inputs `a`, `b` (`x` for a single input), output `y`, upstream gradient `g = dL/dy`; "
      "`da = ...` is what the rule adds into `dL/da`. Elementwise ops broadcast like NumPy, and their gradients "
      "are summed back to each input's shape (`sum_to`, written once in `src/ops/broadcast.hpp`).\n\n"
      "| op | family | forward | backward |\n|---|---|---|---|\n";
  for (const DerivativeRule& r : derivative_rules())
    out += fmt::format("| `{}` | {} | `{}` | `{}` |\n", r.op, r.family, r.forward, r.backward);
  return out;
}

}  // namespace tapegrad
