#pragma once
// Elementwise ops from scalar rules (internal). An op is a struct whose members are its math, forward and
// backward side by side:
//   f(x)            the value                 (unary)      f(a, b)                 (binary)
//   dx(g, x, y)     the input's gradient term              da(g, a, b, y), db(g, a, b, y)
// where g is the upstream gradient and y the op's output at that element. The kernels below apply them:
// flat loops when shapes agree, and NumPy broadcasting otherwise, where the backward loop adds each term into
// the input element it came from: broadcasting's gradient reduction, by the same BroadcastWalk (kernel.hpp)
// that add_sum_to uses for every other op.
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include "ops/kernel.hpp"

namespace tapegrad::detail {

// Rules marked `vectorised` write f generically (`using std::exp; return exp(x);`) so that it also takes an
// xsimd batch: exp, tanh and sigmoid then run several lanes at a time instead of one libm call per element.
template <class Rule, class = void>
struct is_vectorised : std::false_type {};
template <class Rule>
struct is_vectorised<Rule, std::void_t<decltype(Rule::vectorised)>> : std::bool_constant<Rule::vectorised> {};

// A rule that takes a parameter (pow's exponent) is built from the node's scalar.
template <class Rule>
Rule make_rule(double scalar) {
  if constexpr (std::is_constructible_v<Rule, double>) return Rule(scalar);
  else return Rule{};
}

template <class T, class Rule>
void unary_backward(BackwardContext<T>& d) {
  if (!d.needs(0)) return;
  const Rule rule = make_rule<Rule>(d.node().scalar);
  const T* g = d.grad_out().data();
  const T* x = d.in(0).data();
  const T* y = d.out().data();
  T* dx = d.grad_in(0).data();
  const std::size_t n = d.out().size();
  for (std::size_t i = 0; i < n; ++i) dx[i] += rule.dx(g[i], x[i], y[i]);
}

/// y = Rule.f(x), elementwise.
template <class T, class Rule>
Var<T> unary(const char* op, const Var<T>& a, double scalar = 0) {
  auto [node, out] = record<T>(op, {a}, &unary_backward<T, Rule>);
  node.scalar = scalar;
  const Rule rule = make_rule<Rule>(scalar);
  const Tensor<T>& x = out.tape().value(a.index());
  node.value.resize(x.shape());
  T* y = node.value.data();
  const T* xs = x.data();
  const std::size_t n = x.size();
  std::size_t i = 0;
  if constexpr (is_vectorised<Rule>::value) {
    using Batch = xsimd::batch<T>;
    for (; i + Batch::size <= n; i += Batch::size) rule.f(Batch::load_unaligned(xs + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] = rule.f(xs[i]);
  return finish(out);
}

template <class T, class Rule>
void binary_backward(BackwardContext<T>& d) {
  const Rule rule{};
  const T* g = d.grad_out().data();
  const T* a = d.in(0).data();
  const T* b = d.in(1).data();
  const T* y = d.out().data();
  T* da = d.needs(0) ? d.grad_in(0).data() : nullptr;
  T* db = d.needs(1) ? d.grad_in(1).data() : nullptr;
  if (d.in(0).shape() == d.out().shape() && d.in(1).shape() == d.out().shape()) {
    const std::size_t n = d.out().size();
    if (da)
      for (std::size_t i = 0; i < n; ++i) da[i] += rule.da(g[i], a[i], b[i], y[i]);
    if (db)
      for (std::size_t i = 0; i < n; ++i) db[i] += rule.db(g[i], a[i], b[i], y[i]);
    return;
  }
  BroadcastWalk(d.out().shape(), d.in(0).shape(), d.in(1).shape()).run([&](std::size_t i, std::size_t ia, std::size_t ib) {
    if (da) da[ia] += rule.da(g[i], a[ia], b[ib], y[i]);  // += over every output element an input element fed
    if (db) db[ib] += rule.db(g[i], a[ia], b[ib], y[i]);
  });
}

/// y = Rule.f(a, b), elementwise with NumPy broadcasting; ShapeError names the op and both shapes.
template <class T, class Rule>
Var<T> binary(const char* op, const Var<T>& a, const Var<T>& b) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const bool same = sa == sb;
  const Shape broadcast = same ? Shape{} : broadcast_shapes(sa, sb, op);
  auto [node, out] = record<T>(op, {a, b}, &binary_backward<T, Rule>);
  const Tape<T>& tape = out.tape();
  const Tensor<T>& ta = tape.value(a.index());
  const Tensor<T>& tb = tape.value(b.index());
  node.value.resize(same ? sa : broadcast);
  const Rule rule{};
  T* y = node.value.data();
  const T* pa = ta.data();
  const T* pb = tb.data();
  if (same) {
    for (std::size_t i = 0, n = ta.size(); i < n; ++i) y[i] = rule.f(pa[i], pb[i]);
  } else {
    BroadcastWalk(broadcast, ta.shape(), tb.shape()).run([&](std::size_t i, std::size_t ia, std::size_t ib) {
      y[i] = rule.f(pa[ia], pb[ib]);
    });
  }
  return finish(out);
}

}  // namespace tapegrad::detail
