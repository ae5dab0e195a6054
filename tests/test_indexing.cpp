// slice, split, concat, stack and embedding: values by hand, gradients on random shapes at the first and second
// order, and the errors that name the op.
#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;
using Vs = std::vector<V>;
using testing::kink_free;
using testing::random_shape;

namespace {
constexpr int kTrials = 6;

// A random range of an axis of extent n: start below n, stop above start, step 1 to 3.
tg::Range random_range(tg::Rng& rng, std::size_t n) {
  const std::size_t start = rng.below(n), stop = start + 1 + rng.below(n - start);
  return {start, stop, 1 + rng.below(3)};
}

void check_both_orders(const testing::Fn& f, const std::vector<T>& inputs) {
  testing::check(f, inputs);
  tg::GradcheckOptions second;
  second.order = 2;
  testing::check(f, inputs, second);
}
}  // namespace

TEST_CASE("slice takes ranges with steps on any axis, as NumPy's a[0:3:2, 1:5:2]") {
  tg::Tape<double> tape;
  T x(tg::Shape{3, 5});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  const V a = tape.variable(x);
  const V s = tg::slice(a, {{0, 3, 2}, {1, 5, 2}});
  CHECK(s.shape() == tg::Shape{2, 2});
  CHECK(s.value() == T{{1.0, 3.0}, {11.0, 13.0}});
  const V column = tg::slice(a, 1, 4, 5);
  CHECK(column.shape() == tg::Shape{3, 1});
  CHECK(column.value()[0] == 4.0);
  CHECK(column.value()[1] == 9.0);
  CHECK(column.value()[2] == 14.0);
  CHECK(tg::slice(a, {{1, 2, 1}}).value() == T{{5.0, 6.0, 7.0, 8.0, 9.0}});  // later axes whole
  tg::sum(s * tape.constant(T{{1.0, 2.0}, {3.0, 4.0}})).backward();
  T expected = T::zeros({3, 5});
  expected[1] = 1;
  expected[3] = 2;
  expected[11] = 3;
  expected[13] = 4;
  CHECK(a.grad() == expected);
}

TEST_CASE("split cuts, concat joins, stack adds an axis, and the gradients go back to their parts") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  const Vs parts = tg::split(a, 1, {2, 1});
  CHECK(parts[0].value() == T{{1.0, 2.0}, {4.0, 5.0}});
  CHECK(parts[1].shape() == tg::Shape{2, 1});
  CHECK(parts[1].value()[0] == 3.0);
  CHECK(parts[1].value()[1] == 6.0);
  const V joined = tg::concat(Vs{parts[1], parts[0]}, 1);
  CHECK(joined.value() == T{{3.0, 1.0, 2.0}, {6.0, 4.0, 5.0}});
  const V rows = tg::concat(Vs{a, a}, 0);
  CHECK(rows.shape() == tg::Shape{4, 3});
  const V b = tape.variable(T{{7.0, 8.0, 9.0}, {10.0, 11.0, 12.0}});
  CHECK(tg::stack(Vs{a, b}, 0).shape() == tg::Shape{2, 2, 3});
  const V last = tg::stack(Vs{a, b}, 2);
  CHECK(last.shape() == tg::Shape{2, 3, 2});
  CHECK(last.value()[0] == 1.0);
  CHECK(last.value()[1] == 7.0);
  (tg::sum(joined * tape.constant(T{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}})) + tg::sum(last) * 10.0).backward();
  CHECK(a.grad() == T{{12.0, 13.0, 11.0}, {15.0, 16.0, 14.0}});
  CHECK(b.grad() == T{{10.0, 10.0, 10.0}, {10.0, 10.0, 10.0}});
}

TEST_CASE("embedding picks rows, and a repeated index's row gets the sum of its gradients") {
  tg::Tape<double> tape;
  const V w = tape.variable(T{{0.0, 1.0}, {2.0, 3.0}, {4.0, 5.0}});
  const V e = tg::embedding(w, {2, 0, 2}, tg::Shape{3});
  CHECK(e.shape() == tg::Shape{3, 2});
  CHECK(e.value() == T{{4.0, 5.0}, {0.0, 1.0}, {4.0, 5.0}});
  CHECK(tg::embedding(w, {1, 2, 0, 1}, tg::Shape{2, 2}).shape() == tg::Shape{2, 2, 2});
  tg::sum(e * tape.constant(T{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}})).backward();
  CHECK(w.grad() == T{{3.0, 4.0}, {0.0, 0.0}, {6.0, 8.0}});
}

