// The checker itself: it must pass right gradients, fail wrong ones, and say where.
#include "helpers.hpp"

using V = tg::Var<double>;
using Vs = std::vector<V>;
using T = tg::Tensor<double>;

namespace {
// x * detach(x): the tape sees d/dx = x, the truth is 2x. A deliberately wrong gradient.
V wrong_square(tg::Tape<double>&, const Vs& v) { return v[0] * tg::detach(v[0]); }
}  // namespace

TEST_CASE("gradcheck fails a wrong gradient and names the worst element with both values") {
  const T x{{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
  const auto report = tg::gradcheck<double>(wrong_square, {x});
  CHECK_FALSE(report.passed());
  const auto& e = report["input0"];
  CHECK(e.checked == 6);
  CHECK(e.shape == tg::Shape{2, 3});
  // the numerical gradient is twice the analytic one, element by element
  CHECK(e.worst_numerical == doctest::Approx(2 * e.worst_analytic).epsilon(1e-6));
  CHECK(e.max_rel_error == doctest::Approx(0.5).epsilon(1e-6));
  const std::string table = report.table();
  CHECK(table.find("FAIL") != std::string::npos);
  CHECK(table.find("input0") != std::string::npos);
}

TEST_CASE("gradcheck's book figure: mean |analytic - numerical| is tiny for a right gradient") {
  tg::Rng rng(4);
  const auto report = testing::check([](auto&, const Vs& v) { return tg::tanh(tg::matmul(v[0], v[1])); },
                                     {T::randn({3, 4}, rng), T::randn({4, 2}, rng)});
  CHECK(report["input0"].mean_abs_error < 1e-8);
  CHECK(report["input1"].checked == 8);
}

TEST_CASE("fast mode passes right gradients and catches wrong ones with a few directions") {
  tg::Rng rng(5);
  tg::GradcheckOptions fast;
  fast.fast = true;
  fast.directions = 4;
  const auto good = tg::gradcheck<double>(
      [](auto&, const Vs& v) { return tg::sigmoid(tg::matmul(v[0], v[1])); },
      {T::randn({6, 30}, rng), T::randn({30, 5}, rng)}, fast);
  INFO(good.table());
  CHECK(good.passed());
  CHECK(good["input1"].checked == 4);
  const auto bad = tg::gradcheck<double>(wrong_square, {T::randn({40}, rng)}, fast);
  CHECK_FALSE(bad.passed());
}

TEST_CASE("gradcheck restores the inputs it perturbs") {
  tg::Parameter<double> w("w", T{{1.0, 2.0}, {3.0, 4.0}});
  const T before = w.value;
  const auto report = tg::gradcheck<double>([&](tg::Tape<double>& t) { return tg::exp(t.parameter(w)); }, {&w});
  CHECK(report.passed());
  CHECK(w.value == before);
}

TEST_CASE("numerical_gradient perturbs and restores tensors of any rank") {
  T x(tg::Shape{2, 2, 2});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(i) - 3.5;
  const T before = x;
  const T g = tg::numerical_gradient<double>(
      [](const T& v) {
        double s = 0;
        for (double e : v) s += e * e * e;
        return s;
      },
      x);
  CHECK(x == before);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(g[i] == doctest::Approx(3 * x[i] * x[i]).epsilon(1e-7));
}

namespace {
// A user's op with a re-evaluation rule and a wrong backward (2x^2 for the cube's 3x^2).
struct WrongCube final : tg::Op<double> {
  void backward(tg::BackwardContext<double>& d) override {
    if (!d.needs_grad(0)) return;
    for (std::size_t i = 0; i < d.output().size(); ++i)
      d.input_grad(0)[i] += d.grad_output()[i] * 2 * d.input(0)[i] * d.input(0)[i];
  }
  bool reevaluate(tg::ChangeContext<double>& c) const override {
    for (std::size_t i : c.changed(0)) c.set(i, c.input(0)[i] * c.input(0)[i] * c.input(0)[i]);
    return true;
  }
};
V wrong_cube(const V& x) {
  auto r = tg::record<WrongCube>("wrong_cube", {x});
  r.output = x.value();
  for (double& v : r.output) v = v * v * v;
  return tg::finish(r.var);
}
tg::GradcheckOptions running_f() {
  tg::GradcheckOptions o;
  o.incremental = false;
  return o;
}
}  // namespace

TEST_CASE("incremental full mode: the same differences as running f, in a fraction of the evaluations") {
  tg::Rng rng(11);
  for (int trial = 0; trial < 3; ++trial) {
    const std::size_t n = 1 + rng.below(4), in = 1 + rng.below(6), hidden = 1 + rng.below(5), out = 1 + rng.below(3);
    // affine, broadcast mul, tanh, a transposed matmul, sigmoid, sub: rules of every kind on random shapes
    const auto f = [](auto&, const Vs& v) {
      const V h = tg::tanh(tg::affine(v[0], v[1], v[2]) * v[3]);
      return tg::sigmoid(tg::matmul(h, v[4], false, true)) - v[3].tape().scalar(0.5);
    };
    const std::vector<T> inputs{T::randn({n, in}, rng), T::randn({in, hidden}, rng), T::randn({hidden}, rng),
                                T::randn({hidden}, rng), T::randn({out, hidden}, rng)};
    const auto incremental = tg::gradcheck<double>(f, inputs);
    const auto by_running_f = tg::gradcheck<double>(f, inputs, running_f());
    INFO(incremental.table());
    CHECK(incremental.passed());
    CHECK(by_running_f.passed());
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const auto& a = incremental.entries[k];
      const auto& b = by_running_f.entries[k];
      CAPTURE(a.name);
      // both within rounding of the analytic gradient, so of each other (the worst element is then rounding's pick)
      CHECK(a.max_abs_error < 1e-8);
      CHECK(b.max_abs_error < 1e-8);
      // up to 3 sampled elements run f both ways, every other perturbation only recomputes what it changes
      CHECK(a.full_evaluations <= 6);
      CHECK(a.incremental_evaluations >= 2 * inputs[k].size());
      CHECK(b.incremental_evaluations == 0);
      CHECK(b.full_evaluations == 2 * inputs[k].size());
    }
  }
}

TEST_CASE("incremental full mode runs a user op's reevaluate rule, and its numbers still catch a wrong backward") {
  const T x{{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
  const auto report = tg::gradcheck<double>([](auto&, const Vs& v) { return wrong_cube(v[0]); }, {x});
  const auto& e = report["input0"];
  CHECK_FALSE(report.passed());
  CHECK(e.incremental_evaluations >= 12);
  CHECK(e.worst_index == std::vector<std::size_t>{0, 2});
  CHECK(e.worst_analytic == doctest::Approx(e.worst_numerical * 2 / 3).epsilon(1e-6));
}

TEST_CASE("incremental full mode falls back to running f where recomputing what changed would be wrong") {
  tg::Rng rng(12);
  const T x = T::randn({3, 4}, rng);
  // x * detach(x): the recorded tape cannot see that the detached copy changes with x; the sampled elements
  // disagree, so every perturbation runs f, and the wrong gradient is caught
  const auto report = tg::gradcheck<double>(wrong_square, {x});
  CHECK_FALSE(report.passed());
  CHECK(report["input0"].full_evaluations >= 24);
  CHECK(report["input0"].worst_numerical == doctest::Approx(2 * report["input0"].worst_analytic).epsilon(1e-6));
  // an op without a rule (softmax has none) runs f as well
  tg::Parameter<double> w("w", x);
  const auto passes =
      tg::gradcheck<double>([&](tg::Tape<double>& t) { return tg::softmax(tg::tanh(t.parameter(w))); }, {&w});
  CHECK(passes.passed());
  CHECK(passes["w"].incremental_evaluations == 0);
  CHECK(passes["w"].full_evaluations == 24);
}
