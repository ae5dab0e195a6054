// Learning-rate schedules and gradient clipping: each against values computed by hand, alone and in the Trainer.
#include <cstdio>

#include "helpers.hpp"

namespace {
std::vector<double> rates(const std::string& spec, double lr, std::size_t total, std::size_t steps) {
  const tg::LrSchedule schedule(tg::ScheduleSpec::parse(spec), lr, total);
  std::vector<double> out;
  for (std::size_t t = 0; t < steps; ++t) out.push_back(schedule.rate(t));
  return out;
}
void check_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CAPTURE(i);
    CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-14));
  }
}
tg::Parameter<double> param(const std::string& name, std::vector<double> grad) {
  tg::Parameter<double> p(name, tg::Tensor<double>::zeros(tg::Shape{grad.size()}));
  for (std::size_t i = 0; i < grad.size(); ++i) p.grad()[i] = grad[i];
  return p;
}
}  // namespace

TEST_CASE("schedules: step, exponential, cosine and warm-up give the rates computed by hand") {
  check_close(rates("step:every=2,gamma=0.5", 0.1, 100, 6), {0.1, 0.1, 0.05, 0.05, 0.025, 0.025});
  check_close(rates("exp:gamma=0.9", 0.1, 100, 4), {0.1, 0.09, 0.081, 0.0729});
  // cosine over 4 iterations down to 0.01: 0.01 + 0.09 (1 + cos(pi t / 4)) / 2, then flat
  check_close(rates("cosine:period=4,min=0.01", 0.1, 100, 6),
              {0.1, 0.01 + 0.045 * (1 + std::sqrt(0.5)), 0.055, 0.01 + 0.045 * (1 - std::sqrt(0.5)), 0.01, 0.01});
  // warm-up: lr (t + 1) / 4 for four steps, then the step schedule from its own t = 0
  check_close(rates("step:every=2,gamma=0.5,warmup=4", 0.1, 100, 7), {0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.05});
  // cosine without a period spans the run after warm-up: 10 iterations, 2 of warm-up, so t = 6 is halfway
  CHECK(rates("cosine:warmup=2", 0.1, 10, 7)[6] == doctest::Approx(0.05).epsilon(1e-14));
  check_close(rates("constant", 0.1, 10, 2), {0.1, 0.1});
}

TEST_CASE("reduce-on-plateau: the rate falls by the factor after more than `patience` epochs without improvement") {
  tg::LrSchedule s(tg::ScheduleSpec::parse("plateau:factor=0.5,patience=1,min=0.03"), 0.1, 1000);
  const std::vector<std::pair<double, double>> loss_then_rate{
      {1.0, 0.1},    // the first epoch sets the best
      {0.9, 0.1},    // better
      {0.95, 0.1},   // one bad epoch: not more than the patience
      {0.89995, 0.1},  // not better than 0.9 by 1e-4 relative: a second bad epoch, more than the patience
  };
  for (const auto& [loss, rate] : loss_then_rate) {
    CHECK(s.rate(0) == doctest::Approx(rate));
    s.end_epoch(loss);
  }
  CHECK(s.rate(0) == doctest::Approx(0.05));  // reduced once, at the end of the fourth epoch
  s.end_epoch(0.95);
  s.end_epoch(0.95);
  CHECK(s.rate(0) == doctest::Approx(0.03));  // 0.025 would be below the minimum
}

