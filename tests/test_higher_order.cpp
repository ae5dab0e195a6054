// Gradients of gradients: grad() and backward(kCreateGraph), gradgradcheck over every op and layer,
// Hessian-vector products, and the errors that say what to do.
#include <cmath>

#include "helpers.hpp"

using testing::kink_free;
using T = tg::Tensor<double>;
using V = tg::Var<double>;

namespace {

V scalar_variable(tg::Tape<double>& tape, double x) { return tape.variable(T::scalar(x)); }

// The n-th derivative of f at x, each order recorded from the one before.
std::vector<double> derivatives(const std::function<V(const V&)>& f, double x, int orders) {
  tg::Tape<double> tape;
  const V xv = scalar_variable(tape, x);
  V y = f(xv);
  std::vector<double> out;
  for (int n = 0; n < orders; ++n) {
    y = tg::grad(y, {xv}, tg::kCreateGraph)[0];
    out.push_back(y.item());
  }
  return out;
}

// x^2 as a custom op with a right buffer rule, dx = 2 x g; each test below gives it the recorded rule it examines.
struct SquareBuffers : tg::CustomOp<double> {
  T x;
  const char* name() const override { return "Square"; }
  T forward(const tg::Inputs<double>& in) override {
    x = in[0];
    T y = x;
    for (double& v : y) v *= v;
    return y;
  }
  std::vector<T> backward(const T& g) override {
    T dx = g;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= 2 * x[i];
    return {dx};
  }
};

}  // namespace

TEST_CASE("tanh's first three derivatives at 0.5 from the tape, to the last digit") {
  const std::vector<double> d = derivatives([](const V& x) { return tg::tanh(x); }, 0.5, 3);
  // d/dx tanh = 1 - t^2, then -2t(1 - t^2), then -2(1 - t^2)(1 - 3t^2), t = tanh(0.5)
  CHECK(d[0] == doctest::Approx(0.7864477329659274).epsilon(1e-15));
  CHECK(d[1] == doctest::Approx(-0.7268619813835873).epsilon(1e-15));
  CHECK(d[2] == doctest::Approx(-0.5652092882597705).epsilon(1e-15));
  const double t = std::tanh(0.5);
  CHECK(std::abs(d[2] - (-2 * (1 - t * t) * (1 - 3 * t * t))) < 1e-15);
}

TEST_CASE("sin-free polynomials: every derivative up to the fifth matches the hand-derived one") {
  // f = x^4 - 2x^2: 4x^3 - 4x, 12x^2 - 4, 24x, 24, 0
  const std::vector<double> d = derivatives([](const V& x) { return tg::pow(x, 4) - 2.0 * tg::pow(x, 2); }, 1.5, 5);
  CHECK(d[0] == doctest::Approx(4 * 3.375 - 6).epsilon(1e-15));
  CHECK(d[1] == doctest::Approx(12 * 2.25 - 4).epsilon(1e-15));
  CHECK(d[2] == doctest::Approx(36).epsilon(1e-15));
  CHECK(d[3] == doctest::Approx(24).epsilon(1e-15));
  CHECK(d[4] == 0);
}

TEST_CASE("x^p at exact zero: every derivative to the fifth is PyTorch's number, never 0 * inf = NaN") {
  // f = x^4 - 2x^2 at 0: 4x^3 - 4x, 12x^2 - 4, 24x, 24, 0 (the third was NaN when pow(x, 0)'s rule was 0 * x^-1)
  const std::vector<double> d = derivatives([](const V& x) { return tg::pow(x, 4) - 2.0 * tg::pow(x, 2); }, 0.0, 5);
  CHECK(d == std::vector<double>{0, -4, 0, 24, 0});
  CHECK(derivatives([](const V& x) { return tg::pow(x, 2); }, 0.0, 3) == std::vector<double>{0, 2, 0});
  CHECK(derivatives([](const V& x) { return tg::pow(x, 1); }, 0.0, 2) == std::vector<double>{1, 0});
  CHECK(derivatives([](const V& x) { return tg::pow(x, 0); }, 0.0, 1) == std::vector<double>{0});  // a constant
  // mse where prediction equals target: (y - t)^2 has derivatives 0, 2, 0 there
  const std::vector<double> m = derivatives(
      [](const V& y) { return tg::mse(tg::reshape(y, {1}), y.tape().constant(T({1}, {0.25}))); }, 0.25, 3);
  CHECK(m == std::vector<double>{0, 2, 0});
  // even when the upstream gradient is infinite, pow(x, 0) passes on 0, as PyTorch's pow_backward does
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 0.0);
  tape.backward(tg::pow(x, 0), T::scalar(std::numeric_limits<double>::infinity()));
  CHECK(x.grad().item() == 0);
}

