#include "tapegrad/train/monitor.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

std::size_t Histogram::total() const {
  std::size_t n = 0;
  for (std::size_t c : counts) n += c;
  return n;
}

double Histogram::bin_low(std::size_t b) const {
  return low + (high - low) * static_cast<double>(b) / static_cast<double>(counts.size());
}

template <class T>
Histogram histogram_of(const Tensor<T>& values, std::size_t bins, const std::string& what) {
  if (bins < 2 || bins > 1000) throw ValueError(fmt::format("{}: {} histogram bins asked for; 2 to 1000", what, bins));
  if (values.size() == 0) throw ValueError(fmt::format("{}: no values to count", what));
  double low = values[0], high = values[0];
  for (const T v : values) {
    if (!std::isfinite(static_cast<double>(v)))
      throw NumericError(fmt::format("{}: holds a non-finite value ({}); the run diverged", what, v));
    low = std::min(low, static_cast<double>(v));
    high = std::max(high, static_cast<double>(v));
  }
  if (low == high) {
    low -= 0.5;
    high += 0.5;
  }
  Histogram h{low, high, std::vector<std::size_t>(bins, 0)};
  const double width = (high - low) / static_cast<double>(bins);
  for (const T v : values) {
    const auto bin = static_cast<std::size_t>((static_cast<double>(v) - low) / width);
    ++h.counts[std::min(bin, bins - 1)];
  }
  return h;
}

namespace {

// Population standard deviation.
template <class It>
double spread(It first, It last) {
  const double n = static_cast<double>(last - first);
  double mean = 0;
  for (It i = first; i != last; ++i) mean += static_cast<double>(*i);
  mean /= n;
  double sum = 0;
  for (It i = first; i != last; ++i) sum += (static_cast<double>(*i) - mean) * (static_cast<double>(*i) - mean);
  return std::sqrt(sum / n);
}

}  // namespace

template <class T>
struct TrainingMonitor<T>::State {
  struct Watched {
    std::string name, kind;
    Tensor<T> output, gradient;  // of the last training forward and backward
    double share = 0;            // inactive share of the last training forward
    double share_sum = 0;
    std::size_t forwards = 0;  // since the last epoch's end
    HookHandle forward_hook, backward_hook;
  };
  MonitorOptions options;
  std::vector<Watched> watched;
  std::vector<std::pair<std::string, Parameter<T>*>> parameters;
  std::vector<Tensor<T>> before;  // each parameter's value before the update
  std::vector<LayerRecord> records;
  std::vector<UpdateRatio> ratios;
  std::size_t steps = 0;
  bool initial_recorded = false;

  double inactive_share(const Watched& w, const Tensor<T>& y) const {
    if (y.size() == 0) return 0;
    if (w.kind == "ReLU") {
      const std::size_t rows = y.shape().rank() >= 2 ? y.shape()[0] : 1, units = y.size() / rows;
      std::size_t dead = 0;
      for (std::size_t j = 0; j < units; ++j) {
        bool alive = false;
        for (std::size_t i = 0; i < rows && !alive; ++i) alive = y[i * units + j] > 0;
        dead += !alive;
      }
      return static_cast<double>(dead) / static_cast<double>(units);
    }
    std::size_t saturated = 0;
    for (const T v : y) {
      const double centred = w.kind == "Tanh" ? static_cast<double>(v) : 2 * static_cast<double>(v) - 1;
      saturated += std::abs(centred) > options.saturation;
    }
    return static_cast<double>(saturated) / static_cast<double>(y.size());
  }

  void record(std::size_t epoch, bool mean_over_epoch) {
    for (Watched& w : watched) {
      if (w.output.size() == 0) continue;  // not called in training yet
      LayerRecord r;
      r.epoch = epoch;
      r.layer = w.name;
      r.kind = w.kind;
      r.activations = histogram_of(w.output, options.bins, fmt::format("layer {} ({}) outputs", w.name, w.kind));
      if (w.gradient.size() > 0)
        r.gradients = histogram_of(w.gradient, options.bins, fmt::format("layer {} ({}) gradients", w.name, w.kind));
      r.inactive_share = mean_over_epoch && w.forwards > 0 ? w.share_sum / static_cast<double>(w.forwards) : w.share;
      records.push_back(std::move(r));
    }
  }
};

