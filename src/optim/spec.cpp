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
    detail::set_option(spec.options, key, detail::finite_number("optimizer", text, key, value));
  });
  return spec;
}

std::string OptimizerSpec::str() const {
  std::vector<std::string> parts;
  for (const auto& [key, meaning] : optimizer_keys())  // the keys that were set, in the table's order
    if (const std::optional<double> v = detail::option_value(options, key))
      parts.push_back(fmt::format("{}={}", key, *v));  // shortest text that reads back exactly
  return parts.empty() ? name : fmt::format("{}:{}", name, fmt::join(parts, ","));
}

double OptimizerSpec::value(const std::string& key) const {
  const double table_default = optimizer_kind(name).default_of(key);  // ValueError for a key it does not take
  return detail::option_value(options, key).value_or(table_default);
}

}  // namespace tapegrad
