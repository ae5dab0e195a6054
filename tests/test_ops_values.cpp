// Forward values and gradients of ops against results derived by hand.
#include <limits>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

TEST_CASE("broadcast add and its reduced gradient") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{{1, 2, 3}, {4, 5, 6}});
  const V b = tape.variable(T{10, 20, 30});
  const V c = a + b;
  CHECK(c.value() == T{{11, 22, 33}, {14, 25, 36}});
  tg::sum(c * tape.constant(T{{1, 2, 3}, {4, 5, 6}})).backward();
  CHECK(b.grad() == T{5, 7, 9});  // column sums of the upstream gradient
  CHECK(a.grad() == T{{1, 2, 3}, {4, 5, 6}});
}

TEST_CASE("matmul with an inner size of 1 (an outer product) in every transpose form, over a buffer holding NaN") {
  tg::Tape<double> tape;
  const V col = tape.variable(T{1.0, 2.0, 3.0}.reshaped({3, 1}));
  const V row = tape.variable(T{{4.0, 5.0}});           // (1, 2)
  const T expected{{4, 5}, {8, 10}, {12, 15}};
  CHECK(tg::matmul(col, row).value() == expected);
  CHECK(tg::matmul(tg::transpose(col), row, true, false).value() == expected);
  CHECK(tg::matmul(col, tg::transpose(row), false, true).value() == expected);
  CHECK(tg::matmul(tg::transpose(col), tg::transpose(row), true, true).value() == expected);
  // backward of a (1, 3) x (3, 2) product at batch 1: dW = x^T g, an outer product added into W's gradient
  tg::Parameter<double> w("w", T::zeros({3, 2}));
  w.grad().fill(std::numeric_limits<double>::quiet_NaN());
  w.discard_grad();
  tape.clear();
  tg::sum(tg::matmul(tape.constant(T{{1.0, 2.0, 3.0}}), tape.parameter(w)) * tape.constant(T{{4.0, 5.0}})).backward();
  CHECK(w.grad() == expected);
  tape.clear();
  tg::sum(tg::matmul(tape.constant(T{{1.0, 2.0, 3.0}}), tape.parameter(w)) * tape.constant(T{{4.0, 5.0}})).backward();
  CHECK(w.grad() == T{{8, 10}, {16, 20}, {24, 30}});  // beta = 1: added
}

TEST_CASE("matmul values and gradients, all three forms") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{{1, 2}, {3, 4}});
  const V b = tape.variable(T{{5, 6}, {7, 8}});
  const V v = tape.variable(T{1, -1});
  CHECK(tg::matmul(a, b).value() == T{{19, 22}, {43, 50}});
  CHECK(tg::matmul(a, v).value() == T{-1, -1});
  CHECK(tg::matmul(v, b).value() == T{-2, -2});
  tg::sum(tg::matmul(a, b)).backward();
  CHECK(a.grad() == T{{11, 15}, {11, 15}});  // ones(2,2) b^T
  CHECK(b.grad() == T{{4, 4}, {6, 6}});      // a^T ones(2,2)
}

TEST_CASE("matmul on a transpose of itself is A A^T") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{{1, 2, 3}, {4, 5, 6}});
  CHECK(tg::matmul(a, tg::transpose(a)).value() == T{{14, 32}, {32, 77}});
}

TEST_CASE("reductions: sum, mean, max with axes and keepdims") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{{1, 5, 3}, {4, 2, 6}});
  CHECK(tg::sum(x).value() == T::scalar(21));
  CHECK(tg::sum(x, {0}).value() == T{5, 7, 9});
  CHECK(tg::sum(x, {1}, true).value() == T({2, 1}, {9, 12}));
  CHECK(tg::mean(x, {-1}).value() == T{3, 4});
  CHECK(tg::mean(x).value() == T::scalar(3.5));
  const V m = tg::max(x, 1);
  CHECK(m.value() == T{5, 6});
  CHECK(tg::max(x, 0, true).value() == T({1, 3}, {4, 5, 6}));
  tg::sum(m).backward();
  CHECK(x.grad() == T{{0, 1, 0}, {0, 0, 1}});
}

TEST_CASE("max sends the gradient to the first of tied maxima") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{2, 7, 7});
  tg::sum(tg::max(x, 0)).backward();
  CHECK(x.grad() == T{0, 1, 0});
}

TEST_CASE("softmax is row-wise and stable for large logits") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{{1000, 1000}, {0, std::log(3.0)}});
  const T s = tg::softmax(x).value();
  CHECK(s(0, 0) == doctest::Approx(0.5));
  CHECK(s(1, 0) == doctest::Approx(0.25));
  CHECK(s(1, 1) == doctest::Approx(0.75));
  const T l = tg::log_softmax(x).value();
  CHECK(l(0, 1) == doctest::Approx(std::log(0.5)));
  CHECK(std::isfinite(l(1, 0)));
}

