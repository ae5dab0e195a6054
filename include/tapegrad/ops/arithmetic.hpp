#pragma once
// Elementwise arithmetic with NumPy broadcasting. Rules (forward and backward) live in src/ops/arithmetic.cpp.
#include <type_traits>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

template <class T>
Var<T> add(const Var<T>& a, const Var<T>& b);
template <class T>
Var<T> sub(const Var<T>& a, const Var<T>& b);
template <class T>
Var<T> mul(const Var<T>& a, const Var<T>& b);
template <class T>
Var<T> div(const Var<T>& a, const Var<T>& b);
template <class T>
Var<T> neg(const Var<T>& a);
/// a^p for a scalar exponent p.
template <class T>
Var<T> pow(const Var<T>& a, double p);
template <class T>
Var<T> exp(const Var<T>& a);
template <class T>
Var<T> log(const Var<T>& a);
template <class T>
Var<T> sqrt(const Var<T>& a);
/// sin(a) and cos(a), in radians (each the other's derivative, to any order).
template <class T>
Var<T> sin(const Var<T>& a);
template <class T>
Var<T> cos(const Var<T>& a);
/// |a|; its derivative at 0 is taken as 0.
template <class T>
Var<T> abs(const Var<T>& a);

/// min(max(a, lo), hi); the gradient flows only where lo < a < hi.
template <class T>
Var<T> clamp(const Var<T>& a, double lo, double hi);

/// A scalar constant on the tape of `like`, for mixing numbers into expressions.
template <class T>
Var<T> scalar_like(const Var<T>& like, T value);

namespace detail {
template <class T>
struct type_identity {
  using type = T;
};
template <class T>
using scalar_t = typename type_identity<T>::type;  // blocks deduction so `x * 2.0` works for float x
}  // namespace detail

template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return add(a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return sub(a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return mul(a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return div(a, b); }
template <class T> Var<T> operator-(const Var<T>& a) { return neg(a); }

template <class T> Var<T> operator+(const Var<T>& a, detail::scalar_t<T> b) { return add(a, scalar_like(a, b)); }
template <class T> Var<T> operator+(detail::scalar_t<T> a, const Var<T>& b) { return add(scalar_like(b, a), b); }
template <class T> Var<T> operator-(const Var<T>& a, detail::scalar_t<T> b) { return sub(a, scalar_like(a, b)); }
template <class T> Var<T> operator-(detail::scalar_t<T> a, const Var<T>& b) { return sub(scalar_like(b, a), b); }
template <class T> Var<T> operator*(const Var<T>& a, detail::scalar_t<T> b) { return mul(a, scalar_like(a, b)); }
template <class T> Var<T> operator*(detail::scalar_t<T> a, const Var<T>& b) { return mul(scalar_like(b, a), b); }
template <class T> Var<T> operator/(const Var<T>& a, detail::scalar_t<T> b) { return div(a, scalar_like(a, b)); }
template <class T> Var<T> operator/(detail::scalar_t<T> a, const Var<T>& b) { return div(scalar_like(b, a), b); }

// Compound assignment records a new op and rebinds the handle: `h += b` is `h = h + b` (a Var is a handle,
// so no recorded value changes).
template <class T> Var<T>& operator+=(Var<T>& a, const Var<T>& b) { return a = add(a, b); }
template <class T> Var<T>& operator-=(Var<T>& a, const Var<T>& b) { return a = sub(a, b); }
template <class T> Var<T>& operator*=(Var<T>& a, const Var<T>& b) { return a = mul(a, b); }
template <class T> Var<T>& operator/=(Var<T>& a, const Var<T>& b) { return a = div(a, b); }
template <class T> Var<T>& operator+=(Var<T>& a, detail::scalar_t<T> b) { return a = a + b; }
template <class T> Var<T>& operator-=(Var<T>& a, detail::scalar_t<T> b) { return a = a - b; }
template <class T> Var<T>& operator*=(Var<T>& a, detail::scalar_t<T> b) { return a = a * b; }
template <class T> Var<T>& operator/=(Var<T>& a, detail::scalar_t<T> b) { return a = a / b; }

}  // namespace tapegrad