TEST_CASE("max(x) shares the gradient among tied maxima as PyTorch does, and max along an axis gives it to the first") {
  const T values({2, 3}, {1, 3, 3, 3, -1, 2});
  {
    tg::Tape<double> tape;
    const V x = tape.variable(values);
    tg::max(x).backward();
    CHECK(x.grad() == T({2, 3}, {0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0}));
  }
  {
    tg::Tape<double> tape;
    const V x = tape.variable(values);
    tg::sum(tg::max(x, 1)).backward();
    CHECK(x.grad() == T({2, 3}, {0, 1, 0, 1, 0, 0}));
  }
  {  // recorded: the shared gradient is a variable, and differentiating sum(g * x) gives it again
    tg::Tape<double> tape;
    const V x = tape.variable(values);
    const V g = tg::grad(tg::max(x) * 6.0, {x}, tg::kCreateGraph)[0];
    CHECK(g.value() == T({2, 3}, {0, 2, 2, 2, 0, 0}));
    tg::sum(g * x).backward();
    CHECK(x.grad() == T({2, 3}, {0, 2, 2, 2, 0, 0}));
  }
}

TEST_CASE("Newton's method on x^4 - 2x^2 from x = 2 with both derivatives from the tape: DeZero's iterates") {
  const std::vector<double> expected{2, 1.4545454545454546, 1.1510467893775467, 1.0253259289766978,
                                     1.0009084519430513, 1.0000012353089454};
  double x = 2;
  tg::Tape<double> tape;
  for (double want : expected) {
    CHECK(x == doctest::Approx(want).epsilon(1e-15));
    tape.clear();
    const V xv = scalar_variable(tape, x);
    const V y = tg::pow(xv, 4) - 2.0 * tg::pow(xv, 2);
    const V gx = tg::grad(y, {xv}, tg::kCreateGraph)[0];
    const V gx2 = tg::grad(gx, {xv})[0];
    x -= gx.item() / gx2.item();
  }
}

TEST_CASE("backward(kCreateGraph) records each leaf's gradient, and a second backward adds to grad() as in PyTorch") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 2.0);
  const V y = tg::pow(x, 4) - 2.0 * tg::pow(x, 2);
  y.backward(tg::kCreateGraph);
  CHECK(x.grad().item() == 24);  // 4x^3 - 4x
  const V gx = x.grad_var();
  CHECK(gx.item() == 24);
  CHECK(gx.requires_grad());
  tape.zero_grad();  // DeZero's x.cleargrad()
  gx.backward();
  CHECK(x.grad().item() == 44);  // 12x^2 - 4
}

TEST_CASE("where two paths meet, the engine's accumulate sums their gradients, recorded and differentiable again") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 3.0);
  const V y = x * x * x;  // x reaches y along three paths: dy/dx = 3x^2 = 27, d2y/dx2 = 6x = 18, d3y/dx3 = 6
  const V dy = tg::grad(y, {x}, tg::kCreateGraph)[0];
  CHECK(dy.item() == 27);
  CHECK(std::string(dy.op()) == "accumulate");  // the sum over the paths is a node of its own
  const V d2y = tg::grad(dy, {x}, tg::kCreateGraph)[0];
  CHECK(d2y.item() == 18);
  CHECK(tg::grad(d2y, {x})[0].item() == 6);
  const std::string dot = tg::tape_to_dot(tape, dy);
  CHECK(dot.find("accumulate") != std::string::npos);
  // its own second derivatives, through a function whose gradient sums two paths of a tensor
  tg::Rng rng(4);
  tg::Parameter<double> p("p", kink_free({2, 3}, rng));
  const tg::GradcheckReport report = tg::gradgradcheck<double>(
      [&](tg::Tape<double>& t) {
        const V v = t.parameter(p);
        return tg::sum(tg::tanh(v) * v);
      },
      {&p});
  INFO(report.table());
  CHECK(report.passed());
}

