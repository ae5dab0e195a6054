#pragma once
// The text form optimizer specs and schedules share (internal): "name:key=value,key=value".
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {

/// Calls setting(key, value) for each comma-separated item after the first ':' of `text`, in order (none without
/// a ':'); ValueError "WHAT 'TEXT': 'ITEM' is not key=value" for an item without '='.
template <class Setting>
void for_each_setting(const char* what, const std::string& text, Setting&& setting) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) return;
  for (std::size_t at = colon + 1; at <= text.size();) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) throw ValueError(fmt::format("{} '{}': '{}' is not key=value", what, text, item));
    setting(item.substr(0, eq), item.substr(eq + 1));
    at = comma + 1;
  }
}

/// value as a finite number; ValueError "WHAT 'TEXT': KEY=VALUE is not a finite number" otherwise.
double finite_number(const char* what, const std::string& text, const std::string& key, const std::string& value);

}  // namespace tapegrad::detail
