// The learning-rate range test: a geometric schedule of rates, the loss recorded and smoothed, a stop when it
// diverges, the model and optimizer put back, and a suggestion near the rate a validation sweep picks.
#include <cmath>

#include "helpers.hpp"

using T = tg::Tensor<double>;

namespace {

std::unique_ptr<tg::Sequential<double>> spiral_net(std::uint64_t seed) {
  tg::Rng rng(seed);
  return tg::make_mlp<double>({{2, 32, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
}

// Validation accuracy after training a fresh net with SGD at `lr` (what compare --lr-sweep scores).
double validation_accuracy(const tg::Dataset& train, const tg::Dataset& valid, double lr) {
  auto net = spiral_net(3);
  auto sgd = tg::make_sgd<double>(net->parameters(), {lr});
  tg::TrainerOptions o = testing::quiet_options(40, 30, 5);
  tg::Trainer<double> trainer(*net, *sgd, o);
  try {
    trainer.fit(train);
  } catch (const tg::NumericError&) {
    return 0;  // diverged
  }
  return trainer.accuracy(valid);
}

}  // namespace

TEST_CASE("lr range test: geometric rates, a stop where the loss diverges, and the model and optimizer put back") {
  const tg::Dataset& data = testing::spiral();
  auto net = spiral_net(3);
  auto momentum = tg::make_momentum<double>(net->parameters(), {0.01});
  // give the optimizer some state first, so that putting it back is checked
  tg::Trainer<double> warm(*net, *momentum, testing::quiet_options(1, 30, 1));
  warm.fit(data);
  std::vector<T> before;
  for (auto* p : net->parameters()) before.push_back(p->value);
  const tg::OptimizerState<double> state = momentum->state();

  tg::LrRangeOptions o;
  o.start = 1e-4;
  o.end = 1e3;
  o.steps = 120;
  o.batch = 30;
  const tg::LrRangeResult r = tg::lr_range_test(*net, *momentum, data, o);
  REQUIRE(r.points.size() >= 5);
  CHECK(r.points[0].lr == 1e-4);
  const double ratio = std::pow(1e7, 1.0 / 119);
  for (std::size_t i = 1; i < r.points.size(); ++i)
    CHECK(r.points[i].lr == doctest::Approx(r.points[i - 1].lr * ratio).epsilon(1e-12));
  CHECK(r.stopped_early);  // 1e3 is far past what momentum survives
  CHECK(r.points.size() < 120);
  CHECK(r.points[0].smoothed_loss == doctest::Approx(r.points[0].loss).epsilon(1e-12));  // bias-corrected
  CHECK(r.suggested_lr == r.minimum_lr / 3);
  CHECK(r.rule.find("divided by 3") != std::string::npos);
  // everything put back: weights bit for bit, the optimizer's state and rate
  std::size_t k = 0;
  for (auto* p : net->parameters()) CHECK(p->value == before[k++]);
  const tg::OptimizerState<double> after = momentum->state();
  REQUIRE(after.tensors.size() == state.tensors.size());
  for (std::size_t i = 0; i < state.tensors.size(); ++i) CHECK(after.tensors[i].second == state.tensors[i].second);
  CHECK(momentum->learning_rate() == 0.01);
}

TEST_CASE("lr range test: its suggestion lands within 3x of the rate a validation sweep picks (spiral, SGD)") {
  // compare --lr-sweep's method: SGD's rate times 10, 3, 1, 1/3, 1/10, scored on a 20 % validation split
  const tg::Dataset& all = testing::spiral();
  std::vector<std::size_t> rows(all.rows);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = (i * 7919) % all.rows;  // a fixed shuffle
  const std::size_t cut = all.rows * 4 / 5;
  const tg::Dataset train = all.subset(std::vector<std::size_t>(rows.begin(), rows.begin() + cut));
  const tg::Dataset valid = all.subset(std::vector<std::size_t>(rows.begin() + cut, rows.end()));
  double best_rate = 0, best_accuracy = -1;
  for (double rate : {10.0, 3.0, 1.0, 1.0 / 3, 0.1}) {
    const double a = validation_accuracy(train, valid, rate);
    MESSAGE("sweep: lr ", rate, " validation accuracy ", a);
    if (a > best_accuracy) best_accuracy = a, best_rate = rate;
  }
  auto net = spiral_net(3);
  auto sgd = tg::make_sgd<double>(net->parameters(), {1.0});
  tg::LrRangeOptions o;
  o.start = 1e-3;
  o.end = 1e3;
  o.batch = 30;
  const tg::LrRangeResult r = tg::lr_range_test(*net, *sgd, train, o);
  MESSAGE("range test: ", r.rule, ", suggested ", r.suggested_lr, "; sweep picked ", best_rate);
  CHECK(best_rate == 1.0);  // the figures docs/tutorial/curvature-and-optimizers.md quotes
  CHECK(r.suggested_lr == doctest::Approx(0.95).epsilon(0.01));
  CHECK(r.suggested_lr >= best_rate / 3);
  CHECK(r.suggested_lr <= best_rate * 3);
}

TEST_CASE("lr range test refuses options that make no test, and empty data") {
  const tg::Dataset& data = testing::spiral();
  auto net = spiral_net(1);
  auto sgd = tg::make_sgd<double>(net->parameters(), {0.1});
  const auto message = [&](tg::LrRangeOptions o, const tg::Dataset& d) {
    return testing::message_of<tg::ValueError>([&] { tg::lr_range_test(*net, *sgd, d, o); });
  };
  tg::LrRangeOptions o;
  o.start = 0;
  CHECK(message(o, data) == "lr range test: needs 0 < start < end, both finite; got start 0 and end 10");
  o.start = 1;
  o.end = 1;
  CHECK(message(o, data).rfind("lr range test: needs 0 < start < end", 0) == 0);
  o = {};
  o.end = std::nan("");
  CHECK(message(o, data).rfind("lr range test: needs 0 < start < end", 0) == 0);
  o = {};
  o.steps = 4;
  CHECK(message(o, data) == "lr range test: needs at least 5 steps, got 4");
  o = {};
  o.smoothing = 1;
  CHECK(message(o, data) == "lr range test: smoothing must be in [0, 1), got 1");
  o = {};
  o.stop_factor = 1;
  CHECK(message(o, data) == "lr range test: stop_factor must be a finite number > 1, got 1");
  o = {};
  o.batch = 0;
  CHECK(message(o, data) == "lr range test: the batch size is 0");
  o = {};
  o.divisor = 0.5;
  CHECK(message(o, data) == "lr range test: divisor must be a finite number >= 1, got 0.5");
  CHECK(message({}, data.subset({})) == "lr range test: the data set is empty");
  tg::Dataset holed = data.subset({0, 1, 2, 3});
  holed.values[5] = std::nanf("");  // row 2, feature 1
  const std::string nan_message = message({}, holed);
  CHECK(nan_message.find("row 2") != std::string::npos);
  CHECK(nan_message.find("nan") != std::string::npos);
}
