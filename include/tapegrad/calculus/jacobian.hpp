#pragma once
// The two modes of automatic differentiation on one tape, for a function of one tensor:
//   vjp  (reverse mode) u -> J^T u: one backward pass, whatever the size of x;
//   jvp  (forward mode) v -> J v:   here by forward-over-reverse: J^T u is recorded as a function of a dummy u
//        (it is linear in u), and its gradient with respect to u, seeded with v, is J v. So forward mode needs
//        no second set of rules: it reuses the reverse rules that gradcheck checks at three orders. It costs the
//        forward pass, a recorded backward pass and one backward pass through that, about three vjps.
// jacobian() builds J from rows (vjps) or from columns (jvps), whichever needs fewer passes (a column costs about
// what a row costs: benchmarks/MODES_RESULTS.md times both on one function); hessian() builds the
// Hessian of a scalar function from rows of reverse-over-reverse products.
//
//   auto f = [](const Var<double>& x) { return tanh(x) * 2.0; };
//   JacobianResult<double> J = jacobian<double>(f, Tensor<double>::ones({3}));   // J.matrix has shape (3, 3)
#include <cstddef>
#include <functional>
#include <string>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// A differentiable function of one tensor: record f(x) from the variable x, on x's tape.
template <class T>
using TensorFunction = std::function<Var<T>(const Var<T>& x)>;

/// f(x) and a product of its Jacobian J (J v for jvp, J^T u for vjp).
template <class T>
struct Linearization {
  Tensor<T> value;    // f(x)
  Tensor<T> product;  // jvp: J v, of f(x)'s shape; vjp: J^T u, of x's shape
};

/// Forward mode: f(x) and the directional derivative J v. `v` has x's shape (ShapeError otherwise).
template <class T>
Linearization<T> jvp(const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v);
/// Reverse mode: f(x) and J^T u. `u` has f(x)'s shape (ShapeError otherwise).
template <class T>
Linearization<T> vjp(const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u);

enum class JacobianMode {
  Automatic,  // the mode with fewer passes: forward when x has fewer elements than f(x), else reverse
  Forward,    // one jvp per element of x: the columns
  Reverse,    // one vjp per element of f(x): the rows
};
const char* mode_name(JacobianMode mode);

template <class T>
struct JacobianResult {
  Tensor<T> matrix;    // shape f(x).shape + x.shape: matrix[i..., j...] = d f_i / d x_j
  Tensor<T> value;     // f(x)
  JacobianMode mode;   // Forward or Reverse: the one used
  std::size_t passes;  // jvps or vjps run
  std::string why;     // e.g. "reverse mode: 2 passes, one per row (2 rows, 40 columns; fewer passes)"
};

/// The Jacobian of f at x. Every pass reuses the one recording of f (and, in forward mode, of its backward).
template <class T>
JacobianResult<T> jacobian(const TensorFunction<T>& f, const Tensor<T>& x,
                           JacobianMode mode = JacobianMode::Automatic);

/// The Hessian of a scalar f at x, of shape x.shape + x.shape: the gradient recorded once, then one reverse
/// pass through it per element of x. ShapeError when f(x) has more than one element.
template <class T>
Tensor<T> hessian(const TensorFunction<T>& f, const Tensor<T>& x);

/// Each of the four on `tape`, cleared first and left holding the computation (to draw it, or read its Vars).
/// The forms without a tape record on one kept per thread, cleared after each call but keeping its buffers (the
/// memory of the largest computation so far, until the thread ends), so that a loop of calls allocates nothing;
/// a call from inside f gets a fresh tape.
template <class T>
Linearization<T> jvp(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& v);
template <class T>
Linearization<T> vjp(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x, const Tensor<T>& u);
template <class T>
JacobianResult<T> jacobian(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x,
                           JacobianMode mode = JacobianMode::Automatic);
template <class T>
Tensor<T> hessian(Tape<T>& tape, const TensorFunction<T>& f, const Tensor<T>& x);

#define TAPEGRAD_JACOBIAN_EXTERN(T)                                                                       \
  extern template Linearization<T> jvp(const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&);      \
  extern template Linearization<T> vjp(const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&);      \
  extern template JacobianResult<T> jacobian(const TensorFunction<T>&, const Tensor<T>&, JacobianMode);    \
  extern template Tensor<T> hessian(const TensorFunction<T>&, const Tensor<T>&);                            \
  extern template Linearization<T> jvp(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&); \
  extern template Linearization<T> vjp(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, const Tensor<T>&); \
  extern template JacobianResult<T> jacobian(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&, JacobianMode); \
  extern template Tensor<T> hessian(Tape<T>&, const TensorFunction<T>&, const Tensor<T>&);
TAPEGRAD_JACOBIAN_EXTERN(float)
TAPEGRAD_JACOBIAN_EXTERN(double)
#undef TAPEGRAD_JACOBIAN_EXTERN

}  // namespace tapegrad
