// Learning-rate schedules (closed forms of the iteration count) and gradient clipping.
#include "tapegrad/optim/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "optim/settings_text.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

constexpr double kPi = 3.14159265358979323846;

using Items = std::vector<std::pair<std::string, std::string>>;

// "name:key=value,..." into the name and its items; ValueError for an item that is not key=value or a repeated key.
std::pair<std::string, Items> split_spec(const char* what, const std::string& text) {
  std::pair<std::string, Items> out{text.substr(0, text.find(':')), {}};
  detail::for_each_setting(what, text, [&](const std::string& key, const std::string& value) {
    for (const auto& [seen, unused] : out.second)
      if (seen == key) throw ValueError(fmt::format("{} '{}': '{}' is given twice", what, text, key));
    out.second.emplace_back(key, value);
  });
  return out;
}

using detail::finite_number;

std::size_t count(const char* what, const std::string& text, const std::string& key, const std::string& value,
                  std::size_t at_least) {
  const double v = finite_number(what, text, key, value);
  if (v < double(at_least) || v != std::floor(v) || v > 1e15)
    throw ValueError(fmt::format("{} '{}': {}={} must be a whole number of at least {}", what, text, key, value,
                                 at_least));
  return static_cast<std::size_t>(v);
}

const std::map<std::string, std::pair<ScheduleSpec::Kind, std::vector<std::string>>>& schedule_kinds() {
  using K = ScheduleSpec::Kind;
  static const std::map<std::string, std::pair<K, std::vector<std::string>>> kinds{
      {"constant", {K::Constant, {"warmup"}}},
      {"step", {K::Step, {"every", "gamma", "warmup"}}},
      {"exp", {K::Exponential, {"gamma", "warmup"}}},
      {"cosine", {K::Cosine, {"period", "min", "warmup"}}},
      {"plateau", {K::Plateau, {"factor", "patience", "min", "warmup"}}},
  };
  return kinds;
}

std::string kind_name(ScheduleSpec::Kind kind) {
  for (const auto& [name, entry] : schedule_kinds())
    if (entry.first == kind) return name;
  return "constant";
}

}  // namespace

ScheduleSpec ScheduleSpec::parse(const std::string& text) {
  const char* what = "schedule";
  const auto [name, items] = split_spec(what, text);
  const auto found = schedule_kinds().find(name);
  if (found == schedule_kinds().end())
    throw ValueError(fmt::format("unknown schedule '{}' in '{}' (constant, step, exp, cosine, plateau)", name, text));
  const auto& [kind, keys] = found->second;
  ScheduleSpec spec;
  spec.kind = kind;
  bool has_every = false;
  for (const auto& [key, value] : items) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      throw ValueError(fmt::format("schedule '{}': {} does not use '{}' (it takes: {})", text, name, key,
                                   fmt::join(keys, " ")));
    if (key == "every") spec.every = count(what, text, key, value, 1), has_every = true;
    else if (key == "period") spec.period = count(what, text, key, value, 0);
    else if (key == "patience") spec.patience = count(what, text, key, value, 0);
    else if (key == "warmup") spec.warmup = count(what, text, key, value, 0);
    else {
      const double v = finite_number(what, text, key, value);
      if (key == "gamma") {
        if (v <= 0 || v > 1) throw ValueError(fmt::format("schedule '{}': gamma={} must be in (0, 1]", text, value));
        spec.gamma = v;
      } else if (key == "factor") {
        if (v <= 0 || v >= 1) throw ValueError(fmt::format("schedule '{}': factor={} must be in (0, 1)", text, value));
        spec.factor = v;
      } else if (key == "min") {
        if (v < 0) throw ValueError(fmt::format("schedule '{}': min={} must not be negative", text, value));
        spec.min_lr = v;
      }
    }
  }
  if (kind == Kind::Step && !has_every)
    throw ValueError(fmt::format("schedule '{}': step needs every=N (iterations between decays)", text));
  return spec;
}

std::string ScheduleSpec::str() const {
  const ScheduleSpec plain;
  std::vector<std::string> parts;
  if (kind == Kind::Step) parts.push_back(fmt::format("every={}", every));
  if ((kind == Kind::Step || kind == Kind::Exponential) && gamma != plain.gamma) parts.push_back(fmt::format("gamma={}", gamma));
  if (kind == Kind::Cosine && period != 0) parts.push_back(fmt::format("period={}", period));
  if (kind == Kind::Plateau && factor != plain.factor) parts.push_back(fmt::format("factor={}", factor));
  if (kind == Kind::Plateau && patience != plain.patience) parts.push_back(fmt::format("patience={}", patience));
  if ((kind == Kind::Cosine || kind == Kind::Plateau) && min_lr != 0) parts.push_back(fmt::format("min={}", min_lr));
  if (warmup != 0) parts.push_back(fmt::format("warmup={}", warmup));
  return parts.empty() ? kind_name(kind) : fmt::format("{}:{}", kind_name(kind), fmt::join(parts, ","));
}

