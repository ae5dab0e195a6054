// Activations and softmax. The rules that can use the output (sigmoid, tanh, softmax) do, as the book's layers.
#include "tapegrad/ops/activation.hpp"

#include <cmath>

#include "ops/elementwise.hpp"

namespace tapegrad {
using detail::BackwardContext;

namespace {
struct Relu {  // y = max(0, x); derivative 0 at x <= 0, as the book's Relu layer
  template <class T> T f(T x) const { return x > T(0) ? x : T(0); }
  template <class T> T dx(T g, T x, T) const { return x > T(0) ? g : T(0); }
};
struct Sigmoid {  // y = 1 / (1 + e^-x)
  static constexpr bool vectorised = true;
  template <class V> V f(V x) const { using std::exp; return V(1) / (V(1) + exp(-x)); }
  template <class T> T dx(T g, T, T y) const { return g * y * (T(1) - y); }
};
struct Tanh {  // y = tanh x
  static constexpr bool vectorised = true;
  template <class V> V f(V x) const { using std::tanh; return tanh(x); }
  template <class T> T dx(T g, T, T y) const { return g * (T(1) - y * y); }
};
struct Step {  // y = [x > 0]; its gradient is zero everywhere
  template <class T> T f(T x) const { return x > T(0) ? T(1) : T(0); }
  template <class T> T dx(T, T, T) const { return T(0); }
};
}  // namespace

template <class T> Var<T> relu(const Var<T>& a) { return detail::unary<T, Relu>("relu", a); }
template <class T> Var<T> sigmoid(const Var<T>& a) { return detail::unary<T, Sigmoid>("sigmoid", a); }
template <class T> Var<T> tanh(const Var<T>& a) { return detail::unary<T, Tanh>("tanh", a); }
template <class T> Var<T> step(const Var<T>& a) { return detail::unary<T, Step>("step", a); }

namespace {
// Softmax-family ops work on rows: the last axis, `rows` of them.
struct Rows {
  std::size_t count, length;
};
Rows rows_of(const Shape& s, const char* op) {
  if (s.rank() == 0 || s[s.rank() - 1] == 0)
    throw ShapeError(fmt::format("{}: needs a non-empty last axis, got shape {}", op, s.str()));
  return {s.numel() / s[s.rank() - 1], s[s.rank() - 1]};
}

}  // namespace

// z = e^(a - max) / sum e^(a - max)  (per row)     da = z (g - sum(g z))
template <class T>
Var<T> softmax(const Var<T>& a) {
  const Rows r = rows_of(a.shape(), "softmax");
  auto [node, out] = detail::record<T>("softmax", {a}, [](BackwardContext<T>& d) {
    if (!d.needs(0)) return;
    const Rows r = rows_of(d.out().shape(), "softmax");
    const T* z = d.out().data();
    const T* g = d.grad_out().data();
    T* da = d.grad_in(0).data();
    for (std::size_t i = 0; i < r.count; ++i) {
      const std::size_t at = i * r.length;
      T dot = 0;
      for (std::size_t j = 0; j < r.length; ++j) dot += g[at + j] * z[at + j];
      for (std::size_t j = 0; j < r.length; ++j) da[at + j] += z[at + j] * (g[at + j] - dot);
    }
  });
  node.value.resize(a.shape());
  detail::log_softmax_rows(out.tape().value(a.index()).data(), node.value.data(), r.count, r.length);
  for (T& v : node.value) v = std::exp(v);
  return detail::finish(out);
}

// z = a - max - log sum e^(a - max)  (per row)     da = g - e^z sum(g)
template <class T>
Var<T> log_softmax(const Var<T>& a) {
  const Rows r = rows_of(a.shape(), "log_softmax");
  auto [node, out] = detail::record<T>("log_softmax", {a}, [](BackwardContext<T>& d) {
    if (!d.needs(0)) return;
    const Rows r = rows_of(d.out().shape(), "log_softmax");
    const T* z = d.out().data();
    const T* g = d.grad_out().data();
    T* da = d.grad_in(0).data();
    for (std::size_t i = 0; i < r.count; ++i) {
      const std::size_t at = i * r.length;
      T total = 0;
      for (std::size_t j = 0; j < r.length; ++j) total += g[at + j];
      for (std::size_t j = 0; j < r.length; ++j) da[at + j] += g[at + j] - std::exp(z[at + j]) * total;
    }
  });
  node.value.resize(a.shape());
  detail::log_softmax_rows(out.tape().value(a.index()).data(), node.value.data(), r.count, r.length);
  return detail::finish(out);
}

#define TAPEGRAD_INSTANTIATE(T)               \
  template Var<T> relu(const Var<T>&);        \
  template Var<T> sigmoid(const Var<T>&);     \
  template Var<T> tanh(const Var<T>&);        \
  template Var<T> step(const Var<T>&);        \
  template Var<T> softmax(const Var<T>&);     \
  template Var<T> log_softmax(const Var<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
