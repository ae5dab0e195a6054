#pragma once
// Matrix products through BLAS (src/ops/linalg.cpp).
#include <string>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// (m,k)·(k,n) -> (m,n); (m,k)·(k) -> (m); (k)·(k,n) -> (n). Other ranks throw ShapeError.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b);
/// The same with a plain tensor operand (copied onto the tape as a constant: no gradient flows to it).
template <class T>
Var<T> matmul(const Var<T>& a, const Tensor<T>& b);
template <class T>
Var<T> matmul(const Tensor<T>& a, const Var<T>& b);

/// op(a)·op(b) for matrices, op transposing where asked: matmul(a, b, false, true) is a·bᵀ with no copy of bᵀ
/// (BLAS reads b transposed). What the recorded rules of matmul and affine use.
template <class T>
Var<T> matmul(const Var<T>& a, const Var<T>& b, bool transpose_a, bool transpose_b);

/// The book's Affine: x W + b for x (N, in), W (in, out), b (out). One op: dW = x^T G, db = column sums of G,
/// dx = G W^T. An x of more axes, (N, C, H, W), is read as N rows of C*H*W values, as the book's Affine reshapes
/// it, without a copy; dx comes back in x's shape.
template <class T>
Var<T> affine(const Var<T>& x, const Var<T>& w, const Var<T>& b);

/// Sets OpenBLAS's thread count (one is fastest on two cores); false if the BLAS in use is not OpenBLAS.
bool set_blas_threads(int threads);

/// What to do when OpenBLAS runs its generic Prescott kernel on a CPU with AVX2 or AVX-512 (an OpenBLAS older
/// than the CPU does not recognise it, e.g. 0.3.21 on Intel's family 6 model 207): the OPENBLAS_CORETYPE that
/// selects the kernel for it. Empty when there is nothing to say.
std::string blas_kernel_note();

}  // namespace tapegrad
