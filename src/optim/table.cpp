// The optimizer table: names, update rules, the keys each uses and its factories, in one place. Specs,
// make_optimizer and the program's --help read it; adding an optimizer is one row here.
#include <algorithm>

#include <fmt/format.h>

#include "optim/validation.hpp"

namespace tapegrad {

const std::vector<std::pair<std::string, std::string>>& optimizer_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys{
      {"lr", "learning rate"},
      {"momentum", "momentum m (Momentum, Nesterov)"},
      {"decay", "RMSProp's decay rate r"},
      {"beta1", "Adam's first-moment decay"},
      {"beta2", "Adam's second-moment decay"},
      {"eps", "epsilon added to the root in the denominator"},
      {"h0", "AdaGrad's initial accumulator (Keras: 0.1)"},
      {"wd", "weight decay: g += wd p before the update"},
      {"pytorch", "1: PyTorch's form (Momentum: b = m b + g, p -= lr b; AdaGrad: eps 1e-10)"},
  };
  return keys;
}

const std::vector<OptimizerKind>& optimizer_kinds() {
  static const std::vector<OptimizerKind> kinds{
      {"sgd", "p -= lr g", {"lr", "wd"}, "lr=0.01 wd=0", &make_sgd<float>, &make_sgd<double>},
      {"momentum", "v = m v - lr g; p += v", {"lr", "momentum", "wd", "pytorch"}, "lr=0.01 momentum=0.9 wd=0 pytorch=0",
       &make_momentum<float>, &make_momentum<double>},
      {"nesterov", "p += m m v - (1 + m) lr g; v = m v - lr g", {"lr", "momentum", "wd"}, "lr=0.01 momentum=0.9 wd=0",
       &make_nesterov<float>, &make_nesterov<double>},
      {"adagrad", "h += g g; p -= lr g / (sqrt(h) + eps)", {"lr", "eps", "h0", "wd", "pytorch"},
       "lr=0.01 eps=1e-07 h0=0 wd=0 pytorch=0", &make_adagrad<float>, &make_adagrad<double>},
      {"rmsprop", "h = r h + (1 - r) g g; p -= lr g / (sqrt(h) + eps)", {"lr", "decay", "eps", "wd"},
       "lr=0.01 decay=0.99 eps=1e-07 wd=0", &make_rmsprop<float>, &make_rmsprop<double>},
      {"adam", "m += (1 - b1)(g - m); v += (1 - b2)(g g - v); p -= lr_t m / (sqrt(v) + eps)",
       {"lr", "beta1", "beta2", "eps", "wd"}, "lr=0.001 beta1=0.9 beta2=0.999 eps=1e-07 wd=0", &make_adam<float>,
       &make_adam<double>},
  };
  return kinds;
}

bool OptimizerKind::uses(const std::string& key) const { return std::find(keys.begin(), keys.end(), key) != keys.end(); }

std::string OptimizerKind::keys_text() const { return fmt::format("{}", fmt::join(keys, " ")); }

const OptimizerKind& optimizer_kind(const std::string& name) {
  for (const OptimizerKind& kind : optimizer_kinds())
    if (kind.name == name) return kind;
  std::vector<std::string> names;
  for (const OptimizerKind& kind : optimizer_kinds()) names.push_back(kind.name);
  throw ValueError(fmt::format("unknown optimizer '{}' ({})", name, fmt::join(names, ", ")));
}

namespace {
// The keys whose options are set (an unset optional, or a zero / false default, is not set).
std::vector<std::string> keys_set(const OptimizerOptions& o) {
  std::vector<std::string> set;
  const auto add = [&](const char* key, bool is_set) {
    if (is_set) set.emplace_back(key);
  };
  add("lr", o.lr.has_value());
  add("momentum", o.momentum.has_value());
  add("decay", o.decay.has_value());
  add("beta1", o.beta1.has_value());
  add("beta2", o.beta2.has_value());
  add("eps", o.eps.has_value());
  add("h0", o.initial_accumulator != 0);
  add("wd", o.weight_decay != 0);
  add("pytorch", o.pytorch_form);
  return set;
}
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, std::vector<Parameter<T>*> params,
                                             const OptimizerOptions& o) {
  const OptimizerKind& kind = optimizer_kind(name);
  for (const std::string& key : keys_set(o))
    if (!kind.uses(key))
      throw ValueError(fmt::format("optimizer '{}' does not use '{}' (it takes: {})", name, key, kind.keys_text()));
  return kind.make<T>(std::move(params), o);
}

template std::unique_ptr<Optimizer<float>> make_optimizer(const std::string&, std::vector<Parameter<float>*>,
                                                          const OptimizerOptions&);
template std::unique_ptr<Optimizer<double>> make_optimizer(const std::string&, std::vector<Parameter<double>*>,
                                                           const OptimizerOptions&);

}  // namespace tapegrad