TEST_CASE("schedules: impossible settings are errors naming the schedule, the key and what is accepted") {
  using S = tg::ScheduleSpec;
  CHECK_THROWS_WITH_AS(S::parse("linear"), "unknown schedule 'linear' in 'linear' (constant, step, exp, cosine, plateau)",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("exp:every=3"), "schedule 'exp:every=3': exp does not use 'every' (it takes: gamma warmup)",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("step:gamma=0.5"), "schedule 'step:gamma=0.5': step needs every=N (iterations between decays)",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("step:every=0"), "schedule 'step:every=0': every=0 must be a whole number of at least 1",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("exp:gamma=0"), "schedule 'exp:gamma=0': gamma=0 must be in (0, 1]", tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("exp:gamma=1.5"), "schedule 'exp:gamma=1.5': gamma=1.5 must be in (0, 1]", tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("plateau:factor=1"), "schedule 'plateau:factor=1': factor=1 must be in (0, 1)",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("cosine:min=-1"), "schedule 'cosine:min=-1': min=-1 must not be negative", tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("cosine:warmup=2.5"),
                       "schedule 'cosine:warmup=2.5': warmup=2.5 must be a whole number of at least 0", tg::ValueError);
  CHECK_THROWS_WITH_AS(S::parse("exp:gamma=0.5,gamma=0.6"), "schedule 'exp:gamma=0.5,gamma=0.6': 'gamma' is given twice",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::LrSchedule(S::parse("cosine:min=0.5"), 0.1, 10),
                       "schedule 'cosine:min=0.5': min=0.5 is above the learning rate 0.1", tg::ValueError);
  CHECK(S::parse("step:every=3,gamma=0.5,warmup=10").str() == "step:every=3,gamma=0.5,warmup=10");
  CHECK(S::parse("constant").str() == "constant");
}

TEST_CASE("clipping by global norm and by value, as PyTorch's clip_grad_norm_ and clip_grad_value_") {
  tg::Parameter<double> a = param("a", {3, 0}), b = param("b", {4});
  const std::vector<tg::Parameter<double>*> both{&a, &b};
  CHECK(tg::gradient_norm(both) == doctest::Approx(5));
  CHECK(tg::clip_gradient_norm(both, 10.0) == doctest::Approx(5));  // under the threshold: unchanged
  CHECK(a.grad()[0] == 3);
  CHECK(tg::clip_gradient_norm(both, 1.0) == doctest::Approx(5));
  CHECK(a.grad()[0] == doctest::Approx(3 / (5 + 1e-6)).epsilon(1e-15));
  CHECK(b.grad()[0] == doctest::Approx(4 / (5 + 1e-6)).epsilon(1e-15));
  tg::Parameter<double> c = param("c", {-3, 0.2, 5});
  tg::clip_gradient_values(std::vector<tg::Parameter<double>*>{&c}, 1.0);
  CHECK(c.grad()[0] == -1);
  CHECK(c.grad()[1] == 0.2);
  CHECK(c.grad()[2] == 1);
  CHECK_THROWS_WITH_AS(tg::clip_gradient_norm(both, 0.0),
                       "clip_gradient_norm: max_norm must be a positive finite number, got 0", tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::GradientClip::parse("norm=0"), "clip 'norm=0': the threshold norm=0 must be positive",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::GradientClip::parse("value=-1"), "clip 'value=-1': the threshold value=-1 must be positive",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::GradientClip::parse("speed=1"), "clip 'speed=1': unknown key 'speed' (norm, value)",
                       tg::ValueError);
  CHECK(tg::GradientClip::parse("norm=1,value=0.5").str() == "norm=1,value=0.5");
}

namespace {
struct SmallRun {
  explicit SmallRun(double lr) : rng(3) {
    net = tg::make_mlp<double>({{2, 8, 3}, tg::Activation::Tanh, tg::Init::xavier(), false, 0}, rng);
    tg::OptimizerOptions o;
    o.lr = lr;
    opt = tg::make_sgd<double>(net->parameters(), o);
  }
  tg::TrainerOptions options(std::size_t epochs) const { return testing::quiet_options(epochs, 20, 4); }
  std::vector<double> flat_parameters() const {
    std::vector<double> out;
    for (tg::Parameter<double>* p : net->parameters())
      for (std::size_t i = 0; i < p->value.size(); ++i) out.push_back(p->value[i]);
    return out;
  }
  tg::Rng rng;
  std::unique_ptr<tg::Sequential<double>> net;
  std::unique_ptr<tg::Optimizer<double>> opt;
};
using testing::spiral;
}  // namespace

