// Every differentiable op, gradient-checked in double on random shapes (broadcasting and fan-out included).
#include "helpers.hpp"

using testing::kink_free;
using testing::check;
using testing::positive;
using testing::random_shape;
using V = tg::Var<double>;
using Vs = std::vector<V>;
using T = tg::Tensor<double>;

namespace {
constexpr int kTrials = 6;

// A shape that broadcasts against `s`: some leading axes dropped, some extents set to 1.
tg::Shape broadcastable_to(const tg::Shape& s, tg::Rng& rng) {
  const std::size_t drop = rng.below(s.rank() + 1);
  std::vector<std::size_t> dims(s.begin() + static_cast<long>(drop), s.end());
  for (auto& d : dims)
    if (rng.uniform() < 0.4) d = 1;
  return tg::Shape(dims);
}

// Runs a binary op on same-shape and on broadcast pairs, both orders.
void check_binary(const std::function<V(const V&, const V&)>& op, bool positive_b = false) {
  tg::Rng rng(7);
  for (int trial = 0; trial < kTrials; ++trial) {
    const tg::Shape sa = random_shape(rng);
    const tg::Shape sb = trial < 2 ? sa : broadcastable_to(sa, rng);
    const bool swap = trial % 2 == 1 && trial >= 2;
    const tg::Shape first = swap ? sb : sa, second = swap ? sa : sb;
    CAPTURE(first.str());
    CAPTURE(second.str());
    check([&](auto&, const Vs& x) { return op(x[0], x[1]); },
          {kink_free(first, rng), positive_b ? positive(second, rng) : kink_free(second, rng)});
  }
}

void check_unary(const std::function<V(const V&)>& op, bool positive_input = false) {
  tg::Rng rng(11);
  for (int trial = 0; trial < kTrials; ++trial) {
    const tg::Shape s = random_shape(rng, 0, 3);
    CAPTURE(s.str());
    const T x = positive_input ? positive(s, rng) : kink_free(s, rng);
    check([&](auto&, const Vs& v) { return op(v[0]); }, {x});
  }
}
}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div with broadcasting") {
  SUBCASE("add") { check_binary([](const V& a, const V& b) { return a + b; }); }
  SUBCASE("sub") { check_binary([](const V& a, const V& b) { return a - b; }); }
  SUBCASE("mul") { check_binary([](const V& a, const V& b) { return a * b; }); }
  SUBCASE("div") { check_binary([](const V& a, const V& b) { return a / b; }, true); }
}

TEST_CASE("gradcheck: elementwise unary ops") {
  SUBCASE("neg") { check_unary([](const V& a) { return -a; }); }
  SUBCASE("pow 3") { check_unary([](const V& a) { return tg::pow(a, 3.0); }); }
  SUBCASE("pow -1.5") { check_unary([](const V& a) { return tg::pow(a, -1.5); }, true); }
  SUBCASE("exp") { check_unary([](const V& a) { return tg::exp(a); }); }
  SUBCASE("log") { check_unary([](const V& a) { return tg::log(a); }, true); }
  SUBCASE("sqrt") { check_unary([](const V& a) { return tg::sqrt(a); }, true); }
  SUBCASE("abs") { check_unary([](const V& a) { return tg::abs(a); }); }
  SUBCASE("relu") { check_unary([](const V& a) { return tg::relu(a); }); }
  SUBCASE("sigmoid") { check_unary([](const V& a) { return tg::sigmoid(a); }); }
  SUBCASE("tanh") { check_unary([](const V& a) { return tg::tanh(a); }); }
  SUBCASE("scalar arithmetic") { check_unary([](const V& a) { return (2.0 * a + 1.0) / 3.0 - a * 0.5; }); }
}

TEST_CASE("gradcheck: step has a zero gradient, and the checker flags it instead of passing") {
  tg::Rng rng(3);
  const auto report = tg::gradcheck<double>([](auto&, const Vs& x) { return tg::step(x[0]); },
                                            {kink_free({3, 4}, rng)});
  CHECK(report.entries[0].all_zero);
  CHECK_FALSE(report.passed());
  CHECK(report.entries[0].max_abs_error == 0.0);
}

TEST_CASE("gradcheck: matmul in its three forms") {
  tg::Rng rng(5);
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::size_t m = 1 + rng.below(5), k = 1 + rng.below(5), n = 1 + rng.below(5);
    CAPTURE(m);
    CAPTURE(k);
    CAPTURE(n);
    auto mm = [](auto&, const Vs& x) { return tg::matmul(x[0], x[1]); };
    check(mm, {kink_free({m, k}, rng), kink_free({k, n}, rng)});
    check(mm, {kink_free({m, k}, rng), kink_free({k}, rng)});
    check(mm, {kink_free({k}, rng), kink_free({k, n}, rng)});
  }
}

