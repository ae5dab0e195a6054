#include "tapegrad/calculus/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "calculus/gradient_dot.hpp"
#include "calculus/reevaluation.hpp"

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/tensor/random.hpp"

namespace tapegrad {

namespace {
void check_step(const char* where, double h) {
  if (!(h > 0) || !std::isfinite(h))
    throw ValueError(fmt::format("{}: the step h must be a positive finite number, got {}", where, h));
}
}  // namespace

double numerical_diff(const std::function<double(double)>& f, double x, double h) {
  check_step("numerical_diff", h);
  return (f(x + h) - f(x - h)) / (2 * h);
}

template <class T>
Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>& f, Tensor<T>& x, double h) {
  check_step("numerical_gradient", h);
  Tensor<T> grad(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const T saved = x[i];
    x[i] = static_cast<T>(saved + h);
    const double f_plus = f(x);
    x[i] = static_cast<T>(saved - h);
    const double f_minus = f(x);
    x[i] = saved;
    grad[i] = static_cast<T>((f_plus - f_minus) / (2 * h));
  }
  return grad;
}

template <class T>
Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>& f, const Tensor<T>& x, double h) {
  Tensor<T> copy = x;
  return numerical_gradient(f, copy, h);
}

namespace {

// Tolerances that suit the precision: float's central differences are dominated by rounding.
template <class T>
GradcheckReport resolved(const GradcheckOptions& o) {
  for (const auto& [name, value] : {std::pair<const char*, double>{"eps", o.eps}, {"atol", o.atol}, {"rtol", o.rtol}})
    if (!(value >= 0) || !std::isfinite(value))
      throw ValueError(fmt::format("gradcheck: options.{} must be a finite number >= 0 (0: the default), got {}", name,
                                   value));
  if (o.fast && o.directions == 0) throw ValueError("gradcheck: fast mode needs at least one direction");
  if (o.order < 1 || o.order > 3)
    throw ValueError(fmt::format(
        "gradcheck: options.order must be 1 (gradients), 2 (gradgradcheck) or 3 (third derivatives), got {}", o.order));
  constexpr bool is_double = std::is_same_v<T, double>;
  GradcheckReport r;
  r.fast = o.fast;
  r.eps = o.eps > 0 ? o.eps : (is_double ? 1e-6 : 1e-3);
  r.atol = o.atol > 0 ? o.atol : (is_double ? 1e-5 : 1e-2);
  r.rtol = o.rtol > 0 ? o.rtol : (is_double ? 1e-3 : 1e-2);
  if (!is_double)
    r.warning = "checking in float: central differences are dominated by rounding; check in double";
  return r;
}

// Accumulates (analytic, numerical) pairs into one report entry.
class EntryBuilder {
 public:
  EntryBuilder(GradcheckEntry& e, double atol, double rtol) : e_(e), atol_(atol), rtol_(rtol) {}
  // `forward` and `backward` are the one-sided differences. Where they disagree, `gap_at(f)` measures their gap
  // again with the step times f. On a smooth function the gap is curvature times step: it halves with the step,
  // and halves again. At a kink at distance u x step it does not: it stays (u = 0), or falls to 0 once the step
  // no longer reaches the kink, and no u halves it twice (halving once needs u in [0.26, 0.39], and then a
  // quarter step no longer reaches it). So a gap that does not halve twice marks a kink.
  // `where` is called only for a new worst element or the first kink (unravelling every index would allocate).
  template <class Where, class GapAt>
  void add(Where&& where, double analytic, double numerical, double forward, double backward, GapAt&& gap_at) {
    const double one_sided_gap = std::abs(forward - backward);
    const auto halves = [](double from, double to) { return to >= 0.35 * from && to <= 0.65 * from; };
    const auto smooth = [&] {
      const double half = gap_at(0.5);
      return halves(one_sided_gap, half) && halves(half, gap_at(0.25));
    };
    if (one_sided_gap > atol_ + rtol_ * std::max(std::abs(forward), std::abs(backward)) && !smooth()) {
      if (e_.kinks++ == 0) {
        e_.first_kink = where();
        e_.kink_analytic = analytic;
        e_.kink_forward = forward;
        e_.kink_backward = backward;
      }
      return;
    }
    const double err = std::abs(analytic - numerical);
    const double scale = std::max(std::abs(analytic), std::abs(numerical));
    const double badness = err / (atol_ + rtol_ * std::abs(numerical));
    ++e_.checked;
    sum_err_ += err;
    e_.max_abs_error = std::max(e_.max_abs_error, err);
    if (scale > atol_) e_.max_rel_error = std::max(e_.max_rel_error, err / scale);
    if (!(badness <= 1)) all_within_ = false;  // NaN fails too
    if (analytic != 0 || std::abs(numerical) > atol_) nonzero_ = true;
    if (e_.checked == 1 || badness > worst_ || std::isnan(badness)) {
      worst_ = std::isnan(badness) ? std::numeric_limits<double>::infinity() : badness;
      e_.worst_index = where();
      e_.worst_analytic = analytic;
      e_.worst_numerical = numerical;
    }
  }
  void finish() {
    e_.mean_abs_error = e_.checked ? sum_err_ / double(e_.checked) : 0;
    e_.all_zero = e_.checked > 0 && !nonzero_;
    e_.passed = e_.checked > 0 && all_within_ && !e_.all_zero;
  }

