// Elementwise arithmetic. Each op is its math: the value f, and the gradient term of each input given the
// upstream gradient g, the inputs and the output y (see ops/elementwise.hpp for how they are applied).
#include "tapegrad/ops/arithmetic.hpp"

#include <cmath>

#include "ops/elementwise.hpp"

namespace tapegrad {
namespace {

struct Add {  // y = a + b
  template <class T> T f(T a, T b) const { return a + b; }
  template <class T> T da(T g, T, T, T) const { return g; }
  template <class T> T db(T g, T, T, T) const { return g; }
};
struct Sub {  // y = a - b
  template <class T> T f(T a, T b) const { return a - b; }
  template <class T> T da(T g, T, T, T) const { return g; }
  template <class T> T db(T g, T, T, T) const { return -g; }
};
struct Mul {  // y = a b
  template <class T> T f(T a, T b) const { return a * b; }
  template <class T> T da(T g, T, T b, T) const { return g * b; }
  template <class T> T db(T g, T a, T, T) const { return g * a; }
};
struct Div {  // y = a / b
  template <class T> T f(T a, T b) const { return a / b; }
  template <class T> T da(T g, T, T b, T) const { return g / b; }
  template <class T> T db(T g, T, T b, T y) const { return -g * y / b; }  // -g a / b^2
};
struct Neg {  // y = -x
  template <class T> T f(T x) const { return -x; }
  template <class T> T dx(T g, T, T) const { return -g; }
};
struct Pow {  // y = x^p
  explicit Pow(double exponent) : p(exponent) {}
  double p;
  template <class T> T f(T x) const { return std::pow(x, static_cast<T>(p)); }
  template <class T> T dx(T g, T x, T) const { return g * static_cast<T>(p) * std::pow(x, static_cast<T>(p - 1)); }
};
struct Exp {  // y = e^x
  static constexpr bool vectorised = true;
  template <class V> V f(V x) const { using std::exp; return exp(x); }
  template <class T> T dx(T g, T, T y) const { return g * y; }
};
struct Log {  // y = ln x
  template <class T> T f(T x) const { return std::log(x); }
  template <class T> T dx(T g, T x, T) const { return g / x; }
};
struct Sqrt {  // y = sqrt(x)
  template <class T> T f(T x) const { return std::sqrt(x); }
  template <class T> T dx(T g, T, T y) const { return g / (T(2) * y); }
};
struct Abs {  // y = |x|, derivative sign(x), 0 at 0
  template <class T> T f(T x) const { return std::abs(x); }
  template <class T> T dx(T g, T x, T) const { return x > T(0) ? g : x < T(0) ? -g : T(0); }
};

}  // namespace

template <class T> Var<T> add(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Add>("add", a, b); }
template <class T> Var<T> sub(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Sub>("sub", a, b); }
template <class T> Var<T> mul(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Mul>("mul", a, b); }
template <class T> Var<T> div(const Var<T>& a, const Var<T>& b) { return detail::binary<T, Div>("div", a, b); }
template <class T> Var<T> neg(const Var<T>& a) { return detail::unary<T, Neg>("neg", a); }
template <class T> Var<T> pow(const Var<T>& a, double p) { return detail::unary<T, Pow>("pow", a, p); }
template <class T> Var<T> exp(const Var<T>& a) { return detail::unary<T, Exp>("exp", a); }
template <class T> Var<T> log(const Var<T>& a) { return detail::unary<T, Log>("log", a); }
template <class T> Var<T> sqrt(const Var<T>& a) { return detail::unary<T, Sqrt>("sqrt", a); }
template <class T> Var<T> abs(const Var<T>& a) { return detail::unary<T, Abs>("abs", a); }

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
  template Var<T> abs(const Var<T>&);                        \
  template Var<T> scalar_like(const Var<T>&, T);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
