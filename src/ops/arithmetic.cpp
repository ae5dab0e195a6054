// Elementwise arithmetic. Each rule is its math: the value f, and the gradient term of each input given the
// upstream gradient g, the inputs and the output y (see ops/elementwise.hpp for how they are applied), with
// the same math as text for docs/reference/derivatives.md.
#include "tapegrad/ops/arithmetic.hpp"

#include <cmath>

#include "ops/elementwise.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {
namespace {

struct Add {
  static constexpr const char* forward_text = "y = a + b";
  static constexpr const char* backward_text = "da = g;  db = g";
  template <class T> T f(T a, T b) const { return a + b; }
  template <class T> T da(T g, T, T, T) const { return g; }
  template <class T> T db(T g, T, T, T) const { return g; }
  template <class T> Var<T> da_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&, const Var<T>&) const { return g; }
  template <class T> Var<T> db_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&, const Var<T>&) const { return g; }
};
struct Sub {
  static constexpr const char* forward_text = "y = a - b";
  static constexpr const char* backward_text = "da = g;  db = -g";
  template <class T> T f(T a, T b) const { return a - b; }
  template <class T> T da(T g, T, T, T) const { return g; }
  template <class T> T db(T g, T, T, T) const { return -g; }
  template <class T> Var<T> da_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&, const Var<T>&) const { return g; }
  template <class T> Var<T> db_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&, const Var<T>&) const { return -g; }
};
struct Mul {
  static constexpr const char* forward_text = "y = a * b";
  static constexpr const char* backward_text = "da = g * b;  db = g * a";
  template <class T> T f(T a, T b) const { return a * b; }
  template <class T> T da(T g, T, T b, T) const { return g * b; }
  template <class T> T db(T g, T a, T, T) const { return g * a; }
  template <class T> Var<T> da_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& b, const Var<T>&) const { return g * b; }
  template <class T> Var<T> db_on_tape(const Var<T>& g, const Var<T>& a, const Var<T>&, const Var<T>&) const { return g * a; }
};
struct Div {
  static constexpr const char* forward_text = "y = a / b";
  static constexpr const char* backward_text = "da = g / b;  db = -g * y / b";
  template <class T> T f(T a, T b) const { return a / b; }
  template <class T> T da(T g, T, T b, T) const { return g / b; }
  template <class T> T db(T g, T, T b, T y) const { return -g * y / b; }  // -g a / b^2
  template <class T> Var<T> da_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& b, const Var<T>&) const { return g / b; }
  template <class T> Var<T> db_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& b, const Var<T>& y) const { return -g * y / b; }
};
struct Neg {
  static constexpr const char* forward_text = "y = -x";
  static constexpr const char* backward_text = "dx = -g";
  template <class T> T f(T x) const { return -x; }
  template <class T> T dx(T g, T, T) const { return -g; }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&) const { return -g; }
};
struct Pow {
  static constexpr const char* forward_text = "y = x^p  (p a number)";
  static constexpr const char* backward_text = "dx = g * p * x^(p-1);  dx = 0 when p = 0 (not 0 * x^-1, NaN at x = 0)";
  double p = 1;
  template <class T> T f(T x) const { return std::pow(x, static_cast<T>(p)); }
  template <class T> T dx(T g, T x, T) const {
    return p == 0 ? T(0) : g * static_cast<T>(p) * std::pow(x, static_cast<T>(p - 1));
  }
  // Recorded as pow(x, p - 1), whose own rule is the one above: so x^2, x^1 and x^0 end in an exact 0, not 0 * inf.
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const {
    if (p == 0) return detail::constant_from(x, [](T) { return T(0); });  // even where g is inf, as PyTorch
    return g * (pow(x, p - 1) * static_cast<T>(p));
  }
};
struct Exp {
  static constexpr const char* forward_text = "y = exp(x)";
  static constexpr const char* backward_text = "dx = g * y";
  static constexpr detail::VectorFunction vector = detail::VectorFunction::Exp;
  template <class T> T f(T x) const { return detail::formula::exp_of(x); }
  template <class T> T dx(T g, T, T y) const { return g * y; }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& y) const { return g * y; }
};
struct Log {
  static constexpr const char* forward_text = "y = ln(x)";
  static constexpr const char* backward_text = "dx = g / x";
  template <class T> T f(T x) const { return std::log(x); }
  template <class T> T dx(T g, T x, T) const { return g / x; }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const { return g / x; }
};
struct Sqrt {
  static constexpr const char* forward_text = "y = sqrt(x)";
  static constexpr const char* backward_text = "dx = g / (2 y)";
  template <class T> T f(T x) const { return std::sqrt(x); }
  template <class T> T dx(T g, T, T y) const { return g / (T(2) * y); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& y) const { return g / (y * T(2)); }
};
struct Sin {
  static constexpr const char* forward_text = "y = sin(x)";
  static constexpr const char* backward_text = "dx = g * cos(x)";
  template <class T> T f(T x) const { return std::sin(x); }
  template <class T> T dx(T g, T x, T) const { return g * std::cos(x); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const { return g * cos(x); }
};
struct Cos {
  static constexpr const char* forward_text = "y = cos(x)";
  static constexpr const char* backward_text = "dx = -g * sin(x)";
  template <class T> T f(T x) const { return std::cos(x); }
  template <class T> T dx(T g, T x, T) const { return -g * std::sin(x); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const {
    return -(g * sin(x));
  }
};
struct Abs {
  static constexpr const char* forward_text = "y = abs(x)";
  static constexpr const char* backward_text = "dx = g * sign(x)  (0 at x = 0)";
  template <class T> T f(T x) const { return std::abs(x); }
  template <class T> T dx(T g, T x, T) const { return x > T(0) ? g : x < T(0) ? -g : T(0); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const {
    return g * detail::constant_from(x, [](T v) { return v > T(0) ? T(1) : v < T(0) ? T(-1) : T(0); });
  }
};
struct Clamp {  // two parameters, kept in the op like any other state
  static constexpr const char* forward_text = "y = min(max(x, lo), hi)";
  static constexpr const char* backward_text = "dx = g where lo < x < hi, else 0";
  double lo = 0, hi = 0;
  template <class T> T f(T x) const { return x < T(lo) ? T(lo) : x > T(hi) ? T(hi) : x; }
  template <class T> T dx(T g, T x, T) const { return x > T(lo) && x < T(hi) ? g : T(0); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const {
    return g * detail::constant_from(x, [this](T v) { return v > T(lo) && v < T(hi) ? T(1) : T(0); });
  }
};

}  // namespace

namespace detail {
std::vector<DerivativeRule> arithmetic_rules() {
  const char* f = "arithmetic";
  return {rule_text<Add>("add", f),   rule_text<Sub>("sub", f),   rule_text<Mul>("mul", f),
          rule_text<Div>("div", f),   rule_text<Neg>("neg", f),   rule_text<Pow>("pow", f),
          rule_text<Exp>("exp", f),   rule_text<Log>("log", f),   rule_text<Sqrt>("sqrt", f),
          rule_text<Sin>("sin", f),   rule_text<Cos>("cos", f),   rule_text<Abs>("abs", f),
          rule_text<Clamp>("clamp", f)};
}
}  // namespace detail

template <class T> Var<T> add(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Add>("add", a, b); }
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Sub>("sub", a, b); }
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Mul>("mul", a, b); }
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Div>("div", a, b); }
template <class T> Var<T> neg(const Var<T>& a) { return detail::unary<T, Neg>("neg", a); }
template <class T> Var<T> pow(const Var<T>& a, double p) { return detail::unary<T, Pow>("pow", a, Pow{p}); }
template <class T> Var<T> exp(const Var<T>& a) { return detail::unary<T, Exp>("exp", a); }
template <class T> Var<T> log(const Var<T>& a) { return detail::unary<T, Log>("log", a); }
template <class T> Var<T> sqrt(const Var<T>& a) { return detail::unary<T, Sqrt>("sqrt", a); }
template <class T> Var<T> sin(const Var<T>& a) { return detail::unary<T, Sin>("sin", a); }
template <class T> Var<T> cos(const Var<T>& a) { return detail::unary<T, Cos>("cos", a); }
template <class T> Var<T> abs(const Var<T>& a) { return detail::unary<T, Abs>("abs", a); }

