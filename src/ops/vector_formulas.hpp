#pragma once
// The formulas of the vectorised elementwise rules, generic over a scalar and an xsimd batch (internal). The
// rules' f (arithmetic.cpp, activation.cpp) and the array kernels (vector_math.cpp, also built for AVX2 in
// vector_math_avx2.cpp) share this one text. No tapegrad header here: the AVX2 file instantiates these with its
// own batch types only, so no function it emits is also emitted, differently compiled, by another file.
#include <cmath>

namespace tapegrad::detail::formula {

template <class V>
V exp_of(V x) {
  using std::exp;  // a batch finds xsimd's by argument-dependent lookup
  return exp(x);
}
template <class V>
V tanh_of(V x) {
  using std::tanh;
  return tanh(x);
}
template <class V>
V sigmoid_of(V x) {
  using std::exp;
  return V(1) / (V(1) + exp(-x));
}

}  // namespace tapegrad::detail::formula
