#include "tapegrad/train/trainer.hpp"
#include "tapegrad/train/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <memory>
#include <numeric>
#include <unistd.h>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/data/batches.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/train/checkpoint.hpp"
#include "train/progress.hpp"

namespace tapegrad {

std::string duration_text(double seconds) {
  if (seconds < 60) return fmt::format("{:.0f} s", seconds);
  const long s = long(seconds + 0.5);
  if (s < 3600) return fmt::format("{} min {:02} s", s / 60, s % 60);
  return fmt::format("{} h {:02} min", s / 3600, s % 3600 / 60);
}

template <class T>
Trainer<T>::Trainer(Module<T>& model, Optimizer<T>& optimizer, TrainerOptions options)
    : model_(model), optimizer_(optimizer), options_(options), base_lr_(optimizer.learning_rate()) {
  if (options_.epochs == 0) throw ValueError("trainer: epochs must be at least 1");
  for (const double threshold : {options_.clip.max_norm, options_.clip.max_value})
    if (!std::isfinite(threshold) || threshold < 0)
      throw ValueError(fmt::format("trainer: a clip threshold must be positive (or 0: off), got {}", threshold));
  if (options_.batch_size == 0) throw ValueError("trainer: the batch size must be at least 1");
  if (options_.eval_batch == 0) throw ValueError("trainer: the evaluation batch must be at least 1");
  if (model.parameters().empty())
    throw ValueError(fmt::format("trainer: the model ({}) has no parameters to train; did you register its layers "
                                 "(register_module / register_parameter)?",
                                 model.describe()));
}

// Every parameter finite, or a NumericError naming the first that is not: ReLU turns a NaN weight's output into
// 0, so a loss can stay finite while the weights are lost.
template <class T>
void Trainer<T>::check_parameters_finite() {
  for (const auto& [name, p] : model_.named_parameters()) {
    const Tensor<T>& w = p->value;
    for (std::size_t i = 0; i < w.size(); ++i)
      if (!std::isfinite(w.data()[i]))
        throw NumericError(fmt::format(
            "training: parameter '{}' holds {} at element {} after iteration {}; the learning rate ({:g}) is "
            "probably too large",
            name, w.data()[i], i, iteration_, optimizer_.learning_rate()));
  }
}

template <class T>
double Trainer<T>::step(const Tensor<T>& x, const std::vector<std::size_t>& labels, double share) {
  ++iteration_;
  model_.set_random_step(iteration_);  // dropout's masks keyed by the step: a resumed run draws the same
  // The loss of this batch and its gradients (exchanged, clipped): once per step, or as often as the optimizer
  // asks for it (L-BFGS's line search).
  const auto evaluate = [&] {
    tape_.clear();
    // backward writes the gradients over, or keeps a batch of one's weight gradients factored: SGD applies those
    // without writing them, and whatever reads one first (an exchange, clipping, the caller) has it written
    optimizer_.defer_grads();
    double value = 0;
    if (!labels.empty()) {  // a process's share of a short last batch can be empty
      const Var<T> loss = softmax_cross_entropy(model_(tape_, tape_.constant_ref(x)), labels);
      value = loss.item();
      // data parallel, a non-finite loss still goes through the exchange so that every process stops on it
      if (std::isfinite(value) || distributed()) loss.backward();
    }
    if (distributed()) value = exchange_gradients(value, share);
    if (!std::isfinite(value))
      throw NumericError(fmt::format(
          "training: the loss became {} at iteration {}; the learning rate ({:g}) is probably too large", value,
          iteration_, optimizer_.learning_rate()));
    if (options_.clip.max_norm > 0) clip_gradient_norm(model_parameters(), options_.clip.max_norm);
    if (options_.clip.max_value > 0) clip_gradient_values(model_parameters(), options_.clip.max_value);
    return value;
  };
  double value = 0;
  if (optimizer_.needs_closure()) {
    if (schedule_) optimizer_.set_learning_rate(schedule_->rate(iteration_ - 1));
    observe_update(true);
    value = optimizer_.step(evaluate);
  } else {
    value = evaluate();
    if (schedule_) optimizer_.set_learning_rate(schedule_->rate(iteration_ - 1));
    observe_update(true);
    optimizer_.step();
  }
  observe_update(false);
  // every 64 steps (a pass over the weights each step would cost a batch-1 step a third of its time), and
  // before every checkpoint
  if (iteration_ % 64 == 0) check_parameters_finite();
  return value;
}

template <class T>
void Trainer<T>::observe_update(bool before) const {
  for (const auto& [first, second] : update_observers_) {
    const std::function<void()>& observer = before ? first : second;
    if (observer) observer();
  }
}

template <class T>
const std::vector<Parameter<T>*>& Trainer<T>::model_parameters() {
  if (params_.empty()) params_ = model_.parameters();
  return params_;
}

// Each process's gradients and loss, weighted by its share of the batch, summed over all processes in one
// allreduce: the mean gradient of the whole batch, the same on every process. The stop flag rides along, so that
// every process stops after the same step.
template <class T>
double Trainer<T>::exchange_gradients(double loss, double share) {
  const std::vector<Parameter<T>*>& params = model_parameters();
  std::size_t n = 0;
  for (const Parameter<T>* p : params) n += p->grad().size();
  exchange_.resize(n + 2);
  T* slot = exchange_.data();
  for (const Parameter<T>* p : params)
    for (const T g : p->grad()) *slot++ = T(share) * g;
  exchange_[n] = T(share * loss);
  exchange_[n + 1] = options_.should_stop && options_.should_stop() ? T(1) : T(0);
  options_.collective->allreduce_sum(exchange_);
  slot = exchange_.data();
  for (Parameter<T>* p : params)
    for (T& g : p->grad()) g = *slot++;
  stop_requested_ = exchange_[n + 1] > 0;
  return double(exchange_[n]);
}

template <class T>
void Trainer<T>::broadcast_parameters() {
  const std::vector<Parameter<T>*> params = model_.parameters();
  exchange_.clear();
  for (const Parameter<T>* p : params) exchange_.insert(exchange_.end(), p->value.begin(), p->value.end());
  options_.collective->broadcast(exchange_);
  const T* slot = exchange_.data();
  for (Parameter<T>* p : params)
    for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] = *slot++;
}

