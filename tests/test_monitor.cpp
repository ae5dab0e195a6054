// TrainingMonitor: activation and gradient histograms, dead and saturated units, update-to-data ratios, each
// checked on a model built to show the symptom (or its absence) and on hand-derived values.
#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

// The book's ch6 experiment (weight_init_activation_histogram.py): 1000 random rows of 100 features through five
// layers of 100 units, weights drawn with std `weight_std`, no biases worth speaking of.
std::unique_ptr<tg::Sequential<double>> five_layers(tg::Activation activation, tg::Init init, std::uint64_t seed) {
  tg::Rng rng(seed);
  return tg::make_mlp<double>({{100, 100, 100, 100, 100, 100, 10}, activation, init}, rng);
}

// One forward and backward of sum(net(x)) on `rows` random rows, then the monitor's initial record.
void one_step(tg::Sequential<double>& net, tg::TrainingMonitor<double>& monitor, std::size_t rows) {
  tg::Rng rng(7);
  const T x = T::randn({rows, 100}, rng);
  tg::Tape<double> tape;
  tg::sum(net(tape, tape.constant(x))).backward();
  monitor.before_update();
  monitor.after_update();
}

double share_of(const tg::TrainingMonitor<double>& m, const std::string& layer, std::size_t epoch) {
  for (const tg::LayerRecord& r : m.layer_records())
    if (r.layer == layer && r.epoch == epoch) return r.inactive_share;
  FAIL("no record of layer " << layer << " at epoch " << epoch);
  return -1;
}

}  // namespace

TEST_CASE("histogram_of counts into equal bins over the values' range") {
  const tg::Histogram h = tg::histogram_of(T{0.0, 1.0, 2.0, 3.0, 3.0}, 3, "x");
  CHECK(h.low == 0.0);
  CHECK(h.high == 3.0);
  CHECK(h.counts == std::vector<std::size_t>{1, 1, 3});  // [0,1) [1,2) [2,3]
  CHECK(h.total() == 5);
  const tg::Histogram one = tg::histogram_of(T{2.0, 2.0}, 4, "x");
  CHECK(one.low == 1.5);
  CHECK(one.high == 2.5);
  CHECK(one.total() == 2);
  CHECK(testing::message_of<tg::ValueError>([] { (void)tg::histogram_of(T(tg::Shape{0}), 4, "layer 3"); }) ==
        "layer 3: no values to count");
  const std::string m = testing::message_of<tg::NumericError>(
      [] { (void)tg::histogram_of(T{1.0, std::nan("")}, 4, "layer 3 (Tanh) outputs"); });
  CHECK(m.find("layer 3 (Tanh) outputs: holds a non-finite value") == 0);
  CHECK(testing::message_of<tg::ValueError>([] { (void)tg::histogram_of(T{1.0}, 1, "x"); }).find("2 to 1000") !=
        std::string::npos);
}

TEST_CASE("sigmoid layers saturate with weights of std 1 and not with Xavier's (the book's figures 6-10 and 6-12)") {
  auto wide = five_layers(tg::Activation::Sigmoid, tg::Init::fixed_std(1.0), 1);
  tg::TrainingMonitor<double> saturating(*wide);
  one_step(*wide, saturating, 1000);
  auto xavier = five_layers(tg::Activation::Sigmoid, tg::Init::xavier(), 1);
  tg::TrainingMonitor<double> healthy(*xavier);
  one_step(*xavier, healthy, 1000);
  CHECK(saturating.layers() == std::vector<std::string>{"1", "3", "5", "7", "9"});
  for (const std::string layer : {"1", "3", "5", "7", "9"}) {
    CAPTURE(layer);
    CHECK(share_of(saturating, layer, 0) > 0.5);
    CHECK(share_of(healthy, layer, 0) < 0.01);
  }
  // the book's figure 6-10: the outputs pile up at 0 and 1, the end bins hold most of them
  for (const tg::LayerRecord& r : saturating.layer_records()) {
    CHECK(r.activations.total() == 1000 * 100);
    CHECK(r.activations.counts.front() + r.activations.counts.back() > r.activations.total() / 4);
  }
}