template <class T>
TrainingMonitor<T>::TrainingMonitor(Module<T>& model, MonitorOptions options) : state_(std::make_unique<State>()) {
  if (options.bins < 2 || options.bins > 1000)
    throw ValueError(fmt::format("TrainingMonitor: {} histogram bins asked for; 2 to 1000", options.bins));
  if (!(options.saturation > 0 && options.saturation < 1))
    throw ValueError(fmt::format("TrainingMonitor: saturation {} is not in (0, 1)", options.saturation));
  State& s = *state_;
  s.options = options;
  s.parameters = model.named_parameters();
  State* state = state_.get();  // the hooks find their layer by position: the vector may grow meanwhile
  for (auto& [name, module] : model.named_modules()) {
    const char* kind = dynamic_cast<ReLU<T>*>(module)      ? "ReLU"
                       : dynamic_cast<Tanh<T>*>(module)    ? "Tanh"
                       : dynamic_cast<Sigmoid<T>*>(module) ? "Sigmoid"
                                                           : nullptr;
    if (kind == nullptr) continue;
    const std::size_t k = s.watched.size();
    s.watched.push_back({name.empty() ? "(model)" : name, kind, {}, {}, 0, 0, 0, {}, {}});
    s.watched[k].forward_hook = module->register_forward_hook([state, k](Module<T>& m, const Var<T>&, const Var<T>& y) {
      if (!is_grad_enabled() || !m.training()) return;  // evaluation
      typename State::Watched& w = state->watched[k];
      w.output = y.value();
      w.share = state->inactive_share(w, w.output);
      w.share_sum += w.share;
      ++w.forwards;
    });
    s.watched[k].backward_hook =
        module->register_backward_hook([state, k](Module<T>&, const Tensor<T>*, const Tensor<T>& g) {
          state->watched[k].gradient = g;
        });
  }
}

template <class T>
TrainingMonitor<T>::~TrainingMonitor() {
  for (auto& w : state_->watched) {
    w.forward_hook.remove();
    w.backward_hook.remove();
  }
}

template <class T>
void TrainingMonitor<T>::attach(Trainer<T>& trainer) {
  trainer.add_update_observer([this] { before_update(); }, [this] { after_update(); });
  trainer.add_callback([this](const EpochStats& e, const History&) {
    end_epoch(e.epoch);
    return true;
  });
}

template <class T>
void TrainingMonitor<T>::before_update() {
  State& s = *state_;
  if (!s.initial_recorded) {
    s.record(0, false);
    s.initial_recorded = true;
  }
  s.before.resize(s.parameters.size());
  for (std::size_t i = 0; i < s.parameters.size(); ++i) s.before[i] = s.parameters[i].second->value;
}

template <class T>
void TrainingMonitor<T>::after_update() {
  State& s = *state_;
  if (s.before.size() != s.parameters.size())
    throw ValueError("TrainingMonitor::after_update: called without before_update() first");
  ++s.steps;
  for (std::size_t i = 0; i < s.parameters.size(); ++i) {
    const Tensor<T>& now = s.parameters[i].second->value;
    const Tensor<T>& was = s.before[i];
    if (now.size() != was.size() || now.size() == 0) continue;
    std::vector<double> update(now.size());
    for (std::size_t e = 0; e < now.size(); ++e) update[e] = static_cast<double>(now[e]) - static_cast<double>(was[e]);
    const double data = spread(was.begin(), was.end()), change = spread(update.begin(), update.end());
    if (!(data > 0) || !(change > 0) || !std::isfinite(data) || !std::isfinite(change)) continue;
    s.ratios.push_back({s.steps, s.parameters[i].first, std::log10(change / data)});
  }
  s.before.clear();
}

template <class T>
void TrainingMonitor<T>::end_epoch(std::size_t epoch) {
  State& s = *state_;
  s.record(epoch, true);
  for (auto& w : s.watched) {
    w.share_sum = 0;
    w.forwards = 0;
  }
}

template <class T>
std::vector<std::string> TrainingMonitor<T>::layers() const {
  std::vector<std::string> names;
  for (const auto& w : state_->watched) names.push_back(w.name);
  return names;
}

template <class T>
const std::vector<LayerRecord>& TrainingMonitor<T>::layer_records() const { return state_->records; }

template <class T>
const std::vector<UpdateRatio>& TrainingMonitor<T>::update_ratios() const { return state_->ratios; }

template <class T>
std::string TrainingMonitor<T>::histograms_csv() const {
  std::string csv = "epoch,layer,kind,what,bin_low,bin_high,count\n";
  for (const LayerRecord& r : state_->records)
    for (const auto& [what, h] : {std::pair<const char*, const Histogram*>{"activation", &r.activations},
                                  std::pair<const char*, const Histogram*>{"gradient", &r.gradients}}) {
      for (std::size_t b = 0; b < h->counts.size(); ++b)
        csv += fmt::format("{},{},{},{},{:.9g},{:.9g},{}\n", r.epoch, r.layer, r.kind, what, h->bin_low(b),
                           h->bin_low(b + 1), h->counts[b]);
    }
  return csv;
}

template <class T>
std::string TrainingMonitor<T>::units_csv() const {
  std::string csv = "epoch,layer,kind,inactive_share\n";
  for (const LayerRecord& r : state_->records)
    csv += fmt::format("{},{},{},{:.9g}\n", r.epoch, r.layer, r.kind, r.inactive_share);
  return csv;
}

template <class T>
std::string TrainingMonitor<T>::update_ratios_csv() const {
  std::string csv = "step,parameter,log10_ratio\n";
  for (const UpdateRatio& u : state_->ratios) csv += fmt::format("{},{},{:.9g}\n", u.step, u.parameter, u.log10_ratio);
  return csv;
}

template Histogram histogram_of(const Tensor<float>&, std::size_t, const std::string&);
template Histogram histogram_of(const Tensor<double>&, std::size_t, const std::string&);
template class TrainingMonitor<float>;
template class TrainingMonitor<double>;

}  // namespace tapegrad
