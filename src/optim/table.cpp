// The optimizer table: names, update rules, the keys each uses and its factories, in one place. Specs,
// make_optimizer, the constructors' defaults, the program's --help and docs/reference/optimizers.md read it;
// adding an optimizer is one row here (and its file).
#include <algorithm>

#include <fmt/format.h>

#include "optim/validation.hpp"

namespace tapegrad {

const std::vector<std::pair<std::string, std::string>>& optimizer_keys() {
  static const std::vector<std::pair<std::string, std::string>> keys{
      {"lr", "learning rate"},
      {"momentum", "momentum m (Momentum, Nesterov)"},
      {"decay", "RMSProp's decay rate r"},
      {"beta1", "first-moment decay (Adam family; Lion: the interpolation of the update)"},
      {"beta2", "second-moment decay (Adam family; Lion: the momentum's decay)"},
      {"eps", "epsilon added to the root in the denominator (PyTorch's AdaGrad: 1e-10)"},
      {"h0", "AdaGrad's initial accumulator (Keras: 0.1)"},
      {"wd", "weight decay: L2, g += wd p before the update; decoupled in adamw and lion, p -= lr wd p"},
      {"psi", "NAdam's momentum decay: mu_t = beta1 (1 - 0.5 * 0.96^(t psi))"},
      {"iters", "L-BFGS: iterations per step (PyTorch's max_iter)"},
      {"history", "L-BFGS: the (s, y) pairs it keeps (PyTorch's history_size)"},
      {"wolfe", "L-BFGS: 1 a strong Wolfe line search, 0 a fixed step of lr"},
      {"pytorch", "Momentum in PyTorch's form when 1: b = m b + g, p -= lr b (the same steps while lr is constant)"},
  };
  return keys;
}

const std::vector<OptimizerKind>& optimizer_kinds() {
  static const std::vector<OptimizerKind> kinds{
      {"sgd", "p -= lr g", {{"lr", 0.01}, {"wd", 0}}, &make_sgd<float>, &make_sgd<double>},
      {"momentum", "v = m v - lr g; p += v", {{"lr", 0.01}, {"momentum", 0.9}, {"wd", 0}, {"pytorch", 0}},
       &make_momentum<float>, &make_momentum<double>},
      {"nesterov", "p += m m v - (1 + m) lr g; v = m v - lr g", {{"lr", 0.01}, {"momentum", 0.9}, {"wd", 0}},
       &make_nesterov<float>, &make_nesterov<double>},
      {"adagrad", "h += g g; p -= lr g / (sqrt(h) + eps)", {{"lr", 0.01}, {"eps", 1e-7}, {"h0", 0}, {"wd", 0}},
       &make_adagrad<float>, &make_adagrad<double>},
      {"rmsprop", "h = r h + (1 - r) g g; p -= lr g / (sqrt(h) + eps)",
       {{"lr", 0.01}, {"decay", 0.99}, {"eps", 1e-7}, {"wd", 0}}, &make_rmsprop<float>, &make_rmsprop<double>},
      {"adam", "m += (1 - b1)(g - m); v += (1 - b2)(g g - v); p -= lr_t m / (sqrt(v) + eps)",
       {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-7}, {"wd", 0}}, &make_adam<float>,
       &make_adam<double>},
      {"adamw",
       "p -= lr wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; "
       "p -= lr / (1 - b1^t) m / (sqrt(v / (1 - b2^t)) + eps)",
       {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"wd", 0.01}}, &make_adamw<float>,
       &make_adamw<double>},
      {"amsgrad", "as adamw without its decay, with max(v) so far for v (wd: L2)",
       {{"lr", 0.001}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"wd", 0}}, &make_amsgrad<float>,
       &make_amsgrad<double>},
      {"nadam",
       "m, v as adamw; mu_t = b1 (1 - 0.5 * 0.96^(t psi)); "
       "p -= lr ((1 - mu_t) g / (1 - prod mu) + mu_t+1 m / (1 - prod mu mu_t+1)) / (sqrt(v / (1 - b2^t)) + eps)",
       {{"lr", 0.002}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"psi", 0.004}, {"wd", 0}},
       &make_nadam<float>, &make_nadam<double>},
      {"lion", "c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g",
       {{"lr", 0.0001}, {"beta1", 0.9}, {"beta2", 0.99}, {"wd", 0}}, &make_lion<float>, &make_lion<double>},
      {"lbfgs",
       "d = -H g (two loops over the last history pairs s = p' - p, y = g' - g; H0 = s.y / y.y); "
       "p += t d, t from lr by a strong Wolfe line search; iters per step(closure)",
       {{"lr", 1}, {"iters", 20}, {"history", 100}, {"wolfe", 1}}, &make_lbfgs<float>, &make_lbfgs<double>},
  };
  return kinds;
}

bool OptimizerKind::uses(const std::string& key) const {
  return std::any_of(keys.begin(), keys.end(), [&](const Key& k) { return k.key == key; });
}

