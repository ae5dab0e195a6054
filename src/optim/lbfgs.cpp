// L-BFGS as PyTorch's torch.optim.LBFGS takes its steps (Nocedal & Wright, Numerical Optimization, algorithm 7.4
// for the direction, algorithms 3.5-3.6 for the strong Wolfe line search with cubic interpolation):
//   d = -H g by two loops over the last `history` pairs s = t d, y = g' - g (kept when s.y > 1e-10), H0 = s.y / y.y;
//   t = lr (first iteration: min(1, 1 / |g|_1) lr), refined until f(p + t d) <= f + 1e-4 t g.d and
//   |g(p + t d).d| <= 0.9 |g.d|; p += t d; up to `iters` iterations (and iters * 5 / 4 evaluations) per step, fewer
//   when |g|_max <= 1e-7, |t d|_max <= 1e-9 or the loss changes by less than 1e-9.
// The state (direction, last gradient, the pairs as a ring, their 1 / s.y) lives in slots and scalars, so a
// checkpoint holds it like any optimizer's.
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {

constexpr double kToleranceGrad = 1e-7, kToleranceChange = 1e-9;  // PyTorch's defaults
constexpr double kArmijo = 1e-4, kCurvature = 0.9;                  // c1, c2 of the Wolfe conditions
constexpr int kMaxLineSearch = 25;

double whole_number(const char* key, double value, double high) {
  if (!std::isfinite(value) || value < 1 || value > high || value != std::floor(value))
    throw ValueError(fmt::format("lbfgs: {}={} must be a whole number from 1 to {}", key, value, high));
  return value;
}

// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, kept within [low, high]; the
// middle of the interval when the cubic has no minimum.
double cubic_minimum(double x1, double f1, double g1, double x2, double f2, double g2, double low, double high) {
  const double d1 = (g1 + g2) - 3 * (f1 - f2) / (x1 - x2);
  const double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (low + high) / 2;
  const double d2 = std::sqrt(d2_square);
  const double at = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                             : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(at, low), high);
}

template <class T>
class Lbfgs : public Optimizer<T> {
  using Flat = std::vector<Tensor<T>>;  // one tensor per parameter: together, a vector over all of them

