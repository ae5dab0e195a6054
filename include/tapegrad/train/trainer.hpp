#pragma once
// The training loop: epochs of shuffled mini-batches, softmax cross-entropy on integer labels, evaluation
// each epoch, a history, callbacks, and progress on the terminal.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tapegrad/data/augment.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/schedule.hpp"
#include "tapegrad/train/checkpoint.hpp"
#include "tapegrad/train/collective.hpp"

namespace tapegrad {

/// A time as people read it: "45 s", "3 min 20 s", "1 h 05 min" (the epoch lines' time left, the program's bars).
std::string duration_text(double seconds);

struct TrainerOptions {
  std::size_t epochs = 5;        // the epoch to end after, counting those already done (start_epoch)
  std::size_t start_epoch = 0;   // epochs already done (resuming a run): epoch start_epoch + 1 comes next, with
                                 // the batch order and iteration count a straight run would have there
  std::size_t start_iteration = 0;  // steps already done when more than start_epoch whole epochs' (a run stopped
                                    // mid-epoch by max_iterations): epoch start_epoch + 1 goes on at the next step
  std::size_t batch_size = 100;
  std::size_t max_iterations = 0;  // > 0: stop after this many steps in all, mid-epoch if need be (the book's
                                   // "iters_num"); that last epoch's stats cover the batches it trained on
  std::uint64_t seed = 0;        // batch order; the same seed gives the same numbers
  bool evaluate_train = true;    // train-set accuracy each epoch (the book's train_acc)
  std::size_t eval_batch = 1000;
  enum class Progress { Auto, Bar, Lines, Quiet } progress = Progress::Auto;  // Auto: a bar on a terminal
  std::FILE* out = stdout;       // per-epoch lines
  std::string checkpoint;        // if set: model and optimizer saved here after every epoch (the last good one
  std::string checkpoint_metadata;  // survives a run that later diverges or is killed), with this metadata and
                                    // "epochs_done=N\niteration=I\n" appended (read_run_progress; N counts whole epochs)
  std::function<bool()> should_stop;  // polled after each step and while evaluating: true stops fit()
  std::function<void()> after_step;   // called after every step (progress of work that spans many runs)
  // Data parallel: the processes of `collective` (which must outlive fit) train one model. fit() first gives
  // every process process 0's parameters; each step, every process takes its share of the batch (the batch
  // size must divide among them), and one allreduce over one flat buffer (every gradient, the loss, the stop
  // flag) gives all the whole batch's mean gradient, so the optimizer steps are identical. Accuracy is counted
  // in shares too; lines, bar and checkpoint come from process 0 only. Models with buffers (BatchNorm) are
  // refused: their running statistics would differ between processes.
  Collective* collective = nullptr;
  // The learning rate of each step of fit(), from the optimizer's rate when the Trainer was made (constant: the
  // optimizer's own). A reduce-on-plateau schedule reads each epoch's mean training loss; it cannot resume
  // (start_epoch > 0), as its state is not in the checkpoint.
  ScheduleSpec schedule;
  GradientClip clip;  // applied to the whole batch's gradient, after backward and before the update
  // Applied to each training batch after it is gathered, drawn from (seed, step, row): a resumed or data-parallel
  // run draws what a straight run does. fit() refuses it (ValueError) for data that are not images.
  Augmentation augmentation;
};

struct EpochStats {
  std::size_t epoch = 0;         // 1-based
  std::size_t iterations = 0;    // total so far
  double train_loss = 0;         // mean over the epoch's batches
  double train_accuracy = -1;    // -1 when not evaluated
  double test_accuracy = -1;
  double seconds = 0;            // training time of the epoch (evaluation excluded)
  double learning_rate = 0;      // the rate of the epoch's last step
};

struct History {
  std::vector<double> loss;  // per iteration, computed in the forward pass of that iteration's batch
  std::vector<EpochStats> epochs;
};

template <class T>
class Trainer {
 public:
  /// Called after each epoch; return false to stop training.
  using Callback = std::function<bool(const EpochStats&, const History&)>;

