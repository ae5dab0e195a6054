// ch04 gradient descent on f(x) = x0^2 + x1^2 from (-3, 4): gradients from the tape and from central
// differences side by side, then a learning rate too large (diverges) and one too small (barely moves).
#include <fmt/format.h>

#include "book_exercises.hpp"

int main() {
  const tapegrad::Tensor<double> init{-3.0, 4.0};
  fmt::print("gradient descent on f(x) = x0^2 + x1^2 from {}, 100 steps\n\n", init);
  fmt::print("{:<10} {:<40} {}\n", "lr", "end point, tape gradients", "end point, numerical_gradient");
  for (double lr : {0.1, 10.0, 1e-10}) {
    const auto tape = book::gradient_descent_tape(init, lr, 100);
    const auto numerical = book::gradient_descent_numerical(init, lr, 100);
    fmt::print("{:<10g} {:<40} {}\n", lr, fmt::format("{:.10}", tape), fmt::format("{:.10}", numerical));
  }
  fmt::print("\nlr 0.1 converges to about (-6.1e-10, 8.1e-10), as the book prints;\n"
             "lr 10 diverges to huge values; lr 1e-10 hardly leaves (-3, 4).\n");
}
