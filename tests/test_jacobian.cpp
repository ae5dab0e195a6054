// Forward and reverse mode on one tape: jvp, vjp, Jacobians and Hessians, against closed forms, central
// differences and the identity <u, J v> = <J^T u, v> for every op.
#include <cmath>
#include <map>
#include <thread>

#include "helpers.hpp"

using testing::kink_free;
using testing::message_of;
using T = tg::Tensor<double>;
using V = tg::Var<double>;
using F = tg::TensorFunction<double>;

namespace {

double dot(const T& a, const T& b) {
  REQUIRE(a.size() == b.size());
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const T& t) {
  double m = 0;
  for (double v : t) m = std::max(m, std::abs(v));
  return m;
}

// f's value at x, recorded on a fresh tape and read back.
T value_at(const F& f, const T& x) {
  tg::Tape<double> tape;
  return f(tape.variable(x)).value();
}

// (f(x + h v) - f(x - h v)) / 2h: the directional derivative by central differences.
T central_difference(const F& f, const T& x, const T& v, double h = 1e-6) {
  T plus = x, minus = x;
  for (std::size_t i = 0; i < x.size(); ++i) {
    plus[i] += h * v[i];
    minus[i] -= h * v[i];
  }
  const T a = value_at(f, plus), b = value_at(f, minus);
  T d(a.shape());
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = (a[i] - b[i]) / (2 * h);
  return d;
}

T constant_like(tg::Rng& rng, const tg::Shape& shape) { return kink_free(shape, rng); }

// Every op of the derivative-rule table as a function of one (4, 6) tensor (other operands constant or built
// from x). Keyed by the rule's name.
std::map<std::string, F> every_op() {
  tg::Rng rng(5);
  const T w = constant_like(rng, {6, 3}), b = constant_like(rng, {3}), t = testing::positive({4, 6}, rng, 0, 1);
  const T filters = constant_like(rng, {2, 1, 3, 3}), bias = constant_like(rng, {2});
  const T w_hh = constant_like(rng, {4, 1}), b_lstm = constant_like(rng, {4});
  const std::vector<std::size_t> labels{0, 5, 2, 3}, at{0, 7, 7, 23, tg::kNoElement, 11};
  std::vector<std::size_t> into(24);  // x's 24 elements into 10, repeating, one dropped
  for (std::size_t i = 0; i < 24; ++i) into[i] = i == 5 ? tg::kNoElement : (i * 7) % 10;
  const auto image = [](const V& x) { return tg::reshape(x, {1, 1, 4, 6}); };
  return {
      {"accumulate", [](const V& x) { return x * tg::tanh(x); }},  // x's gradient from two paths
      {"add", [](const V& x) { return x + tg::sum(x, {0}); }},
      {"sub", [](const V& x) { return x - tg::sum(x, {1}, true); }},
      {"mul", [](const V& x) { return x * tg::sum(x, {1}, true); }},
      {"div", [](const V& x) { return x / tg::exp(x); }},
      {"neg", [](const V& x) { return -x; }},
      {"pow", [](const V& x) { return tg::pow(x, 3.0); }},
      {"exp", [](const V& x) { return tg::exp(x); }},
      {"log", [](const V& x) { return tg::log(x * x + 1.0); }},
      {"sqrt", [](const V& x) { return tg::sqrt(x * x + 1.0); }},
      {"sin", [](const V& x) { return tg::sin(x); }},
      {"cos", [](const V& x) { return tg::cos(x); }},
      {"abs", [](const V& x) { return tg::abs(x); }},
      {"clamp", [](const V& x) { return tg::clamp(x, -0.7, 0.7); }},
      {"relu", [](const V& x) { return tg::relu(x); }},
      {"sigmoid", [](const V& x) { return tg::sigmoid(x); }},
      {"tanh", [](const V& x) { return tg::tanh(x); }},
      {"step", [](const V& x) { return tg::step(x) * x; }},
      {"softmax", [](const V& x) { return tg::softmax(x); }},
      {"log_softmax", [](const V& x) { return tg::log_softmax(x, 0); }},
      {"matmul", [](const V& x) { return tg::matmul(x, tg::transpose(x)); }},
      {"affine", [w, b](const V& x) { return tg::affine(x, x.tape().constant(w), x.tape().constant(b)); }},
      {"transpose", [](const V& x) { return tg::transpose(x) * 2.0; }},
      {"reshape", [](const V& x) { return tg::reshape(x, {3, 8}); }},
      {"identity", [](const V& x) { return tg::identity(x) * x; }},
      {"slice", [](const V& x) { return tg::slice(x, {{1, 4, 2}, {0, 6, 3}}); }},
      {"concat", [](const V& x) { return tg::concat(std::vector<V>{x, x * x}, 0); }},
      {"embedding", [](const V& x) { return tg::embedding(tg::reshape(x, {8, 3}), {7, 0, 7, 2}, {4}); }},
      {"lstm_step",  // batch 2, hidden 1, three steps of projected inputs; the state read from them too
       [w_hh, b_lstm](const V& x) {
         const V p = tg::reshape(x, {6, 4});
         tg::Tape<double>& tape = x.tape();
         return tg::lstm_step(p, tg::LstmStepAt{1, 3, false}, tg::slice(p, {{0, 2, 1}, {1, 3, 1}}),
                              tape.constant(w_hh), tape.constant(b_lstm), tape.constant(b_lstm));
       }},
      {"state_halves", [](const V& x) { return tg::state_halves(std::vector<V>{x, x * x}, 1, 1); }},
      {"join_state",
       [](const V& x) { return tg::join_state(tg::reshape(x, {2, 4, 3}), tg::reshape(x * x, {2, 4, 3}), 1); }},
      {"broadcast_to", [](const V& x) { return tg::broadcast_to(tg::reshape(x, {1, 4, 6}), {2, 4, 6}); }},
      {"sum_to", [](const V& x) { return tg::sum_to(x, {1, 6}); }},
      {"pick", [labels](const V& x) { return tg::pick(x, labels); }},
      {"gather", [at](const V& x) { return tg::gather(x, at, {2, 3}); }},
      {"scatter_add", [into](const V& x) { return tg::scatter_add(x, into, {10}); }},
      {"sum", [](const V& x) { return tg::sum(x, {1}); }},
      {"mean", [](const V& x) { return tg::mean(x, {0}); }},
      {"max", [](const V& x) { return tg::max(x, 1); }},
      {"softmax_cross_entropy", [t](const V& x) { return tg::softmax_cross_entropy(x, x.tape().constant(t)); }},
      {"softmax_cross_entropy (labels)", [labels](const V& x) { return tg::softmax_cross_entropy(x, labels); }},
      {"conv2d",
       [filters, bias, image](const V& x) {
         tg::Conv2dSettings s;
         s.padding = 1;
         return tg::conv2d(image(x), x.tape().constant(filters), x.tape().constant(bias), s);
       }},
      {"max_pool2d", [image](const V& x) { return tg::max_pool2d(image(x), {2}); }},
      {"avg_pool2d", [image](const V& x) { return tg::avg_pool2d(image(x), {{2, 2}, {1, 2}}); }},
  };
}

}  // namespace

