#include "recipe.hpp"

#include <fmt/format.h>

namespace reference {

std::string name_of(const Step& s) {
  static const char* names[] = {"neg",  "pow",     "tanh",    "sigmoid", "relu", "abs",          "exp(tanh)",
                                "softmax", "log_softmax", "add", "sub", "mul", "div(1+b^2)", "row_sum",
                                "column_mean", "max_all", "matmul(a b^T b)"};
  const std::string base = names[static_cast<int>(s.kind)];
  return s.kind == Kind::Pow ? fmt::format("pow({}, {})", s.a, s.p) : fmt::format("{}({}, {})", base, s.a, s.b);
}

std::vector<Step> random_recipe(tapegrad::Rng& rng) {
  std::vector<Step> steps;
  const std::size_t n = 2 + rng.below(7);
  std::vector<bool> reduced{false};  // whether each value is a reduction (not (3, 4))
  for (std::size_t i = 0; i < n; ++i) {
    Step s;
    s.kind = static_cast<Kind>(rng.below(17));
    // the first operand is a full (3, 4) value; the second may be a reduction, broadcast
    do s.a = rng.below(reduced.size()); while (reduced[s.a]);
    s.b = rng.below(reduced.size());
    if (s.kind == Kind::MatmulThrough)
      do s.b = rng.below(reduced.size()); while (reduced[s.b]);
    s.p = static_cast<double>(rng.below(4));  // 0, 1, 2, 3: where x^(p-1) meets 0
    steps.push_back(s);
    reduced.push_back(s.kind == Kind::RowSum || s.kind == Kind::ColumnMean || s.kind == Kind::MaxAll);
  }
  if (reduced.back()) steps.push_back({Kind::Mul, 0, steps.size()});  // end on a (3, 4) value
  return steps;
}

std::vector<double> input_with_zeros(tapegrad::Rng& rng) {
  std::vector<double> x(12);
  for (double& v : x) v = rng.below(4) == 0 ? 0.0 : rng.uniform(-1.5, 1.5);
  x[rng.below(12)] = 1.75;  // the largest value, twice: a tie for max_all
  x[rng.below(12)] = 1.75;
  return x;
}

}  // namespace reference
