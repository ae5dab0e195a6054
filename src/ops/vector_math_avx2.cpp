// vector_apply for AVX2 with FMA: this file alone is compiled with -mavx2 -mfma (src/CMakeLists.txt). It
// instantiates only templates of xsimd's avx2 types, so nothing it emits can stand in for a baseline function.
#include "ops/vector_apply.hpp"

namespace tapegrad::detail {

#if defined(__AVX2__)
void vector_apply_avx2(VectorFunction f, const float* x, float* y, std::size_t n) {
  vector_apply<xsimd::avx2>(f, x, y, n);
}
void vector_apply_avx2(VectorFunction f, const double* x, double* y, std::size_t n) {
  vector_apply<xsimd::avx2>(f, x, y, n);
}
bool vector_apply_avx2_built() { return true; }
#else  // not an x86-64 build: the baseline does everything
void vector_apply_avx2(VectorFunction, const float*, float*, std::size_t) {}
void vector_apply_avx2(VectorFunction, const double*, double*, std::size_t) {}
bool vector_apply_avx2_built() { return false; }
#endif

}  // namespace tapegrad::detail
