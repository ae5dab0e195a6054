#pragma once
// Elementwise ops from scalar rules (internal). An op is a struct whose members are its math, forward and
// backward side by side:
//   f(x)            the value                 (unary)      f(a, b)                 (binary)
//   dx(g, x, y)     the input's gradient term              da(g, a, b, y), db(g, a, b, y)
//   dx_on_tape      the same term on variables, recorded   da_on_tape, db_on_tape  (create_graph)
// where g is the upstream gradient and y the op's output at that element. The kernels below apply them:
// flat loops when shapes agree, and NumPy broadcasting otherwise, where the backward loop adds each term into
// the input element it came from: broadcasting's gradient reduction, by the same BroadcastWalk (broadcast.hpp)
// that add_sum_to uses for every other op.
#include <type_traits>

#include "ops/broadcast.hpp"
#include "ops/vector_formulas.hpp"
#include "ops/vector_math.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad::detail {

// Rules that name a `vector` function (exp, tanh, sigmoid) write f with its formula from vector_formulas.hpp;
// their forward runs over the whole array at the CPU's SIMD width (vector_math.hpp) instead of one libm call per
// element.
template <class Rule, class = void>
struct has_vector_function : std::false_type {};
template <class Rule>
struct has_vector_function<Rule, std::void_t<decltype(Rule::vector)>> : std::true_type {};

/// The op of a unary rule: owns the rule (and so its parameters, e.g. pow's exponent or clamp's bounds).
template <class T, class Rule>
struct UnaryOp final : Op<T> {
  Rule rule{};
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const T* g = d.grad_output().data();
    const T* x = d.input(0).data();
    const T* y = d.output().data();
    bool overwrite = false;
    T* dx = d.input_grad_to_overwrite(0, overwrite).data();
    const std::size_t n = d.output().size();
    if (overwrite)  // the first gradient to reach x: no zero-fill, no read
      for (std::size_t i = 0; i < n; ++i) dx[i] = rule.dx(g[i], x[i], y[i]);
    else
      for (std::size_t i = 0; i < n; ++i) dx[i] += rule.dx(g[i], x[i], y[i]);
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    if (d.needs_grad(0)) d.accumulate(0, rule.dx_on_tape(d.grad_output(), d.input(0), d.output()));
  }
  bool reevaluate(ChangeContext<T>& c) const override {
    const T* x = c.input(0).data();
    for (std::size_t i : c.changed(0)) c.set(i, rule.f(x[i]));
    return true;
  }
};

/// A constant of x's shape holding pick(x's value) elementwise: a mask or a sign, which a rule on the tape treats
/// as fixed (its derivative is zero wherever it is defined).
template <class T, class Pick>
Var<T> constant_from(const Var<T>& x, Pick&& pick) {
  const Tensor<T>& value = x.value();
  Tensor<T> out(value.shape());
  for (std::size_t i = 0; i < value.size(); ++i) out[i] = pick(value[i]);
  return x.tape().constant(out);
}

/// A term of the output's shape summed back to an input's shape (broadcasting's gradient, on the tape).
template <class T>
Var<T> summed_to(const Var<T>& term, const Shape& shape) {
  return term.shape() == shape ? term : sum_to(term, shape);
}

/// y = rule.f(x), elementwise.
template <class T, class Rule>
Var<T> unary(const char* name, const Var<T>& a, const Rule& rule = Rule{}) {
  auto r = record<UnaryOp<T, Rule>>(name, {a});
  if (r.op) r.op->rule = rule;
  const Tensor<T>& x = r.var.tape().value(a.index());
  r.output.resize(x.shape());
  T* y = r.output.data();
  const T* xs = x.data();
  const std::size_t n = x.size();
  if constexpr (has_vector_function<Rule>::value) {
    apply_vector_function(Rule::vector, xs, y, n);
  } else {
    for (std::size_t i = 0; i < n; ++i) y[i] = rule.f(xs[i]);
  }
  return finish(r.var);
}

