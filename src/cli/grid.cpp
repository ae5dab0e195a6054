// The configurations of a comparison: the --opt list times every --vary axis, labelled by what differs.
#include "cli/grid.hpp"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>

#include <fmt/format.h>

namespace cli {

const std::vector<std::string> kDefaultOptimizers{"sgd", "momentum", "adagrad", "adam"};

namespace {

double number(const std::string& axis, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    throw tg::ValueError(fmt::format("--vary {}: '{}' is not a number", axis, value));
  return v;
}

using Apply = std::function<void(const std::string& value, Configuration&)>;

struct Axis {
  std::string name, values;  // values: what it accepts, for help and errors
  Apply apply;
};

const std::vector<Axis>& axis_table() {
  static const std::vector<Axis> axes{
      {"opt", "optimizer specs, e.g. sgd momentum:lr=0.02",
       [](const std::string& v, Configuration& c) { c.optimizer = tg::OptimizerSpec::parse(v); }},
      {"lr", "learning rates, e.g. 0.1 0.01",
       [](const std::string& v, Configuration& c) { c.optimizer.options.lr = number("lr", v); }},
      {"wd", "weight decays, e.g. 0 0.1",
       [](const std::string& v, Configuration& c) {
         const double wd = number("wd", v);
         if (wd < 0) throw tg::ValueError(fmt::format("--vary wd: {} is negative", v));
         if (wd > 0 && !tg::optimizer_kind(c.optimizer.name).uses("wd"))
           throw tg::ValueError(fmt::format("--vary wd: {} does not use weight decay", c.optimizer.name));
         c.optimizer.options.weight_decay = wd;
       }},
      {"init", "he, xavier or a standard deviation such as 0.01",
       [](const std::string& v, Configuration& c) {
         tg::Init::parse(v);  // a ValueError naming it if it is not one
         c.run.init = v;
       }},
      {"activation", "relu, sigmoid, tanh",
       [](const std::string& v, Configuration& c) { c.run.activation = tg::to_string(tg::parse_activation(v)); }},
      {"batch-norm", "on, off",
       [](const std::string& v, Configuration& c) {
         if (v != "on" && v != "off") throw tg::ValueError(fmt::format("--vary batch-norm: '{}' is not on or off", v));
         c.run.batch_norm = v == "on";
       }},
      {"dropout", "ratios in [0, 1), e.g. 0 0.2",
       [](const std::string& v, Configuration& c) { c.run.dropout = number("dropout", v); }},
      {"schedule", "schedules as --schedule takes them, e.g. constant cosine:warmup=100",
       [](const std::string& v, Configuration& c) { c.run.schedule = tg::ScheduleSpec::parse(v).str(); }},
      {"clip", "none, or clipping as --clip takes it, e.g. none norm=1",
       [](const std::string& v, Configuration& c) { c.run.clip = v == "none" ? "" : tg::GradientClip::parse(v).str(); }},
      {"augment", "augmentations as --augment takes them, e.g. off on",
       [](const std::string& v, Configuration& c) { c.run.augment = tg::Augmentation::parse(v).str(); }},
      {"batch", "batch sizes, e.g. 32 100",
       [](const std::string& v, Configuration& c) {
         const double b = number("batch", v);
         if (b < 1 || b > 1e6 || b != std::floor(b))
           throw tg::ValueError(fmt::format("--vary batch: {} is not a whole number in [1, 1000000]", v));
         c.run.batch = static_cast<std::size_t>(b);
       }},
      {"decay-scope", "all, weights (weight decay on every parameter, or not on biases and BatchNorm)",
       [](const std::string& v, Configuration& c) {
         if (v != "all" && v != "weights")
           throw tg::ValueError(fmt::format("--vary decay-scope: '{}' is not all or weights", v));
         c.run.decay_scope = v;
       }},
      {"net", "networks as --net takes them, e.g. 100 256-128 simple_conv deep_conv",
       [](const std::string& v, Configuration& c) { c.run.hidden = v; }},
  };
  return axes;
}

const Axis& axis_named(const std::string& name) {
  for (const Axis& a : axis_table())
    if (a.name == name) return a;
  std::vector<std::string> names;
  for (const Axis& a : axis_table()) names.push_back(a.name);
  throw tg::ValueError(fmt::format("--vary {}: unknown axis (accepted: {})", name, fmt::join(names, ", ")));
}

}  // namespace

std::string optimizer_label(const tg::OptimizerSpec& spec) {
  return tg::make_optimizer<double>(spec, {})->describe();
}

const std::vector<std::pair<std::string, std::string>>& vary_axes() {
  static const std::vector<std::pair<std::string, std::string>> list = [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Axis& a : axis_table()) out.emplace_back(a.name, a.values);
    return out;
  }();
  return list;
}

namespace {
std::size_t saturating_product(std::size_t a, std::size_t b) {
  std::size_t product = 0;
  return __builtin_mul_overflow(a, b, &product) ? SIZE_MAX : product;
}
}  // namespace

