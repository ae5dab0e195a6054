#include <cmath>
#include <cstdlib>

#include "optim/rules.hpp"

namespace tapegrad {
namespace {
const char* const kNames[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"};

double number(const std::string& key, const std::string& text, const std::string& whole) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v))
    throw ValueError(fmt::format("optimizer '{}': {}={} is not a finite number", whole, key, text));
  return v;
}
}  // namespace

OptimizerSpec OptimizerSpec::parse(const std::string& text) {
  OptimizerSpec spec;
  const std::size_t colon = text.find(':');
  spec.name = text.substr(0, colon);
  if (std::find(std::begin(kNames), std::end(kNames), spec.name) == std::end(kNames))
    throw ValueError(fmt::format("unknown optimizer '{}' in '{}' (sgd, momentum, nesterov, adagrad, rmsprop, adam)",
                                 spec.name, text));
  if (colon == std::string::npos) return spec;
  std::size_t at = colon + 1;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, comma - at);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos)
      throw ValueError(fmt::format("optimizer '{}': '{}' is not key=value", text, item));
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    OptimizerOptions& o = spec.options;
    if (key == "lr") o.lr = number(key, value, text);
    else if (key == "momentum") o.momentum = number(key, value, text);
    else if (key == "decay") o.decay = number(key, value, text);
    else if (key == "beta1") o.beta1 = number(key, value, text);
    else if (key == "beta2") o.beta2 = number(key, value, text);
    else if (key == "eps") o.eps = number(key, value, text);
    else if (key == "h0") o.initial_accumulator = number(key, value, text);
    else if (key == "wd") o.weight_decay = number(key, value, text);
    else if (key == "pytorch") o.pytorch_form = number(key, value, text) != 0;
    else
      throw ValueError(fmt::format("optimizer '{}': unknown key '{}' (lr momentum decay beta1 beta2 eps h0 wd pytorch)",
                                   text, key));
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
