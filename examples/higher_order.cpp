// Derivatives of derivatives from the tape, as in the third volume of the book series (DeZero, steps 29-35):
//   1. tanh's first three derivatives at x = 0.5, each gradient recorded (create_graph) and differentiated again;
//   2. Newton's method on f(x) = x^4 - 2x^2 from x = 2 with f' and f'' both from the tape, beside gradient
//      descent on the same function;
//   3. tanh and its derivatives up to order 4 on [-4, 4]: tanh_derivatives.csv and tanh_derivatives.png in the
//      folder given as the first argument (default: the current folder);
//   4. forward against reverse mode: the Jacobians of a function with 2 inputs and 50 outputs and of one with 50
//      inputs and 2 outputs, each built both ways, with the passes each way needed.
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

extern char** environ;  // the environment gnuplot inherits

namespace tg = tapegrad;
using V = tg::Var<double>;

namespace {

V f(const V& x) { return tg::pow(x, 4) - 2.0 * tg::pow(x, 2); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
  if (!file.flush()) throw tg::DataError(fmt::format("{}: cannot write", path));
}

// gnuplot SCRIPT with arguments ARG1.., as an argument vector (no shell sees the file names).
void run_gnuplot(const std::string& script, std::vector<std::string> args) {
  std::vector<std::string> words{"gnuplot", "-c", script};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int status = 0;
  if (posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv.data(), environ) != 0 || waitpid(pid, &status, 0) != pid ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw tg::Error(fmt::format("gnuplot {} failed (is gnuplot installed?)", script));
}

// One Newton step, x - f'(x) / f''(x), both derivatives from the tape.
double newton_step(double x) {
  tg::Tape<double> tape;
  const V xv = tape.variable(tg::Tensor<double>::scalar(x));
  const V d1 = tg::grad(f(xv), {xv}, tg::kCreateGraph)[0];  // recorded: it can be differentiated again
  const V d2 = tg::grad(d1, {xv})[0];
  return x - d1.item() / d2.item();
}

// One gradient-descent step, x - lr f'(x).
double descent_step(double x, double lr) {
  tg::Tape<double> tape;
  const V xv = tape.variable(tg::Tensor<double>::scalar(x));
  f(xv).backward();
  return x - lr * xv.grad().item();
}

// Steps until |x - 1| < tolerance (at most `limit`).
template <class Step>
int steps_to_minimum(double x, Step&& step, double tolerance, int limit) {
  int n = 0;
  for (; n < limit && std::abs(x - 1) >= tolerance; ++n) x = step(x);
  return n;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string out = argc > 1 ? argv[1] : ".";

  // 1. tanh's derivatives at 0.5
  {
    tg::Tape<double> tape;
    const V x = tape.variable(tg::Tensor<double>::scalar(0.5));
    V y = tg::tanh(x);
    fmt::print("tanh at x = 0.5: each derivative recorded (create_graph), then differentiated again\n");
    for (int order = 1; order <= 3; ++order) {
      y = tg::grad(y, {x}, tg::kCreateGraph)[0];
      fmt::print("  order {}: {}\n", order, y.item());
    }
  }

  // 2. Newton's method against gradient descent on x^4 - 2x^2 (minimum at x = 1)
  const double lr = 0.01;
  fmt::print("\nf(x) = x^4 - 2x^2 from x = 2: Newton's method (f' and f'' from the tape) and gradient descent "
             "(lr {})\n",
             lr);
  fmt::print("  {:>4}  {:<20} {:<20}\n", "step", "Newton x", "gradient descent x");
  double newton = 2, descent = 2;
  for (int step = 0; step <= 8; ++step) {
    fmt::print("  {:>4}  {:<20} {:<20}\n", step, newton, descent);
    newton = newton_step(newton);
    descent = descent_step(descent, lr);
  }
  const double tolerance = 1e-10;
  fmt::print("  steps to |x - 1| < {:g}: Newton {}, gradient descent {}\n", tolerance,
             steps_to_minimum(2.0, newton_step, tolerance, 10000),
             steps_to_minimum(2.0, [&](double x) { return descent_step(x, lr); }, tolerance, 10000));

  // 3. tanh and its derivatives up to order 4, elementwise over a grid: the gradient of sum(y) is dy/dx there
  const std::size_t points = 161;
  tg::Tensor<double> grid(tg::Shape{points});
  for (std::size_t i = 0; i < points; ++i) grid[i] = -4.0 + 8.0 * double(i) / double(points - 1);
  tg::Tape<double> tape;
  const V x = tape.variable(grid);
  std::vector<V> curves{tg::tanh(x)};
  for (int order = 1; order <= 4; ++order) curves.push_back(tg::grad(tg::sum(curves.back()), {x}, tg::kCreateGraph)[0]);
  std::string csv = "x,tanh,d1,d2,d3,d4\n";
  for (std::size_t i = 0; i < points; ++i) {
    csv += fmt::format("{}", grid[i]);
    for (const V& c : curves) csv += fmt::format(",{}", c.value()[i]);
    csv += "\n";
  }
  const std::string csv_path = out + "/tanh_derivatives.csv", png = out + "/tanh_derivatives.png";
  write_text(csv_path, csv);
  const std::string script =
      "set terminal pngcairo size 900,600 font ',11'\nset output ARG1\nset datafile separator ','\n"
      "set title 'tanh and its derivatives, each from the tape (create\\_graph)'\nset xlabel 'x'\nset grid\n"
      "set key top left\n"
      "plot ARG2 using 1:2 with lines lw 3 lc rgb '#000000' title 'y = tanh(x)', \\\n"
      "     ARG2 using 1:3 with lines lw 2 lc rgb '#1f77b4' title \"y'\", \\\n"
      "     ARG2 using 1:4 with lines lw 2 lc rgb '#2ca02c' title \"y''\", \\\n"
      "     ARG2 using 1:5 with lines lw 2 lc rgb '#ff7f0e' title \"y'''\", \\\n"
      "     ARG2 using 1:6 with lines lw 2 lc rgb '#d62728' title \"y''''\"\n";
  write_text(out + "/tanh_derivatives.gp", script);
  run_gnuplot(out + "/tanh_derivatives.gp", {png, csv_path});
  fmt::print("\ntanh and its derivatives up to order 4 on [-4, 4] ({} points): {} and {}\n", points, csv_path, png);

  // 4. forward mode builds a Jacobian a column at a time, reverse mode a row at a time
  fmt::print("\nJacobians both ways: forward mode runs one pass per input, reverse mode one per output\n");
  const tg::TensorFunction<double> widen = [](const V& v) { return tg::tanh(tg::broadcast_to(v, {25, 2})); };
  const tg::TensorFunction<double> narrow = [](const V& v) { return tg::sum(tg::tanh(tg::reshape(v, {2, 25})), {1}); };
  for (const auto& [name, fn, inputs] : {std::tuple{"R^2 -> R^50", widen, std::size_t{2}},
                                         std::tuple{"R^50 -> R^2", narrow, std::size_t{50}}}) {
    const tg::Tensor<double> at = tg::Tensor<double>::ones({inputs});
    const tg::JacobianResult<double> fwd = tg::jacobian(fn, at, tg::JacobianMode::Forward);
    const tg::JacobianResult<double> rev = tg::jacobian(fn, at, tg::JacobianMode::Reverse);
    double gap = 0;
    for (std::size_t i = 0; i < fwd.matrix.size(); ++i) gap = std::max(gap, std::abs(fwd.matrix[i] - rev.matrix[i]));
    fmt::print("  {}: forward {} passes, reverse {} passes, largest difference {:g}; automatic: {}\n", name,
               fwd.passes, rev.passes, gap, tg::jacobian(fn, at).why);
  }
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "higher_order: {}\n", e.what());
  return 1;
}
