// Activations and softmax. The rules that can use the output (sigmoid, tanh, softmax) do, as the book's layers.
#include "tapegrad/ops/activation.hpp"

#include <cmath>

#include "ops/elementwise.hpp"
#include "ops/rule_text.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tapegrad {

namespace {
struct Relu {  // derivative 0 at x <= 0, as the book's Relu layer
  static constexpr const char* forward_text = "y = max(0, x)";
  static constexpr const char* backward_text = "dx = g where x > 0, else 0";
  template <class T> T f(T x) const { return x > T(0) ? x : T(0); }
  template <class T> T dx(T g, T x, T) const { return x > T(0) ? g : T(0); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>& x, const Var<T>&) const {
    return g * detail::constant_from(x, [](T v) { return v > T(0) ? T(1) : T(0); });
  }
};
struct Sigmoid {
  static constexpr const char* forward_text = "y = 1 / (1 + exp(-x))";
  static constexpr const char* backward_text = "dx = g * y * (1 - y)";
  static constexpr detail::VectorFunction vector = detail::VectorFunction::Sigmoid;
  template <class T> T f(T x) const { return detail::formula::sigmoid_of(x); }
  template <class T> T dx(T g, T, T y) const { return g * y * (T(1) - y); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& y) const { return g * y * (T(1) - y); }
};
struct Tanh {
  static constexpr const char* forward_text = "y = tanh(x)";
  static constexpr const char* backward_text = "dx = g * (1 - y^2)";
  static constexpr detail::VectorFunction vector = detail::VectorFunction::Tanh;
  template <class T> T f(T x) const { return detail::formula::tanh_of(x); }
  template <class T> T dx(T g, T, T y) const { return g * (T(1) - y * y); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>& y) const { return g * (T(1) - y * y); }
};
struct Step {
  static constexpr const char* forward_text = "y = 1 where x > 0, else 0";
  static constexpr const char* backward_text = "dx = 0";
  template <class T> T f(T x) const { return x > T(0) ? T(1) : T(0); }
  template <class T> T dx(T, T, T) const { return T(0); }
  template <class T> Var<T> dx_on_tape(const Var<T>& g, const Var<T>&, const Var<T>&) const { return g * T(0); }
};
}  // namespace

template <class T> Var<T> relu(const Var<T>& a) { return detail::unary<T, Relu>("relu", a); }
template <class T> Var<T> sigmoid(const Var<T>& a) { return detail::unary<T, Sigmoid>("sigmoid", a); }
template <class T> Var<T> tanh(const Var<T>& a) { return detail::unary<T, Tanh>("tanh", a); }
template <class T> Var<T> step(const Var<T>& a) { return detail::unary<T, Step>("step", a); }

namespace {
// Softmax-family ops work on the slices along one axis: `outer` blocks of `length` elements `inner` apart.
struct Slices {
  std::size_t outer = 0, length = 0, inner = 0;
  /// visit(first, stride) once per slice: its j-th element is at first + j * stride.
  template <class Visit>
  void for_each(Visit&& visit) const {
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t i = 0; i < inner; ++i) visit(o * length * inner + i, inner);
  }
};
Slices slices_of(const Shape& s, int axis_in, const char* op) {
  if (s.rank() == 0) throw ShapeError(fmt::format("{}: needs at least one axis, got shape {}", op, s.str()));
  const std::size_t axis = detail::normalize_axis(axis_in, s.rank(), op);
  if (s[axis] == 0) throw ShapeError(fmt::format("{}: axis {} of shape {} is empty", op, axis, s.str()));
  Slices r{1, s[axis], 1};
  for (std::size_t i = 0; i < axis; ++i) r.outer *= s[i];
  for (std::size_t i = axis + 1; i < s.rank(); ++i) r.inner *= s[i];
  return r;
}