double OptimizerKind::default_of(const std::string& key) const {
  for (const Key& k : keys)
    if (k.key == key) return k.value;
  throw ValueError(fmt::format("optimizer '{}' does not use '{}' (it takes: {})", name, key, keys_text()));
}

std::string OptimizerKind::keys_text() const {
  std::vector<std::string> names;
  for (const Key& k : keys) names.push_back(k.key);
  return fmt::format("{}", fmt::join(names, " "));
}

std::string OptimizerKind::defaults_text() const {
  std::vector<std::string> pairs;
  for (const Key& k : keys) pairs.push_back(fmt::format("{}={:g}", k.key, k.value));
  return fmt::format("{}", fmt::join(pairs, " "));
}

std::string optimizers_markdown() {
  std::string out =
      "# Optimizers\n\n"
      "Generated from the optimizer table (`src/optim/table.cpp`), which the constructors, `OptimizerSpec::parse`, "
      "`tapegrad --help` and this page all read; `tests/test_optim.cpp` fails when this file and the table differ. "
      "Regenerate with `build/tapegrad optimizers > docs/reference/optimizers.md`.\n\n"
      "A spec names an optimizer and any of its keys: `momentum:lr=0.05,momentum=0.8`. A key left out takes the "
      "default below (the book's); a key the optimizer does not take is an error.\n\n"
      "| optimizer | update | keys and defaults |\n|---|---|---|\n";
  for (const OptimizerKind& kind : optimizer_kinds())
    out += fmt::format("| `{}` | `{}` | `{}` |\n", kind.name, kind.rule, kind.defaults_text());
  out += "\n| key | what it sets |\n|---|---|\n";
  for (const auto& [key, meaning] : optimizer_keys()) out += fmt::format("| `{}` | {} |\n", key, meaning);
  return out;
}

const OptimizerKind& optimizer_kind(const std::string& name) {
  for (const OptimizerKind& kind : optimizer_kinds())
    if (kind.name == name) return kind;
  std::vector<std::string> names;
  for (const OptimizerKind& kind : optimizer_kinds()) names.push_back(kind.name);
  throw ValueError(fmt::format("unknown optimizer '{}' ({})", name, fmt::join(names, ", ")));
}

namespace detail {
namespace {
// Where each spec key lives in OptimizerOptions: an optional (unset: the optimizer's default), or a number or a
// flag whose zero means "not given".
struct OptionField {
  const char* key;
  std::optional<double> OptimizerOptions::*optional = nullptr;
  double OptimizerOptions::*number = nullptr;
  bool OptimizerOptions::*flag = nullptr;
};
const OptionField& field(const std::string& key) {
  static const OptionField fields[] = {
      {"lr", &OptimizerOptions::lr},        {"momentum", &OptimizerOptions::momentum},
      {"decay", &OptimizerOptions::decay},  {"beta1", &OptimizerOptions::beta1},
      {"beta2", &OptimizerOptions::beta2},  {"eps", &OptimizerOptions::eps},
      {"h0", nullptr, &OptimizerOptions::initial_accumulator},
      {"wd", &OptimizerOptions::weight_decay},  {"psi", &OptimizerOptions::momentum_decay},
      {"iters", &OptimizerOptions::iterations},  {"history", &OptimizerOptions::history},
      {"wolfe", &OptimizerOptions::line_search},
      {"pytorch", nullptr, nullptr, &OptimizerOptions::pytorch_form},
  };
  for (const OptionField& f : fields)
    if (key == f.key) return f;
  throw ValueError(fmt::format("unknown optimizer key '{}'", key));
}
}  // namespace

std::optional<double> option_value(const OptimizerOptions& o, const std::string& key) {
  const OptionField& f = field(key);
  if (f.optional) return o.*f.optional;
  if (f.number) return o.*f.number != 0 ? std::optional<double>(o.*f.number) : std::nullopt;
  return o.*f.flag ? std::optional<double>(1) : std::nullopt;
}

void set_option(OptimizerOptions& o, const std::string& key, double value) {
  const OptionField& f = field(key);
  if (f.optional) o.*f.optional = value;
  else if (f.number) o.*f.number = value;
  else o.*f.flag = value != 0;
}
}  // namespace detail

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, std::vector<Parameter<T>*> params,
                                             const OptimizerOptions& o) {
  const OptimizerKind& kind = optimizer_kind(name);
  for (const auto& [key, meaning] : optimizer_keys())
    if (detail::option_value(o, key) && !kind.uses(key))
      throw ValueError(fmt::format("optimizer '{}' does not use '{}' (it takes: {})", name, key, kind.keys_text()));
  return kind.make<T>(std::move(params), o);
}

template std::unique_ptr<Optimizer<float>> make_optimizer(const std::string&, std::vector<Parameter<float>*>,
                                                          const OptimizerOptions&);
template std::unique_ptr<Optimizer<double>> make_optimizer(const std::string&, std::vector<Parameter<double>*>,
                                                           const OptimizerOptions&);

}  // namespace tapegrad