 private:
  GradcheckEntry& e_;
  double atol_, rtol_;
  double sum_err_ = 0, worst_ = 0;
  bool all_within_ = true, nonzero_ = false;
};

// Fast mode's direction: independent coordinates uniform on [-sqrt 3, sqrt 3), mean 0 and variance 1 as a
// standard normal's. An error vector e is missed only when u is orthogonal to it (probability 0), and u.e has
// variance |e|^2 as with normal draws; PyTorch's fast gradcheck draws uniform coordinates too. A uniform
// draw costs one generator call, a normal one a log, a sqrt and a sine: the draws were most of fast mode's time.
template <class T>
Tensor<T> random_direction(const Shape& shape, Rng& rng) {
  Tensor<T> u(shape);
  const double half_width = std::sqrt(3.0);
  for (T& e : u) e = static_cast<T>(half_width * (2 * rng.uniform() - 1));
  return u;
}

// The ops a tape recorded, each once, in order of first use (leaves left out).
template <class T>
std::vector<std::string> ops_on(const Tape<T>& tape) {
  std::vector<std::string> ops;
  for (std::uint32_t i = 0; i < tape.size(); ++i) {
    const std::string name = tape.name(i);
    if (name == "leaf" || name == "parameter" || name == "constant") continue;
    if (std::find(ops.begin(), ops.end(), name) == ops.end()) ops.push_back(name);
  }
  return ops;
}

// What gradgradcheck and the third-order check differentiate: <w, G> with G = d<u, f>/dp, for a random upstream u
// of f's output shape (a parameter, so that it is checked too) and a random w_k of each parameter's shape.
template <class T>
struct Projection {
  Projection(const char* op, const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
             std::uint64_t seed, const char* upstream_name)
      : op(op), f(f), params(params) {
    Rng rng(seed);
    {
      Tape<T> tape;
      out_shape = f(tape).shape();
    }
    upstream = Parameter<T>(upstream_name, Tensor<T>::randn(out_shape, rng));
    for (Parameter<T>* p : params) {
      if (p == nullptr) throw ValueError(fmt::format("{}: a parameter is null", op));
      w.push_back(Tensor<T>::randn(p->value.shape(), rng));
    }
  }
  /// <w, G> with G recorded by the ops' backward_on_tape rules (create_graph), so it can be differentiated again.
  Var<T> recorded(Tape<T>& tape) {
    const Var<T> y = f(tape);
    if (y.shape() != out_shape)
      throw ShapeError(
          fmt::format("{}: the function returned shape {} then {}", op, out_shape.str(), y.shape().str()));
    return detail::gradient_dot(op, sum(y * tape.parameter(upstream)), params, w).value;
  }
  /// The parameters and the upstream u: every tensor the check differentiates with respect to.
  std::vector<Parameter<T>*> checked() {
    std::vector<Parameter<T>*> all = params;
    all.push_back(&upstream);
    return all;
  }