TEST_CASE("grad(): mixed partials, several inputs, an input the root does not depend on") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 3.0), y = scalar_variable(tape, -2.0), z = scalar_variable(tape, 5.0);
  const V f = x * x * y;  // df/dx = 2xy, df/dy = x^2
  const std::vector<V> g = tg::grad(f, {x, y, z}, tg::kCreateGraph);
  CHECK(g[0].item() == -12);
  CHECK(g[1].item() == 9);
  CHECK(g[2].item() == 0);
  const std::vector<V> h = tg::grad(g[0], {x, y});  // d(2xy)/dx = 2y, d(2xy)/dy = 2x
  CHECK(h[0].item() == -4);
  CHECK(h[1].item() == 6);
  CHECK_FALSE(h[0].requires_grad());
  // grad() leaves the leaves' grad() alone
  CHECK(x.grad().item() == 0);
}

TEST_CASE("gradients of vector ops are recorded: d/dx of sum(softmax(x) * c) twice agrees with gradgradcheck") {
  tg::Rng rng(5);
  const T c = kink_free({2, 4}, rng);
  const auto f = [&](tg::Tape<double>& tape, const std::vector<V>& v) {
    return tg::sum(tg::softmax(v[0]) * tape.constant(c));
  };
  const tg::GradcheckReport r = tg::gradgradcheck<double>(f, {kink_free({2, 4}, rng)});
  INFO(r.table());
  CHECK(r.passed());
  CHECK(r.order == 2);
  CHECK(r.table().rfind("gradgradcheck", 0) == 0);
}

TEST_CASE("gradgradcheck: every entry of the built-in catalog (every op and layer) has correct second derivatives") {
  for (const tg::support::CatalogCheck& check : tg::support::gradcheck_catalog()) {
    CAPTURE(check.name);
    for (std::uint64_t seed : {7u, 8u, 9u}) {
      tg::Rng rng(seed);
      tg::GradcheckOptions options;
      options.order = 2;
      const tg::GradcheckReport report = check.run(rng, options);
      INFO(report.table());
      CHECK(report.passed());
      CHECK(report["grad_output"].checked > 0);
    }
  }
}

TEST_CASE("third order: every entry of the catalog, at generic and at special points, has correct third derivatives") {
  std::size_t special_points = 0;
  for (const tg::support::CatalogCheck& check : tg::support::gradcheck_catalog()) {
    CAPTURE(check.name);
    special_points += check.name.find("(at ") != std::string::npos || check.name.find("saturated") != std::string::npos;
    for (std::uint64_t seed : {7u, 8u}) {
      tg::Rng rng(seed);
      tg::GradcheckOptions options;
      options.order = 3;
      const tg::GradcheckReport report = check.run(rng, options);
      INFO(report.table());
      CHECK(report.passed());
      CHECK(report.order == 3);
      CHECK(report["grad_grad_output"].checked > 0);
    }
  }
  CHECK(special_points >= 3);
}

TEST_CASE("the third-order check catches a recorded rule that is wrong only at a special point") {
  // Square's rules are right, but its recorded rule goes through Ident, whose own recorded rule is g * x / x:
  // NaN at x = 0, the class of the old pow bug. First and second order never record Ident's rule; the third does.
  struct Ident : tg::CustomOp<double> {
    const char* name() const override { return "Ident"; }
    T forward(const tg::Inputs<double>& in) override { return in[0]; }
    std::vector<T> backward(const T& g) override { return {g}; }
    std::vector<V> backward_on_tape(const V& g, const std::vector<V>& in, const V&) override {
      return {g * in[0] / in[0]};
    }
  };
  struct Square : SquareBuffers {
    std::vector<V> backward_on_tape(const V& g, const std::vector<V>& in, const V&) override {
      return {g * tg::apply<Ident>({in[0]}) * 2.0};
    }
  };
  const auto f = [](tg::Tape<double>&, const std::vector<V>& v) { return tg::apply<Square>({v[0]}); };
  const std::vector<T> at_zero{T({3}, {0.0, 0.5, -1.0})};
  tg::GradcheckOptions options;
  CHECK(tg::gradcheck<double>(f, at_zero, options).passed());
  CHECK(tg::gradgradcheck<double>(f, at_zero, options).passed());
  options.order = 3;
  CHECK(tg::gradcheck<double>(f, {T({3}, {0.3, 0.5, -1.0})}, options).passed());
  const tg::GradcheckReport report = tg::gradcheck<double>(f, at_zero, options);
  INFO(report.table());
  CHECK_FALSE(report.passed());
  CHECK(report.table().rfind("third-order gradcheck", 0) == 0);
}