 public:
  Lbfgs(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("lbfgs", std::move(params), detail::or_default(o.lr, "lbfgs", "lr"), 0),
        max_iter_(std::size_t(whole_number("iters", detail::or_default(o.iterations, "lbfgs", "iters"), 1e6))),
        history_(std::size_t(whole_number("history", detail::or_default(o.history, "lbfgs", "history"), 1000))),
        wolfe_(detail::or_default(o.line_search, "lbfgs", "wolfe")),
        d_(reserve_then_slot("d", o)),
        prev_grad_(this->add_slot("prev_grad")),
        n_iter_(this->add_scalar("n_iter")),
        func_evals_(this->add_scalar("func_evals")),
        t_(this->add_scalar("t")),
        h_diag_(this->add_scalar("h_diag")),
        prev_loss_(this->add_scalar("prev_loss")),
        pairs_(this->add_scalar("pairs")),
        oldest_(this->add_scalar("oldest")) {
    if (wolfe_ != 0 && wolfe_ != 1) throw ValueError(fmt::format("lbfgs: wolfe={} must be 0 or 1", wolfe_));
    this->groups_allowed_ = false;
    for (std::size_t j = 0; j < history_; ++j) {
      s_.push_back(&this->add_slot(fmt::format("s{}", j)));
      y_.push_back(&this->add_slot(fmt::format("y{}", j)));
      ro_.push_back(&this->add_scalar(fmt::format("ro{}", j)));
    }
    al_.resize(history_);
    for (Flat* scratch : {&grad_, &x_, &g_new_, &g_prev_, &y_new_, &s_new_, &bracket_g_[0], &bracket_g_[1]})
      for (const Parameter<T>* p : this->params_) scratch->emplace_back(p->value.shape());
  }

  std::string describe() const override {
    return fmt::format("lbfgs(lr={:g}, iters={}, history={}, line search: {})", this->lr_, max_iter_, history_,
                       wolfe_ ? "strong Wolfe" : "none");
  }
  bool needs_closure() const override { return true; }

  double step(const std::function<double()>& closure) override {
    if (!closure) throw ValueError("lbfgs: step(closure) with an empty closure");
    if (this->params_.empty())
      throw ValueError("lbfgs: step(closure) with no parameters to update; did you register the model's layers?");
    for (std::size_t i = 0; i < d_.size(); ++i)
      if (this->params_[i]->value.shape() != d_[i].shape())
        throw ShapeError(fmt::format("lbfgs: parameter '{}' has shape {} but its state {} (was the parameter "
                                     "resized after the optimizer was made?)",
                                     this->params_[i]->name, this->params_[i]->value.shape().str(),
                                     d_[i].shape().str()));
    const double first_loss = closure();
    double loss = first_loss;
    std::size_t evaluations = 1;
    func_evals_ += 1;
    gather_gradient(grad_);
    check_finite(first_loss, grad_, "at the start of the step");
    bool optimal = max_abs(grad_) <= kToleranceGrad;
    if (optimal) return first_loss;
    const std::size_t max_evaluations = max_iter_ * 5 / 4;
    for (std::size_t iteration = 1; iteration <= max_iter_; ++iteration) {
      n_iter_ += 1;
      if (n_iter_ == 1) {
        for (std::size_t i = 0; i < d_.size(); ++i)
          for (std::size_t j = 0; j < d_[i].size(); ++j) d_[i][j] = -grad_[i][j];
        h_diag_ = 1;
        pairs_ = oldest_ = 0;
      } else {
        remember_pair();
        direction();
      }
      copy(grad_, prev_grad_);
      prev_loss_ = loss;
      t_ = n_iter_ == 1 ? std::min(1.0, 1.0 / sum_abs(grad_)) * this->lr_ : this->lr_;
      const double slope = dot(grad_, d_);
      if (slope > -kToleranceChange) break;  // not a descent direction any more
      std::size_t line_evaluations = 0;
      if (wolfe_) {
        for (std::size_t i = 0; i < x_.size(); ++i) x_[i] = this->params_[i]->value;
        line_evaluations = strong_wolfe(closure, loss, slope);
        move_to(t_);
        optimal = max_abs(grad_) <= kToleranceGrad;
      } else {
        move_to(t_);
        if (iteration != max_iter_) {  // the last iteration's loss is the next step's first evaluation
          loss = closure();
          gather_gradient(grad_);
          check_finite(loss, grad_, fmt::format("after a fixed step of {:g}", t_));
          optimal = max_abs(grad_) <= kToleranceGrad;
          line_evaluations = 1;
        }
      }
      evaluations += line_evaluations;
      func_evals_ += double(line_evaluations);
      if (iteration == max_iter_ || evaluations >= max_evaluations || optimal) break;
      if (max_abs(d_) * std::abs(t_) <= kToleranceChange) break;  // |t d|_max: the step is negligible
      if (std::abs(loss - prev_loss_) < kToleranceChange) break;
    }
    return first_loss;
  }

 private:
  // The slots are made before the history's: refuse a history whose copies would not fit in memory first.
  std::vector<Tensor<T>>& reserve_then_slot(const char* slot, const OptimizerOptions&) {
    double elements = 0;
    for (const Parameter<T>* p : this->params_) elements += double(p->value.size());
    const double bytes = (2.0 * double(history_) + 10) * elements * sizeof(T);
    const double physical = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
    if (physical > 0 && bytes > physical / 2)
      throw ValueError(fmt::format("lbfgs: history={} over {:.0f} parameters needs {:.3g} GB (two copies of the "
                                   "parameters per pair); this machine has {:.3g} GB. Use a shorter history",
                                   history_, elements, bytes / 1e9, physical / 1e9));
    return this->add_slot(slot);
  }

  void update(std::size_t, Tensor<T>&, const Tensor<T>&) override {
    throw ValueError(
        "lbfgs: step() without a closure; L-BFGS evaluates the loss several times per step (its line search), so "
        "call step(closure) with a function that clears the gradients, computes the loss, calls backward and "
        "returns the loss");
  }

  // s = t d, y = g - g_prev of the iteration that ended here, kept (the oldest dropped when full) if s.y > 1e-10.
  void remember_pair() {
    for (std::size_t i = 0; i < grad_.size(); ++i)
      for (std::size_t j = 0; j < grad_[i].size(); ++j) {
        y_new_[i][j] = grad_[i][j] - prev_grad_[i][j];
        s_new_[i][j] = d_[i][j] * static_cast<T>(t_);
      }
    const double ys = dot(y_new_, s_new_);
    if (ys <= 1e-10) return;
    std::size_t slot = 0;
    if (std::size_t(pairs_) == history_) {
      slot = std::size_t(oldest_);
      oldest_ = double((slot + 1) % history_);
    } else {
      slot = (std::size_t(oldest_) + std::size_t(pairs_)) % history_;
      pairs_ += 1;
    }
    std::swap(*y_[slot], y_new_);
    std::swap(*s_[slot], s_new_);
    *ro_[slot] = 1.0 / ys;
    h_diag_ = ys / dot(*y_[slot], *y_[slot]);
  }

  // d = -H g by the two-loop recursion, newest pair first, then oldest first.
  void direction() {
    const std::size_t count = std::size_t(pairs_);
    const auto pair = [&](std::size_t k) { return (std::size_t(oldest_) + k) % history_; };  // k-th oldest
    for (std::size_t i = 0; i < d_.size(); ++i)
      for (std::size_t j = 0; j < d_[i].size(); ++j) d_[i][j] = -grad_[i][j];
    for (std::size_t k = count; k-- > 0;) {
      const std::size_t at = pair(k);
      al_[k] = dot(*s_[at], d_) * *ro_[at];
      add_scaled(d_, -al_[k], *y_[at]);
    }
    for (Tensor<T>& part : d_)
      for (T& v : part) v = static_cast<T>(v * h_diag_);
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t at = pair(k);
      const double be = dot(*y_[at], d_) * *ro_[at];
      add_scaled(d_, al_[k] - be, *s_[at]);
    }
  }