template <class T>
void Trainer<T>::check_distributed(std::size_t train_rows) {
  const std::size_t processes = options_.collective->size();
  if (options_.batch_size % processes != 0)
    throw ValueError(fmt::format(
        "data-parallel training: the batch of {} does not divide among {} processes; use a multiple of {} (e.g. {})",
        options_.batch_size, processes, processes, (options_.batch_size / processes + 1) * processes));
  if (train_rows < processes)
    throw ValueError(fmt::format("data-parallel training: {} training rows cannot be shared by {} processes",
                                 train_rows, processes));
  const auto buffers = model_.buffers();
  if (!buffers.empty())
    throw ValueError(fmt::format(
        "data-parallel training: the model has buffers ({}: BatchNorm's running statistics?) that would differ "
        "between processes; synchronised BatchNorm is not implemented, so train it in one process",
        buffers.front().name));
}

template <class T>
std::string Trainer<T>::where_saved() const {
  if (options_.checkpoint.empty()) return "no checkpoint was asked for";
  if (checkpointed_epoch_ == 0) return fmt::format("no checkpoint was written yet ({})", options_.checkpoint);
  return fmt::format("the last checkpoint is {} (epoch {})", options_.checkpoint, checkpointed_epoch_);
}

namespace {
void check_data(const Dataset& train, const Dataset* test) {
  train.validate();
  if (train.rows == 0) throw ValueError(fmt::format("training: the training set '{}' is empty", train.name));
  if (!test) return;
  test->validate();
  if (test->rows == 0) throw ValueError(fmt::format("training: the test set '{}' is empty", test->name));
  if (test->features != train.features)
    throw ValueError(fmt::format("training: the test set '{}' has {} features, the training set '{}' {}", test->name,
                                 test->features, train.name, train.features));
  if (test->classes > train.classes)
    throw ValueError(fmt::format("training: the test set '{}' has {} classes, the training set '{}' only {}",
                                 test->name, test->classes, train.name, train.classes));
}
}  // namespace

