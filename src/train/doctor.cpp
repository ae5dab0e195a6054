#include "tapegrad/train/doctor.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include <fmt/format.h>

#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/nn/check.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/tensor/error.hpp"
#include "tapegrad/train/monitor.hpp"
#include "train/evaluation_mode.hpp"

namespace tapegrad {
namespace {

// The model's parameters, buffers and mode as they were: put back when a check that trains is done.
template <class T>
class KeepState {
 public:
  explicit KeepState(Module<T>& model) : model_(model), training_(model.training()) {
    for (Parameter<T>* p : model.parameters()) values_.push_back(p->value);
    for (const Buffer<T>& b : model.buffers()) buffers_.push_back(*b.tensor);
  }
  ~KeepState() {
    const auto params = model_.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
      params[i]->value = values_[i];
      params[i]->zero_grad();
    }
    const auto buffers = model_.buffers();
    for (std::size_t i = 0; i < buffers.size(); ++i) *buffers[i].tensor = buffers_[i];
    model_.set_training(training_);
  }
  KeepState(const KeepState&) = delete;
  KeepState& operator=(const KeepState&) = delete;

 private:
  Module<T>& model_;
  bool training_;
  std::vector<Tensor<T>> values_, buffers_;
};

template <class T>
struct Batch {
  Tensor<T> x;
  std::vector<std::size_t> labels;
};

// The rows every check reads: a seeded shuffle, so that a batch holds several classes even when the data is
// sorted by class (the first 16 rows of a sorted set would let a model that ignores its input "overfit" them).
struct RowOrder {
  std::vector<std::size_t> rows;
  RowOrder(std::size_t count, std::uint64_t seed) : rows(count) {
    for (std::size_t i = 0; i < count; ++i) rows[i] = i;
    Rng rng(seed);
    for (std::size_t i = count; i > 1; --i) std::swap(rows[i - 1], rows[rng.below(i)]);
  }
};

template <class T>
Batch<T> rows_of(const Dataset& data, const RowOrder& order, std::size_t first, std::size_t count) {
  std::vector<std::size_t> indices(count);
  for (std::size_t i = 0; i < count; ++i) indices[i] = order.rows[(first + i) % order.rows.size()];
  Batch<T> b;
  data.gather(indices.data(), count, b.x, b.labels);
  return b;
}

template <class T>
double mean_loss(Module<T>& model, const Batch<T>& b) {
  const detail::EvaluationMode<T> evaluating(model);
  const NoGradGuard no_grad;
  Tape<T> tape;
  return static_cast<double>(softmax_cross_entropy(model(tape, tape.constant(b.x)), b.labels).item());
}

// A few steps of `optimizer` on batches of `rows` from `first` on; the loss of the last.
template <class T>
void train_steps(Module<T>& model, Optimizer<T>& optimizer, const std::function<Batch<T>(std::size_t)>& batch_at,
                 std::size_t steps, TrainingMonitor<T>* monitor) {
  model.set_training(true);
  Tape<T> tape;
  for (std::size_t s = 0; s < steps; ++s) {
    const Batch<T> b = batch_at(s);
    tape.clear();
    optimizer.zero_grad();
    const Var<T> loss = softmax_cross_entropy(model(tape, tape.constant(b.x)), b.labels);
    if (!std::isfinite(static_cast<double>(loss.item())))
      throw NumericError(
          fmt::format("doctor: the loss became {} at step {} of {}", loss.item(), s + 1, optimizer.describe()));
    loss.backward();
    if (monitor) monitor->before_update();
    optimizer.step();
    if (monitor) monitor->after_update();
    if (monitor && s + 5 == steps) monitor->end_epoch(1);  // the last five steps make epoch 2's record
  }
  if (monitor) monitor->end_epoch(2);
}

// The loss the first training step sees: training mode (BatchNorm on the batch's statistics; the book's running
// statistics start at 0, so evaluation mode before training means nothing), the buffers put back.
template <class T>
double first_step_loss(Module<T>& model, const Batch<T>& b) {
  const KeepState<T> keep(model);
  model.set_training(true);
  const NoGradGuard no_grad;
  Tape<T> tape;
  return static_cast<double>(softmax_cross_entropy(model(tape, tape.constant(b.x)), b.labels).item());
}

template <class T>
DoctorCheck loss_at_initialisation(Module<T>& model, const Batch<T>& b, std::size_t classes,
                                   const DoctorOptions& o) {
  const double loss = first_step_loss(model, b), expected = std::log(static_cast<double>(classes));
  DoctorCheck c{"loss at initialisation", Verdict::Pass,
                fmt::format("{:.4g} = {:.2f} x ln({})", loss, loss / expected, classes),
                fmt::format("between ln({}) = {:.4g} / {:g} and x {:g}", classes, expected, o.init_factor, o.init_factor),
                ""};
  if (!(loss >= expected / o.init_factor && loss <= expected * o.init_factor)) {
    c.verdict = Verdict::Fail;
    c.advice = loss > expected ? "the first outputs are too large and confidently wrong: scale the last layer's "
                                 "weights down (or the initialisation)"
                               : "lower than guessing: is the label part of the input?";
  }
  return c;
}

template <class T>
DoctorCheck overfit_one_batch(Module<T>& model, const Dataset& data, const RowOrder& order, const DoctorOptions& o) {
  const KeepState<T> keep(model);
  const std::size_t rows = std::min(o.overfit_rows, data.rows);
  const Batch<T> b = rows_of<T>(data, order, 0, rows);
  OptimizerOptions adam;
  adam.lr = o.overfit_lr;
  const auto optimizer = make_optimizer<T>("adam", model.parameters(), adam);
  double loss = mean_loss(model, b);
  std::size_t steps = 0;
  while (steps < o.overfit_steps && loss >= o.overfit_loss) {
    const std::size_t chunk = std::min<std::size_t>(25, o.overfit_steps - steps);
    train_steps<T>(model, *optimizer, [&b](std::size_t) { return b; }, chunk, nullptr);
    steps += chunk;
    loss = mean_loss(model, b);
  }
  DoctorCheck c{"overfit one small batch", loss < o.overfit_loss ? Verdict::Pass : Verdict::Fail,
                fmt::format("loss {:.3g} after {} steps on {} rows", loss, steps, rows),
                fmt::format("below {:g} within {} steps (Adam lr {:g})", o.overfit_loss, o.overfit_steps, o.overfit_lr),
                ""};
  if (c.verdict == Verdict::Fail)
    c.advice = "the model cannot even memorise a few rows: does its output depend on its input, and does every "
               "layer get a gradient (see the norms)?";
  return c;
}

template <class T>
bool has_batchnorm(Module<T>& model) {
  for (auto& [name, m] : model.named_modules())
    if (dynamic_cast<BatchNorm<T>*>(m)) return true;
  return false;
}

// The largest |d(row k's output)/d(row j's input)| over j != k, against the largest over row k itself.
template <class T>
std::pair<double, double> coupling(Module<T>& model, const Batch<T>& b, bool training) {
  const KeepState<T> keep(model);
  model.set_training(training);
  Tape<T> tape;
  const Var<T> x = tape.variable(b.x);
  const Var<T> out = model(tape, x);
  const std::size_t rows = b.x.shape()[0], k = rows / 2, width = out.value().size() / rows;
  Tensor<T> mask(out.shape());
  for (std::size_t j = 0; j < width; ++j) mask[k * width + j] = static_cast<T>(1 + j % 3);
  sum(out * tape.constant(mask)).backward();
  const Tensor<T>& g = x.grad();
  const std::size_t features = g.size() / rows;
  double own = 0, others = 0;
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t f = 0; f < features; ++f) {
      const double v = std::abs(static_cast<double>(g[i * features + f]));
      (i == k ? own : others) = std::max(i == k ? own : others, v);
    }
  return {others, own};
}

