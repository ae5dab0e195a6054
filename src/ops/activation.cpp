// Activations and softmax. The rules that can use the output (sigmoid, tanh, softmax) do, as the book's layers.
#include "tapegrad/ops/activation.hpp"

#include <cmath>

#include "ops/kernel.hpp"

namespace tapegrad {
using detail::BackwardContext;

// z = max(0, a)                  da = g [a > 0]
template <class T>
Var<T> relu(const Var<T>& a) {
  return detail::unary<T>(
      "relu", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::maximum(a, T(0)); },
      [](BackwardContext<T>& d) { d.to(0, xt::where(d.x(0) > T(0), d.g(), T(0))); });
}

// z = 1 / (1 + e^-a)             da = g z (1 - z)
template <class T>
Var<T> sigmoid(const Var<T>& a) {
  return detail::unary<T>(
      "sigmoid", a, [](auto& z, const auto& a) { xt::noalias(z) = T(1) / (T(1) + xt::exp(-a)); },
      [](BackwardContext<T>& d) { d.to(0, d.g() * d.y() * (T(1) - d.y())); });
}

// z = tanh a                     da = g (1 - z^2)
template <class T>
Var<T> tanh(const Var<T>& a) {
  return detail::unary<T>(
      "tanh", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::tanh(a); },
      [](BackwardContext<T>& d) { d.to(0, d.g() * (T(1) - d.y() * d.y())); });
}

// z = [a > 0]                    da = 0 (nothing is recorded)
template <class T>
Var<T> step(const Var<T>& a) {
  return detail::unary<T>(
      "step", a, [](auto& z, const auto& a) { xt::noalias(z) = xt::where(a > T(0), T(1), T(0)); }, nullptr);
}

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
  return out;
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
  return out;
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
