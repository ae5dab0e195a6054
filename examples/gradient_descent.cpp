// ch04 gradient descent on f(x) = x0^2 + x1^2 from (-3, 4): gradients from the tape and from central
// differences side by side, then a learning rate too large (diverges) and one too small (barely moves).
#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

// f(x) = x0^2 + x1^2, the function ch04 descends.
tg::Var<double> function_2(const tg::Var<double>& x) { return tg::sum(x * x); }

// ch04's gradient_descent, the gradient from the tape.
tg::Tensor<double> descend_with_tape(tg::Tensor<double> init, double lr, int steps) {
  tg::Parameter<double> x("x", std::move(init));
  tg::Tape<double> tape;
  for (int i = 0; i < steps; ++i) {
    tape.clear();
    x.zero_grad();
    function_2(tape.parameter(x)).backward();
    for (std::size_t j = 0; j < x.value.size(); ++j) x.value[j] -= lr * x.grad()[j];
  }
  return x.value;
}

// The same, the gradient from the book's numerical_gradient (central differences, h = 1e-4).
tg::Tensor<double> descend_numerically(tg::Tensor<double> x, double lr, int steps) {
  const auto f = [](const tg::Tensor<double>& v) { return v[0] * v[0] + v[1] * v[1]; };
  for (int i = 0; i < steps; ++i) {
    const tg::Tensor<double> grad = tg::numerical_gradient<double>(f, x);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= lr * grad[j];
  }
  return x;
}

int main() {
  const tg::Tensor<double> init{-3.0, 4.0};
  fmt::print("gradient descent on f(x) = x0^2 + x1^2 from {}, 100 steps\n\n", init);
  fmt::print("{:<10} {:<40} {}\n", "lr", "end point, tape gradients", "end point, numerical_gradient");
  for (double lr : {0.1, 10.0, 1e-10}) {
    const auto tape = descend_with_tape(init, lr, 100);
    const auto numerical = descend_numerically(init, lr, 100);
    fmt::print("{:<10g} {:<40} {}\n", lr, fmt::format("{:.10}", tape), fmt::format("{:.10}", numerical));
  }
  fmt::print("\nlr 0.1 converges to about (-6.1e-10, 8.1e-10), as the book prints;\n"
             "lr 10 diverges to huge values; lr 1e-10 hardly leaves (-3, 4).\n");
}
