#include "support/descend.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad::support {
namespace {

Var<double> x_of(const Var<double>& xy) { return gather(xy, {0}, Shape{1}); }
Var<double> y_of(const Var<double>& xy) { return gather(xy, {1}, Shape{1}); }

Var<double> bowl(const Var<double>& xy) {
  const Var<double> weights = xy.tape().constant(Tensor<double>{1.0 / 20, 1.0});
  return sum(weights * xy * xy);
}

Var<double> rosenbrock(const Var<double>& xy) {
  const Var<double> x = x_of(xy), y = y_of(xy);
  const Var<double> a = 1.0 - x, b = y - x * x;
  return sum(a * a + 100.0 * b * b);
}

Var<double> beale(const Var<double>& xy) {
  const Var<double> x = x_of(xy), y = y_of(xy);
  const Var<double> a = 1.5 - x + x * y, b = 2.25 - x + x * y * y, c = 2.625 - x + x * y * y * y;
  return sum(a * a + b * b + c * c);
}

Var<double> saddle(const Var<double>& xy) {
  const Var<double> weights = xy.tape().constant(Tensor<double>{1.0, -1.0});
  return sum(weights * xy * xy);
}

}  // namespace

const std::vector<Surface>& surfaces() {
  static const std::vector<Surface> list{
      {"bowl", "x^2/20 + y^2", "x**2/20 + y**2",
       "the book's figure: steep in y, flat in x; SGD zigzags, Momentum overshoots, AdaGrad and Adam go straight",
       bowl, {-7, 2}, Point2{0, 0}, true, {-10, 10, -5, 5}, "0.25, 1, 2.5, 5, 10, 20",
       {"sgd:lr=0.95", "momentum:lr=0.1", "adagrad:lr=1.5", "adam:lr=0.3", "nesterov:lr=0.1", "rmsprop:lr=0.3",
        "lbfgs:iters=1"},
       30},
      {"rosenbrock", "(1 - x)^2 + 100 (y - x^2)^2", "(1 - x)**2 + 100*(y - x**2)**2",
       "a narrow curved valley: finding it is quick, following it to (1, 1) is slow",
       rosenbrock, {-1.5, 2}, Point2{1, 1}, true, {-2, 2, -1, 3}, "0.1, 1, 5, 20, 50, 100, 200, 500, 1000",
       {"sgd:lr=0.001", "momentum:lr=0.0005", "adagrad:lr=0.5", "adam:lr=0.05", "nesterov:lr=0.0005",
        "rmsprop:lr=0.01", "lbfgs:iters=1"},
       1000},
      {"beale", "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
       "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
       "flat plateaus and steep walls around the minimum at (3, 0.5): gradient size varies by orders of magnitude",
       beale, {1, 1.5}, Point2{3, 0.5}, true, {-1, 4.5, -1.5, 2}, "0.1, 0.5, 1, 2, 5, 10, 20, 50, 100",
       {"sgd:lr=0.01", "momentum:lr=0.005", "adagrad:lr=0.5", "adam:lr=0.05", "nesterov:lr=0.005",
        "rmsprop:lr=0.01", "lbfgs:iters=1"},
       500},
      {"saddle", "x^2 - y^2", "x**2 - y**2",
       "a saddle point at (0, 0), unbounded below along y: starting almost on the ridge, who leaves it first",
       saddle, {-4, 0.001}, Point2{0, 0}, false, {-5, 5, -5, 5}, "-16, -9, -4, -1, 0, 1, 4, 9, 16",
       {"sgd:lr=0.1", "momentum:lr=0.1", "adagrad:lr=0.5", "adam:lr=0.2", "nesterov:lr=0.1", "rmsprop:lr=0.1",
        "lbfgs:iters=1"},
       40},
  };
  return list;
}

const Surface& surface(const std::string& name) {
  std::vector<std::string> names;
  for (const Surface& s : surfaces()) {
    if (s.name == name) return s;
    names.push_back(s.name);
  }
  throw ValueError(fmt::format("surface '{}': no such surface (accepted: {})", name, fmt::join(names, ", ")));
}

namespace {
double value_of(const Function2& f, const Point2& p, Tape<double>& tape) {
  NoGradGuard no_grad;
  tape.clear();
  return f(tape.constant(Tensor<double>{p[0], p[1]})).value()[0];
}
}  // namespace

double value_at(const Surface& s, const Point2& p) {
  Tape<double> tape;
  return value_of(s.f, p, tape);
}

std::vector<OptimizerSpec> surface_optimizers(const Surface& s, bool all) {
  std::vector<OptimizerSpec> out;
  for (std::size_t i = 0; i < (all ? s.optimizers.size() : 4); ++i) out.push_back(OptimizerSpec::parse(s.optimizers[i]));
  return out;
}

Descent descend(const OptimizerSpec& spec, const Function2& f, Point2 start, int steps) {
  Parameter<double> xy("xy", Tensor<double>{start[0], start[1]});
  auto optimizer = make_optimizer<double>(spec, {&xy});
  Descent out{{start}, {}, false};
  Tape<double> tape;
  const auto evaluate = [&] {
    tape.clear();
    optimizer->zero_grad();
    const Var<double> value = f(tape.parameter(xy));
    value.backward();
    return value.value()[0];
  };
  for (int i = 0; i < steps; ++i) {
    if (optimizer->needs_closure()) {
      try {
        out.values.push_back(optimizer->step(evaluate));  // L-BFGS: its line search evaluates f again
      } catch (const NumericError&) {  // its line search ran off to infinity (a surface unbounded below)
        out.values.push_back(value_of(f, out.path.back(), tape));
        out.diverged = true;
        return out;
      }
    } else {
      out.values.push_back(evaluate());
      optimizer->step();
    }
    const Point2 next{xy.value[0], xy.value[1]};
    if (!std::isfinite(next[0]) || !std::isfinite(next[1])) {
      out.diverged = true;
      return out;  // f was taken at every point of the path
    }
    out.path.push_back(next);
  }
  out.values.push_back(value_of(f, out.path.back(), tape));
  return out;
}

}  // namespace tapegrad::support
