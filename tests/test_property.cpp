// Property test: random op graphs on random shapes (extents 0 and 1 included, broadcasting, reductions,
// reshapes) never crash -- they compute, or refuse with a tapegrad error -- and wherever they compute, every
// gradient agrees with gradcheck (or is honestly reported as all zero or at a kink).
#include <cstdlib>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

// One step of a random program: an op applied to earlier values (by index), with an axis where it takes one.
struct Step {
  int op;
  std::size_t a, b;
  int axis;
};
constexpr int kOps = 20;

V apply_step(const Step& s, const std::vector<V>& values) {
  const V& x = values[s.a];
  const V& y = values[s.b];
  const int rank = static_cast<int>(x.shape().rank());
  const int axis = rank == 0 ? 0 : s.axis % rank;
  switch (s.op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / (y * y + 1.0);
    case 4: return -x;
    case 5: return tg::tanh(x);
    case 6: return tg::sigmoid(x);
    case 7: return tg::sqrt(x * x + 1.0);
    case 8: return tg::exp(tg::tanh(x));
    case 9: return tg::log(x * x + 1.0);
    case 10: return tg::relu(x);
    case 11: return tg::abs(x);
    case 12: return tg::sum(x);
    case 13: return tg::mean(x, {axis}, s.axis % 2 == 0);
    case 14: return tg::max(x, axis, s.axis % 2 == 1);
    case 15: return tg::softmax(x, axis);
    case 16: return tg::reshape(x, tg::Shape{x.shape().numel()});
    case 17: return tg::transpose(x);
    case 18: return tg::broadcast_to(x, tg::broadcast_shapes(x.shape(), y.shape(), "test"));
    default: return tg::log_softmax(x, axis) * tg::clamp(y, -0.5, 0.5);
  }
}

// A shape of rank 0-3 with extents 0-3, and one that broadcasts against it.
tg::Shape random_shape(tg::Rng& rng) {
  std::vector<std::size_t> dims(rng.below(4));
  for (auto& d : dims) d = rng.below(4);
  return tg::Shape(dims);
}
tg::Shape broadcastable(const tg::Shape& s, tg::Rng& rng) {
  std::vector<std::size_t> dims(s.begin() + static_cast<long>(rng.below(s.rank() + 1)), s.end());
  for (auto& d : dims)
    if (rng.uniform() < 0.4) d = 1;
  return tg::Shape(dims);
}

}  // namespace

TEST_CASE("property: random op graphs never crash and agree with gradcheck") {
  const int kTrials = std::getenv("TAPEGRAD_PROPERTY_TRIALS") ? std::atoi(std::getenv("TAPEGRAD_PROPERTY_TRIALS")) : 1500;
  tg::Rng rng(2026);
  int computed = 0, refused = 0, entries_checked = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const tg::Shape base = random_shape(rng);
    std::vector<T> inputs{testing::kink_free(base, rng), testing::kink_free(broadcastable(base, rng), rng)};
    if (rng.uniform() < 0.3) inputs.push_back(testing::kink_free(random_shape(rng), rng));
    std::vector<Step> program(1 + rng.below(5));
    for (std::size_t i = 0; i < program.size(); ++i) {
      const std::size_t available = inputs.size() + i;
      program[i] = {static_cast<int>(rng.below(kOps)), rng.below(available), rng.below(available),
                    static_cast<int>(rng.below(6))};
    }
    const auto f = [&program](tg::Tape<double>&, const std::vector<V>& in) {
      std::vector<V> values = in;
      for (const Step& s : program) values.push_back(apply_step(s, values));
      return values.back();
    };
    tg::GradcheckReport report;
    try {
      report = tg::gradcheck<double>(f, inputs);
    } catch (const tg::Error&) {  // shapes that do not broadcast, an empty axis: refused, with a message
      ++refused;
      continue;
    }
    ++computed;
    for (const tg::GradcheckEntry& e : report.entries) {
      if (e.shape.numel() == 0 || e.all_zero || e.checked == 0) continue;  // nothing to compare
      ++entries_checked;
      INFO("trial " << trial << "\n" << report.table());
      CHECK(e.passed);
    }
  }
  MESSAGE(computed << " graphs computed, " << refused << " refused, " << entries_checked << " gradients compared");
  CHECK(computed > kTrials / 3);
  CHECK(entries_checked > kTrials / 2);
}

TEST_CASE("found by the property test: sum and mean along an axis of a tensor with a zero extent") {
  tg::Tape<double> tape;
  const V x = tape.variable(T(tg::Shape{0, 2}));
  const V s = tg::sum(x, {0});  // crashed inside xtensor's reducer before
  CHECK(s.value() == T{0.0, 0.0});
  CHECK(tg::mean(x, {1}).shape() == tg::Shape{0});
  tg::sum(s).backward();
  CHECK(x.grad().shape() == tg::Shape{0, 2});
}