template <class T>
Var<T> clamp(const Var<T>& a, double lo, double hi) {
  if (!(lo <= hi)) throw ValueError(fmt::format("clamp: needs lo <= hi, got lo {} and hi {}", lo, hi));
  return detail::unary<T, Clamp>("clamp", a, Clamp{lo, hi});
}

template <class T>
Var<T> scalar_like(const Var<T>& like, T value) {
  return like.tape().scalar(value);
}

#define TAPEGRAD_INSTANTIATE(T)                              \
  template Var<T> add(const Var<T>&, const Var<T>&);         \
  template Var<T> sub(const Var<T>&, const Var<T>&);         \
  template Var<T> mul(const Var<T>&, const Var<T>&);         \
  template Var<T> div(const Var<T>&, const Var<T>&);         \
  template Var<T> neg(const Var<T>&);                        \
  template Var<T> pow(const Var<T>&, double);                \
  template Var<T> exp(const Var<T>&);                        \
  template Var<T> log(const Var<T>&);                        \
  template Var<T> sqrt(const Var<T>&);                       \
  template Var<T> sin(const Var<T>&);                        \
  template Var<T> cos(const Var<T>&);                        \
  template Var<T> abs(const Var<T>&);                        \
  template Var<T> clamp(const Var<T>&, double, double);      \
  template Var<T> scalar_like(const Var<T>&, T);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
