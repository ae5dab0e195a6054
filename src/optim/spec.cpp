#include <algorithm>

#include "optim/validation.hpp"
#include "optim/settings_text.hpp"

namespace tapegrad {
namespace {
std::string all_keys() {
  std::vector<std::string> keys;
  for (const auto& [key, meaning] : optimizer_keys()) keys.push_back(key);
  return fmt::format("{}", fmt::join(keys, " "));
}
}  // namespace

OptimizerSpec OptimizerSpec::parse(const std::string& text) {
  OptimizerSpec spec;
  const std::size_t colon = text.find(':');
  spec.name = text.substr(0, colon);
  const OptimizerKind* kind = nullptr;
  try {
    kind = &optimizer_kind(spec.name);
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{} in '{}'", e.what(), text));
  }
  std::vector<std::string> seen;
  detail::for_each_setting("optimizer", text, [&](const std::string& key, const std::string& value) {
    const bool known = std::any_of(optimizer_keys().begin(), optimizer_keys().end(),
                                   [&](const auto& entry) { return entry.first == key; });
    if (!known)
      throw ValueError(fmt::format("optimizer '{}': unknown key '{}' ({} takes: {}; all keys: {})", text, key,
                                   spec.name, kind->keys_text(), all_keys()));
    if (!kind->uses(key))
      throw ValueError(fmt::format("optimizer '{}': {} does not use '{}' (it takes: {})", text, spec.name, key,
                                   kind->keys_text()));
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      throw ValueError(fmt::format("optimizer '{}': '{}' is given twice", text, key));
    seen.push_back(key);
    OptimizerOptions& o = spec.options;
    const double v = detail::finite_number("optimizer", text, key, value);
    if (key == "lr") o.lr = v;
    else if (key == "momentum") o.momentum = v;
    else if (key == "decay") o.decay = v;
    else if (key == "beta1") o.beta1 = v;
    else if (key == "beta2") o.beta2 = v;
    else if (key == "eps") o.eps = v;
    else if (key == "h0") o.initial_accumulator = v;
    else if (key == "wd") o.weight_decay = v;
    else if (key == "pytorch") o.pytorch_form = v != 0;
  });
  return spec;
}

std::string OptimizerSpec::str() const {
  std::vector<std::string> parts;
  const auto add = [&](const char* key, const std::optional<double>& v) {
    if (v) parts.push_back(fmt::format("{}={}", key, *v));  // shortest text that reads back exactly
  };
  add("lr", options.lr);
  add("momentum", options.momentum);
  add("decay", options.decay);
  add("beta1", options.beta1);
  add("beta2", options.beta2);
  add("eps", options.eps);
  if (options.initial_accumulator != 0) parts.push_back(fmt::format("h0={}", options.initial_accumulator));
  if (options.weight_decay != 0) parts.push_back(fmt::format("wd={}", options.weight_decay));
  if (options.pytorch_form) parts.push_back("pytorch=1");
  return parts.empty() ? name : fmt::format("{}:{}", name, fmt::join(parts, ","));
}

double OptimizerSpec::value(const std::string& key) const {
  const OptimizerKind& kind = optimizer_kind(name);
  const double table_default = kind.default_of(key);  // ValueError for a key this optimizer does not take
  const OptimizerOptions& o = options;
  if (key == "lr") return o.lr.value_or(table_default);
  if (key == "momentum") return o.momentum.value_or(table_default);
  if (key == "decay") return o.decay.value_or(table_default);
  if (key == "beta1") return o.beta1.value_or(table_default);
  if (key == "beta2") return o.beta2.value_or(table_default);
  if (key == "eps") return o.eps.value_or(table_default);
  if (key == "h0") return o.initial_accumulator;
  if (key == "wd") return o.weight_decay;
  return o.pytorch_form ? 1 : 0;  // "pytorch"
}

}  // namespace tapegrad
