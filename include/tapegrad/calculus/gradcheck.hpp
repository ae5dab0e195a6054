#pragma once
// Numerical gradients by central differences, and a checker that compares them with the tape's.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// The book's numerical_diff: (f(x + h) - f(x - h)) / 2h.
double numerical_diff(const std::function<double(double)>& f, double x, double h = 1e-4);

/// The book's numerical_gradient: df/dx for every element of x, by central differences.
/// Perturbs x in place, one element at a time, and restores it. f may read x directly or ignore its argument.
template <class T>
Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>& f, Tensor<T>& x, double h = 1e-4);
/// The same for a const x: perturbs a copy (f must read its argument).
template <class T>
Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>& f, const Tensor<T>& x, double h = 1e-4);

struct GradcheckOptions {
  double eps = 0;   // central-difference step; 0 picks 1e-6 for double, 1e-3 for float
  double atol = 0;  // pass when |a - n| <= atol + rtol * |n|; 0 picks 1e-5 (double) / 1e-2 (float)
  double rtol = 0;  // 0 picks 1e-3 (double) / 1e-2 (float)
  bool fast = false;          // directional derivatives along random directions (uniform coordinates, variance 1)
  std::size_t directions = 8; // fast mode: directions per checked tensor
  std::uint64_t seed = 1234;  // upstream gradient and fast-mode directions
  int order = 1;  // 2: gradgradcheck, the second derivatives (see below); 3: the third derivatives, likewise
  // Full mode: evaluate each perturbation by recomputing only what it changes on the recorded tape, through the
  // ops' reevaluate rules (Op::reevaluate), instead of running f again. Used for a tensor only when a few
  // sampled elements give the same differences both ways (so an f that reads a value without recording it, or
  // branches on one, is evaluated in full); any op without a rule falls back to running f.
  bool incremental = true;
};

/// How one checked tensor fared.
struct GradcheckEntry {
  std::string name;
  Shape shape;
  std::size_t checked = 0;      // elements (full mode) or directions (fast mode)
  double mean_abs_error = 0;    // the book's figure: mean |analytic - numerical|
  double max_abs_error = 0;
  double max_rel_error = 0;     // |a - n| / |n| at its worst
  std::vector<std::size_t> worst_index;  // element (full mode) or {direction} (fast mode)
  double worst_analytic = 0;
  double worst_numerical = 0;
  bool all_zero = false;  // both gradients exactly zero: nothing was checked, so it does not pass (except a
                          // second derivative of an input f is linear in, in gradgradcheck: it is zero)
  // Elements at a kink (ReLU or abs at 0, ties in max): the one-sided differences (f(x+h) - f(x)) / h and
  // (f(x) - f(x-h)) / h disagree, so there is no derivative to compare with. Reported, not judged.
  std::size_t kinks = 0;
  std::vector<std::size_t> first_kink;  // its index, and what was seen there:
  double kink_analytic = 0, kink_forward = 0, kink_backward = 0;
  bool passed = false;  // every element not at a kink within tolerance, and not all zero
  // Full mode: perturbations evaluated incrementally (see GradcheckOptions::incremental) and by running f.
  std::size_t incremental_evaluations = 0, full_evaluations = 0;
};

struct GradcheckReport {
  std::vector<std::string> ops;  // the ops the checked function recorded, in order of first use (user ops too)
  std::vector<GradcheckEntry> entries;
  bool fast = false;
  double eps = 0, atol = 0, rtol = 0;
  std::string warning;  // e.g. checking in float
  int order = 1;        // 2 for gradgradcheck
  bool passed() const;
  const GradcheckEntry& operator[](const std::string& name) const;  // throws ValueError if absent
  /// One row per tensor, then a line for each tensor with elements at kinks. "max rel" counts only elements
  /// where the gradient exceeds atol ("-" when none does): a zero next to a rounding-sized number is not 100 %.
  std::string table() const;
};

/// Check the gradients of `f` with respect to `params`. `f` records a computation on the tape it is given,
/// reading each checked tensor through tape.parameter(*p). The output is reduced with a random upstream
/// gradient v (L = sum(v * f)), so any output shape works and a wrong rule cannot hide behind all-ones.
template <class T>
GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                          const GradcheckOptions& options = {});

/// Convenience: check `f` with respect to each of `inputs` (named input0, input1, ...).
template <class T>
GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>& f,
                          const std::vector<Tensor<T>>& inputs, const GradcheckOptions& options = {});

/// gradgradcheck: the second derivatives of `f`, checked like gradcheck checks the first. With a random upstream
/// u of f's output shape and random w_k of each parameter's shape, it checks the derivatives of <w, G>, where
/// G_k = d<u, f>/dp_k: analytically, G recorded by the ops' backward_on_tape rules (create_graph) and
/// differentiated once more; numerically, central differences of G computed by the first-order rules that
/// gradcheck checks. So a recorded rule that differs from the first-order one fails too. Rows: every parameter
/// (second derivatives of f; zero where f is linear in it) and "grad_output", u (the recorded rule as a function of
/// the upstream gradient). Same as gradcheck with options.order = 2. With options.order = 3 the same is done once
/// more: gradgradcheck of <w, G>, so the recorded second-order rules are checked (rows: every parameter,
/// "grad_output" and "grad_grad_output").
template <class T>
GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                              GradcheckOptions options = {});
template <class T>
GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>& f,
                              const std::vector<Tensor<T>>& inputs, GradcheckOptions options = {});

}  // namespace tapegrad
