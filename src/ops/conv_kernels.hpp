#pragma once
// conv2d's kernels of tapegrad's own (internal; src/ops/conv_kernels.cpp picks them for the CPU): a SIMD matrix
// product for im2col's matrices, and Winograd's F(4x4, 3x3) for 3x3 convolutions of stride 1.
//
// Each 6x6 input tile d and 3x3 filter g give a 4x4 output tile Y = A^T [(G g G^T) . (B^T d B)] A: 36 products per
// channel pair where the direct sum takes 144. The products of all channels at one of the 36 points are a matrix
// product, (tiles x C) (C x K), which SIMD kernels of tapegrad's own compute in blocks of tiles that stay in cache.
// Backward is the exact adjoint of the same arithmetic:
//   dW = G^T [sum over tiles of (A dY A^T) (B^T d B)] G,  dx = sum over tiles of B [(A dY A^T) (G g G^T)] B^T.
// Only plain C++ crosses this header: the kernels are compiled once per instruction set (conv_kernels_avx512.cpp,
// conv_kernels_avx2.cpp), and nothing they emit may stand in for a function of the baseline build.
#include <cstddef>

namespace tapegrad::detail {

/// A convolution's sizes: x (N, C, H, W), K filters 3x3, stride 1, padding (PH, PW), output (OH, OW).
/// The rest is derived by make_winograd_plan: tiles, channels padded to whole 64-byte vectors, the padded image.
struct WinogradPlan {
  std::size_t n, c, h, w, k, ph, pw, oh, ow;
  std::size_t tile_rows, tile_cols, tiles;  // ceil(OH / 4), ceil(OW / 4), N * both
  std::size_t c_padded, k_padded;           // C and K rounded up to 64 bytes of T
  std::size_t padded_h, padded_w;           // the zero-padded image every tile reads from: 4 * tiles + 2
  // Where each buffer starts in the work buffer, in elements of T; forward needs the first `forward_work`.
  std::size_t at_image, at_filters, at_bias, at_tiles, at_products;  // forward and backward
  std::size_t at_grad_image, at_grad_output, at_grad_tiles, at_grad_filters;  // backward only
  std::size_t forward_work, work;
};

template <class T>
struct ConvKernels {
  /// Winograd: y (N, K, OH, OW) = conv(x, filters) + bias.
  void (*winograd_forward)(const WinogradPlan&, const T* x, const T* filters, const T* bias, T* y, T* work);
  /// Winograd: dx +=, dw += and db += the gradients for dy (N, K, OH, OW); a null one is not computed. `work` must
  /// be as winograd_forward of the same x left it (it reads the padded image from there).
  void (*winograd_backward)(const WinogradPlan&, const T* filters, const T* dy, T* dx, T* dw, T* db, T* work);
  /// C (rows x cols) = A B, or += when `add`: A's element (i, j) is a[i * a_row + j * a_col], B (depth x cols) has
  /// rows ldb apart, C rows ldc apart; cols must be a multiple of `vector`, and B's and C's rows hold that many.
  void (*product)(std::size_t rows, std::size_t cols, std::size_t depth, const T* a, std::size_t a_row,
                  std::size_t a_col, const T* b, std::size_t ldb, T* c, std::size_t ldc, bool add);
  std::size_t vector;  // elements of T per SIMD vector
};

/// The kernels for this CPU (AVX-512, else AVX2 with FMA), or null: then conv2d multiplies through OpenBLAS.
template <class T>
const ConvKernels<T>* conv_kernels();

/// Whether a convolution goes through Winograd: 3x3, stride 1, padding at most 2, at least 8 channels in and
/// out (fewer would mostly multiply the zeros that pad them to a vector), and kernels for this CPU.
template <class T>
bool winograd_suits(std::size_t c, std::size_t k, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                    std::size_t ph, std::size_t pw);

/// ShapeError when a buffer's size would overflow.
template <class T>
WinogradPlan make_winograd_plan(std::size_t n, std::size_t c, std::size_t h, std::size_t w, std::size_t k,
                                std::size_t ph, std::size_t pw);

/// Tiles per block: the block's transformed tiles of every point stay in L2 while the 36 products run.
constexpr std::size_t kWinogradBlock = 32;

}  // namespace tapegrad::detail