TEST_CASE("gradcheck: affine on rows and on image batches read as rows (N, C, H, W), random shapes") {
  tg::Rng rng(21);
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::size_t n = 1 + rng.below(4), c = 1 + rng.below(3), h = 1 + rng.below(3), w = 1 + rng.below(3);
    const std::size_t out = 1 + rng.below(4);
    const std::string images_shape = tg::Shape{n, c, h, w}.str();
    CAPTURE(images_shape);
    auto op = [](auto&, const Vs& x) { return tg::affine(x[0], x[1], x[2]); };
    check(op, {kink_free({n, c * h * w}, rng), kink_free({c * h * w, out}, rng), kink_free({out}, rng)});
    const T images = kink_free({n, c, h, w}, rng), weights = kink_free({c * h * w, out}, rng), bias = kink_free({out}, rng);
    check(op, {images, weights, bias});
    // the same values as the rows it is read as
    tg::Tape<double> tape;
    const V as_images = tg::affine(tape.constant(images), tape.constant(weights), tape.constant(bias));
    const V as_rows = tg::affine(tg::flatten_rows(tape.constant(images)), tape.constant(weights), tape.constant(bias));
    CHECK(as_images.value() == as_rows.value());
  }
}

TEST_CASE("gradcheck: matmul with the same operand twice (A A^T)") {
  tg::Rng rng(9);
  check([](auto&, const Vs& x) { return tg::matmul(x[0], tg::transpose(x[0])); }, {kink_free({4, 3}, rng)});
}

TEST_CASE("gradcheck: transpose, reshape, flatten_rows, broadcast_to, pick") {
  tg::Rng rng(13);
  check([](auto&, const Vs& x) { return tg::transpose(x[0]); }, {kink_free({3, 4}, rng)});
  check([](auto&, const Vs& x) { return tg::transpose(x[0], {1, 2, 0}); }, {kink_free({2, 3, 4}, rng)});
  check([](auto&, const Vs& x) { return tg::reshape(x[0], {4, 3}); }, {kink_free({2, 6}, rng)});
  check([](auto&, const Vs& x) { return tg::flatten_rows(x[0]); }, {kink_free({2, 3, 2}, rng)});
  check([](auto&, const Vs& x) { return tg::broadcast_to(x[0], {2, 3, 4}); }, {kink_free({3, 1}, rng)});
  check([](auto&, const Vs& x) { return tg::broadcast_to(x[0], {3, 4}); }, {kink_free({}, rng)});
  check([](auto&, const Vs& x) { return tg::pick(x[0], {2, 0, 2}); }, {kink_free({3, 4}, rng)});
}

TEST_CASE("gradcheck: sum and mean over all, axes, keepdims") {
  tg::Rng rng(17);
  const T x = kink_free({2, 3, 4}, rng);
  check([](auto&, const Vs& v) { return tg::sum(v[0]); }, {x});
  check([](auto&, const Vs& v) { return tg::mean(v[0]); }, {x});
  for (bool keep : {false, true}) {
    CAPTURE(keep);
    check([keep](auto&, const Vs& v) { return tg::sum(v[0], {1}, keep); }, {x});
    check([keep](auto&, const Vs& v) { return tg::sum(v[0], {0, 2}, keep); }, {x});
    check([keep](auto&, const Vs& v) { return tg::mean(v[0], {-1}, keep); }, {x});
    check([keep](auto&, const Vs& v) { return tg::mean(v[0], {0, 1}, keep); }, {x});
  }
}

TEST_CASE("gradcheck: max along an axis") {
  tg::Rng rng(19);
  // distinct values, so the maximum is not a tie
  T x(tg::Shape{3, 4, 2});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1 * double((i * 7) % x.size()) - 1.0;
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      CAPTURE(axis);
      check([axis, keep](auto&, const Vs& v) { return tg::max(v[0], axis, keep); }, {x});
    }
}

TEST_CASE("gradcheck: softmax and log_softmax, on a vector and row-wise on a matrix") {
  tg::Rng rng(23);
  for (const tg::Shape& s : {tg::Shape{5}, tg::Shape{3, 4}, tg::Shape{2, 2, 3}}) {
    CAPTURE(s.str());
    check([](auto&, const Vs& v) { return tg::softmax(v[0]); }, {kink_free(s, rng)});
    check([](auto&, const Vs& v) { return tg::log_softmax(v[0]); }, {kink_free(s, rng)});
  }
}

TEST_CASE("gradcheck: softmax and log_softmax along every axis of random 3-D shapes") {
  tg::Rng rng(31);
  for (int trial = 0; trial < kTrials; ++trial) {
    const tg::Shape s{2 + rng.below(3), 2 + rng.below(3), 2 + rng.below(3)};  // an extent-1 axis has gradient 0
    for (int axis : {0, 1, 2, -2}) {
      check([axis](auto&, const Vs& v) { return tg::softmax(v[0], axis); }, {kink_free(s, rng)});
      check([axis](auto&, const Vs& v) { return tg::log_softmax(v[0], axis); }, {kink_free(s, rng)});
    }
  }
}