TEST_CASE("for every op, <u, J v> = <J^T u, v>, and J v equals central differences") {
  const std::map<std::string, F> ops = every_op();
  for (const tg::DerivativeRule& rule : tg::derivative_rules()) {
    CAPTURE(rule.op);
    REQUIRE(ops.count(rule.op) == 1);
  }
  tg::Rng rng(11);
  for (const auto& [name, f] : ops) {
    CAPTURE(name);
    for (int draw = 0; draw < 3; ++draw) {
      const T x = kink_free({4, 6}, rng), v = T::randn({4, 6}, rng);
      const tg::Linearization<double> forward = tg::jvp(f, x, v);
      const T u = T::randn(forward.value.shape(), rng);
      const tg::Linearization<double> reverse = tg::vjp(f, x, u);
      CHECK(forward.value == reverse.value);
      const double uJv = dot(u, forward.product), Jtuv = dot(reverse.product, v);
      CHECK(std::abs(uJv - Jtuv) <= 1e-12 * (1 + std::abs(uJv)));
      const T numerical = central_difference(f, x, v);
      const double scale = 1 + max_abs(numerical);
      for (std::size_t i = 0; i < numerical.size(); ++i)
        CHECK(std::abs(forward.product[i] - numerical[i]) <= 1e-7 * scale);
      CHECK(max_abs(forward.product) > 0);  // something was checked
    }
  }
}