template <class T>
DoctorCheck samples_independent(Module<T>& model, const Dataset& data, const RowOrder& order) {
  const Batch<T> b = rows_of<T>(data, order, 0, std::min<std::size_t>(4, data.rows));
  DoctorCheck c{"samples independent", Verdict::Pass, "",
                "d(one row's output)/d(another row's input) = 0 exactly", ""};
  if (b.x.shape()[0] < 2) {
    c.measured = "one row: nothing to compare";
    return c;
  }
  const auto [training_others, training_own] = coupling(model, b, true);
  c.measured = fmt::format("largest cross-row gradient {:.3g} (own row {:.3g})", training_others, training_own);
  if (training_others == 0) return c;
  if (has_batchnorm(model)) {
    const auto [evaluation_others, evaluation_own] = coupling(model, b, false);
    c.verdict = evaluation_others == 0 ? Verdict::Expected : Verdict::Fail;
    c.measured += fmt::format("; in evaluation mode {:.3g}", evaluation_others);
    c.advice = evaluation_others == 0
                   ? "BatchNorm in training mode normalises with the batch's statistics: rows depend on each other by "
                     "design; in evaluation mode they do not"
                   : "rows mix even in evaluation mode: a reduction or reshape over the batch axis?";
    return c;
  }
  c.verdict = Verdict::Fail;
  c.advice = "one row's output depends on other rows: a mean, softmax or reshape over the batch axis (axis 0)?";
  return c;
}