  // The loss and gradient at x + t d (the parameters are put back at x afterwards).
  double evaluate_at(const std::function<double()>& closure, double t, Flat& gradient) {
    move_to(t);
    const double loss = closure();
    gather_gradient(gradient);
    for (std::size_t i = 0; i < x_.size(); ++i) this->params_[i]->value = x_[i];
    check_finite(loss, gradient, fmt::format("in the line search at t = {:g} (the parameters are back where the "
                                             "iteration started)",
                                             t));
    return loss;
  }

  // A NaN or infinite loss or gradient: an error, not a line search that goes on comparing NaNs.
  void check_finite(double loss, const Flat& gradient, const std::string& where) const {
    if (!std::isfinite(loss))
      throw NumericError(fmt::format("lbfgs: the closure returned a loss of {} {}", loss, where));
    for (std::size_t i = 0; i < gradient.size(); ++i)
      for (std::size_t j = 0; j < gradient[i].size(); ++j)
        if (!std::isfinite(gradient[i][j]))
          throw NumericError(fmt::format("lbfgs: the gradient of parameter '{}' holds {} at element {} {}",
                                         this->params_[i]->name, gradient[i][j], j, where));
  }

  // The step t along d from x (loss f, slope g.d) that satisfies the strong Wolfe conditions: bracket it, then zoom
  // in by cubic interpolation. Leaves t in t_, its loss in `f` and its gradient in grad_; returns the evaluations.
  std::size_t strong_wolfe(const std::function<double()>& closure, double& f, double slope) {
    const double d_norm = max_abs(d_), f0 = f;
    double t = t_;
    double f_new = evaluate_at(closure, t, g_new_);
    std::size_t evaluations = 1;
    double slope_new = dot(g_new_, d_);
    double t_prev = 0, f_prev = f0, slope_prev = slope;
    copy(grad_, g_prev_);
    bool done = false;
    int iterations = 0;
    double bracket[2] = {0, 0}, bracket_f[2] = {0, 0}, bracket_slope[2] = {0, 0};
    const auto bracket_between = [&](double t0, double f0_, const Flat& g0, double s0, double t1, double f1,
                                     const Flat& g1, double s1) {
      bracket[0] = t0, bracket[1] = t1, bracket_f[0] = f0_, bracket_f[1] = f1, bracket_slope[0] = s0,
      bracket_slope[1] = s1;
      copy(g0, bracket_g_[0]);
      copy(g1, bracket_g_[1]);
    };
    while (iterations < kMaxLineSearch) {
      if (f_new > f0 + kArmijo * t * slope || (iterations > 1 && f_new >= f_prev)) {
        bracket_between(t_prev, f_prev, g_prev_, slope_prev, t, f_new, g_new_, slope_new);
        break;
      }
      if (std::abs(slope_new) <= -kCurvature * slope) {
        bracket_between(t, f_new, g_new_, slope_new, t, f_new, g_new_, slope_new);
        done = true;
        break;
      }
      if (slope_new >= 0) {
        bracket_between(t_prev, f_prev, g_prev_, slope_prev, t, f_new, g_new_, slope_new);
        break;
      }
      const double low = t + 0.01 * (t - t_prev), high = t * 10, previous = t;
      t = cubic_minimum(t_prev, f_prev, slope_prev, t, f_new, slope_new, low, high);
      t_prev = previous, f_prev = f_new, slope_prev = slope_new;
      copy(g_new_, g_prev_);
      f_new = evaluate_at(closure, t, g_new_);
      ++evaluations;
      slope_new = dot(g_new_, d_);
      ++iterations;
    }
    if (iterations == kMaxLineSearch) bracket_between(0, f0, grad_, slope, t, f_new, g_new_, slope_new);

    bool insufficient_progress = false;
    std::size_t lo = bracket_f[0] <= bracket_f[1] ? 0 : 1, hi = 1 - lo;
    while (!done && iterations < kMaxLineSearch) {
      t = cubic_minimum(bracket[0], bracket_f[0], bracket_slope[0], bracket[1], bracket_f[1], bracket_slope[1],
                        std::min(bracket[0], bracket[1]), std::max(bracket[0], bracket[1]));
      // a trial next to an end of the bracket: moved a tenth of the bracket inside when the last one was too
      const double top = std::max(bracket[0], bracket[1]), bottom = std::min(bracket[0], bracket[1]);
      const double margin = 0.1 * (top - bottom);
      if (std::min(top - t, t - bottom) < margin) {
        if (insufficient_progress || t >= top || t <= bottom) {
          t = std::abs(t - top) < std::abs(t - bottom) ? top - margin : bottom + margin;
          insufficient_progress = false;
        } else {
          insufficient_progress = true;
        }
      } else {
        insufficient_progress = false;
      }
      f_new = evaluate_at(closure, t, g_new_);
      ++evaluations;
      slope_new = dot(g_new_, d_);
      ++iterations;
      if (f_new > f0 + kArmijo * t * slope || f_new >= bracket_f[lo]) {
        bracket[hi] = t, bracket_f[hi] = f_new, bracket_slope[hi] = slope_new;
        copy(g_new_, bracket_g_[hi]);
        lo = bracket_f[0] <= bracket_f[1] ? 0 : 1, hi = 1 - lo;
      } else {
        if (std::abs(slope_new) <= -kCurvature * slope) {
          done = true;
        } else if (slope_new * (bracket[hi] - bracket[lo]) >= 0) {
          bracket[hi] = bracket[lo], bracket_f[hi] = bracket_f[lo], bracket_slope[hi] = bracket_slope[lo];
          copy(bracket_g_[lo], bracket_g_[hi]);
        }
        bracket[lo] = t, bracket_f[lo] = f_new, bracket_slope[lo] = slope_new;
        copy(g_new_, bracket_g_[lo]);
      }
      if (std::abs(bracket[1] - bracket[0]) * d_norm < kToleranceChange) break;
    }
    t_ = bracket[lo];
    f = bracket_f[lo];
    copy(bracket_g_[lo], grad_);
    return evaluations;
  }