TEST_CASE("softmax along axis 0 equals softmax of the transpose, transposed back") {
  tg::Rng rng(32);
  tg::Tape<double> tape;
  const V x = tape.constant(kink_free({3, 4}, rng));
  const T by_axis = tg::softmax(x, 0).value();
  const T by_transpose = tg::transpose(tg::softmax(tg::transpose(x))).value();
  CHECK(testing::max_abs_diff(by_axis, by_transpose) < 1e-15);
  CHECK_THROWS_WITH_AS(tg::softmax(x, 2), doctest::Contains("softmax: axis 2 is out of range"), tg::ValueError);
}

TEST_CASE("gradcheck: clamp(lo, hi) keeps both bounds in its op, and max over all axes") {
  tg::Rng rng(33);
  for (int trial = 0; trial < kTrials; ++trial) {
    const tg::Shape s = random_shape(rng);
    T x = T::uniform(s, rng, -0.8, 0.8);  // inside the bounds, away from them...
    if (x.size() > 1) x[1] = trial % 2 ? 1.3 : -1.4;  // ...but one element clamped
    check([](auto&, const Vs& v) { return tg::clamp(v[0], -1.0, 1.0); }, {x});
    check([](auto&, const Vs& v) { return tg::max(v[0] * v[0]); }, {kink_free(s, rng)});
  }
  tg::Tape<double> tape;
  const V x = tape.variable(T{-2.0, 0.5, 3.0});
  const V y = tg::clamp(x, -1.0, 1.0);
  CHECK(y.value() == T{-1.0, 0.5, 1.0});
  tg::sum(y).backward();
  CHECK(x.grad() == T{0.0, 1.0, 0.0});
  CHECK_THROWS_WITH_AS(tg::clamp(x, 1.0, -1.0), doctest::Contains("clamp: needs lo <= hi"), tg::ValueError);
}

TEST_CASE("gradcheck: losses against predictions and targets") {
  tg::Rng rng(29);
  const T y = positive({4, 3}, rng, 0.1, 0.9), t = positive({4, 3}, rng, 0.0, 1.0);
  T onehot(tg::Shape{4, 3});
  const std::vector<std::size_t> labels{2, 0, 1, 2};
  for (std::size_t i = 0; i < labels.size(); ++i) onehot(i, labels[i]) = 1;
  check([](auto&, const Vs& v) { return tg::sum_of_squares(v[0], v[1]); }, {y, t});
  check([](auto&, const Vs& v) { return tg::mse(v[0], v[1]); }, {y, t});
  check([](auto&, const Vs& v) { return tg::cross_entropy(v[0], v[1]); }, {y, t});
  check([&](auto&, const Vs& v) { return tg::cross_entropy(v[0], labels); }, {y});
  check([](auto&, const Vs& v) { return tg::softmax_cross_entropy(v[0], v[1]); }, {kink_free({4, 3}, rng), t});
  check([&](auto&, const Vs& v) { return tg::softmax_cross_entropy(v[0], labels); }, {kink_free({4, 3}, rng)});
  // a 1-D prediction is a batch of one
  check([&](auto&, const Vs& v) { return tg::softmax_cross_entropy(v[0], std::vector<std::size_t>{1}); },
        {kink_free({3}, rng)});
}

TEST_CASE("gradcheck: fan-out and a small network") {
  tg::Rng rng(31);
  // x used three times, through different paths
  check([](auto&, const Vs& v) { return tg::sum(v[0] * v[0] + tg::exp(v[0]) * v[1]); },
        {kink_free({2, 3}, rng), kink_free({3}, rng)});
  // affine -> sigmoid -> affine -> softmax cross-entropy, every tensor checked
  const std::vector<std::size_t> labels{1, 0, 2, 1, 0};
  check(
      [&](auto&, const Vs& v) {
        const V h = tg::sigmoid(tg::matmul(v[0], v[1]) + v[2]);
        return tg::softmax_cross_entropy(tg::matmul(h, v[3]) + v[4], labels);
      },
      {kink_free({5, 4}, rng), kink_free({4, 6}, rng), kink_free({6}, rng),
       kink_free({6, 3}, rng), kink_free({3}, rng)});
}

TEST_CASE("every entry of the built-in gradcheck catalog passes, over several random draws") {
  for (const tg::support::CatalogCheck& check : tg::support::gradcheck_catalog()) {
    CAPTURE(check.name);
    for (std::uint64_t seed : {1u, 2u, 3u}) {
      tg::Rng rng(seed);
      const tg::GradcheckReport report = check.run(rng, {});
      INFO(report.table());
      CHECK(report.passed());
    }
  }
}

TEST_CASE("every op of the derivative-rule table has an entry in the gradcheck catalog") {
  for (const tg::DerivativeRule& rule : tg::derivative_rules()) {
    CAPTURE(rule.op);
    bool found = false;
    for (const tg::support::CatalogCheck& check : tg::support::gradcheck_catalog()) {
      found |= check.name == rule.op || check.name.rfind(rule.op + " (", 0) == 0;  // "matmul (transposed operands)"
    }
    CHECK(found);
  }
}
