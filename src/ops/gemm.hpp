#pragma once
// The BLAS products the ops share (internal): matmul, affine and conv2d call these.
#include <cstddef>

namespace tapegrad::detail {

/// C (m, n) = op(A) op(B) + beta C, all row-major and contiguous; op transposes when asked. A product with few
/// rows goes to gemv, one call per row, when the table measured for the OpenBLAS kernel in use says that is
/// faster; an inner size of 1 (an outer product) to one pass over C; a small A B that OpenBLAS's AVX-512 kernels
/// would allocate in is computed transposed (gemm.cpp). ShapeError when a size exceeds BLAS's int.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, const T* a, const T* b, T beta,
          T* c);

}  // namespace tapegrad::detail
