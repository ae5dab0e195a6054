#pragma once
// How each op family lists its rules' text for tapegrad::derivative_rules() (internal). An op class carries
// its own text as `static constexpr const char* forward_text, backward_text`, beside the code it describes.
#include <vector>

#include "tapegrad/ops/derivatives.hpp"

namespace tapegrad::detail {

template <class Rule>
DerivativeRule rule_text(const char* op, const char* family) {
  return {op, family, Rule::forward_text, Rule::backward_text};
}

std::vector<DerivativeRule> arithmetic_rules();
std::vector<DerivativeRule> activation_rules();
std::vector<DerivativeRule> linalg_rules();
std::vector<DerivativeRule> shaping_rules();
std::vector<DerivativeRule> indexing_rules();
std::vector<DerivativeRule> recurrent_rules();
std::vector<DerivativeRule> reduce_rules();
std::vector<DerivativeRule> loss_rules();
std::vector<DerivativeRule> conv_rules();

}  // namespace tapegrad::detail