  // The parameters at x + t d (x: where this iteration started).
  void move_to(double t) {
    const T step = static_cast<T>(t);
    for (std::size_t i = 0; i < d_.size(); ++i) {
      Tensor<T>& p = this->params_[i]->value;
      const Tensor<T>& from = wolfe_ ? x_[i] : p;
      for (std::size_t j = 0; j < p.size(); ++j) p[j] = from[j] + step * d_[i][j];
    }
  }

  void gather_gradient(Flat& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      Parameter<T>& p = *this->params_[i];
      const Tensor<T>& g = p.grad();
      if (g.shape() != p.value.shape())
        throw ShapeError(fmt::format("lbfgs: parameter '{}' has shape {} but its gradient {} (did the closure call "
                                     "backward?)",
                                     p.name, p.value.shape().str(), g.shape().str()));
      std::copy(g.begin(), g.end(), out[i].begin());
    }
  }

  static void copy(const Flat& from, Flat& to) {
    for (std::size_t i = 0; i < from.size(); ++i) std::copy(from[i].begin(), from[i].end(), to[i].begin());
  }
  static double dot(const Flat& a, const Flat& b) {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::size_t j = 0; j < a[i].size(); ++j) sum += double(a[i][j]) * double(b[i][j]);
    return sum;
  }
  static void add_scaled(Flat& to, double scale, const Flat& x) {
    const T s = static_cast<T>(scale);
    for (std::size_t i = 0; i < to.size(); ++i)
      for (std::size_t j = 0; j < to[i].size(); ++j) to[i][j] += s * x[i][j];
  }
  static double max_abs(const Flat& a) {
    double m = 0;
    for (const Tensor<T>& part : a)
      for (const T v : part) m = std::max(m, double(std::abs(v)));
    return m;
  }
  static double sum_abs(const Flat& a) {
    double s = 0;
    for (const Tensor<T>& part : a)
      for (const T v : part) s += double(std::abs(v));
    return s;
  }

  std::size_t max_iter_, history_;
  double wolfe_;
  std::vector<Tensor<T>>& d_;
  std::vector<Tensor<T>>& prev_grad_;
  double &n_iter_, &func_evals_, &t_, &h_diag_, &prev_loss_, &pairs_, &oldest_;
  std::vector<std::vector<Tensor<T>>*> s_, y_;  // the pairs, a ring of `history_` slots from oldest_
  std::vector<double*> ro_;
  std::vector<double> al_;
  Flat grad_, x_, g_new_, g_prev_, y_new_, s_new_, bracket_g_[2];
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_lbfgs(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Lbfgs<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_lbfgs)

}  // namespace tapegrad
