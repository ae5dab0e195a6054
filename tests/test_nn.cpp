// Layers and networks: every layer gradient-checked with one call, plus values derived by hand.
#include "helpers.hpp"

using T = tg::Tensor<double>;

namespace {
tg::GradcheckReport check_module(tg::Module<double>& m, const T& x, tg::GradcheckOptions options = {}) {
  const auto report = tg::gradcheck_module(m, x, options);
  INFO(m.description());
  INFO(report.table());
  CHECK(report.passed());
  return report;
}
}  // namespace

TEST_CASE("every layer passes gradcheck on a batch, with a random upstream gradient") {
  tg::Rng rng(1);
  const T x = testing::kink_free({5, 4}, rng);
  SUBCASE("Linear") {
    tg::Linear<double> layer(4, 3, tg::Init::he(), rng);
    const auto report = check_module(layer, x);
    CHECK(report.entries.size() == 3);  // W, b, input
    CHECK(report["W"].checked == 12);
  }
  SUBCASE("Linear flattens N-d input") {
    tg::Linear<double> layer(6, 2, tg::Init::xavier(), rng);
    check_module(layer, testing::kink_free({3, 2, 3}, rng));
  }
  SUBCASE("ReLU") {
    tg::ReLU<double> layer;
    check_module(layer, x);
  }
  SUBCASE("Sigmoid") {
    tg::Sigmoid<double> layer;
    check_module(layer, x);
  }
  SUBCASE("Tanh") {
    tg::Tanh<double> layer;
    check_module(layer, x);
  }
  SUBCASE("Softmax") {
    tg::Softmax<double> layer;
    check_module(layer, x);
  }
  SUBCASE("Dropout, book and inverted, train and eval") {
    for (auto mode : {tg::Dropout<double>::Mode::Book, tg::Dropout<double>::Mode::Inverted}) {
      tg::Dropout<double> layer(0.3, 7, mode);
      check_module(layer, x);
      layer.set_training(false);
      check_module(layer, x);
    }
  }
  SUBCASE("BatchNorm in train mode and eval mode") {
    tg::BatchNorm<double> layer(4);
    layer.gamma.value = testing::kink_free({4}, rng);
    layer.beta.value = testing::kink_free({4}, rng);
    check_module(layer, x);
    layer.running_mean = testing::kink_free({4}, rng);
    layer.running_var = testing::positive({4}, rng);
    layer.set_training(false);
    check_module(layer, x);
  }
}

TEST_CASE("whole networks pass gradcheck: the book's TwoLayerNet and a deep MLP with batchnorm and dropout") {
  tg::Rng rng(2);
  auto two = tg::make_two_layer_net<double>(6, 5, 3, rng, tg::Activation::Sigmoid);
  check_module(*two, testing::kink_free({3, 6}, rng));
  tg::MlpSpec spec{{6, 8, 8, 4}, tg::Activation::Tanh, tg::Init::he(), true, 0.2};
  auto deep = tg::make_mlp<double>(spec, rng);
  check_module(*deep, testing::kink_free({5, 6}, rng));
}

TEST_CASE("fast mode checks a 784x100 Linear layer in a few directions") {
  tg::Rng rng(3);
  tg::Linear<double> layer(784, 100, tg::Init::he(), rng);
  tg::GradcheckOptions fast;
  fast.fast = true;
  fast.directions = 3;
  const auto report = check_module(layer, T::randn({2, 784}, rng), fast);
  CHECK(report["W"].checked == 3);
}

TEST_CASE("backward adds into existing parameter gradients rather than overwriting them") {
  tg::Rng rng(4);
  tg::Linear<double> layer(3, 2, tg::Init::he(), rng);
  const T x = T::randn({4, 3}, rng);
  const auto run = [&] {
    tg::Tape<double> tape;
    tg::sum(layer.forward(tape, tape.constant(x))).backward();
  };
  run();
  const T once = layer.W.grad();
  run();
  for (std::size_t i = 0; i < once.size(); ++i) CHECK(layer.W.grad()[i] == doctest::Approx(2 * once[i]));
}

TEST_CASE("weight init: the book's fixed std, Xavier sqrt(1/n) and He sqrt(2/n)") {
  tg::Rng rng(5);
  const auto measured_std = [](const T& w) {
    double s = 0;
    for (double v : w) s += v * v;
    return std::sqrt(s / double(w.size()));
  };
  CHECK(measured_std(tg::Linear<double>(400, 100, tg::Init::fixed_std(0.01), rng).W.value) ==
        doctest::Approx(0.01).epsilon(0.02));
  CHECK(measured_std(tg::Linear<double>(400, 100, tg::Init::xavier(), rng).W.value) ==
        doctest::Approx(std::sqrt(1.0 / 400)).epsilon(0.02));
  CHECK(measured_std(tg::Linear<double>(400, 100, tg::Init::he(), rng).W.value) ==
        doctest::Approx(std::sqrt(2.0 / 400)).epsilon(0.02));
  CHECK(tg::Linear<double>(3, 2, tg::Init::he(), rng).b.value == T{0, 0});
  CHECK(tg::Init::parse("0.05").std == 0.05);
  CHECK_THROWS_AS(tg::Init::parse("gaussian"), tg::ValueError);
}

