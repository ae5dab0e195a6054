// The Winograd kernels for AVX-512: this file alone is compiled with -mavx512f -mfma (src/CMakeLists.txt), and
// everything it compiles has internal linkage but the two getters, so nothing it emits can stand in for a
// baseline function.
#include "ops/winograd.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "ops/winograd_kernels.hpp"

namespace tapegrad::detail {
// 8 rows of two vectors: 16 accumulators of the 32 registers, the rest for B's vectors and A's broadcast
const WinogradKernels<float>* winograd_avx512_float() {
  static const WinogradKernels<float> kernels{Winograd<xsimd::avx512f, float, 8>::forward,
                                              Winograd<xsimd::avx512f, float, 8>::backward};
  return &kernels;
}
const WinogradKernels<double>* winograd_avx512_double() {
  static const WinogradKernels<double> kernels{Winograd<xsimd::avx512f, double, 8>::forward,
                                               Winograd<xsimd::avx512f, double, 8>::backward};
  return &kernels;
}
}  // namespace tapegrad::detail
#else  // not an x86-64 build
namespace tapegrad::detail {
const WinogradKernels<float>* winograd_avx512_float() { return nullptr; }
const WinogradKernels<double>* winograd_avx512_double() { return nullptr; }
}  // namespace tapegrad::detail
#endif
