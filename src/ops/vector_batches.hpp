#pragma once
// The whole batches of an array through one vector formula, for one xsimd architecture (internal: included by
// vector_math.cpp for the baseline and by vector_math_avx2.cpp for AVX2). Returns how many elements it did.
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "ops/vector_formulas.hpp"
#include "ops/vector_math.hpp"

namespace tapegrad::detail {

template <class Arch, class T>
std::size_t vector_batches(VectorFunction f, const T* x, T* y, std::size_t n) {
  using Batch = xsimd::batch<T, Arch>;
  const std::size_t whole = n - n % Batch::size;
  const auto each = [&](auto formula) {
    for (std::size_t i = 0; i < whole; i += Batch::size) formula(Batch::load_unaligned(x + i)).store_unaligned(y + i);
  };
  switch (f) {
    case VectorFunction::Exp: each([](Batch v) { return formula::exp_of(v); }); break;
    case VectorFunction::Tanh: each([](Batch v) { return formula::tanh_of(v); }); break;
    case VectorFunction::Sigmoid: each([](Batch v) { return formula::sigmoid_of(v); }); break;
  }
  return whole;
}

}  // namespace tapegrad::detail
