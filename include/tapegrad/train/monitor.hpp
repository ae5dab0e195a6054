#pragma once
// Looking inside a training run (the book's figures 6-10 to 6-14, Karpathy's update-to-data ratios, for any run):
// TrainingMonitor hooks every activation layer of a model and watches the optimizer's updates. It records, per
// epoch, histograms of each activation layer's outputs and of the gradients reaching them, the share of dead ReLU
// units and of saturated tanh and sigmoid outputs, and, per step, each parameter's update-to-data ratio.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/train/trainer.hpp"

namespace tapegrad {

struct MonitorOptions {
  std::size_t bins = 30;    // per histogram, in [2, 1000]
  // A tanh output is saturated when |y| > saturation, a sigmoid output when |2y - 1| > saturation (the same
  // point as tanh's, at half the input: sigmoid(x) = (1 + tanh(x / 2)) / 2). In (0, 1).
  double saturation = 0.97;
};

/// Counts of values in `bins` equal bins over [low, high] (the last bin holds high).
struct Histogram {
  double low = 0, high = 0;
  std::vector<std::size_t> counts;
  std::size_t total() const;
  /// Where bin b starts (bin_low(counts.size()) is high).
  double bin_low(std::size_t b) const;
};
/// A histogram of `values` over their own range (a single value: a range of width 1 around it). ValueError
/// naming `what` for an empty tensor or bins outside [2, 1000], NumericError for a non-finite value.
template <class T>
Histogram histogram_of(const Tensor<T>& values, std::size_t bins, const std::string& what);

/// One activation layer at the end of one epoch.
struct LayerRecord {
  std::size_t epoch = 0;    // 0: at initialisation (the first step's forward, before any update)
  std::string layer;        // its qualified name in the model ("1", "block.act")
  std::string kind;         // "ReLU", "Tanh" or "Sigmoid"
  Histogram activations;    // of its outputs in the epoch's last training step (epoch 0: the first)
  Histogram gradients;      // of d(loss)/d(output) in that step; empty when no gradient reached it
  // ReLU: the share of units (an output position, all but the batch axis) that are 0 for every row of a batch;
  // tanh and sigmoid: the share of outputs that are saturated. Mean over the epoch's steps (epoch 0: the first).
  double inactive_share = 0;
};

/// One parameter's update in one step: log10(std(update) / std(value before)), Karpathy's guide being about -3.
struct UpdateRatio {
  std::size_t step = 0;     // 1-based, counting the steps this monitor saw
  std::string parameter;    // qualified name
  double log10_ratio = 0;   // only recorded when both are finite and the value's spread is not 0
};

template <class T>
class TrainingMonitor {
 public:
  /// Hooks every ReLU, Tanh and Sigmoid module of `model`'s tree (forward hooks for the outputs, backward hooks
  /// for their gradients). They record training steps only (gradients on, training mode), so evaluation does not
  /// disturb them. The model must outlive the monitor; its hooks are removed when the monitor goes.
  explicit TrainingMonitor(Module<T>& model, MonitorOptions options = {});
  ~TrainingMonitor();
  TrainingMonitor(const TrainingMonitor&) = delete;
  TrainingMonitor& operator=(const TrainingMonitor&) = delete;

  /// Watches `trainer`'s updates and epochs (it must train this monitor's model, and the monitor outlive fit()).
  void attach(Trainer<T>& trainer);

  /// The watched layers' qualified names, in the order the model holds them.
  std::vector<std::string> layers() const;
  const std::vector<LayerRecord>& layer_records() const;
  const std::vector<UpdateRatio>& update_ratios() const;

  /// CSVs: "epoch,layer,kind,what,bin_low,bin_high,count" (what: activation or gradient), "epoch,layer,kind,
  /// inactive_share", and "step,parameter,log10_ratio".
  std::string histograms_csv() const;
  std::string units_csv() const;
  std::string update_ratios_csv() const;

  // The steps of a run, for a loop of your own instead of attach(): before_update() after backward, then the
  // update, then after_update(); end_epoch(e) after epoch e's last step.
  void before_update();
  void after_update();
  void end_epoch(std::size_t epoch);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

extern template class TrainingMonitor<float>;
extern template class TrainingMonitor<double>;

}  // namespace tapegrad