TEST_CASE("Sequential names parameters by layer index and reports its layers") {
  tg::Rng rng(6);
  auto net = tg::make_mlp<double>({{4, 3, 2}, tg::Activation::ReLU, tg::Init::he(), true, 0}, rng);
  std::vector<std::string> names;
  for (const auto& [name, p] : net->named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"});
  CHECK(net->parameters()[0]->name == "W");  // the tree's names are not written into the parameters
  CHECK(net->buffers()[0].name == "1.running_mean");
  CHECK(net->parameter_count() == 4 * 3 + 3 + 3 + 3 + 3 * 2 + 2);
  CHECK(net->description() ==
        "(model): Sequential\n0: Linear(4 -> 3)\n1: BatchNorm(3, momentum 0.9, eps 1e-06)\n2: ReLU\n3: Linear(3 -> 2)\n");
}

TEST_CASE("Dropout: the book's form scales at test time, the inverted form at train time") {
  T x(tg::Shape{200, 50}, 1.0);
  tg::Tape<double> tape;
  tg::Dropout<double> book(0.4, 1);
  const T train = book.forward(tape, tape.constant(x)).value();
  double kept = 0;
  for (double v : train) kept += v;
  CHECK(kept / double(x.size()) == doctest::Approx(0.6).epsilon(0.03));
  book.set_training(false);
  CHECK(book.forward(tape, tape.constant(x)).value()[0] == doctest::Approx(0.6));
  tg::Dropout<double> inverted(0.4, 1, tg::Dropout<double>::Mode::Inverted);
  const T scaled = inverted.forward(tape, tape.constant(x)).value();
  for (double v : scaled) CHECK((v == 0.0 || v == doctest::Approx(1 / 0.6)));
  CHECK_THROWS_AS(tg::Dropout<double>(1.0, 1), tg::ValueError);
}

TEST_CASE("Dropout keyed to a step (set_random_step): the same step draws the same mask, in any order") {
  const T x(tg::Shape{20, 30}, 1.0);
  tg::Sequential<double> net;
  net.add<tg::Dropout<double>>(0.5, 3);
  net.add<tg::Dropout<double>>(0.5, 4);
  const auto mask_at = [&](std::uint64_t step) {
    tg::Tape<double> tape;
    net.set_random_step(step);
    return net(tape, tape.constant(x)).value();
  };
  const T at_5 = mask_at(5), at_6 = mask_at(6);
  CHECK_FALSE(at_5 == at_6);
  CHECK(mask_at(5) == at_5);  // after step 6 was drawn: no stream carried between steps
  tg::Tape<double> tape;
  const T streamed = net(tape, tape.constant(x)).value();  // without a new key the layers go on drawing
  CHECK_FALSE(streamed == at_5);
  // the two layers draw from their own seeds: their masks differ, so the product keeps about a quarter
  double kept = 0;
  for (double v : at_5) kept += v > 0;
  CHECK(kept / double(x.size()) == doctest::Approx(0.25).epsilon(0.25));
}

TEST_CASE("BatchNorm normalises each feature and tracks running statistics with momentum 0.9") {
  tg::BatchNorm<double> bn(2);
  tg::Tape<double> tape;
  const T x{{1, 10}, {3, 10}, {5, 40}};
  const T y = bn.forward(tape, tape.constant(x)).value();
  // feature 0: mean 3, biased var 8/3
  CHECK(y(0, 0) == doctest::Approx(-2 / std::sqrt(8.0 / 3 + 1e-6)));
  CHECK(y(1, 0) == doctest::Approx(0.0));
  CHECK(bn.running_mean[0] == doctest::Approx(0.1 * 3));
  CHECK(bn.running_mean[1] == doctest::Approx(0.1 * 20));
  CHECK(bn.running_var[1] == doctest::Approx(0.1 * 200));
  bn.set_training(false);
  const T z = bn.forward(tape, tape.constant(T{{0.3, 2}})).value();
  CHECK(z(0, 0) == doctest::Approx(0.0));
  CHECK_THROWS_AS(bn.forward(tape, tape.constant(T::zeros({2, 3}))), tg::ShapeError);
}

TEST_CASE("gradcheck_module leaves the module as it found it: running statistics, gradients, masks") {
  tg::Rng rng(7);
  auto net = tg::make_mlp<double>({{3, 4, 2}, tg::Activation::ReLU, tg::Init::he(), true, 0.3}, rng);
  const T x = testing::kink_free({6, 3}, rng);
  const T mean_before = *net->buffers()[0].tensor;
  const T w_before = net->parameters()[0]->value;
  CHECK(tg::gradcheck_module(*net, x).passed());
  CHECK(*net->buffers()[0].tensor == mean_before);
  CHECK(net->parameters()[0]->value == w_before);
  CHECK(net->parameters()[0]->grad() == T::zeros(w_before.shape()));
}