template <class T>
DoctorCheck every_layer_gradcheck(Module<T>& model, const Batch<T>& b, const DoctorOptions& o) {
  // each leaf layer's input, seen by a forward hook on a forward of two rows
  std::vector<std::pair<std::string, Module<T>*>> layers;
  std::vector<Tensor<T>> inputs;
  std::vector<HookHandle> hooks;
  for (auto& [name, m] : model.named_modules()) {
    if (m->named_modules().size() != 1 || (m->parameters().empty() && !m->parameter_free())) continue;  // leaves
    const std::size_t k = layers.size();
    layers.emplace_back(name.empty() ? "(model)" : name, m);
    inputs.emplace_back();
    hooks.push_back(m->register_forward_hook([&inputs, k](Module<T>&, const Var<T>& in, const Var<T>&) {
      if (inputs[k].size() == 0) inputs[k] = in.value();
    }));
  }
  {
    const KeepState<T> keep(model);
    const NoGradGuard no_grad;
    Tape<T> tape;
    Tensor<T> two(Shape{std::min<std::size_t>(2, b.x.shape()[0]), b.x.size() / b.x.shape()[0]});
    std::copy(b.x.begin(), b.x.begin() + static_cast<std::ptrdiff_t>(two.size()), two.begin());
    (void)model(tape, tape.constant(two));
  }
  for (HookHandle& h : hooks) h.remove();
  std::size_t checked = 0;
  double worst = 0;
  std::string worst_layer, failed, table;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    if (inputs[k].size() == 0) continue;  // not called
    // A layer without parameters (ReLU, pooling) gets every element checked: real inputs put some exactly at its
    // kinks (a zero patch of an image, ties in a pool), which full mode finds and leaves out, and random
    // directions cannot.
    GradcheckOptions options = o.gradcheck;
    if (layers[k].second->parameters().empty()) options.fast = false;
    const GradcheckReport report = gradcheck_module(*layers[k].second, inputs[k], options);
    ++checked;
    for (const GradcheckEntry& e : report.entries)
      if (e.max_rel_error > worst) {
        worst = e.max_rel_error;
        worst_layer = layers[k].first;
      }
    if (!report.passed() && failed.empty()) {
      failed = fmt::format("{} ({})", layers[k].first, layers[k].second->describe());
      table = report.table();
    }
  }
  DoctorCheck c{"gradient check of every layer", failed.empty() ? Verdict::Pass : Verdict::Fail,
                fmt::format("{} layers, largest relative error {:.2g}{}", checked, worst,
                            worst_layer.empty() ? "" : " (layer " + worst_layer + ")"),
                fmt::format("analytic = central differences ({}; layers without parameters: every element)",
                            o.gradcheck.fast ? "8 random directions" : "every element"),
                ""};
  if (!failed.empty())
    c.advice = fmt::format("layer {} computes a gradient its forward does not have; its check:\n{}", failed, table);
  return c;
}