TEST_CASE("ReLU units die under a large negative bias and live under He's init") {
  tg::Rng rng(2);
  auto dying = tg::make_mlp<double>({{100, 50, 50, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  for (auto& [name, p] : dying->named_parameters())
    if (name == "0.b")
      for (double& v : p->value) v = -10.0;  // every unit of the first layer is negative
  tg::TrainingMonitor<double> dead(*dying);
  one_step(*dying, dead, 64);
  CHECK(share_of(dead, "1", 0) == 1.0);
  auto he = tg::make_mlp<double>({{100, 50, 50, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::TrainingMonitor<double> alive(*he);
  one_step(*he, alive, 64);
  CHECK(share_of(alive, "1", 0) == 0.0);  // a unit dead for all 64 rows of random data: none at He's scale
  CHECK(share_of(alive, "3", 0) < 0.1);
}

TEST_CASE("a gradient histogram counts d(loss)/d(output) as backward computes it") {
  // loss = sum(W2 tanh(x W1 + b1) + b2): d(loss)/d(tanh output)[i, j] = sum_k W2[j, k] for every row i
  tg::Rng rng(4);
  auto net = tg::make_mlp<double>({{100, 3, 2}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  tg::TrainingMonitor<double> monitor(*net, {3, 0.97});
  one_step(*net, monitor, 5);
  const T& w2 = net->named_parameters()[2].second->value;  // (3, 2)
  T expected(tg::Shape{5, 3});
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 3; ++j) expected[i * 3 + j] = w2[j * 2] + w2[j * 2 + 1];
  const tg::Histogram want = tg::histogram_of(expected, 3, "expected");
  const tg::LayerRecord& r = monitor.layer_records().at(0);
  CHECK(r.gradients.counts == want.counts);
  CHECK(r.gradients.low == doctest::Approx(want.low).epsilon(1e-14));
  CHECK(r.gradients.high == doctest::Approx(want.high).epsilon(1e-14));
}

TEST_CASE("an update-to-data ratio is log10(std(update) / std(value)), as SGD's lr * std(grad) / std(W) shows") {
  tg::Rng rng(6);
  auto net = tg::make_mlp<double>({{2, 8, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  tg::OptimizerOptions o;
  o.lr = 0.1;
  const auto sgd = tg::make_optimizer<double>("sgd", net->parameters(), o);
  tg::TrainingMonitor<double> monitor(*net);
  tg::Tape<double> tape;
  const T x = tg::support::kink_free({4, 2}, rng);
  net->zero_grad();
  tg::softmax_cross_entropy((*net)(tape, tape.constant(x)), std::vector<std::size_t>{0, 1, 2, 1}).backward();
  const T w = net->parameters()[0]->value, g = net->parameters()[0]->grad();
  const auto stdev = [](const T& t, double k) {
    double mean = 0, sum = 0;
    for (double v : t) mean += k * v;
    mean /= static_cast<double>(t.size());
    for (double v : t) sum += (k * v - mean) * (k * v - mean);
    return std::sqrt(sum / static_cast<double>(t.size()));
  };
  monitor.before_update();
  sgd->step();
  monitor.after_update();
  const tg::UpdateRatio& first = monitor.update_ratios().at(0);
  CHECK(first.step == 1);
  CHECK(first.parameter == "0.W");
  CHECK(first.log10_ratio == doctest::Approx(std::log10(stdev(g, 0.1) / stdev(w, 1))).epsilon(1e-12));
  // the biases start at 0: their spread is 0, so no ratio is recorded for them at the first step
  for (const tg::UpdateRatio& u : monitor.update_ratios()) CHECK(u.parameter.find(".b") == std::string::npos);
  CHECK(testing::message_of<tg::ValueError>([&] { monitor.after_update(); }).find("without before_update") !=
        std::string::npos);
}

TEST_CASE("attached to a Trainer: a record per epoch from training steps only, and ratios that follow the rate") {
  const auto run = [](double lr) {
    tg::Rng rng(8);
    auto net = tg::make_mlp<double>({{2, 16, 16, 3}, tg::Activation::ReLU, tg::Init::he()}, rng);
    tg::OptimizerOptions o;
    o.lr = lr;
    const auto sgd = tg::make_optimizer<double>("sgd", net->parameters(), o);
    tg::TrainerOptions options = testing::quiet_options(3, 50, 1);
    options.eval_batch = 300;  // evaluation forwards of 300 rows must not be what the histograms count
    tg::Trainer<double> trainer(*net, *sgd, options);
    auto monitor = std::make_unique<tg::TrainingMonitor<double>>(*net);
    monitor->attach(trainer);
    trainer.fit(testing::spiral(), &testing::spiral());
    return std::make_pair(std::move(monitor), std::move(net));
  };
  const auto [slow, slow_net] = run(1e-4);
  const auto [fast, fast_net] = run(0.5);
  CHECK(slow->layer_records().size() == 2 * 4);  // 2 layers at epochs 0..3
  for (const tg::LayerRecord& r : slow->layer_records()) {
    CHECK(r.activations.total() == 50 * 16);
    CHECK(r.gradients.total() == 50 * 16);
  }
  CHECK(slow->update_ratios().size() >= 3 * 6 * 3);  // 18 steps, at least the three weights each
  // the weights' (a bias starts at 0, so its first updates are as large as its values whatever the rate)
  const auto weights_mean = [](const tg::TrainingMonitor<double>& m) {
    double sum = 0, n = 0;
    for (const auto& u : m.update_ratios())
      if (u.parameter.find(".W") != std::string::npos) {
        sum += u.log10_ratio;
        ++n;
      }
    return sum / n;
  };
  const double slow_mean = weights_mean(*slow), fast_mean = weights_mean(*fast);
  CHECK(slow_mean < -4);
  CHECK(fast_mean > -2.5);
  CHECK(fast_mean - slow_mean == doctest::Approx(std::log10(0.5 / 1e-4)).epsilon(0.2));
  const std::string csv = slow->units_csv();
  CHECK(csv.rfind("epoch,layer,kind,inactive_share\n0,1,ReLU,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 9);
  const std::string histograms = slow->histograms_csv();
  CHECK(std::count(histograms.begin(), histograms.end(), '\n') == 1 + 8 * 2 * 30);
  const std::string ratios = slow->update_ratios_csv();
  CHECK(ratios.rfind("step,parameter,log10_ratio\n1,0.W,", 0) == 0);
}

TEST_CASE("a monitor removes its hooks when it goes, and refuses bad settings") {
  tg::Rng rng(3);
  auto net = tg::make_mlp<double>({{2, 4, 2}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  { tg::TrainingMonitor<double> gone(*net); }
  tg::Tape<double> tape;
  tg::sum((*net)(tape, tape.variable(T{{1.0, 2.0}}))).backward();  // would touch the freed monitor (ASan)
  CHECK(testing::message_of<tg::ValueError>([&] { tg::TrainingMonitor<double>(*net, {1, 0.97}); })
            .find("1 histogram bins") != std::string::npos);
  for (const double s : {0.0, 1.0, std::nan("")})
    CHECK(testing::message_of<tg::ValueError>([&] { tg::TrainingMonitor<double>(*net, {30, s}); })
              .find("is not in (0, 1)") != std::string::npos);
  SUBCASE("a diverged layer is named") {
    net->named_parameters()[0].second->value[0] = std::nan("");
    tg::TrainingMonitor<double> monitor(*net);
    tg::Tape<double> t;
    tg::sum((*net)(t, t.constant(T{{1.0, 2.0}}))).backward();
    const std::string m = testing::message_of<tg::NumericError>([&] { monitor.before_update(); });
    CHECK(m.find("layer 1 (Tanh) outputs: holds a non-finite value") == 0);
  }
}
