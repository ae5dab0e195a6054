#pragma once
// exp, tanh and sigmoid over arrays (internal), at the widest SIMD width the CPU has: AVX2 with FMA when it has
// them (vector_math_avx2.cpp), else the baseline's SSE2, chosen once when first used.
#include <cstddef>

namespace tapegrad::detail {

enum class VectorFunction { Exp, Tanh, Sigmoid };

/// y[i] = f(x[i]) for i < n.
template <class T>
void apply_vector_function(VectorFunction f, const T* x, T* y, std::size_t n);

}  // namespace tapegrad::detail