/// The op of a binary rule.
template <class T, class Rule>
struct BinaryOp final : Op<T> {
  Rule rule{};
  void backward(BackwardContext<T>& d) override {
    const T* g = d.grad_output().data();
    const T* a = d.input(0).data();
    const T* b = d.input(1).data();
    const T* y = d.output().data();
    T* da = d.needs_grad(0) ? d.input_grad(0).data() : nullptr;
    T* db = d.needs_grad(1) ? d.input_grad(1).data() : nullptr;
    if (d.input(0).shape() == d.output().shape() && d.input(1).shape() == d.output().shape()) {
      const std::size_t n = d.output().size();
      if (da)
        for (std::size_t i = 0; i < n; ++i) da[i] += rule.da(g[i], a[i], b[i], y[i]);
      if (db)
        for (std::size_t i = 0; i < n; ++i) db[i] += rule.db(g[i], a[i], b[i], y[i]);
      return;
    }
    BroadcastWalk(d.output().shape(), d.input(0).shape(), d.input(1).shape())
        .run([&](std::size_t i, std::size_t ia, std::size_t ib) {
          if (da) da[ia] += rule.da(g[i], a[ia], b[ib], y[i]);  // += over every output element an input element fed
          if (db) db[ib] += rule.db(g[i], a[ia], b[ib], y[i]);
        });
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T> g = d.grad_output(), a = d.input(0), b = d.input(1), y = d.output();
    if (d.needs_grad(0)) d.accumulate(0, summed_to(rule.da_on_tape(g, a, b, y), a.shape()));
    if (d.needs_grad(1)) d.accumulate(1, summed_to(rule.db_on_tape(g, a, b, y), b.shape()));
  }
  // Same shapes: the changed elements. Broadcast: every element again (set() keeps only those that differ).
  bool reevaluate(ChangeContext<T>& c) const override {
    const T* a = c.input(0).data();
    const T* b = c.input(1).data();
    if (c.input(0).shape() == c.output().shape() && c.input(1).shape() == c.output().shape()) {
      for (std::size_t k = 0; k < 2; ++k)
        for (std::size_t i : c.changed(k)) c.set(i, rule.f(a[i], b[i]));
      return true;
    }
    BroadcastWalk(c.output().shape(), c.input(0).shape(), c.input(1).shape())
        .run([&](std::size_t i, std::size_t ia, std::size_t ib) { c.set(i, rule.f(a[ia], b[ib])); });
    return true;
  }
};

/// y = rule.f(a, b), elementwise with NumPy broadcasting; ShapeError names the op and both shapes.
template <class T, class Rule>
Var<T> binary(const char* name, const Var<T>& a, const Var<T>& b, const Rule& rule = Rule{}) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const bool same = sa == sb;
  const Shape broadcast = same ? Shape{} : broadcast_shapes(sa, sb, name);
  auto r = record<BinaryOp<T, Rule>>(name, {a, b});
  if (r.op) r.op->rule = rule;
  const Tape<T>& tape = r.var.tape();
  const Tensor<T>& ta = tape.value(a.index());
  const Tensor<T>& tb = tape.value(b.index());
  r.output.resize(same ? sa : broadcast);
  T* y = r.output.data();
  const T* pa = ta.data();
  const T* pb = tb.data();
  if (same) {
    for (std::size_t i = 0, n = ta.size(); i < n; ++i) y[i] = rule.f(pa[i], pb[i]);
  } else if (tb.size() == 1 && broadcast == sa) {  // x * 2, 1 - y: one operand a single number
    const T b0 = pb[0];
    for (std::size_t i = 0, n = ta.size(); i < n; ++i) y[i] = rule.f(pa[i], b0);
  } else if (ta.size() == 1 && broadcast == sb) {
    const T a0 = pa[0];
    for (std::size_t i = 0, n = tb.size(); i < n; ++i) y[i] = rule.f(a0, pb[i]);
  } else {
    BroadcastWalk(broadcast, ta.shape(), tb.shape()).run([&](std::size_t i, std::size_t ia, std::size_t ib) {
      y[i] = rule.f(pa[ia], pb[ib]);
    });
  }
  return finish(r.var);
}

}  // namespace tapegrad::detail
