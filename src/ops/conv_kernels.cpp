// Which Winograd kernels this CPU runs, when a convolution takes them, and where their buffers lie.
#include "ops/conv_kernels.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {

// conv_kernels_avx512.cpp, conv_kernels_avx2.cpp: null when not built for x86-64
const ConvKernels<float>* conv_kernels_avx512_float();
const ConvKernels<double>* conv_kernels_avx512_double();
const ConvKernels<float>* conv_kernels_avx2_float();
const ConvKernels<double>* conv_kernels_avx2_double();

namespace {

enum class Isa { None, Avx2, Avx512 };

Isa best_isa() {
#if defined(__x86_64__)
  static const Isa isa = __builtin_cpu_supports("avx512f") && conv_kernels_avx512_float() ? Isa::Avx512
                         : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && conv_kernels_avx2_float()
                             ? Isa::Avx2
                             : Isa::None;
  return isa;
#else
  return Isa::None;
#endif
}

std::size_t times(std::size_t a, std::size_t b, const char* what) {
  std::size_t out = 0;
  if (__builtin_mul_overflow(a, b, &out))
    throw ShapeError(fmt::format("conv2d: the Winograd {} buffer ({} x {}) overflows the size type", what, a, b));
  return out;
}

std::size_t plus(std::size_t a, std::size_t b) {
  std::size_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) throw ShapeError("conv2d: the Winograd work buffer overflows the size type");
  return out;
}

std::size_t round_up(std::size_t count, std::size_t multiple) { return (count + multiple - 1) / multiple * multiple; }

}  // namespace

template <>
const ConvKernels<float>* conv_kernels<float>() {
  switch (best_isa()) {
    case Isa::Avx512: return conv_kernels_avx512_float();
    case Isa::Avx2: return conv_kernels_avx2_float();
    default: return nullptr;
  }
}
template <>
const ConvKernels<double>* conv_kernels<double>() {
  switch (best_isa()) {
    case Isa::Avx512: return conv_kernels_avx512_double();
    case Isa::Avx2: return conv_kernels_avx2_double();
    default: return nullptr;
  }
}

template <class T>
bool winograd_suits(std::size_t c, std::size_t k, std::size_t kh, std::size_t kw, std::size_t sh, std::size_t sw,
                    std::size_t ph, std::size_t pw) {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph <= 2 && pw <= 2 && c >= 8 && k >= 8 &&
         conv_kernels<T>() != nullptr;
}
template bool winograd_suits<float>(std::size_t, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t,
                                    std::size_t, std::size_t);
template bool winograd_suits<double>(std::size_t, std::size_t, std::size_t, std::size_t, std::size_t, std::size_t,
                                     std::size_t, std::size_t);

template <class T>
WinogradPlan make_winograd_plan(std::size_t n, std::size_t c, std::size_t h, std::size_t w, std::size_t k,
                                std::size_t ph, std::size_t pw) {
  constexpr std::size_t vector = 64 / sizeof(T), points = 36, block = kWinogradBlock, out = 4;
  WinogradPlan p{};
  p.n = n, p.c = c, p.h = h, p.w = w, p.k = k, p.ph = ph, p.pw = pw;
  p.oh = h + 2 * ph - 2, p.ow = w + 2 * pw - 2;  // the caller checked that the 3x3 window fits
  p.tile_rows = (p.oh + out - 1) / out, p.tile_cols = (p.ow + out - 1) / out;
  p.tiles = times(times(n, p.tile_rows, "tile"), p.tile_cols, "tile");
  p.c_padded = round_up(c, vector), p.k_padded = round_up(k, vector);
  p.padded_h = out * p.tile_rows + 2, p.padded_w = out * p.tile_cols + 2;
  const std::size_t image = times(times(times(n, p.padded_h, "image"), p.padded_w, "image"), p.c_padded, "image");
  const std::size_t filters = points * std::max(c * p.k_padded, k * p.c_padded);
  std::size_t at = 0;
  const auto take = [&](std::size_t& start, std::size_t size) {
    start = at;
    at = plus(at, size);
  };
  take(p.at_image, image);
  take(p.at_filters, filters);
  take(p.at_bias, p.k_padded);
  take(p.at_tiles, points * block * p.c_padded);
  take(p.at_products, points * block * p.k_padded);
  p.forward_work = at;
  take(p.at_grad_image, image);
  take(p.at_grad_output, times(times(times(n, out * p.tile_rows, "gradient"), out * p.tile_cols, "gradient"),
                               p.k_padded, "gradient"));
  take(p.at_grad_tiles, points * block * p.c_padded);
  take(p.at_grad_filters, points * k * p.c_padded);
  p.work = at;
  return p;
}
template WinogradPlan make_winograd_plan<float>(std::size_t, std::size_t, std::size_t, std::size_t, std::size_t,
                                                std::size_t, std::size_t);
template WinogradPlan make_winograd_plan<double>(std::size_t, std::size_t, std::size_t, std::size_t, std::size_t,
                                                 std::size_t, std::size_t);

}  // namespace tapegrad::detail
