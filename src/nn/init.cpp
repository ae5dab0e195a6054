#include "tapegrad/nn/init.hpp"

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

Init Init::fixed_std(double s) {
  if (!(s > 0) || !std::isfinite(s))
    throw ValueError(fmt::format("init: the standard deviation must be a positive finite number, got {}", s));
  return {Kind::FixedStd, s};
}

double Init::scale(std::size_t fan_in) const {
  if (fan_in == 0) throw ValueError("init: the fan-in must be at least 1");
  switch (kind) {
    case Kind::Xavier: return std::sqrt(1.0 / double(fan_in));
    case Kind::He: return std::sqrt(2.0 / double(fan_in));
    case Kind::FixedStd: break;
  }
  return std;
}

std::string Init::str() const {
  switch (kind) {
    case Kind::Xavier: return "xavier";
    case Kind::He: return "he";
    case Kind::FixedStd: break;
  }
  return fmt::format("std {:g}", std);
}

Init Init::parse(const std::string& text) {
  if (text == "xavier") return xavier();
  if (text == "he") return he();
  char* end = nullptr;
  const double s = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(s > 0) || !std::isfinite(s))
    throw ValueError(fmt::format("init: '{}' is not 'he', 'xavier' or a positive standard deviation", text));
  return fixed_std(s);
}

}  // namespace tapegrad