TEST_CASE("gradgradcheck catches a wrong second-order rule that first-order gradcheck cannot see") {
  // The first-order rule is right; the recorded one differentiates y instead of x (it drops the 2).
  struct Square : SquareBuffers {
    std::vector<V> backward_on_tape(const V& g, const std::vector<V>& in, const V&) override { return {g * in[0]}; }
  };
  tg::Rng rng(3);
  const std::vector<T> inputs{kink_free({3}, rng)};
  const auto f = [](tg::Tape<double>&, const std::vector<V>& v) { return tg::apply<Square>({v[0]}); };
  CHECK(tg::gradcheck<double>(f, inputs).passed());
  const tg::GradcheckReport r = tg::gradgradcheck<double>(f, inputs);
  CHECK_FALSE(r.passed());
  CHECK(r.table().find("FAIL") != std::string::npos);
}

TEST_CASE("a custom op with its own backward_on_tape is differentiated twice") {
  struct MySigmoid : tg::CustomOp<double> {
    T out;
    const char* name() const override { return "MySigmoid"; }
    T forward(const tg::Inputs<double>& in) override {
      out = in[0];
      for (double& v : out) v = 1 / (1 + std::exp(-v));
      return out;
    }
    std::vector<T> backward(const T& g) override {
      T dx = g;
      for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= out[i] * (1 - out[i]);
      return {dx};
    }
    std::vector<V> backward_on_tape(const V& g, const std::vector<V>&, const V& y) override {
      return {g * y * (1.0 - y)};
    }
  };
  const std::vector<double> d = derivatives([](const V& x) { return tg::apply<MySigmoid>({x}); }, 0.3, 2);
  const double s = 1 / (1 + std::exp(-0.3));
  CHECK(d[0] == doctest::Approx(s * (1 - s)).epsilon(1e-15));
  CHECK(d[1] == doctest::Approx(s * (1 - s) * (1 - 2 * s)).epsilon(1e-14));
  tg::Rng rng(2);
  const tg::GradcheckReport r = tg::gradgradcheck<double>(
      [](tg::Tape<double>&, const std::vector<V>& v) { return tg::apply<MySigmoid>({v[0]}); }, {kink_free({2, 3}, rng)});
  INFO(r.table());
  CHECK(r.passed());
}

