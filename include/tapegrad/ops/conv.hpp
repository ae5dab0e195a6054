#pragma once
// Convolution and pooling over NCHW images (the book's chapter 7; src/ops/conv.cpp).
#include <cstddef>
#include <string>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// A height and a width: a window, a stride or a padding. One number means both.
struct Extent2d {
  std::size_t h = 0, w = 0;
  Extent2d(std::size_t both) : h(both), w(both) {}  // NOLINT: "stride 2" reads as a square
  Extent2d(std::size_t height, std::size_t width) : h(height), w(width) {}
  std::string str() const;  // "2" for a square, "3x2" otherwise
  friend bool operator==(Extent2d a, Extent2d b) { return a.h == b.h && a.w == b.w; }
};

/// How a window walks over the zero-padded input. The output has (H + 2 pad - window) / stride + 1 rows (and
/// columns likewise). When the division leaves a remainder, the last input rows would never be read: that is
/// a ValueError unless `allow_remainder` is set, when they are dropped as PyTorch and the book drop them.
struct Conv2dSettings {
  Extent2d stride{1}, padding{0};
  bool allow_remainder = false;
};

struct Pool2dSettings {
  /// The stride defaults to the window (windows that tile the input).
  Pool2dSettings(Extent2d window_size = 2) : window(window_size), stride(window_size) {}  // NOLINT
  Pool2dSettings(Extent2d window_size, Extent2d stride_size, Extent2d padding_size = 0)
      : window(window_size), stride(stride_size), padding(padding_size) {}
  Extent2d window, stride, padding{0};
  bool allow_remainder = false;
};

/// How conv2d multiplies. Auto, on CPUs with AVX-512 or AVX2 and FMA: kernels of tapegrad's own, Winograd's
/// F(4x4, 3x3) for 3x3 filters of stride 1 and padding at most 2 over 8 or more channels in and out, a SIMD matrix
/// product on im2col's windows for the rest; on other CPUs, Blas. Blas: im2col and OpenBLAS's GEMM for every
/// convolution. The two agree up to rounding (tests/test_conv.cpp); a convolution's backward takes its forward's
/// path, and the rules recorded for higher orders are the same in both. Process-wide.
enum class ConvAlgorithm { Auto, Blas };
void set_conv_algorithm(ConvAlgorithm algorithm);
ConvAlgorithm conv_algorithm();

/// Convolution (cross-correlation, as every framework): x (N, C, H, W), filters (FN, C, FH, FW), bias (FN,)
/// -> (N, FN, OH, OW), computed as conv_algorithm() says.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& filters, const Var<T>& bias, const Conv2dSettings& settings = {});

/// Max over each window: x (N, C, H, W) -> (N, C, OH, OW). Padding is never the maximum (PyTorch's rule); it
/// may be at most half the window, so every window holds an input cell. The gradient goes to the first
/// maximal cell of each window.
template <class T>
Var<T> max_pool2d(const Var<T>& x, const Pool2dSettings& settings);

/// Mean over each window; padding counts as zeros in the mean (PyTorch's count_include_pad).
template <class T>
Var<T> avg_pool2d(const Var<T>& x, const Pool2dSettings& settings);

enum class Pooling { Max, Average };

/// The output shape of conv2d(x, filters, ...) and of pooling, with the same checks and errors as the ops
/// (what a network builder uses to size the layers that follow).
Shape conv2d_output_shape(const Shape& x, const Shape& filters, const Conv2dSettings& settings = {});
Shape pool2d_output_shape(const Shape& x, const Pool2dSettings& settings, Pooling kind);

}  // namespace tapegrad