LrSchedule::LrSchedule(ScheduleSpec spec, double base_lr, std::size_t total_iterations)
    : spec_(spec), base_lr_(base_lr), total_(total_iterations) {
  if ((spec_.kind == ScheduleSpec::Kind::Cosine || spec_.kind == ScheduleSpec::Kind::Plateau) &&
      spec_.min_lr > base_lr_)
    throw ValueError(fmt::format("schedule '{}': min={} is above the learning rate {}", spec_.str(), spec_.min_lr,
                                 base_lr_));
}

double LrSchedule::rate(std::size_t t) const {
  if (t < spec_.warmup) return base_lr_ * double(t + 1) / double(spec_.warmup);
  const std::size_t u = t - spec_.warmup;
  switch (spec_.kind) {
    case ScheduleSpec::Kind::Constant: return base_lr_;
    case ScheduleSpec::Kind::Step: return base_lr_ * std::pow(spec_.gamma, double(u / spec_.every));
    case ScheduleSpec::Kind::Exponential: return base_lr_ * std::pow(spec_.gamma, double(u));
    case ScheduleSpec::Kind::Cosine: {
      const std::size_t rest = total_ > spec_.warmup ? total_ - spec_.warmup : 1;
      const double period = double(spec_.period != 0 ? spec_.period : rest);
      const double v = std::min(double(u), period);
      return spec_.min_lr + (base_lr_ - spec_.min_lr) * (1 + std::cos(kPi * v / period)) / 2;
    }
    case ScheduleSpec::Kind::Plateau:
      return std::max(base_lr_ * std::pow(spec_.factor, double(reductions_)), spec_.min_lr);
  }
  return base_lr_;
}

void LrSchedule::end_epoch(double loss) {
  if (spec_.kind != ScheduleSpec::Kind::Plateau) return;
  if (!seen_epoch_ || loss < best_loss_ * (1 - 1e-4)) {
    best_loss_ = loss;
    seen_epoch_ = true;
    bad_epochs_ = 0;
    return;
  }
  if (++bad_epochs_ > spec_.patience) {
    ++reductions_;
    bad_epochs_ = 0;
  }
}

GradientClip GradientClip::parse(const std::string& text) {
  const char* what = "clip";
  GradientClip clip;
  std::vector<std::string> seen;
  const auto [first, items] = split_spec(what, "clip:" + text);
  if (items.empty()) throw ValueError(fmt::format("clip '{}': expected norm=X and/or value=X", text));
  for (const auto& [key, value] : items) {
    const double v = finite_number(what, text, key, value);
    if (key != "norm" && key != "value")
      throw ValueError(fmt::format("clip '{}': unknown key '{}' (norm, value)", text, key));
    if (v <= 0)
      throw ValueError(fmt::format("clip '{}': the threshold {}={} must be positive", text, key, value));
    (key == "norm" ? clip.max_norm : clip.max_value) = v;
  }
  return clip;
}

std::string GradientClip::str() const {
  std::vector<std::string> parts;
  if (max_norm > 0) parts.push_back(fmt::format("norm={}", max_norm));
  if (max_value > 0) parts.push_back(fmt::format("value={}", max_value));
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, ","));
}

template <class T>
double gradient_norm(const std::vector<Parameter<T>*>& params) {
  double squares = 0;
  for (const Parameter<T>* p : params)
    for (const T g : p->grad()) squares += double(g) * double(g);
  return std::sqrt(squares);
}

template <class T>
double clip_gradient_norm(const std::vector<Parameter<T>*>& params, double max_norm) {
  if (!(max_norm > 0) || !std::isfinite(max_norm))
    throw ValueError(fmt::format("clip_gradient_norm: max_norm must be a positive finite number, got {}", max_norm));
  const double norm = gradient_norm(params);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1)
    for (Parameter<T>* p : params)
      for (T& g : p->grad()) g = T(g * scale);
  return norm;
}

template <class T>
void clip_gradient_values(const std::vector<Parameter<T>*>& params, double max_value) {
  if (!(max_value > 0) || !std::isfinite(max_value))
    throw ValueError(
        fmt::format("clip_gradient_values: max_value must be a positive finite number, got {}", max_value));
  const T hi = T(max_value);
  for (Parameter<T>* p : params)
    for (T& g : p->grad()) g = std::clamp(g, -hi, hi);
}

#define TAPEGRAD_INSTANTIATE(T)                                                  \
  template double gradient_norm(const std::vector<Parameter<T>*>&);               \
  template double clip_gradient_norm(const std::vector<Parameter<T>*>&, double); \
  template void clip_gradient_values(const std::vector<Parameter<T>*>&, double);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
