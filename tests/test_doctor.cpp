// tapegrad::examine (the doctor): every check passes on a sound network and fails on one built to fail it.
#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

using Net = std::unique_ptr<tg::Sequential<double>>;

Net mlp(std::vector<std::size_t> sizes, tg::Activation a, tg::Init init, std::uint64_t seed = 1) {
  tg::Rng rng(seed);
  return tg::make_mlp<double>({std::move(sizes), a, init}, rng);
}

const tg::DoctorCheck& check_named(const tg::DoctorReport& r, const std::string& name) {
  for (const tg::DoctorCheck& c : r.checks)
    if (c.name == name) return c;
  FAIL("no check named " << name);
  return r.checks.front();
}

// A layer whose output ignores its input: Linear applied to zeros (the bug of a forward that reads the wrong
// variable). It cannot tell rows apart, so it cannot overfit them.
struct Blind : tg::Module<double> {
  tg::Linear<double> inner;
  explicit Blind(tg::Rng& rng) : inner(2, 3, tg::Init::he(), rng) { register_module("inner", inner); }
  V forward(tg::Tape<double>& tape, const V& x) override { return inner(tape, x * 0.0); }
};

// Normalises over the wrong axis: each row minus the batch's mean row, so rows leak into each other.
struct BatchMix : tg::Module<double> {
  V forward(tg::Tape<double>&, const V& x) override {
    return x - tg::broadcast_to(tg::mean(x, {0}, true), x.shape());
  }
  bool parameter_free() const override { return true; }
};

// x^3 with the derivative written as 2 x^2: a wrong backward rule.
struct WrongCube : tg::CustomOp<double> {
  T x;
  const char* name() const override { return "WrongCube"; }
  T forward(const tg::Inputs<double>& in) override {
    x = in[0];
    T y = x;
    for (double& v : y) v = v * v * v;
    return y;
  }
  std::vector<T> backward(const T& dout) override {
    T dx = dout;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= 2 * x[i] * x[i];
    return {dx};
  }
};
struct Cube : tg::Module<double> {
  V forward(tg::Tape<double>&, const V& x) override { return tg::apply<WrongCube>({x}); }
  bool parameter_free() const override { return true; }
};

// A parameter that is registered but never used in forward.
struct Forgotten : tg::Module<double> {
  tg::Linear<double> used;
  tg::Parameter<double> unused{"unused", T::zeros({3, 3})};
  explicit Forgotten(tg::Rng& rng) : used(2, 3, tg::Init::he(), rng) {
    register_module("used", used);
    register_parameter("unused", unused);
  }
  V forward(tg::Tape<double>& tape, const V& x) override { return used(tape, x); }
};

tg::DoctorOptions quick() {
  tg::DoctorOptions o;
  o.warmup_steps = 20;
  return o;
}

}  // namespace

TEST_CASE("doctor: a sound network passes every check, and is left as it was") {
  auto net = mlp({2, 32, 3}, tg::Activation::Tanh, tg::Init::xavier());
  std::vector<T> before;
  for (auto* p : net->parameters()) before.push_back(p->value);
  const tg::DoctorReport r = tg::examine(*net, testing::spiral(), quick());
  INFO(r.table());
  CHECK(r.passed());
  CHECK(r.checks.size() == 6);
  for (const tg::DoctorCheck& c : r.checks) CHECK(c.verdict == tg::Verdict::Pass);
  // the loss of the first step, hand-checked against the book's rule: ln(3) = 1.0986
  CHECK(check_named(r, "loss at initialisation").measured.find("x ln(3)") != std::string::npos);
  CHECK(check_named(r, "samples independent").measured.rfind("largest cross-row gradient 0 ", 0) == 0);
  CHECK(r.gradient_norms.size() == 4);
  CHECK(r.gradient_norms[0].first == "0.W");
  const auto after = net->parameters();
  for (std::size_t i = 0; i < after.size(); ++i) CHECK(after[i]->value == before[i]);
  CHECK(net->training());
  CHECK(r.table().find("gradient norms at initialisation:\n  0.W  ") != std::string::npos);
}

TEST_CASE("doctor: weights of std 10 make the first loss far above ln(classes)") {
  auto net = mlp({2, 64, 3}, tg::Activation::Tanh, tg::Init::fixed_std(10));
  const tg::DoctorCheck c = check_named(tg::examine(*net, testing::spiral(), quick()), "loss at initialisation");
  CHECK(c.verdict == tg::Verdict::Fail);
  CHECK(c.advice.find("too large") != std::string::npos);
}

TEST_CASE("doctor: a model blind to its input cannot overfit one small batch") {
  tg::Rng rng(2);
  Blind blind(rng);
  const tg::DoctorReport r = tg::examine(blind, testing::spiral(), quick());
  const tg::DoctorCheck& c = check_named(r, "overfit one small batch");
  CHECK(c.verdict == tg::Verdict::Fail);
  CHECK(c.measured.find("after 1000 steps on 16 rows") != std::string::npos);
  CHECK_FALSE(r.passed());
}