template <class T>
DoctorCheck units_after_first_steps(Module<T>& model, const Dataset& data, const RowOrder& order,
                                    const DoctorOptions& o) {
  const KeepState<T> keep(model);
  TrainingMonitor<T> monitor(model);
  if (monitor.layers().empty())
    return {"units alive after the first steps", Verdict::Pass, "no ReLU, tanh or sigmoid layer", "", ""};
  const auto optimizer = make_optimizer<T>(o.optimizer, model.parameters());
  const std::size_t steps = std::max<std::size_t>(5, o.warmup_steps);
  const std::size_t rows = std::min(o.batch, data.rows);
  train_steps<T>(model, *optimizer, [&](std::size_t s) { return rows_of<T>(data, order, s * rows, rows); }, steps,
                 &monitor);
  double worst = -1, initial = 0;
  std::string layer, kind;
  for (const LayerRecord& r : monitor.layer_records())
    if (r.epoch == 2 && r.inactive_share > worst) {
      worst = r.inactive_share;
      layer = r.layer;
      kind = r.kind;
    }
  for (const LayerRecord& r : monitor.layer_records())
    if (r.epoch == 0 && r.layer == layer) initial = r.inactive_share;
  const bool relu = kind == "ReLU";
  DoctorCheck c{"units alive after the first steps", worst > o.inactive_limit ? Verdict::Fail : Verdict::Pass,
                fmt::format("layer {} ({}): {:.0f} % {} after {} steps of {} ({:.0f} % at initialisation)", layer, kind,
                            100 * worst, relu ? "dead" : "saturated", steps, o.optimizer.str(), 100 * initial),
                fmt::format("at most {:.0f} % {} in every layer", 100 * o.inactive_limit,
                            relu ? "dead" : "saturated"),
                ""};
  if (c.verdict == Verdict::Fail)
    c.advice = relu ? "ReLU units that output 0 for every row learn nothing: a smaller learning rate, He "
                      "initialisation, or biases that start at 0"
                    : "saturated units pass almost no gradient: smaller initial weights (Xavier) or inputs scaled to "
                      "about unit size";
  return c;
}

template <class T>
DoctorCheck gradients_reach_every_parameter(Module<T>& model, const Batch<T>& b, const DoctorOptions& o,
                                            std::vector<std::pair<std::string, double>>& norms) {
  const KeepState<T> keep(model);
  model.set_training(true);
  model.zero_grad();
  Tape<T> tape;
  softmax_cross_entropy(model(tape, tape.constant(b.x)), b.labels).backward();
  double smallest = std::numeric_limits<double>::infinity(), largest = 0;
  std::string smallest_name, largest_name, none;
  for (const auto& [name, p] : model.named_parameters()) {
    double squares = 0;
    for (const T g : p->grad()) squares += static_cast<double>(g) * static_cast<double>(g);
    norms.emplace_back(name, std::sqrt(squares));
    if (!std::isfinite(squares) || squares == 0) {
      if (none.empty()) none = name;
      continue;
    }
    if (p->value.shape().rank() < 2) continue;  // the spread compares weights (biases may start at 0)
    const double rms = std::sqrt(squares / static_cast<double>(p->value.size()));
    if (rms < smallest) smallest = rms, smallest_name = name;
    if (rms > largest) largest = rms, largest_name = name;
  }
  const double spread = largest > 0 && std::isfinite(smallest) ? largest / smallest : 1;
  DoctorCheck c{"gradients reach every parameter", Verdict::Pass,
                none.empty() ? fmt::format("weights' RMS gradient from {:.2g} ({}) to {:.2g} ({}): x{:.3g}", smallest,
                                           smallest_name, largest, largest_name, spread)
                             : fmt::format("{} gets no gradient", none),
                fmt::format("every gradient non-zero and finite, weights within x{:g}", o.gradient_spread), ""};
  if (!none.empty()) {
    c.verdict = Verdict::Fail;
    c.advice = fmt::format("{} is registered but its gradient is 0 or not finite: is it used in forward, or is a "
                           "value detached on the way?",
                           none);
  } else if (spread > o.gradient_spread) {
    c.verdict = Verdict::Fail;
    c.advice = fmt::format("{} gets a gradient {:.3g} times smaller than {}: gradients vanish (or explode) on the way "
                           "down; a better initialisation (He for ReLU, Xavier for tanh/sigmoid) or BatchNorm",
                           smallest_name, spread, largest_name);
  }
  return c;
}

