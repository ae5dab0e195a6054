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