TEST_CASE("Hessian-vector product of a small MLP loss equals central differences of its gradient") {
  tg::Rng rng(11);
  tg::Parameter<double> w1("W1", kink_free({4, 5}, rng)), b1("b1", kink_free({5}, rng));
  tg::Parameter<double> w2("W2", kink_free({5, 3}, rng)), b2("b2", kink_free({3}, rng));
  const T x = kink_free({6, 4}, rng);
  const std::vector<std::size_t> labels{0, 2, 1, 1, 0, 2};
  std::vector<tg::Parameter<double>*> params{&w1, &b1, &w2, &b2};
  const std::function<V(tg::Tape<double>&)> loss = [&](tg::Tape<double>& tape) {
    const V h = tg::tanh(tg::affine(tape.constant(x), tape.parameter(w1), tape.parameter(b1)));
    return tg::softmax_cross_entropy(tg::affine(h, tape.parameter(w2), tape.parameter(b2)), labels);
  };
  std::vector<T> v;
  for (auto* p : params) v.push_back(T::randn(p->value.shape(), rng));
  const std::vector<T> hv = tg::hessian_vector_product(loss, params, v);

  const auto gradient_at = [&](double step) {  // the gradient at theta + step * v
    std::vector<T> saved;
    for (std::size_t k = 0; k < params.size(); ++k) {
      saved.push_back(params[k]->value);
      for (std::size_t i = 0; i < v[k].size(); ++i) params[k]->value[i] += step * v[k][i];
      params[k]->zero_grad();
    }
    tg::Tape<double> tape;
    loss(tape).backward();
    std::vector<T> g;
    for (std::size_t k = 0; k < params.size(); ++k) {
      g.push_back(params[k]->grad());
      params[k]->value = saved[k];
    }
    return g;
  };
  const double h = 1e-5;
  const std::vector<T> up = gradient_at(h), down = gradient_at(-h);
  double largest = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    REQUIRE(hv[k].shape() == params[k]->value.shape());
    for (std::size_t i = 0; i < hv[k].size(); ++i) {
      const double numerical = (up[k][i] - down[k][i]) / (2 * h);
      CHECK(hv[k][i] == doctest::Approx(numerical).epsilon(1e-6).scale(1e-8));
      largest = std::max(largest, std::abs(hv[k][i]));
    }
  }
  CHECK(largest > 1e-2);  // a real curvature, not zeros
  // on a reused tape: the same numbers, call after call
  tg::Tape<double> reused;
  for (int call = 0; call < 2; ++call) {
    const std::vector<T> again = tg::hessian_vector_product(reused, loss, params, v);
    for (std::size_t k = 0; k < params.size(); ++k)
      for (std::size_t i = 0; i < hv[k].size(); ++i) CHECK(again[k][i] == hv[k][i]);
  }
  // H v is linear in v: H (2v) = 2 H v
  std::vector<T> v2 = v;
  for (T& t : v2)
    for (double& e : t) e *= 2;
  const std::vector<T> hv2 = tg::hessian_vector_product(loss, params, v2);
  for (std::size_t k = 0; k < params.size(); ++k)
    for (std::size_t i = 0; i < hv[k].size(); ++i) CHECK(hv2[k][i] == doctest::Approx(2 * hv[k][i]).epsilon(1e-12));
}

TEST_CASE("a second backward through a tape that did not record the first says what to do") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 2.0);
  const V y = tg::tanh(x) * x;
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("record the first one: root.backward(tapegrad::kCreateGraph)"),
                       tg::TapeError);
  CHECK_THROWS_WITH_AS(x.grad_var(), doctest::Contains("has no recorded gradient: backward ran without create_graph"),
                       tg::TapeError);
}

TEST_CASE("differentiating a gradient that was not recorded is a TapeError naming create_graph") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 0.5);
  const V gx = tg::grad(tg::tanh(x), {x})[0];  // no create_graph
  CHECK(gx.item() == doctest::Approx(0.7864477329659274).epsilon(1e-15));
  const char* what = "computed from a gradient that was not recorded";
  CHECK_THROWS_WITH_AS(tg::grad(gx, {x}), doctest::Contains(what), tg::TapeError);
  CHECK_THROWS_WITH_AS(gx.backward(), doctest::Contains(what), tg::TapeError);
  const V later = gx * gx + 1.0;  // stays unrecorded through further ops
  CHECK_THROWS_WITH_AS(later.backward(), doctest::Contains(what), tg::TapeError);
}

TEST_CASE("an op without a second-order rule stops create_graph with an error naming it, never a silent zero") {
  struct Cube : tg::CustomOp<double> {
    T x;
    const char* name() const override { return "Cube"; }
    T forward(const tg::Inputs<double>& in) override {
      x = in[0];
      T y = x;
      for (double& v : y) v = v * v * v;
      return y;
    }
    std::vector<T> backward(const T& g) override {
      T dx = g;
      for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= 3 * x[i] * x[i];
      return {dx};
    }
  };
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 2.0);
  const V y = tg::apply<Cube>({x}) + x;
  CHECK(tg::grad(y, {x})[0].item() == 13);  // without create_graph its tensor backward serves
  CHECK_THROWS_WITH_AS(tg::grad(y, {x}, tg::kCreateGraph),
                       doctest::Contains("Cube: this custom op has no backward_on_tape"), tg::TapeError);
  CHECK_THROWS_WITH_AS(y.backward(tg::kCreateGraph), doctest::Contains("Cube:"), tg::TapeError);
  y.backward();  // first order is unaffected
  CHECK(x.grad().item() == 13);
}