  const char* op;
  const std::function<Var<T>(Tape<T>&)>& f;
  const std::vector<Parameter<T>*>& params;
  Shape out_shape;
  Parameter<T> upstream;
  std::vector<Tensor<T>> w;
};

// gradgradcheck: gradcheck of <w, d<u, f>/dp>, the first gradient recorded with create_graph.
template <class T>
GradcheckReport second_order(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                             const GradcheckOptions& options, const char* upstream_name = "grad_output") {
  resolved<T>(options);  // the option errors first
  Projection<T> projection("gradgradcheck", f, params, options.seed + 1, upstream_name);
  const std::vector<Parameter<T>*> checked = projection.checked();
  // <w, G> with G from the first-order buffer rules, the ones gradcheck vouches for: the numerical side. Its
  // central differences are the trusted second derivatives, so a recorded rule that differs from the buffer rule
  // is caught, not only one whose own derivative is wrong.
  const auto projected_by_buffers = [&](Tape<T>& tape) {
    std::vector<Tensor<T>> saved;
    for (Parameter<T>* p : checked) {
      saved.push_back(p->grad());
      p->zero_grad();
    }
    GradModeGuard recording(true);
    const Var<T> s = sum(f(tape) * tape.parameter(projection.upstream));
    if (s.requires_grad()) s.backward();
    double total = 0;
    for (std::size_t k = 0; k < params.size(); ++k) {
      const Tensor<T>& grad = params[k]->grad();
      const Tensor<T>& w = projection.w[k];
      for (std::size_t i = 0; i < w.size(); ++i) total += double(w[i]) * double(grad[i]);
    }
    for (std::size_t k = 0; k < checked.size(); ++k) checked[k]->grad() = saved[k];
    return tape.constant(Tensor<T>::scalar(static_cast<T>(total)));
  };
  // the analytic side: <w, G> recorded, differentiated by one more backward
  const auto projected_gradient = [&](Tape<T>& tape) {
    if (!is_grad_enabled()) return projected_by_buffers(tape);  // gradcheck's numerical evaluations
    return projection.recorded(tape);
  };
  GradcheckOptions first = options;
  first.order = 1;
  GradcheckReport report = gradcheck<T>(projected_gradient, checked, first);
  report.order = 2;
  for (GradcheckEntry& e : report.entries)  // f linear in a parameter: its second derivatives are rightly zero
    if (e.name != projection.upstream.name && e.all_zero) e.passed = true;
  return report;
}

// The third order: gradgradcheck of h = <w, d<u, f>/dp>, the first gradient recorded with create_graph. Its
// numerical side differentiates h's gradient as computed by the buffer rules of what h recorded (the second-order
// rules), its analytic side records that gradient too and differentiates it once more: a recorded second-order rule
// that is wrong at some point (0 * inf where PyTorch gives 0) fails here.
template <class T>
GradcheckReport third_order(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                            const GradcheckOptions& options) {
  resolved<T>(options);
  Projection<T> projection("third-order gradcheck", f, params, options.seed + 2, "grad_output");
  const auto projected_gradient = [&](Tape<T>& tape) {
    GradModeGuard recording(true);
    return projection.recorded(tape);
  };
  GradcheckReport report = second_order<T>(projected_gradient, projection.checked(), options, "grad_grad_output");
  report.order = 3;
  for (GradcheckEntry& e : report.entries)  // f quadratic or linear in a tensor: its third derivatives are zero
    if (e.name != "grad_grad_output" && e.all_zero) e.passed = true;
  return report;
}

}  // namespace

template <class T>
GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                              GradcheckOptions options) {
  options.order = 2;
  return gradcheck(f, params, options);
}

template <class T>
GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>& f,
                              const std::vector<Tensor<T>>& inputs, GradcheckOptions options) {
  options.order = 2;
  return gradcheck(f, inputs, options);
}