TEST_CASE("softmax's Jacobian is diag(p) - p p^T, in forward and in reverse mode") {
  const T x({5}, {0.3, -1.2, 2.0, 0.0, 0.7});
  const F f = [](const V& v) { return tg::softmax(v); };
  CHECK(tg::jacobian(f, x).why ==
        "reverse mode: 5 passes, one per row (5 rows, 5 columns; as many passes either way: reverse, which records no "
        "backward)");
  for (tg::JacobianMode mode : {tg::JacobianMode::Forward, tg::JacobianMode::Reverse}) {
    CAPTURE(tg::mode_name(mode));
    const tg::JacobianResult<double> J = tg::jacobian(f, x, mode);
    REQUIRE(J.matrix.shape() == tg::Shape{5, 5});
    CHECK(J.mode == mode);
    CHECK(J.passes == 5);
    for (std::size_t i = 0; i < 5; ++i)
      for (std::size_t j = 0; j < 5; ++j) {
        const double want = (i == j ? J.value[i] : 0.0) - J.value[i] * J.value[j];
        CHECK(std::abs(J.matrix[i * 5 + j] - want) <= 1e-16);
      }
  }
}

TEST_CASE("jacobian: automatic mode takes the side with fewer passes, and says why") {
  tg::Rng rng(2);
  const T wide = kink_free({40}, rng), narrow = kink_free({2}, rng);
  const F reduce = [](const V& x) { return tg::sum(tg::reshape(tg::tanh(x), {2, 20}), {1}); };  // 40 -> 2
  const F expand = [](const V& x) { return tg::tanh(tg::broadcast_to(x, {20, 2})); };          // 2 -> 40
  const tg::JacobianResult<double> rows = tg::jacobian(reduce, wide);
  CHECK(rows.mode == tg::JacobianMode::Reverse);
  CHECK(rows.passes == 2);
  CHECK(rows.why == "reverse mode: 2 passes, one per row (2 rows, 40 columns; fewer passes)");
  const tg::JacobianResult<double> columns = tg::jacobian(expand, narrow);
  CHECK(columns.mode == tg::JacobianMode::Forward);
  CHECK(columns.passes == 2);
  CHECK(columns.matrix.shape() == tg::Shape{20, 2, 2});
  // both modes give the same matrix, to rounding
  const tg::JacobianResult<double> other = tg::jacobian(expand, narrow, tg::JacobianMode::Reverse);
  CHECK(other.passes == 40);
  CHECK(other.why == "reverse mode: 40 passes, one per row (40 rows, 2 columns; as asked)");
  for (std::size_t i = 0; i < other.matrix.size(); ++i) CHECK(std::abs(other.matrix[i] - columns.matrix[i]) < 1e-15);
}

namespace {
// Rosenbrock's function of x = (x0, x1): (1 - x0)^2 + 100 (x1 - x0^2)^2.
V rosenbrock(const V& x) {
  const V x0 = tg::pick(tg::reshape(x, {1, 2}), {0}), x1 = tg::pick(tg::reshape(x, {1, 2}), {1});
  return tg::sum(tg::pow(1.0 - x0, 2.0) + 100.0 * tg::pow(x1 - tg::pow(x0, 2.0), 2.0));
}
}  // namespace