template <class T>
History Trainer<T>::fit(const Dataset& train, const Dataset* test) {
  check_data(train, test);
  if (options_.augmentation.active() && train.image.rank() != 3)
    throw ValueError(fmt::format("trainer: augmentation '{}' moves image pixels; the data set '{}' holds no images "
                                 "(its samples are {})",
                                 options_.augmentation.str(), train.name, train.sample_shape().str()));
  if (distributed()) {
    check_distributed(train.rows);
    broadcast_parameters();  // the same initial weights everywhere: process 0's
  }
  if (options_.start_epoch >= options_.epochs)
    throw ValueError(fmt::format("trainer: {} epochs are done already; ask for more than {} (options.epochs)",
                                 options_.start_epoch, options_.epochs));
  BatchSampler sampler(train.rows, options_.batch_size, true, options_.seed);
  // A resumed run continues where a straight one would be: the same batch order, the same iteration count.
  for (std::size_t e = 0; e < options_.start_epoch; ++e) sampler.next_epoch();
  iteration_ = std::max(options_.start_epoch * sampler.batches(), options_.start_iteration);
  if (iteration_ >= (options_.start_epoch + 1) * sampler.batches())
    throw ValueError(fmt::format("trainer: start_iteration {} lies beyond epoch {} ({} batches each)",
                                 options_.start_iteration, options_.start_epoch + 1, sampler.batches()));
  std::size_t skip = iteration_ - options_.start_epoch * sampler.batches();  // done already in the first epoch
  checkpointed_epoch_ = options_.start_epoch;
  if (options_.max_iterations > 0 && iteration_ >= options_.max_iterations)
    throw ValueError(fmt::format("trainer: {} iterations are done already; max_iterations is {}", iteration_,
                                 options_.max_iterations));
  params_ = model_.parameters();
  schedule_.reset();
  if (!options_.schedule.constant()) {
    if (options_.schedule.kind == ScheduleSpec::Kind::Plateau && options_.start_epoch > 0)
      throw ValueError(fmt::format("trainer: schedule '{}' cannot resume a run (its state is not in the checkpoint)",
                                   options_.schedule.str()));
    const std::size_t steps = options_.epochs * sampler.batches();
    schedule_.emplace(options_.schedule, base_lr_,
                      options_.max_iterations > 0 ? std::min(steps, options_.max_iterations) : steps);
  }
  const bool bar = speaks() && (options_.progress == TrainerOptions::Progress::Bar ||
                                 (options_.progress == TrainerOptions::Progress::Auto && isatty(fileno(stderr))));
  const bool lines = speaks() && options_.progress != TrainerOptions::Progress::Quiet;
  History history;
  const auto fit_start = std::chrono::steady_clock::now();  // for the time left, evaluation included
  // The bar's time left: the time so far per batch this fit has trained, for the batches still to come (once an
  // epoch has ended, its evaluation is counted in)
  const std::size_t fit_batches = (options_.epochs - options_.start_epoch) * sampler.batches() - skip;
  std::size_t fit_batches_done = 0;
  const auto run_seconds_left = [&] {
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();
    if (fit_batches_done == 0 || spent < 0.5) return -1.0;
    return spent / double(fit_batches_done) * double(fit_batches - fit_batches_done);
  };
  for (std::size_t epoch = options_.start_epoch + 1; epoch <= options_.epochs; ++epoch) {
    if (epoch > options_.start_epoch + 1) sampler.next_epoch();
    model_.set_training(true);
    std::unique_ptr<detail::ProgressBar> progress;
    if (bar)
      progress = std::make_unique<detail::ProgressBar>(stderr, fmt::format("epoch {}/{}", epoch, options_.epochs),
                                                       sampler.batches());
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    std::size_t batches_done = 0;
    std::size_t b = skip;
    skip = 0;
    for (; b < sampler.batches(); ++b) {
      if (options_.max_iterations > 0 && iteration_ >= options_.max_iterations) break;
      // data parallel: process r of R takes rows [r n / R, (r + 1) n / R) of the batch's n
      const std::size_t rows = sampler.size(b);
      std::size_t begin = 0, count = rows;
      if (distributed()) {
        const std::size_t r = options_.collective->rank(), processes = options_.collective->size();
        begin = rows * r / processes;
        count = rows * (r + 1) / processes - begin;
      }
      train.gather(sampler.indices(b) + begin, count, batch_x_, batch_y_);
      if (options_.augmentation.active())
        augment(batch_x_, train.image, options_.augmentation, options_.seed, iteration_, sampler.indices(b) + begin);
      double loss = 0;
      try {
        loss = step(batch_x_, batch_y_, double(count) / double(rows));
      } catch (const NumericError& e) {
        throw NumericError(fmt::format("{}; {}", e.what(), where_saved()));
      }
      history.loss.push_back(loss);
      loss_sum += loss;
      ++batches_done;
      ++fit_batches_done;
      if (progress) progress->update(b + 1, loss, options_.max_iterations == 0 ? run_seconds_left() : -1);
      if (options_.after_step) options_.after_step();
      if (distributed() ? stop_requested_ : options_.should_stop && options_.should_stop()) {
        if (progress) progress->finish();
        throw Interrupted(fmt::format("interrupted in epoch {}/{} at iteration {}; {}", epoch, options_.epochs,
                                      iteration_, where_saved()));
      }
    }
    if (progress) progress->finish();
    EpochStats stats;
    stats.epoch = epoch;
    stats.iterations = iteration_;
    stats.train_loss = batches_done ? loss_sum / double(batches_done) : 0;
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    stats.learning_rate = optimizer_.learning_rate();
    if (schedule_) schedule_->end_epoch(stats.train_loss);
    evaluating_epoch_ = epoch;
    if (options_.evaluate_train) stats.train_accuracy = accuracy(train);
    if (test) stats.test_accuracy = accuracy(*test);
    history.epochs.push_back(stats);
    if (lines) {
      std::string line = fmt::format("epoch {:>2}/{}  loss {:.4f}", epoch, options_.epochs, stats.train_loss);
      if (stats.train_accuracy >= 0) line += fmt::format("  train acc {:.4f}", stats.train_accuracy);
      if (stats.test_accuracy >= 0) line += fmt::format("  test acc {:.4f}", stats.test_accuracy);
      line += fmt::format("  {:.2f} s", stats.seconds);
      const std::size_t done = epoch - options_.start_epoch, left = options_.epochs - epoch;
      if (left > 0 && options_.max_iterations == 0) {  // the epochs so far, evaluation included, as the measure
        const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();
        line += fmt::format(", about {} left", duration_text(spent / double(done) * double(left)));
      }
      fmt::print(options_.out, "{}\n", line);
      std::fflush(options_.out);
    }
    try {
      check_parameters_finite();
    } catch (const NumericError& e) {
      throw NumericError(fmt::format("{}; {}", e.what(), where_saved()));
    }
    if (!options_.checkpoint.empty()) {
      if (speaks())
        save_checkpoint(options_.checkpoint, model_, &optimizer_,
                        options_.checkpoint_metadata +
                            fmt::format("epochs_done={}\niteration={}\n",
                                        b == sampler.batches() ? epoch : epoch - 1, iteration_));
      checkpointed_epoch_ = epoch;
    }
    bool go_on = true;
    for (const Callback& callback : callbacks_) go_on = callback(stats, history) && go_on;
    if (!go_on) break;
    if (options_.max_iterations > 0 && iteration_ >= options_.max_iterations) break;
  }
  return history;
}

