// Tensors, shapes, broadcasting rules, formatting, the seeded generator.
#include "helpers.hpp"

using T = tg::Tensor<double>;

TEST_CASE("tensor construction, indexing and reshaping") {
  const T m{{1, 2, 3}, {4, 5, 6}};
  CHECK(m.shape() == tg::Shape{2, 3});
  CHECK(m(1, 2) == 6);
  CHECK(m.at({0, 1}) == 2);
  CHECK(m.reshaped({3, 2})(2, 0) == 5);
  CHECK(T::scalar(2.5).rank() == 0);
  CHECK(T::scalar(2.5).item() == 2.5);
  CHECK(T({2, 2}, 7.0)[3] == 7.0);
  const tg::Tensor<float> f = m.cast<float>();
  CHECK(f(1, 1) == 5.0f);
  CHECK(tg::unravel_index(5, {2, 3}) == std::vector<std::size_t>{1, 2});
}

TEST_CASE("NumPy broadcasting of shapes") {
  CHECK(tg::broadcast_shapes({2, 1, 4}, {3, 1}, "t") == tg::Shape{2, 3, 4});
  CHECK(tg::broadcast_shapes({}, {5}, "t") == tg::Shape{5});
  CHECK(tg::broadcast_shapes({0, 3}, {1, 3}, "t") == tg::Shape{0, 3});
  CHECK_THROWS_AS(tg::broadcast_shapes({2, 3}, {2}, "t"), tg::ShapeError);
}

TEST_CASE("fmt prints shapes and tensors like NumPy") {
  CHECK(fmt::format("{}", tg::Shape{2, 3}) == "(2, 3)");
  CHECK(fmt::format("{}", tg::Shape{4}) == "(4,)");
  CHECK(fmt::format("{}", tg::Shape{}) == "()");
  CHECK(fmt::format("{}", T{{1, 2}, {3, 4.5}}) == "[[1, 2],\n [3, 4.5]]");
  CHECK(fmt::format("{:.3}", T{1.0 / 3.0, 2.0}) == "[0.333, 2]");
  CHECK(fmt::format("{}", T::scalar(-0.25)) == "-0.25");
  CHECK(fmt::format("{}", tg::Tensor<float>{0.1f}) == "[0.1]");
  const std::string big = fmt::format("{}", T({2000}, 1.0));
  CHECK(big == "[1, 1, 1, ..., 1, 1, 1]");
  tg::Tape<double> tape;
  CHECK(fmt::format("{}", tape.constant(T{1, 2})) == "[1, 2]");
}

TEST_CASE("the seeded generator is reproducible and has the right moments") {
  tg::Rng a(42), b(42);
  const T x = T::randn({10000}, a), y = T::randn({10000}, b);
  CHECK(x == y);
  double mean = 0, var = 0;
  for (double v : x) mean += v / x.size();
  for (double v : x) var += (v - mean) * (v - mean) / x.size();
  CHECK(std::abs(mean) < 0.05);
  CHECK(var == doctest::Approx(1.0).epsilon(0.05));
  for (int i = 0; i < 1000; ++i) CHECK(a.below(7) < 7);
}
