// conv2d's kernels for AVX2 with FMA: this file alone is compiled with -mavx2 -mfma (src/CMakeLists.txt), and
// everything it compiles has internal linkage but the two getters, so nothing it emits can stand in for a
// baseline function.
#include "ops/conv_kernels.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include "ops/conv_kernels_simd.hpp"

namespace tapegrad::detail {
// 6 rows of two vectors: 12 accumulators of the 16 registers, the rest for B's vectors and A's broadcast
const ConvKernels<float>* conv_kernels_avx2_float() {
  using K = ConvSimd<xsimd::fma3<xsimd::avx2>, float, 6>;
  static const ConvKernels<float> kernels{K::winograd_forward, K::winograd_backward, K::product, K::W};
  return &kernels;
}
const ConvKernels<double>* conv_kernels_avx2_double() {
  using K = ConvSimd<xsimd::fma3<xsimd::avx2>, double, 6>;
  static const ConvKernels<double> kernels{K::winograd_forward, K::winograd_backward, K::product, K::W};
  return &kernels;
}
}  // namespace tapegrad::detail
#else  // not an x86-64 build
namespace tapegrad::detail {
const ConvKernels<float>* conv_kernels_avx2_float() { return nullptr; }
const ConvKernels<double>* conv_kernels_avx2_double() { return nullptr; }
}  // namespace tapegrad::detail
#endif