template <class T>
std::vector<std::size_t> Trainer<T>::predict(const Dataset& data) {
  return tapegrad::predict(model_, data, options_.eval_batch);
}

template <class T>
double Trainer<T>::accuracy(const Dataset& data) {
  if (data.rows == 0) throw ValueError(fmt::format("accuracy: the data set '{}' is empty", data.name));
  std::size_t begin = 0, end = data.rows;
  if (distributed()) {  // each process counts its share of the rows
    const std::size_t r = options_.collective->rank(), processes = options_.collective->size();
    begin = data.rows * r / processes;
    end = data.rows * (r + 1) / processes;
  }
  // in pieces of ten evaluation batches, so that a stop asked for while evaluating 60,000 rows is not kept waiting
  std::vector<double> correct{0};
  const std::size_t piece = options_.eval_batch * 10;
  for (std::size_t lo = begin; lo < end; lo += std::min(piece, end - lo)) {
    if (!distributed() && lo > begin && options_.should_stop && options_.should_stop())
      throw Interrupted(fmt::format("interrupted while evaluating epoch {}/{}, whose training is not saved; {}",
                                    evaluating_epoch_, options_.epochs, where_saved()));
    const std::size_t hi = lo + std::min(piece, end - lo);
    const std::vector<std::size_t> predicted = tapegrad::predict(model_, data, options_.eval_batch, lo, hi);
    for (std::size_t i = lo; i < hi; ++i) correct[0] += predicted[i - lo] == data.labels[i];
  }
  if (distributed()) options_.collective->allreduce_sum(correct);
  return correct[0] / double(data.rows);
}

