// The Winograd kernels for AVX2 with FMA: this file alone is compiled with -mavx2 -mfma (src/CMakeLists.txt), and
// everything it compiles has internal linkage but the two getters, so nothing it emits can stand in for a
// baseline function.
#include "ops/winograd.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "ops/winograd_kernels.hpp"

namespace tapegrad::detail {
// 6 rows of two vectors: 12 accumulators of the 16 registers, the rest for B's vectors and A's broadcast
const WinogradKernels<float>* winograd_avx2_float() {
  static const WinogradKernels<float> kernels{Winograd<xsimd::fma3<xsimd::avx2>, float, 6>::forward,
                                              Winograd<xsimd::fma3<xsimd::avx2>, float, 6>::backward};
  return &kernels;
}
const WinogradKernels<double>* winograd_avx2_double() {
  static const WinogradKernels<double> kernels{Winograd<xsimd::fma3<xsimd::avx2>, double, 6>::forward,
                                               Winograd<xsimd::fma3<xsimd::avx2>, double, 6>::backward};
  return &kernels;
}
}  // namespace tapegrad::detail
#else  // not an x86-64 build
namespace tapegrad::detail {
const WinogradKernels<float>* winograd_avx2_float() { return nullptr; }
const WinogradKernels<double>* winograd_avx2_double() { return nullptr; }
}  // namespace tapegrad::detail
#endif