TEST_CASE("fused softmax cross-entropy: value and the (y - t) / N gradient") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{{0, std::log(3.0)}, {std::log(4.0), 0}});
  const V loss = tg::softmax_cross_entropy(x, {1, 1});
  // y = [[.25, .75], [.8, .2]]: loss = -(log .75 + log .2) / 2
  CHECK(loss.item() == doctest::Approx(-(std::log(0.75) + std::log(0.2)) / 2));
  loss.backward();
  CHECK(testing::max_abs_diff(x.grad(), T{{0.125, -0.125}, {0.4, -0.4}}) < 1e-15);
  // the one-hot form agrees, and with huge logits the loss stays finite
  tg::Tape<double> tape2;
  const V big = tape2.variable(T{{1000, -1000}});
  CHECK(tg::softmax_cross_entropy(big, tape2.constant(T{{0, 1}})).item() == doctest::Approx(2000));
}

TEST_CASE("the book's losses on hand-computed values") {
  tg::Tape<double> tape;
  // the book's ch04 example: t = 2, y = [.1 .05 .6 0 .05 .1 0 .1 0 0]
  const V y = tape.constant(T{0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0});
  const V t = tape.constant(T{0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
  CHECK(tg::sum_of_squares(y, t).item() == doctest::Approx(0.097500000000000031));
  CHECK(tg::cross_entropy(y, t).item() == doctest::Approx(0.51082545709933802));
  CHECK(tg::cross_entropy(y, {2}).item() == doctest::Approx(0.51082545709933802));
  CHECK(tg::mse(y, t).item() == doctest::Approx(0.0195));
}

TEST_CASE("activation derivatives at and around the kinks") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{-1.0, 0.0, 2.0});
  tg::sum(tg::relu(x) + tg::abs(x) + tg::step(x)).backward();
  CHECK(x.grad() == T{-1.0, 0.0, 2.0});  // relu' + sign: 0 + -1, 0 + 0, 1 + 1
  CHECK(tg::step(x).value() == T{0, 0, 1});
  CHECK(tg::sigmoid(tape.constant(T{-1000.0, 0.0})).value() == T{0.0, 0.5});
}

TEST_CASE("shaping ops move values as NumPy does") {
  tg::Tape<double> tape;
  const V x = tape.variable(T({2, 3, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  CHECK(tg::transpose(x, {2, 0, 1}).value()(1, 1, 2) == 11);
  CHECK(tg::transpose(x).shape() == tg::Shape{2, 3, 2});
  CHECK(tg::flatten_rows(x).shape() == tg::Shape{2, 6});
  CHECK(tg::broadcast_to(tape.constant(T{1, 2}), {3, 2}).value() == T{{1, 2}, {1, 2}, {1, 2}});
  CHECK(tg::pick(tape.constant(T{{1, 2}, {3, 4}}), {1, 0}).value() == T{2, 3});
}

namespace {
// exp, tanh and sigmoid run at the CPU's SIMD width (AVX2 where it has it) over whole batches, the rest element by
// element: every length from 0 to 40 (every tail) and a long one, against the C library, to a few units in the last
// place, with the special values in every lane position. A result below the smallest normal number (exp(-100) in
// float) may come out as 0, as xsimd's batches give it.
template <class F>
void check_vector_functions(double tolerance) {
  using TF = tg::Tensor<F>;
  const F inf = std::numeric_limits<F>::infinity();
  const F specials[] = {F(0), F(-0.0), inf, -inf, F(100), F(-100), F(1e-30), F(-20), F(20), F(0.3)};
  tg::Rng rng(11);
  for (std::size_t n : {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 40, 4099}) {
    TF x = TF::randn({n}, rng, F(4));
    for (std::size_t i = 0; i < n; ++i)
      if (i % 5 == 1) x[i] = specials[(i / 5) % 10];
    tg::Tape<F> tape;
    const tg::Var<F> v = tape.variable(x);
    const TF e = tg::exp(v).value(), t = tg::tanh(v).value(), s = tg::sigmoid(v).value();
    for (std::size_t i = 0; i < n; ++i) {
      const auto close = [&](F got, F want) {
        if (std::isinf(want)) return got == want;
        if (std::abs(want) < std::numeric_limits<F>::min()) return std::abs(got) < std::numeric_limits<F>::min();
        return std::abs(double(got) - double(want)) <= tolerance * std::max(std::abs(double(want)), 1e-300);
      };
      INFO("n ", n, " x ", double(x[i]));
      CHECK(close(e[i], std::exp(x[i])));
      CHECK(close(t[i], std::tanh(x[i])));
      CHECK(close(s[i], F(1) / (F(1) + std::exp(-x[i]))));
    }
  }
  tg::Tape<F> tape;
  const TF nan{std::numeric_limits<F>::quiet_NaN()};
  for (const TF& y : {tg::exp(tape.variable(nan)).value(), tg::tanh(tape.variable(nan)).value(),
                      tg::sigmoid(tape.variable(nan)).value()})
    CHECK(std::isnan(y[0]));
}
}  // namespace

TEST_CASE("exp, tanh and sigmoid at SIMD width agree with the C library on every element, tails and special values") {
  check_vector_functions<float>(4 * std::numeric_limits<float>::epsilon());
  check_vector_functions<double>(4 * std::numeric_limits<double>::epsilon());
}