template <class T>
GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&)>& f, const std::vector<Parameter<T>*>& params,
                          const GradcheckOptions& options) {
  if (options.order == 2) return second_order(f, params, options);
  if (options.order == 3) return third_order(f, params, options);
  GradcheckReport report = resolved<T>(options);
  Rng rng(options.seed);

  // Analytic: one backward pass of L = sum(v * f) with a random upstream v.
  for (Parameter<T>* p : params) p->zero_grad();
  Tape<T> tape;
  const Var<T> out = f(tape);
  const Shape out_shape = out.shape();
  const Tensor<T> v = Tensor<T>::randn(out_shape, rng);
  if (out.requires_grad()) tape.backward(out, v);
  report.ops = ops_on(tape);

  // Numerical: L evaluated without recording, in double, on one reused tape.
  Tape<T> t;
  const auto loss = [&] {
    NoGradGuard no_grad;
    t.clear();
    const Var<T> o = f(t);
    if (o.shape() != out_shape)
      throw ShapeError(fmt::format("gradcheck: the function returned shape {} then {}", out_shape.str(), o.shape().str()));
    double total = 0;
    for (std::size_t i = 0; i < v.size(); ++i) total += double(v[i]) * double(o.value()[i]);
    return total;
  };

  const double l_here = loss();  // for the one-sided differences that find kinks
  // Full mode's incremental evaluation on the recorded tape: L's change is summed over the root's changed
  // elements only (no cancellation against the rest of L, either).
  std::optional<detail::Reevaluation<T>> changes;
  if (!options.fast && options.incremental && out.requires_grad()) changes.emplace(tape, out.index());

  for (Parameter<T>* p : params) {
    GradcheckEntry& entry = report.entries.emplace_back();
    entry.name = p->name;
    entry.shape = p->value.shape();
    EntryBuilder builder(entry, report.atol, report.rtol);
    const Tensor<T> analytic = p->grad();
    Tensor<T>& x = p->value;
    if (!options.fast) {
      // L(x_i = value) - L(x): by running f, or by recomputing what the change touches
      const auto change_by_running_f = [&](std::size_t i, T value) {
        const T saved = x[i];
        x[i] = value;
        ++entry.full_evaluations;
        const double l = loss();
        x[i] = saved;
        return l - l_here;
      };
      const auto change_incrementally = [&](std::size_t i, T value) -> std::optional<double> {
        const T saved = x[i];
        x[i] = value;
        if (!changes->propagate(*p, i, saved)) {
          x[i] = saved;
          return std::nullopt;
        }
        const auto& root = changes->root_changes();
        const Tensor<T>& o = out.value();
        double delta = 0;
        for (std::size_t k = 0; k < root.changed.size(); ++k)
          delta += double(v[root.changed[k]]) * (double(o[root.changed[k]]) - double(root.before[k]));
        changes->undo();
        x[i] = saved;
        ++entry.incremental_evaluations;
        return delta;
      };
      // Incremental only if it agrees with running f on a few elements, to a tenth of the tolerance: an f that
      // reads a value without recording it (detach, a constant made from it) or branches on it does not.
      bool incremental = changes.has_value();
      for (std::size_t i : {std::size_t(0), x.size() / 2, x.size() - 1}) {
        if (!incremental || x.size() == 0) break;
        const T up = static_cast<T>(x[i] + report.eps), down = static_cast<T>(x[i] - report.eps);
        const auto inc_up = change_incrementally(i, up), inc_down = change_incrementally(i, down);
        if (!inc_up || !inc_down) {
          incremental = false;
          break;
        }
        const double by_f = (change_by_running_f(i, up) - change_by_running_f(i, down)) / (double(up) - double(down));
        const double by_changes = (*inc_up - *inc_down) / (double(up) - double(down));
        incremental = std::abs(by_changes - by_f) <= 0.1 * (report.atol + report.rtol * std::abs(by_f));
      }
      const auto change_at = [&](std::size_t i, T value) {
        if (incremental)
          if (const auto delta = change_incrementally(i, value)) return *delta;
        return change_by_running_f(i, value);
      };
      for (std::size_t i = 0; i < x.size(); ++i) {
        const T saved = x[i];
        const T up = static_cast<T>(saved + report.eps), down = static_cast<T>(saved - report.eps);
        const double d_up = change_at(i, up), d_down = change_at(i, down);
        // the one-sided gap with step h, dividing by the steps actually taken (in float, x +- h is rounded)
        const auto gap_at = [&](double h) {
          const T up_h = static_cast<T>(saved + h), down_h = static_cast<T>(saved - h);
          return std::abs(change_at(i, up_h) / (double(up_h) - double(saved)) +
                          change_at(i, down_h) / (double(saved) - double(down_h)));
        };
        builder.add([&] { return unravel_index(i, x.shape()); }, analytic[i], (d_up - d_down) / (double(up) - double(down)),
                    d_up / (double(up) - double(saved)), -d_down / (double(saved) - double(down)),
                    [&](double factor) { return gap_at(report.eps * factor); });
      }
    } else {
      const Tensor<T> saved = x;
      for (std::size_t k = 0; k < options.directions; ++k) {
        const Tensor<T> u = random_direction<T>(x.shape(), rng);
        double projected = 0;  // u . (J^T v)
        for (std::size_t i = 0; i < x.size(); ++i) projected += double(u[i]) * double(analytic[i]);
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(saved[i] + report.eps * u[i]);
        const double l_up = loss();
        for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(saved[i] - report.eps * u[i]);
        const double l_down = loss();
        x = saved;
        const auto gap_at = [&](double factor) {
          const double h = report.eps * factor;
          for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(saved[i] + h * u[i]);
          const double l_up_h = loss();
          for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<T>(saved[i] - h * u[i]);
          const double l_down_h = loss();
          x = saved;
          return std::abs((l_up_h - l_here) / h - (l_here - l_down_h) / h);
        };
        builder.add([k] { return std::vector<std::size_t>{k}; }, projected, (l_up - l_down) / (2 * report.eps),
                    (l_up - l_here) / report.eps, (l_here - l_down) / report.eps, gap_at);
      }
    }
    builder.finish();
  }
  return report;
}

