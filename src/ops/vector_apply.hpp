#pragma once
// An array through one vector formula for one xsimd architecture, the last partial batch through a padded copy
// (internal: included by vector_math.cpp for the baseline and by vector_math_avx2.cpp for AVX2). Every element
// takes the same path wherever it sits, and a short array costs one batch, not a C library call per element.
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "ops/vector_formulas.hpp"
#include "ops/vector_math.hpp"

namespace tapegrad::detail {

template <class Arch, class T>
void vector_apply(VectorFunction f, const T* x, T* y, std::size_t n) {
  using Batch = xsimd::batch<T, Arch>;
  const std::size_t whole = n - n % Batch::size;
  const auto each = [&](auto formula) {
    for (std::size_t i = 0; i < whole; i += Batch::size) formula(Batch::load_unaligned(x + i)).store_unaligned(y + i);
    if (whole == n) return;
    alignas(64) T padded[Batch::size] = {};  // zeros past the end: finite through every formula
    for (std::size_t i = whole; i < n; ++i) padded[i - whole] = x[i];
    formula(Batch::load_aligned(padded)).store_aligned(padded);
    for (std::size_t i = whole; i < n; ++i) y[i] = padded[i - whole];
  };
  switch (f) {
    case VectorFunction::Exp: each([](Batch v) { return formula::exp_of(v); }); break;
    case VectorFunction::Tanh: each([](Batch v) { return formula::tanh_of(v); }); break;
    case VectorFunction::Sigmoid: each([](Batch v) { return formula::sigmoid_of(v); }); break;
  }
}

}  // namespace tapegrad::detail
