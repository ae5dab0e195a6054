// Second-order methods with derivatives from the tape:
//   1. Newton's method on the book's bowl f(x, y) = x^2/20 + y^2 and on Rosenbrock's function, with the exact
//      Hessian (tapegrad::hessian), against gradient descent on the same functions;
//   2. Gauss-Newton on a least-squares fit of y = a exp(b t), its Jacobian in forward mode (two parameters, many
//      residuals: two passes instead of one per residual).
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;
using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

// Element k of a (2,) variable, as a (1,) variable.
V element(const V& x, std::size_t k) { return tg::pick(tg::reshape(x, {1, 2}), {k}); }

V bowl(const V& p) { return tg::sum(tg::pow(element(p, 0), 2.0) / 20.0 + tg::pow(element(p, 1), 2.0)); }

V rosenbrock(const V& p) {
  const V x = element(p, 0), y = element(p, 1);
  return tg::sum(tg::pow(1.0 - x, 2.0) + 100.0 * tg::pow(y - tg::pow(x, 2.0), 2.0));
}

T gradient_at(const tg::TensorFunction<double>& f, const T& p) {
  tg::Tape<double> tape;
  const V v = tape.variable(p);
  f(v).backward();
  return v.grad();
}

// Solves the 2x2 system A d = b.
T solve2(const T& a, const T& b) {
  const double det = a[0] * a[3] - a[1] * a[2];
  return T({2}, {(a[3] * b[0] - a[1] * b[1]) / det, (a[0] * b[1] - a[2] * b[0]) / det});
}

double distance(const T& p, const T& target) { return std::hypot(p[0] - target[0], p[1] - target[1]); }

// Steps until p is within `tolerance` of `target` (at most `limit`).
int steps_until(T p, const std::function<T(const T&)>& step, const T& target, double tolerance, int limit) {
  int n = 0;
  for (; n < limit && distance(p, target) >= tolerance; ++n) p = step(p);
  return n;
}

void compare(const char* name, const tg::TensorFunction<double>& f, const T& start, const T& minimum, double lr) {
  const auto newton = [&](const T& p) {
    const T d = solve2(tg::hessian(f, p), gradient_at(f, p));
    return T({2}, {p[0] - d[0], p[1] - d[1]});
  };
  const auto descent = [&](const T& p) {
    const T g = gradient_at(f, p);
    return T({2}, {p[0] - lr * g[0], p[1] - lr * g[1]});
  };
  const T h = tg::hessian(f, minimum);
  fmt::print("{} from ({}, {}): Hessian at the minimum [[{}, {}], [{}, {}]]\n", name, start[0], start[1], h[0], h[1],
             h[2], h[3]);
  fmt::print("  steps to within 1e-8 of the minimum: Newton {}, gradient descent (lr {}) {}\n",
             steps_until(start, newton, minimum, 1e-8, 100), lr, steps_until(start, descent, minimum, 1e-8, 200000));
}

}  // namespace

int main() try {
  compare("bowl x^2/20 + y^2", bowl, T({2}, {-7, 2}), T({2}, {0, 0}), 0.9);
  compare("Rosenbrock", rosenbrock, T({2}, {-1.2, 1}), T({2}, {1, 1}), 0.001);

  // Gauss-Newton: fit y = a exp(b t) to 40 points made with a = 2, b = -1.5 and a small fixed wobble.
  const std::size_t m = 40;
  T t(tg::Shape{m}), y(tg::Shape{m});
  for (std::size_t i = 0; i < m; ++i) {
    t[i] = 0.1 * double(i);
    y[i] = 2 * std::exp(-1.5 * t[i]) + 0.01 * std::sin(7.0 * double(i));
  }
  const tg::TensorFunction<double> residuals = [&](const V& theta) {
    const V a = element(theta, 0), b = element(theta, 1);
    return a * tg::exp(b * theta.tape().constant(t)) - theta.tape().constant(y);
  };
  T theta({2}, {1, -0.5});
  fmt::print("\nGauss-Newton on y = a exp(b t), {} residuals, from a = {}, b = {}\n", m, theta[0], theta[1]);
  for (int step = 1; step <= 6; ++step) {
    const tg::JacobianResult<double> J = tg::jacobian(residuals, theta);
    T jtj = T::zeros({2, 2}), jtr = T::zeros({2});
    double cost = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const double r = J.value[i], j0 = J.matrix[2 * i], j1 = J.matrix[2 * i + 1];
      jtj[0] += j0 * j0, jtj[1] += j0 * j1, jtj[2] += j1 * j0, jtj[3] += j1 * j1;
      jtr[0] += j0 * r, jtr[1] += j1 * r;
      cost += r * r / 2;
    }
    if (step == 1) fmt::print("  the Jacobian by {}\n", J.why);
    const T d = solve2(jtj, jtr);
    theta = T({2}, {theta[0] - d[0], theta[1] - d[1]});
    fmt::print("  step {}: cost {:.10f} -> a = {:.10f}, b = {:.10f}\n", step, cost, theta[0], theta[1]);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "newton: {}\n", e.what());
  return 1;
}