// out = x - max - log(sum(exp(x - max))) along each slice: the stable log-softmax.
template <class T>
void log_softmax_slices(const T* x, T* out, const Slices& r) {
  if (r.inner == 1) {
    detail::log_softmax_rows(x, out, r.outer, r.length);
    return;
  }
  r.for_each([&](std::size_t first, std::size_t stride) {
    const T* xs = x + first;
    T* os = out + first;
    T top = xs[0];
    for (std::size_t j = 1; j < r.length; ++j) top = std::max(top, xs[j * stride]);
    T total = 0;
    for (std::size_t j = 0; j < r.length; ++j) total += std::exp(xs[j * stride] - top);
    const T log_total = std::log(total);
    for (std::size_t j = 0; j < r.length; ++j) os[j * stride] = xs[j * stride] - top - log_total;
  });
}

// softmax and log_softmax along one axis: one op, whose output is probabilities or their logarithms.
template <class T, bool Log>
struct SoftmaxFamilyOp final : Op<T> {
  static constexpr const char* forward_text = Log ? "y = x - max - ln(sum(exp(x - max)))  along the axis"
                                                  : "y = exp(x - max) / sum(exp(x - max))  along the axis";
  static constexpr const char* backward_text =
      Log ? "dx = g - exp(y) * sum(g)  along the axis" : "dx = y * (g - sum(g * y))  along the axis";
  Slices slices;
  int axis = -1;
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T> g = d.grad_output(), y = d.output();
    if constexpr (Log) d.accumulate(0, g - exp(y) * sum(g, {axis}, true));
    else d.accumulate(0, y * (g - sum(g * y, {axis}, true)));
  }
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const T* y = d.output().data();
    const T* g = d.grad_output().data();
    T* dx = d.input_grad(0).data();
    slices.for_each([&, n = slices.length](std::size_t first, std::size_t stride) {
      T dot = 0;  // sum(g) for log_softmax, sum(g * y) for softmax
      for (std::size_t j = 0, at = first; j < n; ++j, at += stride) dot += Log ? g[at] : g[at] * y[at];
      for (std::size_t j = 0, at = first; j < n; ++j, at += stride)
        dx[at] += Log ? g[at] - std::exp(y[at]) * dot : y[at] * (g[at] - dot);
    });
  }
};
template <class T>
using SoftmaxOp = SoftmaxFamilyOp<T, false>;
template <class T>
using LogSoftmaxOp = SoftmaxFamilyOp<T, true>;

template <class T, bool Log>
Var<T> softmax_family(const char* name, const Var<T>& a, int axis) {
  const Slices s = slices_of(a.shape(), axis, name);
  auto r = record<SoftmaxFamilyOp<T, Log>>(name, {a});
  if (r.op) r.op->slices = s, r.op->axis = axis;
  r.output.resize(a.shape());
  log_softmax_slices(r.var.tape().value(a.index()).data(), r.output.data(), s);
  if constexpr (!Log)
    for (T& v : r.output) v = std::exp(v);
  return finish(r.var);
}
}  // namespace

namespace detail {
std::vector<DerivativeRule> activation_rules() {
  const char* f = "activation";
  return {rule_text<Relu>("relu", f), rule_text<Sigmoid>("sigmoid", f), rule_text<Tanh>("tanh", f),
          rule_text<Step>("step", f), rule_text<SoftmaxOp<double>>("softmax", f),
          rule_text<LogSoftmaxOp<double>>("log_softmax", f)};
}
}  // namespace detail

template <class T>
Var<T> softmax(const Var<T>& a, int axis) {
  return softmax_family<T, false>("softmax", a, axis);
}

template <class T>
Var<T> log_softmax(const Var<T>& a, int axis) {
  return softmax_family<T, true>("log_softmax", a, axis);
}

#define TAPEGRAD_INSTANTIATE(T)                    \
  template Var<T> relu(const Var<T>&);             \
  template Var<T> sigmoid(const Var<T>&);          \
  template Var<T> tanh(const Var<T>&);             \
  template Var<T> step(const Var<T>&);             \
  template Var<T> softmax(const Var<T>&, int);     \
  template Var<T> log_softmax(const Var<T>&, int);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
