#pragma once
// Rank-one kernels (internal): a matrix product's weight gradient at a batch of one is an outer product, written
// by gemm (ops/gemm.cpp) or kept as its factors by a parameter (Parameter::defer_grad) and applied here.
#include <cstddef>

namespace tapegrad::detail {

/// c (m, n) = beta c + a b^T: one pass writing c (for beta = 0 nothing is read, so stale values and NaN go).
void outer_product(std::size_t m, std::size_t n, const float* a, const float* b, float beta, float* c);
void outer_product(std::size_t m, std::size_t n, const double* a, const double* b, double beta, double* c);

/// p -= lr (a b^T), each element of a b^T rounded first: the same values, bit for bit, as outer_product with
/// beta = 0 followed by SGD's p -= lr g (optim/sgd.cpp), without writing a b^T.
void descend_outer_product(std::size_t m, std::size_t n, const float* a, const float* b, float lr, float* p);
void descend_outer_product(std::size_t m, std::size_t n, const double* a, const double* b, double lr, double* p);

}  // namespace tapegrad::detail