const char* verdict_text(Verdict v) { return v == Verdict::Pass ? "pass" : v == Verdict::Fail ? "FAIL" : "expected"; }

}  // namespace

bool DoctorReport::passed() const {
  return std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) { return c.verdict == Verdict::Fail; });
}

std::string DoctorReport::table() const {
  std::vector<std::vector<std::string>> rows{{"check", "result", "measured", "passes when"}};
  for (const DoctorCheck& c : checks) rows.push_back({c.name, verdict_text(c.verdict), c.measured, c.rule});
  std::vector<std::size_t> width(4, 0);
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 4; ++i) width[i] = std::max(width[i], r[i].size());
  std::string text;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t i = 0; i < 4; ++i)
      text += fmt::format("{:<{}}{}", rows[r][i], i == 3 ? 0 : width[i], i == 3 ? "\n" : "  ");
    if (r == 0) text += std::string(width[0] + width[1] + width[2] + width[3] + 6, '-') + "\n";
  }
  for (const DoctorCheck& c : checks)
    if (!c.advice.empty()) text += fmt::format("{} ({}): {}\n", c.name, verdict_text(c.verdict), c.advice);
  if (!gradient_norms.empty()) {
    text += "\ngradient norms at initialisation:\n";
    std::size_t name_width = 0;
    for (const auto& [name, norm] : gradient_norms) name_width = std::max(name_width, name.size());
    for (const auto& [name, norm] : gradient_norms) text += fmt::format("  {:<{}}  {:.4g}\n", name, name_width, norm);
  }
  return text;
}

template <class T>
DoctorReport examine(Module<T>& model, const Dataset& data, const DoctorOptions& options) {
  if (model.parameters().empty())
    throw ValueError(fmt::format("doctor: the model ({}) has no parameters: there is nothing to train or check; did "
                                 "you register its layers (register_module, register_parameter)?",
                                 model.describe()));
  if (data.rows == 0) throw ValueError("doctor: the data has no rows");
  if (options.batch == 0 || options.overfit_rows == 0)
    throw ValueError("doctor: the batch and the batch to overfit need at least one row");
  const RowOrder order(data.rows, options.seed);
  const Batch<T> batch = rows_of<T>(data, order, 0, std::min(options.batch, data.rows));
  {
    const detail::EvaluationMode<T> evaluating(model);
    const NoGradGuard no_grad;
    Tape<T> tape;
    const Var<T> out = model(tape, tape.constant(rows_of<T>(data, order, 0, 1).x));
    if (out.shape().rank() != 2 || out.shape()[1] != data.classes)
      throw ValueError(fmt::format("doctor: the model gives outputs of shape {} for one row, but the data has {} "
                                   "classes: its last layer needs {} outputs",
                                   out.shape().str(), data.classes, data.classes));
  }
  DoctorReport report;
  report.checks.push_back(loss_at_initialisation(model, batch, data.classes, options));
  report.checks.push_back(overfit_one_batch(model, data, order, options));
  report.checks.push_back(samples_independent(model, data, order));
  report.checks.push_back(every_layer_gradcheck(model, batch, options));
  report.checks.push_back(units_after_first_steps(model, data, order, options));
  report.checks.push_back(gradients_reach_every_parameter(model, batch, options, report.gradient_norms));
  return report;
}

template DoctorReport examine(Module<float>&, const Dataset&, const DoctorOptions&);
template DoctorReport examine(Module<double>&, const Dataset&, const DoctorOptions&);

}  // namespace tapegrad