  Trainer(Module<T>& model, Optimizer<T>& optimizer, TrainerOptions options = {});
  void add_callback(Callback callback) { callbacks_.push_back(std::move(callback)); }
  /// `before` runs after each step's backward and clipping, just before the optimizer's update, and `after` just
  /// after it (an L-BFGS step, which evaluates the loss many times, counts as one update). For monitors
  /// (TrainingMonitor's update-to-data ratios); either may be empty.
  void add_update_observer(std::function<void()> before, std::function<void()> after) {
    update_observers_.emplace_back(std::move(before), std::move(after));
  }

  /// Trains for options.epochs (or until a callback stops it). Checks the data first (ValueError: empty sets,
  /// train and test of different feature or class counts) so that nothing fails after the first epoch.
  /// NumericError if the loss stops being finite; Interrupted when should_stop() says so. Either way the
  /// checkpoint of the last completed epoch is left as it was, and the message says where it is.
  History fit(const Dataset& train, const Dataset* test = nullptr);
  /// One step on one batch: forward, backward, update. Returns the batch's loss. Data parallel: x is this
  /// process's share, `share` its fraction of the whole batch's rows, and the loss is the whole batch's.
  double step(const Tensor<T>& x, const std::vector<std::size_t>& labels, double share = 1);
  /// Fraction of rows whose largest logit is the label (evaluation mode, no gradients). Data parallel: a
  /// collective call, each process counting its share of the rows.
  double accuracy(const Dataset& data);
  /// Predicted class of each row (tapegrad::predict with options.eval_batch).
  std::vector<std::size_t> predict(const Dataset& data);

 private:
  Module<T>& model_;
  Optimizer<T>& optimizer_;
  TrainerOptions options_;
  std::vector<Callback> callbacks_;
  std::vector<std::pair<std::function<void()>, std::function<void()>>> update_observers_;
  void observe_update(bool before) const;
  Tape<T> tape_;  // cleared and reused each step
  Tensor<T> batch_x_;
  std::vector<std::size_t> batch_y_;
  std::size_t iteration_ = 0;
  void check_parameters_finite();
  std::size_t checkpointed_epoch_ = 0;  // the epoch the checkpoint file holds (0: none written yet)
  std::size_t evaluating_epoch_ = 0;    // the epoch whose accuracies are being measured (for a stop's message)
  std::string where_saved() const;      // "the last checkpoint is <path> (epoch N)", or that there is none
  std::vector<T> exchange_;             // data parallel: the flat buffer of each step's allreduce
  bool stop_requested_ = false;         // should_stop(), agreed by every process
  bool distributed() const { return options_.collective && options_.collective->size() > 1; }
  bool speaks() const { return !options_.collective || options_.collective->rank() == 0; }
  void check_distributed(std::size_t train_rows);
  double exchange_gradients(double loss, double share);
  void broadcast_parameters();
  double base_lr_;                       // the optimizer's rate when the Trainer was made: the schedule's start
  std::optional<LrSchedule> schedule_;   // during fit()
  std::vector<Parameter<T>*> params_;    // the model's, listed once per fit() (clipping needs them every step)
  const std::vector<Parameter<T>*>& model_parameters();  // params_, listed on first use outside fit()
};

/// How far the run that wrote a Trainer checkpoint had got.
struct RunProgress {
  std::size_t epochs_done = 0, iteration = 0;
};
/// Reads it from a checkpoint's metadata; DataError naming the file if the checkpoint was not written by a Trainer.
RunProgress read_run_progress(const std::string& path);
/// The same from a checkpoint read already (DataError naming its file).
RunProgress read_run_progress(const Checkpoint& checkpoint);

/// Each parameter's gradient L2 norm, as "  fc1.W 0.0123  fc1.b 0.0045 ..." (4 significant digits).
template <class T>
std::string gradient_norms_text(Module<T>& model);

/// Writes each parameter's gradient L2 norm after every epoch's last step, one line per epoch:
/// "grad norms epoch 3: fc1.W 0.0123  fc1.b 0.0045 ... (all 0.0130)". The model must outlive the trainer.
template <class T>
typename Trainer<T>::Callback gradient_norm_logger(Module<T>& model, std::FILE* out = stdout);

/// Stops when the test (or, without a test set, train) accuracy has not improved for `patience` epochs.
template <class T>
typename Trainer<T>::Callback early_stopping(std::size_t patience);

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace tapegrad