TEST_CASE("hessian: Rosenbrock's at (1, 1) is [[802, -400], [-400, 200]], the bowl's is diag(0.1, 2)") {
  CHECK(tg::hessian<double>(rosenbrock, T({2}, {1, 1})) == T({2, 2}, {802, -400, -400, 200}));
  // the book's bowl x^2 / 20 + y^2, at any point
  const F bowl = [](const V& v) { return tg::sum(v * v * v.tape().constant(T({2}, {0.05, 1.0}))); };
  tg::Rng rng(4);
  for (int draw = 0; draw < 3; ++draw) CHECK(tg::hessian(bowl, kink_free({2}, rng)) == T({2, 2}, {0.1, 0, 0, 2}));
  // a general point of Rosenbrock: the hand-derived [[1200 x0^2 - 400 x1 + 2, -400 x0], [-400 x0, 200]]
  const T h = tg::hessian<double>(rosenbrock, T({2}, {-0.5, 0.75}));
  CHECK(h[0] == doctest::Approx(1200 * 0.25 - 400 * 0.75 + 2).epsilon(1e-15));
  CHECK(h[1] == doctest::Approx(200).epsilon(1e-15));
  CHECK(h[2] == doctest::Approx(200).epsilon(1e-15));
  CHECK(h[3] == doctest::Approx(200).epsilon(1e-15));
}

TEST_CASE("hessian of a small network's loss equals Hessian-vector products, and is symmetric") {
  tg::Rng rng(6);
  const T data = kink_free({5, 3}, rng), w2 = kink_free({4, 2}, rng);
  const std::vector<std::size_t> labels{0, 1, 1, 0, 1};
  const F loss = [&](const V& w1) {
    const V h = tg::tanh(tg::matmul(w1.tape().constant(data), w1));
    return tg::softmax_cross_entropy(tg::matmul(h, w1.tape().constant(w2)), labels);
  };
  const T w1 = kink_free({3, 4}, rng);
  const T H = tg::hessian(loss, w1);
  REQUIRE(H.shape() == tg::Shape{3, 4, 3, 4});
  tg::Parameter<double> p("w1", w1);
  for (std::size_t j = 0; j < 12; ++j) {
    T e = T::zeros({3, 4});
    e[j] = 1;
    const T column = tg::hessian_vector_product<double>([&](tg::Tape<double>& tape) { return loss(tape.parameter(p)); },
                                                        {&p}, {e})[0];
    for (std::size_t i = 0; i < 12; ++i) {
      CHECK(std::abs(H[i * 12 + j] - column[i]) < 1e-14);
      CHECK(std::abs(H[i * 12 + j] - H[j * 12 + i]) < 1e-14);
    }
  }
}

TEST_CASE("jvp, vjp, jacobian and hessian refuse misuse with an error that names it") {
  const T x({3}, {0.1, 0.2, 0.3});
  const F f = [](const V& v) { return tg::tanh(v); };
  CHECK(message_of([&] { tg::jvp(f, x, T({2}, {1, 1})); }) == "jvp: v has shape (2,) but x has shape (3,)");
  CHECK(message_of([&] { tg::vjp(f, x, T({1, 3}, {1, 1, 1})); }) == "vjp: u has shape (1, 3) but f(x) has shape (3,)");
  CHECK(message_of([&] { tg::hessian(f, x); })
            .rfind("hessian: f must return one element (a scalar loss), got shape (3,)", 0) == 0);
  CHECK_THROWS_AS(tg::hessian(f, x), tg::ShapeError);
  const F constant = [](const V& v) { return v.tape().constant(T({2}, {1, 2})); };
  for (const char* op : {"jvp", "jacobian"}) {
    CAPTURE(op);
    const std::string m = op == std::string("jvp") ? message_of([&] { tg::jvp(constant, x, x); })
                                                   : message_of([&] { tg::jacobian(constant, x); });
    CHECK(m.rfind(std::string(op) + ": the function's result (shape (2,)) does not depend on x", 0) == 0);
  }
  tg::Tape<double> other;
  const V foreign = other.variable(x);
  CHECK_THROWS_AS(tg::jacobian<double>([&](const V&) { return foreign; }, x), tg::TapeError);
  CHECK(message_of([&] { tg::jvp<double>(F{}, x, x); }) == "jvp: the function is empty");
  CHECK(message_of([&] { tg::vjp<double>([](const V&) { return V{}; }, x, x); }).find("returned no variable") !=
        std::string::npos);
  // the seeded grad() underneath checks its seed too
  tg::Tape<double> tape;
  const V v = tape.variable(x);
  CHECK(message_of([&] { tg::grad(tg::tanh(v), {v}, T({2}, {1, 1})); }) ==
        "grad: the seed has shape (2,) but the root has shape (3,)");
}

