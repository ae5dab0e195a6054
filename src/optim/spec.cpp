#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "optim/rules.hpp"

namespace tapegrad {
namespace {
double number(const std::string& key, const std::string& text, const std::string& whole) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v))
    throw ValueError(fmt::format("optimizer '{}': {}={} is not a finite number", whole, key, text));
  return v;
}

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
  if (colon == std::string::npos) return spec;
  std::vector<std::string> seen;
  std::size_t at = colon + 1;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw ValueError(fmt::format("optimizer '{}': '{}' is not key=value", text, item));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
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
    const double v = number(key, value, text);
    if (key == "lr") o.lr = v;
    else if (key == "momentum") o.momentum = v;
    else if (key == "decay") o.decay = v;
    else if (key == "beta1") o.beta1 = v;
    else if (key == "beta2") o.beta2 = v;
    else if (key == "eps") o.eps = v;
    else if (key == "h0") o.initial_accumulator = v;
    else if (key == "wd") o.weight_decay = v;
    else if (key == "pytorch") o.pytorch_form = v != 0;
    at = comma + 1;
  }
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

}  // namespace tapegrad