std::size_t count_configurations(const std::vector<std::string>& optimizers,
                                 const std::vector<std::vector<std::string>>& vary) {
  bool vary_opt = false;
  std::size_t count = 1;
  for (const std::vector<std::string>& v : vary) {
    count = saturating_product(count, v.size() > 1 ? v.size() - 1 : 1);
    vary_opt = vary_opt || (!v.empty() && v[0] == "opt");
  }
  if (!vary_opt) count = saturating_product(count, optimizers.empty() ? kDefaultOptimizers.size() : optimizers.size());
  return count;
}

std::size_t check_run_count(std::size_t configurations, std::size_t seeds, std::size_t max_runs) {
  const std::size_t runs = saturating_product(configurations, seeds);
  if (runs > max_runs)
    throw tg::ValueError(fmt::format(
        "{} runs asked for ({} configurations x {} seeds), more than the limit of {}; narrow the grid, or raise the "
        "limit with --max-runs N (at most {})",
        runs == SIZE_MAX ? std::string("too many") : std::to_string(runs), configurations, seeds, max_runs,
        kLargestMaxRuns));
  return runs;
}

std::vector<Configuration> configurations(const RunOptions& base, const std::vector<std::string>& optimizers,
                                          const std::vector<std::vector<std::string>>& vary) {
  std::vector<std::string> seen_axes;
  bool vary_opt = false;
  for (const std::vector<std::string>& v : vary) {
    if (v.empty()) throw tg::ValueError("--vary: give an axis and its values, e.g. --vary lr 0.1 0.01");
    const Axis& axis = axis_named(v[0]);
    if (v.size() < 2)
      throw tg::ValueError(fmt::format("--vary {}: no values (accepted: {})", axis.name, axis.values));
    if (std::find(seen_axes.begin(), seen_axes.end(), axis.name) != seen_axes.end())
      throw tg::ValueError(fmt::format("--vary {}: the axis is given twice; list all its values once", axis.name));
    seen_axes.push_back(axis.name);
    vary_opt = vary_opt || axis.name == "opt";
  }
  if (vary_opt && !optimizers.empty())
    throw tg::ValueError("--opt and --vary opt both list optimizers; use one of them");

  // The optimizer is the first axis (from --opt, or the book's four when neither lists optimizers): it replaces
  // the whole optimizer spec, so lr and wd must come after it, in whatever order the axes were given.
  std::vector<std::vector<std::string>> all_axes;
  if (!vary_opt) {
    std::vector<std::string> opt{"opt"};
    for (const std::string& o : optimizers.empty() ? kDefaultOptimizers : optimizers) opt.push_back(o);
    all_axes.push_back(opt);
  }
  for (const std::vector<std::string>& v : vary)
    if (v[0] == "opt") all_axes.insert(all_axes.begin(), v);
    else all_axes.push_back(v);

  std::vector<Configuration> out{Configuration{base, {}, {}, {}}};
  for (const std::vector<std::string>& v : all_axes) {
    const Axis& axis = axis_named(v[0]);
    std::vector<Configuration> next;
    for (const Configuration& c : out)
      for (std::size_t i = 1; i < v.size(); ++i) {
        Configuration more = c;
        axis.apply(v[i], more);
        more.settings.emplace_back(axis.name, v[i]);
        next.push_back(std::move(more));
      }
    out = std::move(next);
  }
  // every option of every configuration checked now, before any data is read
  for (std::size_t k = 0; k < out.size(); ++k) {
    const Configuration& c = out[k];
    c.run.check_net();
    const std::string label = optimizer_label(c.optimizer);
    check_decay_scope(c.run.decay_scope, c.optimizer, fmt::format("configuration {} ({})", k + 1, label));
  }

  // A label names the axes with more than one value; the optimizer's part is its description (which shows lr
  // and weight decay, so those are not repeated when the optimizer varies too).
  std::vector<bool> varies(all_axes.size());
  for (std::size_t a = 0; a < all_axes.size(); ++a) varies[a] = all_axes[a].size() > 2;
  const bool optimizer_varies = varies[0];  // the optimizer's axis is the first
  std::map<std::string, std::size_t> first_with;
  for (std::size_t k = 0; k < out.size(); ++k) {
    Configuration& c = out[k];
    std::vector<std::string> parts;
    for (std::size_t a = 0; a < all_axes.size(); ++a) {
      const auto& [axis, value] = c.settings[a];
      if (!varies[a]) continue;
      if (axis == "opt") parts.push_back(optimizer_label(c.optimizer));
      else if (!(optimizer_varies && (axis == "lr" || axis == "wd"))) parts.push_back(fmt::format("{}={}", axis, value));
    }
    if (parts.empty()) parts.push_back(optimizer_label(c.optimizer));  // one configuration: say what it is
    c.label = fmt::format("{}", fmt::join(parts, " "));
    const auto [at, fresh] = first_with.emplace(c.label, k);
    if (!fresh)
      throw tg::ValueError(fmt::format("compare: configurations {} and {} are the same ({}); list each once",
                                       at->second + 1, k + 1, c.label));
  }
  return out;
}

}  // namespace cli