TEST_CASE("a Jacobian or Hessian larger than the machine's memory is refused before any pass") {
  const T x = T::ones({200000});  // 200,000^2 doubles: 320 GB
  const F f = [](const V& v) { return tg::tanh(v); };
  CHECK(message_of<tg::MemoryError>([&] { tg::jacobian(f, x); })
            .rfind("jacobian: the result has 200000 x 200000 elements, 320 GB, more than this machine's", 0) == 0);
  CHECK(message_of<tg::MemoryError>([&] { tg::hessian<double>([](const V& v) { return tg::sum(tg::tanh(v)); }, x); })
            .rfind("hessian: the result has 200000 x 200000 elements, 320 GB", 0) == 0);
}

TEST_CASE("a function linear in x has a zero Hessian, and a Jacobian that is its matrix") {
  const T a({2, 3}, {1, 2, 3, 4, 5, 6});
  const F linear = [&](const V& x) { return tg::matmul(x.tape().constant(a), x); };
  const T x({3}, {0.5, -1, 2});
  for (tg::JacobianMode mode : {tg::JacobianMode::Forward, tg::JacobianMode::Reverse})
    CHECK(tg::jacobian(linear, x, mode).matrix == a);
  CHECK(tg::hessian<double>([&](const V& v) { return tg::sum(linear(v)); }, x) == T::zeros({3, 3}));
}

TEST_CASE("the kept tape: a jvp inside f gets its own tape, threads their own, and Vars kept from f go stale") {
  const T x({3}, {0.1, -0.4, 0.8}), v({3}, {1, 0, 0});
  // f itself calls jvp (the derivative of tanh at its input, as a constant factor): nested calls do not clash
  const F outer = [&](const V& xv) {
    const T inner = tg::jvp<double>([](const V& y) { return tg::tanh(y); }, xv.value(), v).product;
    return xv * xv.tape().constant(inner);
  };
  const tg::Linearization<double> r = tg::jvp(outer, x, v);
  CHECK(r.product[0] == doctest::Approx(1 - std::tanh(0.1) * std::tanh(0.1)).epsilon(1e-15));
  CHECK(r.product[1] == 0);
  // a Var that f stored outside refers to a cleared tape after the call: using it is a TapeError, not a crash
  V kept;
  tg::vjp<double>([&](const V& xv) { return kept = tg::tanh(xv); }, x, T::ones({3}));
  CHECK_THROWS_AS(kept.value(), tg::TapeError);
  // two threads at once, each on its own kept tape, give the same answers as one
  const F f = [](const V& xv) { return tg::softmax(xv * 2.0); };
  const T want = tg::jacobian(f, x).matrix;
  std::vector<T> got(2);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) got[t] = tg::jacobian(f, x).matrix;
    });
  for (std::thread& t : threads) t.join();
  CHECK(got[0] == want);
  CHECK(got[1] == want);
}
