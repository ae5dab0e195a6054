// The dispatch: whole batches at AVX2 width when the CPU has AVX2 and FMA, else at the baseline's; the tail
// element by element with the same formula.
#include "ops/vector_math.hpp"

#include "ops/vector_batches.hpp"

namespace tapegrad::detail {

// vector_math_avx2.cpp
std::size_t vector_batches_avx2(VectorFunction f, const float* x, float* y, std::size_t n);
std::size_t vector_batches_avx2(VectorFunction f, const double* x, double* y, std::size_t n);
bool vector_batches_avx2_built();

namespace {
bool use_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes =
      vector_batches_avx2_built() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}

template <class T>
T scalar(VectorFunction f, T x) {
  switch (f) {
    case VectorFunction::Exp: return formula::exp_of(x);
    case VectorFunction::Tanh: return formula::tanh_of(x);
    case VectorFunction::Sigmoid: return formula::sigmoid_of(x);
  }
  return x;
}
}  // namespace

template <class T>
void apply_vector_function(VectorFunction f, const T* x, T* y, std::size_t n) {
  std::size_t i = use_avx2() ? vector_batches_avx2(f, x, y, n) : vector_batches<xsimd::default_arch>(f, x, y, n);
  for (; i < n; ++i) y[i] = scalar(f, x[i]);
}
template void apply_vector_function(VectorFunction, const float*, float*, std::size_t);
template void apply_vector_function(VectorFunction, const double*, double*, std::size_t);

}  // namespace tapegrad::detail