RunProgress read_run_progress(const std::string& path) { return read_run_progress(Checkpoint(path)); }

RunProgress read_run_progress(const Checkpoint& checkpoint) {
  const std::string& path = checkpoint.path();
  const auto fields = checkpoint.fields();
  const auto number = [&](const char* key, std::size_t& out) {
    const auto it = fields.find(key);
    if (it == fields.end()) return false;
    char* stop = nullptr;
    out = std::strtoull(it->second.c_str(), &stop, 10);
    return !it->second.empty() && *stop == '\0';
  };
  RunProgress p;
  if (!number("epochs_done", p.epochs_done) || !number("iteration", p.iteration))
    throw DataError(fmt::format("{}: not written by a Trainer (no epochs_done and iteration in its metadata)", path));
  return p;
}

template <class T>
typename Trainer<T>::Callback early_stopping(std::size_t patience) {
  auto best = std::make_shared<double>(-1.0);
  auto since = std::make_shared<std::size_t>(0);
  return [=](const EpochStats& s, const History&) {
    const double score = s.test_accuracy >= 0 ? s.test_accuracy : s.train_accuracy;
    if (score > *best) {
      *best = score;
      *since = 0;
      return true;
    }
    return ++*since < patience;
  };
}

template <class T>
std::string gradient_norms_text(Module<T>& model) {
  std::string text;
  for (const auto& [name, p] : model.named_parameters())
    text += fmt::format("  {} {:.4g}", name, gradient_norm(std::vector<Parameter<T>*>{p}));
  return text;
}

template <class T>
typename Trainer<T>::Callback gradient_norm_logger(Module<T>& model, std::FILE* out) {
  return [&model, out](const EpochStats& s, const History&) {
    fmt::print(out, "grad norms epoch {}:{}  (all {:.4g})\n", s.epoch, gradient_norms_text(model),
               gradient_norm(model.parameters()));
    std::fflush(out);
    return true;
  };
}

template class Trainer<float>;
template class Trainer<double>;
template std::string gradient_norms_text<float>(Module<float>&);
template std::string gradient_norms_text<double>(Module<double>&);
template Trainer<float>::Callback gradient_norm_logger<float>(Module<float>&, std::FILE*);
template Trainer<double>::Callback gradient_norm_logger<double>(Module<double>&, std::FILE*);
template Trainer<float>::Callback early_stopping<float>(std::size_t);
template Trainer<double>::Callback early_stopping<double>(std::size_t);

}  // namespace tapegrad
