// conv2d's kernels for AVX-512: this file alone is compiled with -mavx512f -mfma (src/CMakeLists.txt), and
// everything it compiles has internal linkage but the two getters, so nothing it emits can stand in for a
// baseline function.
#include "ops/conv_kernels.hpp"

#if defined(__AVX512F__) && defined(__FMA__)
#include "ops/conv_kernels_simd.hpp"

namespace tapegrad::detail {
// 8 rows of two vectors: 16 accumulators of the 32 registers, the rest for B's vectors and A's broadcast
const ConvKernels<float>* conv_kernels_avx512_float() {
  using K = ConvSimd<xsimd::avx512f, float, 8>;
  static const ConvKernels<float> kernels{K::winograd_forward, K::winograd_backward, K::product, K::W};
  return &kernels;
}
const ConvKernels<double>* conv_kernels_avx512_double() {
  using K = ConvSimd<xsimd::avx512f, double, 8>;
  static const ConvKernels<double> kernels{K::winograd_forward, K::winograd_backward, K::product, K::W};
  return &kernels;
}
}  // namespace tapegrad::detail
#else  // not an x86-64 build
namespace tapegrad::detail {
const ConvKernels<float>* conv_kernels_avx512_float() { return nullptr; }
const ConvKernels<double>* conv_kernels_avx512_double() { return nullptr; }
}  // namespace tapegrad::detail
#endif
