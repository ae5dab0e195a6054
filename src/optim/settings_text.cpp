#include "optim/settings_text.hpp"

#include <cmath>
#include <cstdlib>

namespace tapegrad::detail {

double finite_number(const char* what, const std::string& text, const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    throw ValueError(fmt::format("{} '{}': {}={} is not a finite number", what, text, key, value));
  return v;
}

}  // namespace tapegrad::detail
