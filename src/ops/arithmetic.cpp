// Elementwise arithmetic. Each op: its forward, then its backward rule (g is the upstream gradient,
// d.to(k, ...) adds into input k's gradient, reduced over broadcast axes).
#include "tapegrad/ops/arithmetic.hpp"

#include "ops/kernel.hpp"

namespace tapegrad {
using detail::BackwardContext;

// z = a + b                      da = g        db = g
template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b) {
  return detail::binary<T>(
      "add", a, b, [](auto& z, const auto& a, const auto& b) { xt::noalias(z) = a + b; },
      [](BackwardContext<T>& d) {
        d.to(0, d.g());
        d.to(1, d.g());
      });
}

// z = a - b                      da = g        db = -g
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b) {
  return detail::binary<T>(
      "sub", a, b, [](auto& z, const auto& a, const auto& b) { xt::noalias(z) = a - b; },
      [](BackwardContext<T>& d) {
        d.to(0, d.g());
        d.to(1, -d.g());
      });
}

// z = a * b                      da = g b      db = g a
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b) {
  return detail::binary<T>(
      "mul", a, b, [](auto& z, const auto& a, const auto& b) { xt::noalias(z) = a * b; },
      [](BackwardContext<T>& d) {
        d.to(0, d.g() * d.x(1));
        d.to(1, d.g() * d.x(0));
      });
}

// z = a / b                      da = g / b    db = -g a / b^2
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b) {
  return detail::binary<T>(
      "div", a, b, [](auto& z, const auto& a, const auto& b) { xt::noalias(z) = a / b; },
      [](BackwardContext<T>& d) {
        d.to(0, d.g() / d.x(1));
        d.to(1, -d.g() * d.x(0) / (d.x(1) * d.x(1)));
      });
}

// z = -a                         da = -g
template <class T>
Var<T> neg(const Var<T>& a) {
  return detail::unary<T>(
      "neg", a, [](auto& z, const auto& a) { xt::noalias(z) = -a; },
      [](BackwardContext<T>& d) { d.to(0, -d.g()); });
}

// z = a^p                        da = g p a^(p-1)
template <class T>
Var<T> pow(const Var<T>& a, double p) {
  return detail::unary<T>(
      "pow", a, [p](auto& z, const auto& a) { xt::noalias(z) = xt::pow(a, static_cast<T>(p)); },
      [](BackwardContext<T>& d) {
        const T p = static_cast<T>(d.node().scalar);
        d.to(0, d.g() * p * xt::pow(d.x(0), p - T(1)));
      },
      p);
}

// z = e^a                        da = g z
template <class T>
Var<T> exp(const Var<T>& a) {
  return detail::unary<T>(
      "exp", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::exp(a); },
      [](BackwardContext<T>& d) { d.to(0, d.g() * d.y()); });
}

// z = ln a                       da = g / a
template <class T>
Var<T> log(const Var<T>& a) {
  return detail::unary<T>(
      "log", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::log(a); },
      [](BackwardContext<T>& d) { d.to(0, d.g() / d.x(0)); });
}

// z = sqrt(a)                    da = g / (2 z)
template <class T>
Var<T> sqrt(const Var<T>& a) {
  return detail::unary<T>(
      "sqrt", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::sqrt(a); },
      [](BackwardContext<T>& d) { d.to(0, d.g() / (T(2) * d.y())); });
}

// z = |a|                        da = g sign(a)   (0 at a = 0)
template <class T>
Var<T> abs(const Var<T>& a) {
  return detail::unary<T>(
      "abs", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::abs(a); },
      [](BackwardContext<T>& d) { d.to(0, d.g() * xt::sign(d.x(0))); });
}

template <class T>
Var<T> scalar_like(const Var<T>& like, T value) {
  return like.tape().constant(Tensor<T>::scalar(value));
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
