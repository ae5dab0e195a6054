// The dispatch: AVX2 width when the CPU has AVX2 and FMA, else the baseline's.
#include "ops/vector_math.hpp"

#include "ops/vector_apply.hpp"

namespace tapegrad::detail {

// vector_math_avx2.cpp
void vector_apply_avx2(VectorFunction f, const float* x, float* y, std::size_t n);
void vector_apply_avx2(VectorFunction f, const double* x, double* y, std::size_t n);
bool vector_apply_avx2_built();

namespace {
bool use_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = vector_apply_avx2_built() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
#else
  return false;
#endif
}
}  // namespace

template <class T>
void apply_vector_function(VectorFunction f, const T* x, T* y, std::size_t n) {
  if (use_avx2()) vector_apply_avx2(f, x, y, n);
  else vector_apply<xsimd::default_arch>(f, x, y, n);
}
template void apply_vector_function(VectorFunction, const float*, float*, std::size_t);
template void apply_vector_function(VectorFunction, const double*, double*, std::size_t);

}  // namespace tapegrad::detail
