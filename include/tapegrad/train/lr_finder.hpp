#pragma once
// The learning-rate range test (Smith 2015; fastai's lr_find): train from the model's current weights while the
// rate grows exponentially from `start` to `end`, one batch per rate, and record the loss. The loss falls while
// the rate is useful and blows up once it is too large; a rate a little below the minimum of the smoothed loss
// is a good one to train with. The model and the optimizer are left as they were found.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {

struct LrRangeOptions {
  double start = 1e-6;        // the first rate
  double end = 10;            // the last rate (the test stops earlier when the loss diverges)
  std::size_t steps = 100;    // rates tried, spaced evenly on a log scale, one batch each
  std::size_t batch = 100;
  double smoothing = 0.98;    // exponential moving average of the loss, bias-corrected (fastai's)
  double stop_factor = 4;     // stop once the smoothed loss exceeds this times its minimum so far
  double divisor = 3;         // the suggestion: the rate at the smoothed loss's minimum divided by this (Smith 2017:
                              // a third of the largest rate that still lowers the loss; fastai's rule of thumb: 10)
  std::uint64_t seed = 0;     // batch order
};

struct LrRangePoint {
  double lr = 0;
  double loss = 0;           // the batch's loss at that rate
  double smoothed_loss = 0;
};

struct LrRangeResult {
  std::vector<LrRangePoint> points;
  double minimum_lr = 0;     // where the smoothed loss is smallest
  double suggested_lr = 0;   // minimum_lr / divisor
  std::string rule;          // how suggested_lr was chosen, in words
  bool stopped_early = false;  // the loss diverged before `end` (or stopped being finite)
};

/// The range test for a classifier (softmax cross-entropy) on `data`. ValueError for start <= 0, end <= start,
/// non-finite rates, fewer than 5 steps, smoothing outside [0, 1), stop_factor <= 1, divisor < 1, a batch of 0,
/// empty data, or data that Dataset::validate refuses (a NaN or infinite feature).
/// The model's parameters and the optimizer's state and rate are restored afterwards.
template <class T>
LrRangeResult lr_range_test(Module<T>& model, Optimizer<T>& optimizer, const Dataset& data,
                            const LrRangeOptions& options = {});

extern template LrRangeResult lr_range_test(Module<float>&, Optimizer<float>&, const Dataset&, const LrRangeOptions&);
extern template LrRangeResult lr_range_test(Module<double>&, Optimizer<double>&, const Dataset&,
                                            const LrRangeOptions&);

}  // namespace tapegrad