TEST_CASE("the Trainer follows its schedule step by step and reports each epoch's last rate") {
  SmallRun run(0.2);
  tg::TrainerOptions o = run.options(3);
  o.schedule = tg::ScheduleSpec::parse("step:every=7,gamma=0.5,warmup=3");
  std::vector<double> seen;
  o.after_step = [&] { seen.push_back(run.opt->learning_rate()); };
  tg::Trainer<double> trainer(*run.net, *run.opt, o);
  const tg::History h = trainer.fit(spiral());
  const std::size_t steps = 3 * 15;  // 300 rows in batches of 20
  check_close(seen, rates("step:every=7,gamma=0.5,warmup=3", 0.2, steps, steps));
  CHECK(h.epochs[0].learning_rate == doctest::Approx(seen[14]));
  CHECK(h.epochs[2].learning_rate == doctest::Approx(seen.back()));
}

TEST_CASE("the Trainer clips: no SGD step moves a weight by more than lr x the clip value, or the whole by lr x norm") {
  for (const std::string clip : {"value=0.001", "norm=0.002"}) {
    CAPTURE(clip);
    SmallRun run(1.0);
    tg::TrainerOptions o = run.options(1);
    o.clip = tg::GradientClip::parse(clip);
    std::vector<double> before = run.flat_parameters();
    double largest_element = 0, largest_norm = 0;
    o.after_step = [&] {
      const std::vector<double> now = run.flat_parameters();
      double squares = 0;
      for (std::size_t i = 0; i < now.size(); ++i) {
        largest_element = std::max(largest_element, std::abs(now[i] - before[i]));
        squares += (now[i] - before[i]) * (now[i] - before[i]);
      }
      largest_norm = std::max(largest_norm, std::sqrt(squares));
      before = now;
    };
    tg::Trainer<double> trainer(*run.net, *run.opt, o);
    trainer.fit(spiral());
    if (clip == "value=0.001") {
      CHECK(largest_element == doctest::Approx(0.001));  // the raw gradients are far larger: every step is clipped
    } else {
      CHECK(largest_norm == doctest::Approx(0.002).epsilon(1e-6));
    }
  }
  SmallRun run(1.0);
  tg::TrainerOptions o = run.options(1);
  o.clip.max_norm = -1;
  CHECK_THROWS_WITH_AS(tg::Trainer<double>(*run.net, *run.opt, o),
                       "trainer: a clip threshold must be positive (or 0: off), got -1", tg::ValueError);
}

TEST_CASE("gradient_norm_logger writes each parameter's gradient norm after each epoch's last step") {
  SmallRun run(0.1);
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  tg::Trainer<double> trainer(*run.net, *run.opt, run.options(2));
  trainer.add_callback(tg::gradient_norm_logger(*run.net, out));
  trainer.fit(spiral());
  std::rewind(out);
  char buffer[4096] = {};
  const std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, out);
  std::fclose(out);
  const std::string text(buffer, n);
  CHECK(text.find("grad norms epoch 1:") == 0);
  const std::size_t second = text.find("grad norms epoch 2:");
  REQUIRE(second != std::string::npos);
  // the last line's total is the norm of the gradients the last step left
  const std::string expected = fmt::format("(all {:.4g})\n", tg::gradient_norm(run.net->parameters()));
  CHECK(text.substr(text.size() - expected.size()) == expected);
  for (const auto& [name, p] : run.net->named_parameters())
    CHECK(text.find(fmt::format("  {} {:.4g}", name, tg::gradient_norm(std::vector<tg::Parameter<double>*>{p})),
                    second) != std::string::npos);
}

TEST_CASE("max_iterations stops fit after that many steps in all, mid-epoch, as the book's iters_num") {
  SmallRun run(0.1);
  tg::TrainerOptions o = run.options(10);
  o.max_iterations = 37;  // 15 batches an epoch: two whole epochs and 7 steps of the third
  tg::Trainer<double> trainer(*run.net, *run.opt, o);
  const tg::History h = trainer.fit(spiral());
  CHECK(h.loss.size() == 37);
  REQUIRE(h.epochs.size() == 3);
  CHECK(h.epochs[2].iterations == 37);
  double mean = 0;
  for (std::size_t i = 30; i < 37; ++i) mean += h.loss[i] / 7;
  CHECK(h.epochs[2].train_loss == doctest::Approx(mean));  // over the steps the epoch took
}
