#pragma once
// Optimizers on functions of two variables, as the book's optimizer_compare_naive.py shows them: its bowl
// x^2/20 + y^2, and the classic harder surfaces (Rosenbrock's valley, Beale's function, a saddle).
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad::support {

using Point2 = std::array<double, 2>;
using Function2 = std::function<Var<double>(const Var<double>&)>;  // f of xy, a Var of shape (2,)

/// A surface to descend and what its picture needs. Every text is the program's own (none comes from a user).
struct Surface {
  std::string name;     // "rosenbrock"
  std::string formula;  // "(1 - x)^2 + 100 (y - x^2)^2", as printed
  std::string gnuplot;  // the same in gnuplot's syntax, for the contours
  std::string lesson;   // what the comparison on it shows
  Function2 f;
  Point2 start;
  Point2 marked;                        // each panel marks it: the minimum, or the saddle's saddle point
  bool has_minimum;                     // false: unbounded below (the saddle)
  std::array<double, 4> view;           // x from, x to, y from, y to
  std::string contour_levels;           // gnuplot's "levels discrete ..." list
  std::vector<std::string> optimizers;  // SGD, Momentum, AdaGrad, Adam, Nesterov, RMSProp at rates that show it
  int steps;                            // updates when none are asked for
};

/// bowl (the book's), rosenbrock, beale, saddle.
const std::vector<Surface>& surfaces();
/// The surface of that name; ValueError naming it and listing the surfaces otherwise.
const Surface& surface(const std::string& name);
/// f at p, evaluated on a tape of its own without recording.
double value_at(const Surface& s, const Point2& p);
/// The surface's optimizers: the first four (the book's figure), or with `all` also Nesterov, RMSProp and L-BFGS.
std::vector<OptimizerSpec> surface_optimizers(const Surface& s, bool all = false);

/// The book's f(x, y) = x^2 / 20 + y^2 from (-7, 2), and its optimizers (SGD lr 0.95, Momentum lr 0.1, AdaGrad
/// lr 1.5, Adam lr 0.3; with `all`, also Nesterov lr 0.1 and RMSProp lr 0.3).
inline const Surface& book_bowl() { return surface("bowl"); }

/// An optimizer's path on f: start, then each iterate, and f at each of them. It stops early, with `diverged`
/// set, at the first iterate that is not finite (that point is left out).
struct Descent {
  std::vector<Point2> path;
  std::vector<double> values;  // f(path[i]): the values the descent computed its gradients from, and the last
  bool diverged = false;
};
/// `steps` updates of the optimizer on f from start, gradients by the tape.
Descent descend(const OptimizerSpec& spec, const Function2& f, Point2 start, int steps);

}  // namespace tapegrad::support
