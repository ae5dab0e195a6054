#pragma once
// Opt-in interop with xtensor, the library tapegrad's kernels are built on (not included by tapegrad.hpp, so
// code that does not use it compiles without xtensor's headers). Link your target to xtensor too.
//
//   xt::xarray<double> a = ...;
//   tapegrad::Tensor<double> t = tapegrad::from_xtensor(a * 2.0 + 1.0);   // any expression, evaluated once
//   auto v = tapegrad::as_xtensor(t);                                      // a view: no copy
//   v(0, 1) = 3.0;  xt::xarray<double> s = xt::sum(v, {0});               // writes through to t
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xexpression.hpp>
#include <xtensor/xnoalias.hpp>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

/// An xtensor expression over the tensor's own buffer (row-major, the tensor's shape), without copying.
/// Valid while the tensor lives and is not resized; writes through a non-const view change the tensor.
template <class T>
auto as_xtensor(Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), t.shape().dims());
}
template <class T>
auto as_xtensor(const Tensor<T>& t) {
  return xt::adapt(t.data(), t.size(), xt::no_ownership(), t.shape().dims());
}

/// A Tensor holding the values of any xtensor expression (evaluated once, straight into the tensor's buffer).
/// T defaults to the expression's value type when that is float or double; give it for others (ints, bools).
template <class T = void, class E>
auto from_xtensor(const xt::xexpression<E>& expression) {
  using Value = typename E::value_type;
  using Out = std::conditional_t<std::is_void_v<T>, Value, T>;
  static_assert(std::is_same_v<Out, float> || std::is_same_v<Out, double>,
                "from_xtensor: name the precision, e.g. from_xtensor<double>(expression)");
  const E& e = expression.derived_cast();
  Tensor<Out> t(Shape(std::vector<std::size_t>(e.shape().begin(), e.shape().end())));
  auto view = as_xtensor(t);
  xt::noalias(view) = xt::cast<Out>(e);
  return t;
}

}  // namespace tapegrad
