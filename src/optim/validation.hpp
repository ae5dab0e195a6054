#pragma once
// Validation shared by the optimizer files (internal): rates and fractions checked, options or the book's defaults.
#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::detail {

double positive(const char* optimizer, const char* what, double value);  // ValueError unless finite and > 0
double fraction(const char* optimizer, const char* what, double value);  // ValueError unless in [0, 1)
/// An option as set, or its default in the optimizer table's row for `optimizer`.
inline double or_default(const std::optional<double>& value, const char* optimizer, const char* key) {
  return value ? *value : optimizer_kind(optimizer).default_of(key);
}

/// Key `key` (one of optimizer_keys()) of `o` when it is set: an optional that holds a value, or h0 / wd that
/// are not 0, or pytorch on (as 1). The one place that knows which field each key is.
std::optional<double> option_value(const OptimizerOptions& o, const std::string& key);
/// Sets key `key` (one of optimizer_keys()) of `o` to `value` (pytorch: on unless 0).
void set_option(OptimizerOptions& o, const std::string& key, double value);

}  // namespace tapegrad::detail

/// Explicit instantiations of one make_* function.
#define TAPEGRAD_INSTANTIATE_OPTIMIZER(make)                                                                \
  template std::unique_ptr<Optimizer<float>> make(std::vector<Parameter<float>*>, const OptimizerOptions&); \
  template std::unique_ptr<Optimizer<double>> make(std::vector<Parameter<double>*>, const OptimizerOptions&);
