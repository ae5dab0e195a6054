#include "tapegrad/train/lr_finder.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/data/batches.hpp"
#include "tapegrad/train/trainer.hpp"

namespace tapegrad {
namespace {

void check(const LrRangeOptions& o, const Dataset& data) {
  if (!(o.start > 0) || !std::isfinite(o.start) || !std::isfinite(o.end) || !(o.end > o.start))
    throw ValueError(fmt::format("lr range test: needs 0 < start < end, both finite; got start {} and end {}", o.start,
                                 o.end));
  if (o.steps < 5) throw ValueError(fmt::format("lr range test: needs at least 5 steps, got {}", o.steps));
  if (!(o.smoothing >= 0 && o.smoothing < 1))
    throw ValueError(fmt::format("lr range test: smoothing must be in [0, 1), got {}", o.smoothing));
  if (!(o.stop_factor > 1) || !std::isfinite(o.stop_factor))
    throw ValueError(fmt::format("lr range test: stop_factor must be a finite number > 1, got {}", o.stop_factor));
  if (!(o.divisor >= 1) || !std::isfinite(o.divisor))
    throw ValueError(fmt::format("lr range test: divisor must be a finite number >= 1, got {}", o.divisor));
  if (o.batch == 0) throw ValueError("lr range test: the batch size is 0");
  if (data.rows == 0) throw ValueError("lr range test: the data set is empty");
  data.validate();  // as Trainer::fit does: a NaN feature named by row and column, not a loss that is not finite
}

}  // namespace

template <class T>
LrRangeResult lr_range_test(Module<T>& model, Optimizer<T>& optimizer, const Dataset& data,
                            const LrRangeOptions& options) {
  check(options, data);
  if (optimizer.needs_closure())
    throw ValueError(fmt::format("lr range test: {} searches its own step along each direction (a line search), so "
                                 "its rate is not the step a range test varies; test a first-order optimizer",
                                 optimizer.name()));
  // what to put back: the weights, the optimizer's state and rate
  std::vector<Tensor<T>> weights;
  for (Parameter<T>* p : model.parameters()) weights.push_back(p->value);
  const OptimizerState<T> state = optimizer.state();
  const double rate = optimizer.learning_rate();
  const bool training = model.training();

  TrainerOptions quiet;
  quiet.progress = TrainerOptions::Progress::Quiet;
  Trainer<T> trainer(model, optimizer, quiet);
  const std::size_t batch = std::min(options.batch, data.rows);
  BatchSampler batches(data.rows, batch, true, options.seed, true);  // whole batches, a new order each pass
  std::size_t next = 0;
  Tensor<T> x;
  std::vector<std::size_t> labels;

  LrRangeResult result;
  double average = 0, best = std::numeric_limits<double>::infinity();
  model.set_training(true);
  try {
    for (std::size_t i = 0; i < options.steps; ++i) {
      const double lr =
          options.start * std::pow(options.end / options.start, double(i) / double(options.steps - 1));
      optimizer.set_learning_rate(lr);
      if (next == batches.batches()) {
        batches.next_epoch();
        next = 0;
      }
      data.gather(batches.indices(next++), batch, x, labels);
      const double loss = trainer.step(x, labels);
      average = options.smoothing * average + (1 - options.smoothing) * loss;
      const double smoothed = average / (1 - std::pow(options.smoothing, double(i + 1)));
      result.points.push_back({lr, loss, smoothed});
      if (!std::isfinite(smoothed) || smoothed > options.stop_factor * best) {
        result.stopped_early = true;
        break;
      }
      best = std::min(best, smoothed);
    }
  } catch (const NumericError&) {  // the step's own check: the loss or a parameter stopped being finite
    result.stopped_early = true;
  }
  // put everything back
  std::size_t k = 0;
  for (Parameter<T>* p : model.parameters()) p->value = weights[k++];
  optimizer.load_state(state);
  optimizer.set_learning_rate(rate);
  optimizer.zero_grad();
  model.set_training(training);

  if (result.points.empty())
    throw NumericError("lr range test: the loss was not finite at the first rate; lower start");
  const auto lowest = std::min_element(result.points.begin(), result.points.end(), [](const auto& a, const auto& b) {
    return a.smoothed_loss < b.smoothed_loss;
  });
  result.minimum_lr = lowest->lr;
  result.suggested_lr = lowest->lr / options.divisor;
  result.rule = fmt::format("the rate at the smoothed loss's minimum ({:.3g} at lr {:.3g}), divided by {:g}",
                            lowest->smoothed_loss, lowest->lr, options.divisor);
  return result;
}

template LrRangeResult lr_range_test(Module<float>&, Optimizer<float>&, const Dataset&, const LrRangeOptions&);
template LrRangeResult lr_range_test(Module<double>&, Optimizer<double>&, const Dataset&, const LrRangeOptions&);

}  // namespace tapegrad