TEST_CASE("gradcheck and gradgradcheck of slice, split, concat, stack and embedding on random shapes") {
  tg::Rng rng(41);
  for (int trial = 0; trial < kTrials; ++trial) {
    CAPTURE(trial);
    const tg::Shape s = random_shape(rng, 1, 3);
    std::vector<tg::Range> ranges;
    for (std::size_t axis = 0; axis < s.rank(); ++axis) ranges.push_back(random_range(rng, s[axis]));
    // squared, so the second derivative is not zero
    check_both_orders([&](auto&, const Vs& v) { return tg::slice(v[0] * v[0], ranges); }, {kink_free(s, rng)});
    const std::size_t axis = rng.below(s.rank());
    std::vector<std::size_t> dims = s.dims();
    dims[axis] += 1 + rng.below(2);
    const tg::Shape wider(dims);
    check_both_orders([&](auto&, const Vs& v) { return tg::concat(Vs{v[0] * v[1], v[1]}, axis); },
                      {kink_free(s, rng), kink_free(s, rng)});
    check_both_orders([&](auto&, const Vs& v) { return tg::concat(Vs{tg::tanh(v[0]), v[1]}, axis); },
                      {kink_free(s, rng), kink_free(wider, rng)});
    check_both_orders(
        [&](auto&, const Vs& v) {
          const Vs p = tg::split(v[0], axis, {wider[axis] - s[axis], s[axis]});
          return tg::concat(Vs{p[1] * p[1], p[0]}, axis);
        },
        {kink_free(wider, rng)});
    const std::size_t new_axis = rng.below(s.rank() + 1);
    check_both_orders([&](auto&, const Vs& v) { return tg::stack(Vs{v[0], v[0] * v[1], v[1]}, new_axis); },
                      {kink_free(s, rng), kink_free(s, rng)});
    const std::size_t rows = 1 + rng.below(5), width = 1 + rng.below(4), count = 1 + rng.below(6);
    std::vector<std::size_t> picks(count);
    for (auto& p : picks) p = rng.below(rows);
    check_both_orders(
        [&](auto&, const Vs& v) { return tg::sin(tg::embedding(v[0], picks, tg::Shape{count})); },
        {kink_free({rows, width}, rng)});
  }
}

TEST_CASE("slice, split, concat, stack and embedding name the op and what is wrong") {
  tg::Tape<double> tape;
  const V a = tape.variable(T::zeros({3, 4}));
  const auto shape_error = [](auto call) { return testing::message_of<tg::ShapeError>(call); };
  CHECK(shape_error([&] { tg::slice(a, 1, 2, 5); }) ==
        "slice: axis 1 of (3, 4) has extent 4; the range 2:5:1 ends beyond it");
  CHECK(shape_error([&] { tg::slice(a, 0, 2, 2); }) ==
        "slice: axis 0 of (3, 4) has extent 3; the range 2:2:1 is empty");
  CHECK(shape_error([&] { tg::slice(a, 0, 5, 6); }).find("ends beyond it") != std::string::npos);
  CHECK(shape_error([&] { tg::slice(a, 0, 0, 2, 0); }) == "slice: axis 0: step 0 (range 0:2:0)");
  CHECK(shape_error([&] { tg::slice(a, 2, 0, 1); }) == "slice: axis 2 of (3, 4), which has 2 axes");
  CHECK(shape_error([&] { tg::slice(a, {{}, {}, {}}); }) == "slice: 3 ranges for (3, 4), which has 2 axes");
  CHECK(shape_error([&] { tg::split(a, 1, {1, 2}); }) ==
        "split: sizes 1, 2 add up to 3, but axis 1 of (3, 4) has extent 4");
  CHECK(shape_error([&] { tg::split(a, 1, {0, 4}); }).find("split: a piece of size 0") == 0);
  CHECK(shape_error([&] { tg::split(a, 2, {1}); }) == "split: axis 2 of (3, 4), which has 2 axes");
  const V b = tape.variable(T::zeros({2, 3}));
  CHECK(shape_error([&] { tg::concat(Vs{a, b}, 1); }) ==
        "concat: part 1 has shape (2, 3), part 0 (3, 4): only axis 1 may differ");
  CHECK(shape_error([&] { tg::concat(Vs{a, a}, 2); }) == "concat: axis 2 of (3, 4), which has 2 axes");
  CHECK(testing::message_of<tg::ValueError>([&] { tg::concat(Vs{}, 0); }) == "concat: no parts to join");
  CHECK(shape_error([&] { tg::stack(Vs{a, b}, 0); }).find("stack: part 1 has shape (2, 3)") == 0);
  CHECK(shape_error([&] { tg::stack(Vs{a}, 3); }) == "stack: axis 3 for parts of (3, 4): a new axis goes at 0 to 2");
  tg::Tape<double> other;
  const V elsewhere = other.variable(T::zeros({3, 4}));
  CHECK(testing::message_of<tg::TapeError>([&] { tg::concat(Vs{a, elsewhere}, 0); })
            .find("concat: the variables live on different tapes") == 0);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::embedding(a, {1, 3, 2}, tg::Shape{3}); }) ==
        "embedding: index 3 at position 1 is out of range for a weight of 3 rows");
  CHECK(shape_error([&] { tg::embedding(tg::reshape(a, {12}), {1}, tg::Shape{1}); })
            .find("embedding: the weight has shape (12,)") == 0);
  CHECK(shape_error([&] { tg::embedding(a, {1, 2}, tg::Shape{3}); }) == "embedding: 2 indices for the shape (3,)");
}