TEST_CASE("matmul with transposed operands: values, both rules, and the shape errors") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});  // (3, 2)
  const V b = tape.variable(T{{1.0, 0.0}, {2.0, 1.0}});              // (2, 2)
  // a^T a = [[35, 44], [44, 56]]; a b^T row 0 = [1, 4]
  const V ata = tg::matmul(a, a, true, false);
  CHECK(ata.shape() == tg::Shape{2, 2});
  CHECK(ata.value()[0] == 35);
  CHECK(ata.value()[1] == 44);
  CHECK(ata.value()[3] == 56);
  const V abt = tg::matmul(a, b, false, true);
  CHECK(abt.value()[0] == 1);
  CHECK(abt.value()[1] == 4);
  // d sum(a^T a) / da = a (1 1^T) + a (1 1^T): each entry is twice its row's sum
  const V da = tg::grad(tg::sum(ata), {a}, tg::kCreateGraph)[0];
  CHECK(da.value()[0] == 6);
  CHECK(da.value()[5] == 22);
  CHECK_THROWS_WITH_AS(tg::matmul(a, a, false, false), doctest::Contains("inner dimensions differ: (3, 2) and (3, 2)"),
                       tg::ShapeError);
  const V row = tape.variable(T{1.0, 2.0});
  CHECK_THROWS_WITH_AS(tg::matmul(row, b, true, false), doctest::Contains("transposed operands must be matrices"),
                       tg::ShapeError);
}

namespace {
// An op written one level down (Op<T> and record), with a buffer rule only.
struct Twice final : tg::Op<double> {
  void backward(tg::BackwardContext<double>& d) override {
    if (!d.needs_grad(0)) return;
    tg::Tensor<double>& dx = d.input_grad(0);
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] += 2 * d.grad_output()[i];
  }
};
V twice(const V& x) {
  auto r = tg::record<Twice>("twice", {x});
  r.output = x.value();
  for (double& v : r.output) v *= 2;
  return tg::finish(r.var);
}
}  // namespace

TEST_CASE("an Op<T> without backward_on_tape: grad() without create_graph uses its buffer rule, create_graph names it") {
  tg::Tape<double> tape;
  const V x = scalar_variable(tape, 3.0);
  const V y = twice(x) * x;  // 2x^2
  CHECK(tg::grad(y, {x})[0].item() == 12);
  CHECK_THROWS_WITH_AS(tg::grad(y, {x}, tg::kCreateGraph),
                       doctest::Contains("twice: this op has no second-order rule (backward_on_tape)"), tg::TapeError);
}

TEST_CASE("sin and cos: values, and each the other's derivative to the fourth order, by hand") {
  const double pi = std::acos(-1.0);
  tg::Tape<double> tape;
  const V x = tape.variable(T{pi / 6, pi / 3, 0.0});
  CHECK(tg::sin(x).value()[0] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(tg::cos(x).value()[1] == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(tg::cos(x).value()[2] == 1.0);
  // d/dx sin = cos, -sin, -cos, sin: at x = 0.7
  const std::vector<double> ds = derivatives([](const V& v) { return tg::sin(v); }, 0.7, 4);
  CHECK(ds[0] == doctest::Approx(std::cos(0.7)).epsilon(1e-15));
  CHECK(ds[1] == doctest::Approx(-std::sin(0.7)).epsilon(1e-15));
  CHECK(ds[2] == doctest::Approx(-std::cos(0.7)).epsilon(1e-15));
  CHECK(ds[3] == doctest::Approx(std::sin(0.7)).epsilon(1e-15));
  const std::vector<double> dc = derivatives([](const V& v) { return tg::cos(v); }, 0.7, 4);
  CHECK(dc[0] == doctest::Approx(-std::sin(0.7)).epsilon(1e-15));
  CHECK(dc[1] == doctest::Approx(-std::cos(0.7)).epsilon(1e-15));
  CHECK(dc[2] == doctest::Approx(std::sin(0.7)).epsilon(1e-15));
  CHECK(dc[3] == doctest::Approx(std::cos(0.7)).epsilon(1e-15));
}