TEST_CASE("doctor: rows that leak into each other fail, BatchNorm in training mode is the known exception") {
  tg::Rng rng(3);
  tg::Sequential<double> leaking;
  leaking.add<BatchMix>();
  leaking.add<tg::Linear<double>>(2, 3, tg::Init::he(), rng);
  const tg::DoctorCheck mixed = check_named(tg::examine(leaking, testing::spiral(), quick()), "samples independent");
  CHECK(mixed.verdict == tg::Verdict::Fail);
  CHECK(mixed.advice.find("batch axis") != std::string::npos);
  tg::MlpSpec spec{{2, 16, 3}, tg::Activation::ReLU, tg::Init::he()};
  spec.batchnorm = true;
  auto bn = tg::make_mlp<double>(spec, rng);
  const tg::DoctorCheck expected = check_named(tg::examine(*bn, testing::spiral(), quick()), "samples independent");
  CHECK(expected.verdict == tg::Verdict::Expected);
  CHECK(expected.measured.find("in evaluation mode 0") != std::string::npos);
  CHECK(expected.advice.find("BatchNorm in training mode") != std::string::npos);
}

TEST_CASE("doctor: a layer with a wrong backward rule fails the per-layer gradient check, by name") {
  tg::Rng rng(4);
  tg::Sequential<double> net;
  net.add<tg::Linear<double>>(2, 8, tg::Init::xavier(), rng);
  net.add<Cube>();
  net.add<tg::Linear<double>>(8, 3, tg::Init::xavier(), rng);
  const tg::DoctorCheck c = check_named(tg::examine(net, testing::spiral(), quick()), "gradient check of every layer");
  CHECK(c.verdict == tg::Verdict::Fail);
  CHECK(c.measured.rfind("3 layers", 0) == 0);
  CHECK(c.advice.rfind("layer 1 (Cube) computes a gradient its forward does not have", 0) == 0);
  CHECK(c.advice.find("gradcheck of WrongCube") != std::string::npos);  // its table
}

TEST_CASE("doctor: ReLU units behind a large negative bias are dead after the first steps") {
  auto net = mlp({2, 32, 3}, tg::Activation::ReLU, tg::Init::he());
  for (auto& [name, p] : net->named_parameters())
    if (name == "0.b")
      for (double& v : p->value) v = -10;
  const tg::DoctorCheck c = check_named(tg::examine(*net, testing::spiral(), quick()), "units alive after the first steps");
  CHECK(c.verdict == tg::Verdict::Fail);
  CHECK(c.measured.rfind("layer 1 (ReLU): 100 % dead after 20 steps of adam (100 % at initialisation)", 0) == 0);
}

TEST_CASE("doctor: a parameter no gradient reaches, and gradients that vanish on the way down") {
  tg::Rng rng(5);
  Forgotten forgotten(rng);
  const tg::DoctorCheck none = check_named(tg::examine(forgotten, testing::spiral(), quick()),
                                           "gradients reach every parameter");
  CHECK(none.verdict == tg::Verdict::Fail);
  CHECK(none.measured == "unused gets no gradient");
  // ten sigmoid layers with weights of std 0.1: each passes on about 0.25 x 0.1 x sqrt(30) = 0.14 of the gradient
  auto deep = mlp({2, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 3}, tg::Activation::Sigmoid, tg::Init::fixed_std(0.1));
  const tg::DoctorCheck vanishing = check_named(tg::examine(*deep, testing::spiral(), quick()),
                                                "gradients reach every parameter");
  INFO(vanishing.measured);
  CHECK(vanishing.verdict == tg::Verdict::Fail);
  CHECK(vanishing.advice.find("vanish") != std::string::npos);
}

TEST_CASE("doctor: what it cannot examine is refused with the reason") {
  tg::Sequential<double> empty;
  empty.add<tg::ReLU<double>>();
  CHECK(testing::message_of<tg::ValueError>([&] { tg::examine(empty, testing::spiral()); })
            .find("has no parameters: there is nothing to train or check") != std::string::npos);
  auto net = mlp({2, 8, 5}, tg::Activation::ReLU, tg::Init::he());
  CHECK(testing::message_of<tg::ValueError>([&] { tg::examine(*net, testing::spiral()); })
            .find("outputs of shape (1, 5) for one row, but the data has 3 classes") != std::string::npos);
  auto right = mlp({2, 8, 3}, tg::Activation::ReLU, tg::Init::he());
  CHECK(testing::message_of<tg::ValueError>([&] { tg::examine(*right, testing::spiral().head(0)); }) ==
        "doctor: the data has no rows");
  tg::DoctorOptions zero;
  zero.batch = 0;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::examine(*right, testing::spiral(), zero); })
            .find("at least one row") != std::string::npos);
}