template <class T>
GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>& f,
                          const std::vector<Tensor<T>>& inputs, const GradcheckOptions& options) {
  std::vector<Parameter<T>> params;
  params.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) params.emplace_back(fmt::format("input{}", i), inputs[i]);
  std::vector<Parameter<T>*> pointers;
  for (Parameter<T>& p : params) pointers.push_back(&p);
  return gradcheck<T>(
      [&](Tape<T>& tape) {
        std::vector<Var<T>> vars;
        for (Parameter<T>& p : params) vars.push_back(tape.parameter(p));
        return f(tape, vars);
      },
      pointers, options);
}

bool GradcheckReport::passed() const {
  if (entries.empty()) return false;
  for (const GradcheckEntry& e : entries)
    if (!e.passed) return false;
  return true;
}

const GradcheckEntry& GradcheckReport::operator[](const std::string& name) const {
  for (const GradcheckEntry& e : entries)
    if (e.name == name) return e;
  throw ValueError(fmt::format("gradcheck report: no entry named '{}'", name));
}

std::string GradcheckReport::table() const {
  std::string out = fmt::format("{}{} ({} mode, eps {:g}, pass if |a-n| <= {:g} + {:g}|n|)\n",
                                order == 3   ? "third-order gradcheck"
                                : order == 2 ? "gradgradcheck"
                                             : "gradcheck",
                                ops.empty() ? "" : fmt::format(" of {}", fmt::join(ops, ", ")), fast ? "fast" : "full",
                                eps, atol, rtol);
  if (!warning.empty()) out += fmt::format("warning: {}\n", warning);
  out += fmt::format("{:<14} {:<12} {:>7} {:>10} {:>10} {:>10}  {:<12} {:>13} {:>13}  {}\n", "tensor", "shape",
                     fast ? "dirs" : "elems", "mean|a-n|", "max|a-n|", "max rel", "worst at", "analytic",
                     "numerical", "result");
  for (const GradcheckEntry& e : entries) {
    std::string result = e.checked == 0 && e.kinks > 0 ? "KINKS ONLY"
                         : e.all_zero                ? (e.passed ? "pass (zero: linear)" : "ALL ZERO")
                         : e.passed                  ? "pass"
                                                     : "FAIL";
    if (e.kinks > 0 && e.checked > 0) result += fmt::format(" ({} at kinks)", e.kinks);
    out += fmt::format("{:<14} {:<12} {:>7} {:>10.2e} {:>10.2e} {:>10}  {:<12} {:>13.6g} {:>13.6g}  {}\n", e.name,
                       e.shape.str(), e.checked, e.mean_abs_error, e.max_abs_error,
                       e.max_rel_error > 0 ? fmt::format("{:.2e}", e.max_rel_error) : std::string("-"),
                       fmt::format("({})", fmt::join(e.worst_index, ",")), e.worst_analytic, e.worst_numerical,
                       result);
  }
  for (const GradcheckEntry& e : entries)
    if (e.kinks > 0)
      out += fmt::format(
          "kink: {} has {} {} where f is not differentiable (one-sided differences disagree), not judged; first at "
          "({}): slope {:.6g} from the left, {:.6g} from the right, analytic {:.6g}\n",
          e.name, e.kinks, e.kinks == 1 ? "element" : "elements", fmt::join(e.first_kink, ","), e.kink_backward,
          e.kink_forward, e.kink_analytic);
  out += passed() ? "all passed\n" : "NOT all passed\n";
  return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                               \
  template Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>&, Tensor<T>&, double);   \
  template Tensor<T> numerical_gradient(const std::function<double(const Tensor<T>&)>&, const Tensor<T>&, double); \
  template GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&)>&, const std::vector<Parameter<T>*>&, \
                                     const GradcheckOptions&);                                                \
  template GradcheckReport gradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>&,      \
                                     const std::vector<Tensor<T>>&, const GradcheckOptions&);                 \
  template GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&)>&,                              \
                                         const std::vector<Parameter<T>*>&, GradcheckOptions);                \
  template GradcheckReport gradgradcheck(const std::function<Var<T>(Tape<T>&, const std::vector<Var<T>>&)>&,  \
                                         const std::vector<Tensor<T>>&, GradcheckOptions);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
