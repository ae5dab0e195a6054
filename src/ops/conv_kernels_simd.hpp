#pragma once
// conv2d's SIMD kernels for one xsimd architecture: a matrix product for im2col's matrices, and Winograd
// F(2x2, 3x3) (internal: included by conv_kernels_avx512.cpp and conv_kernels_avx2.cpp, each compiled for its
// instruction set). Everything is in an anonymous namespace, so each
// file's copy keeps internal linkage; only the two functions each file exports are seen outside it.
//
// Winograd's layouts (c_p, k_p: channels padded to whole vectors; vectors run along channels):
//   image        (N, padded_h, padded_w, c_p)   x zero-padded, channels last
//   filters      16 points of (C, k_p) forward, of (K, c_p) backward: G g G^T
//   tiles        16 points of (block, c_p): B^T d B of each tile in the block
//   products     16 points of (block, k_p): the products forward, A dY A^T backward
//   grad_image   like image: dx before its padding is dropped
//   grad_output  (N, 2 tile_rows, 2 tile_cols, k_p): dy channels last, zero past the output
//   grad_tiles   like tiles: the products' gradient for the block's tiles
//   grad_filters 16 points of (K, c_p): the sum over tiles that G^T . G turns into dW
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "ops/conv_kernels.hpp"

namespace tapegrad::detail {
namespace {

template <class Arch, class T, std::size_t Rows>
struct ConvSimd {
  using Vec = xsimd::batch<T, Arch>;
  static constexpr std::size_t W = Vec::size;
  static constexpr std::size_t kPoints = 16;

  static Vec load(const T* p) { return Vec::load_unaligned(p); }
  static void store(T* p, const Vec& v) { v.store_unaligned(p); }
  // How many lanes of the vector starting at channel `first` are real channels (of `channels`).
  static std::size_t lanes_below(std::size_t channels, std::size_t first) {
    return first >= channels ? 0 : channels - first < W ? channels - first : W;
  }
  static void fill_zero(T* p, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) p[i] = T(0);
  }

  // C (R x cols) (+)= A (R x depth) B (depth x cols), cols = V vectors: A's element (i, j) is a[i * a_row + j * a_col],
  // broadcast; B's rows are ldb apart. R * V accumulators stay in registers across the whole depth.
  template <std::size_t R, std::size_t V>
  static void block_product(std::size_t depth, const T* a, std::size_t a_row, std::size_t a_col, const T* b,
                            std::size_t ldb, T* c, std::size_t ldc, bool add) {
    Vec acc[R][V];
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < V; ++v) acc[i][v] = add ? load(c + i * ldc + v * W) : Vec(T(0));
    for (std::size_t j = 0; j < depth; ++j) {
      Vec bj[V];
#pragma GCC unroll 4
      for (std::size_t v = 0; v < V; ++v) bj[v] = load(b + j * ldb + v * W);
      const T* aj = a + j * a_col;
#pragma GCC unroll 16
      for (std::size_t i = 0; i < R; ++i) {
        const Vec ai(aj[i * a_row]);
#pragma GCC unroll 4
        for (std::size_t v = 0; v < V; ++v) acc[i][v] = xsimd::fma(ai, bj[v], acc[i][v]);
      }
    }
#pragma GCC unroll 16
    for (std::size_t i = 0; i < R; ++i)
#pragma GCC unroll 4
      for (std::size_t v = 0; v < V; ++v) store(c + i * ldc + v * W, acc[i][v]);
  }

  template <std::size_t V, std::size_t R = Rows>
  static void rows_product(std::size_t rows, std::size_t depth, const T* a, std::size_t a_row, std::size_t a_col,
                           const T* b, std::size_t ldb, T* c, std::size_t ldc, bool add) {
    if constexpr (R > 0) {
      if (rows == R) return block_product<R, V>(depth, a, a_row, a_col, b, ldb, c, ldc, add);
      rows_product<V, R - 1>(rows, depth, a, a_row, a_col, b, ldb, c, ldc, add);
    }
  }

  // C (rows x cols) (+)= A B as above, cols a whole number of vectors: panels of two vectors (one at the end),
  // Rows rows at a time.
  static void product(std::size_t rows, std::size_t cols, std::size_t depth, const T* a, std::size_t a_row,
                      std::size_t a_col, const T* b, std::size_t ldb, T* c, std::size_t ldc, bool add) {
    for (std::size_t j0 = 0; j0 < cols; j0 += 2 * W)
      for (std::size_t i0 = 0; i0 < rows; i0 += Rows) {
        const std::size_t r = rows - i0 < Rows ? rows - i0 : Rows;
        const T* ai = a + i0 * a_row;
        T* ci = c + i0 * ldc + j0;
        if (cols - j0 >= 2 * W)
          rows_product<2>(r, depth, ai, a_row, a_col, b + j0, ldb, ci, ldc, add);
        else
          rows_product<1>(r, depth, ai, a_row, a_col, b + j0, ldb, ci, ldc, add);
      }
  }

  // A tile's place: image n, tile row ty, tile column tx, walked in that order.
  struct TileCursor {
    std::size_t n, ty, tx;
    TileCursor(const WinogradPlan& p, std::size_t t) {
      const std::size_t per_image = p.tile_rows * p.tile_cols, within = t % per_image;
      n = t / per_image, ty = within / p.tile_cols, tx = within % p.tile_cols;
    }
    void next(const WinogradPlan& p) {
      if (++tx < p.tile_cols) return;
      tx = 0;
      if (++ty < p.tile_rows) return;
      ty = 0, ++n;
    }
  };

  // x (N, C, H, W) -> image (N, padded_h, padded_w, c_p), zeros around and past C.
  static void pad_image(const WinogradPlan& p, const T* x, T* image) {
    fill_zero(image, p.n * p.padded_h * p.padded_w * p.c_padded);
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t ch = 0; ch < p.c; ++ch)
        for (std::size_t y = 0; y < p.h; ++y) {
          const T* row = x + ((n * p.c + ch) * p.h + y) * p.w;
          T* out = image + ((n * p.padded_h + y + p.ph) * p.padded_w + p.pw) * p.c_padded + ch;
          for (std::size_t i = 0; i < p.w; ++i) out[i * p.c_padded] = row[i];
        }
  }

  // G g G^T of one 3x3 filter g (row-major) into u[0..16).
  static void filter_transform(const T* g, T u[16]) {
    const T h = T(0.5);
    T gg[4][3];
    for (std::size_t j = 0; j < 3; ++j) {
      gg[0][j] = g[j];
      gg[1][j] = h * (g[j] + g[3 + j] + g[6 + j]);
      gg[2][j] = h * (g[j] - g[3 + j] + g[6 + j]);
      gg[3][j] = g[6 + j];
    }
    for (std::size_t i = 0; i < 4; ++i) {
      u[4 * i + 0] = gg[i][0];
      u[4 * i + 1] = h * (gg[i][0] + gg[i][1] + gg[i][2]);
      u[4 * i + 2] = h * (gg[i][0] - gg[i][1] + gg[i][2]);
      u[4 * i + 3] = gg[i][2];
    }
  }

  // Every filter's transform: forward as 16 points of (C, k_p), backward as 16 points of (K, c_p).
  static void transform_filters(const WinogradPlan& p, const T* filters, T* out, bool for_backward) {
    const std::size_t rows = for_backward ? p.k : p.c, cols = for_backward ? p.c_padded : p.k_padded;
    fill_zero(out, kPoints * rows * cols);
    T u[16];
    for (std::size_t k = 0; k < p.k; ++k)
      for (std::size_t ch = 0; ch < p.c; ++ch) {
        filter_transform(filters + (k * p.c + ch) * 9, u);
        const std::size_t at = for_backward ? k * cols + ch : ch * cols + k;
        for (std::size_t q = 0; q < kPoints; ++q) out[q * rows * cols + at] = u[q];
      }
  }

  // B^T d B of `count` tiles from t0 on, into tiles (16 points of (block, c_p)).
  static void transform_input(const WinogradPlan& p, const T* image, std::size_t t0, std::size_t count, T* tiles) {
    const std::size_t cp = p.c_padded, point = kWinogradBlock * cp, row = p.padded_w * cp;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* corner = image + ((at.n * p.padded_h + 2 * at.ty) * p.padded_w + 2 * at.tx) * cp;
      T* out = tiles + t * cp;
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec d[4][4], s[4][4];
        for (std::size_t i = 0; i < 4; ++i)
          for (std::size_t j = 0; j < 4; ++j) d[i][j] = load(corner + i * row + j * cp + c0);
        for (std::size_t j = 0; j < 4; ++j) {
          s[0][j] = d[0][j] - d[2][j];
          s[1][j] = d[1][j] + d[2][j];
          s[2][j] = d[2][j] - d[1][j];
          s[3][j] = d[1][j] - d[3][j];
        }
        for (std::size_t i = 0; i < 4; ++i) {
          T* o = out + 4 * i * point + c0;
          store(o, s[i][0] - s[i][2]);
          store(o + point, s[i][1] + s[i][2]);
          store(o + 2 * point, s[i][2] - s[i][1]);
          store(o + 3 * point, s[i][1] - s[i][3]);
        }
      }
    }
  }

  // y = A^T m A + bias for `count` tiles from t0 on, written into y (N, K, OH, OW) where it lies inside.
  static void transform_output(const WinogradPlan& p, const T* products, const T* bias, std::size_t t0,
                               std::size_t count, T* y) {
    const std::size_t kp = p.k_padded, point = kWinogradBlock * kp, plane = p.oh * p.ow;
    alignas(64) T out[4][W];
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* in = products + t * kp;
      const std::size_t oy = 2 * at.ty, ox = 2 * at.tx;
      const bool full = oy + 1 < p.oh && ox + 1 < p.ow;
      for (std::size_t k0 = 0; k0 < kp; k0 += W) {
        Vec m[4][4];
        for (std::size_t q = 0; q < 16; ++q) m[q / 4][q % 4] = load(in + q * point + k0);
        Vec s[2][4];
        for (std::size_t j = 0; j < 4; ++j) {
          s[0][j] = m[0][j] + m[1][j] + m[2][j];
          s[1][j] = m[1][j] - m[2][j] - m[3][j];
        }
        const Vec b = load(bias + k0);
        for (std::size_t i = 0; i < 2; ++i) {
          xsimd::store_aligned(out[2 * i], s[i][0] + s[i][1] + s[i][2] + b);
          xsimd::store_aligned(out[2 * i + 1], s[i][1] - s[i][2] - s[i][3] + b);
        }
        const std::size_t lanes = lanes_below(p.k, k0);
        T* base = y + (at.n * p.k + k0) * plane + oy * p.ow + ox;
        if (full) {
          for (std::size_t l = 0; l < lanes; ++l) {
            T* o = base + l * plane;
            o[0] = out[0][l], o[1] = out[1][l], o[p.ow] = out[2][l], o[p.ow + 1] = out[3][l];
          }
        } else {
          for (std::size_t l = 0; l < lanes; ++l)
            for (std::size_t cell = 0; cell < 4; ++cell)
              if (oy + cell / 2 < p.oh && ox + cell % 2 < p.ow) base[l * plane + (cell / 2) * p.ow + cell % 2] = out[cell][l];
        }
      }
    }
  }

  static void winograd_forward(const WinogradPlan& p, const T* x, const T* filters, const T* bias, T* y, T* work) {
    T* image = work + p.at_image;
    T* transformed = work + p.at_filters;
    T* padded_bias = work + p.at_bias;
    T* tiles = work + p.at_tiles;
    T* products = work + p.at_products;
    pad_image(p, x, image);
    transform_filters(p, filters, transformed, false);
    fill_zero(padded_bias, p.k_padded);
    for (std::size_t k = 0; k < p.k; ++k) padded_bias[k] = bias[k];
    const std::size_t cp = p.c_padded, kp = p.k_padded;
    for (std::size_t t0 = 0; t0 < p.tiles; t0 += kWinogradBlock) {
      const std::size_t count = p.tiles - t0 < kWinogradBlock ? p.tiles - t0 : kWinogradBlock;
      transform_input(p, image, t0, count, tiles);
      for (std::size_t q = 0; q < kPoints; ++q)
        product(count, kp, p.c, tiles + q * kWinogradBlock * cp, cp, 1, transformed + q * p.c * kp, kp,
                products + q * kWinogradBlock * kp, kp, false);
      transform_output(p, products, padded_bias, t0, count, y);
    }
  }

  // dy (N, K, OH, OW) -> grad_output (N, 2 tile_rows, 2 tile_cols, k_p), zeros past the output and past K.
  static void pad_grad_output(const WinogradPlan& p, const T* dy, T* out) {
    const std::size_t rows = 2 * p.tile_rows, cols = 2 * p.tile_cols;
    fill_zero(out, p.n * rows * cols * p.k_padded);
    for (std::size_t n = 0; n < p.n; ++n)
      for (std::size_t k = 0; k < p.k; ++k)
        for (std::size_t y = 0; y < p.oh; ++y) {
          const T* row = dy + ((n * p.k + k) * p.oh + y) * p.ow;
          T* o = out + ((n * rows + y) * cols) * p.k_padded + k;
          for (std::size_t i = 0; i < p.ow; ++i) o[i * p.k_padded] = row[i];
        }
  }

  // A dY A^T of `count` tiles from t0 on, into products (16 points of (block, k_p)).
  static void transform_grad_output(const WinogradPlan& p, const T* grad, std::size_t t0, std::size_t count,
                                    T* products) {
    const std::size_t kp = p.k_padded, point = kWinogradBlock * kp, cols = 2 * p.tile_cols;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* corner = grad + ((at.n * 2 * p.tile_rows + 2 * at.ty) * cols + 2 * at.tx) * kp;
      T* out = products + t * kp;
      for (std::size_t k0 = 0; k0 < kp; k0 += W) {
        const Vec y00 = load(corner + k0), y01 = load(corner + kp + k0);
        const Vec y10 = load(corner + cols * kp + k0), y11 = load(corner + cols * kp + kp + k0);
        const Vec r[4][2] = {{y00, y01}, {y00 + y10, y01 + y11}, {y00 - y10, y01 - y11}, {-y10, -y11}};
        for (std::size_t i = 0; i < 4; ++i) {
          T* o = out + 4 * i * point + k0;
          store(o, r[i][0]);
          store(o + point, r[i][0] + r[i][1]);
          store(o + 2 * point, r[i][0] - r[i][1]);
          store(o + 3 * point, -r[i][1]);
        }
      }
    }
  }

  // grad_image += B dV B^T of `count` tiles from t0 on.
  static void transform_grad_input(const WinogradPlan& p, const T* grad_tiles, std::size_t t0, std::size_t count,
                                   T* grad_image) {
    const std::size_t cp = p.c_padded, point = kWinogradBlock * cp, row = p.padded_w * cp;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      T* corner = grad_image + ((at.n * p.padded_h + 2 * at.ty) * p.padded_w + 2 * at.tx) * cp;
      const T* in = grad_tiles + t * cp;
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec v[4][4], e[4][4];
        for (std::size_t q = 0; q < 16; ++q) v[q / 4][q % 4] = load(in + q * point + c0);
        for (std::size_t j = 0; j < 4; ++j) {
          e[0][j] = v[0][j];
          e[1][j] = v[1][j] - v[2][j] + v[3][j];
          e[2][j] = v[1][j] + v[2][j] - v[0][j];
          e[3][j] = -v[3][j];
        }
        for (std::size_t i = 0; i < 4; ++i) {
          T* o = corner + i * row + c0;
          store(o, load(o) + e[i][0]);
          store(o + cp, load(o + cp) + e[i][1] - e[i][2] + e[i][3]);
          store(o + 2 * cp, load(o + 2 * cp) + e[i][1] + e[i][2] - e[i][0]);
          store(o + 3 * cp, load(o + 3 * cp) - e[i][3]);
        }
      }
    }
  }

  // dw += G^T dU G for every (filter, channel).
  static void finish_filter_grad(const WinogradPlan& p, const T* sums, T* dw) {
    const std::size_t cp = p.c_padded, point = p.k * cp;
    const T h = T(0.5);
    alignas(64) T out[9][W];
    for (std::size_t k = 0; k < p.k; ++k)
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec u[4][4], s[3][4];
        for (std::size_t q = 0; q < 16; ++q) u[q / 4][q % 4] = load(sums + q * point + k * cp + c0);
        for (std::size_t j = 0; j < 4; ++j) {
          s[0][j] = u[0][j] + h * (u[1][j] + u[2][j]);
          s[1][j] = h * (u[1][j] - u[2][j]);
          s[2][j] = h * (u[1][j] + u[2][j]) + u[3][j];
        }
        for (std::size_t i = 0; i < 3; ++i) {
          xsimd::store_aligned(out[3 * i], s[i][0] + h * (s[i][1] + s[i][2]));
          xsimd::store_aligned(out[3 * i + 1], h * (s[i][1] - s[i][2]));
          xsimd::store_aligned(out[3 * i + 2], h * (s[i][1] + s[i][2]) + s[i][3]);
        }
        const std::size_t lanes = lanes_below(p.c, c0);
        for (std::size_t l = 0; l < lanes; ++l) {
          T* g = dw + (k * p.c + c0 + l) * 9;
          for (std::size_t cell = 0; cell < 9; ++cell) g[cell] += out[cell][l];
        }
      }
  }

  static void winograd_backward(const WinogradPlan& p, const T* x, const T* filters, const T* dy, T* dx, T* dw, T* work) {
    T* image = work + p.at_image;
    T* transformed = work + p.at_filters;
    T* tiles = work + p.at_tiles;
    T* products = work + p.at_products;
    T* grad_image = work + p.at_grad_image;
    T* grad_output = work + p.at_grad_output;
    T* grad_tiles = work + p.at_grad_tiles;
    T* sums = work + p.at_grad_filters;
    const std::size_t cp = p.c_padded, kp = p.k_padded, block_c = kWinogradBlock * cp, block_k = kWinogradBlock * kp;
    pad_grad_output(p, dy, grad_output);
    if (dw) {
      pad_image(p, x, image);
      fill_zero(sums, kPoints * p.k * cp);
    }
    if (dx) {
      transform_filters(p, filters, transformed, true);
      fill_zero(grad_image, p.n * p.padded_h * p.padded_w * cp);
    }
    for (std::size_t t0 = 0; t0 < p.tiles; t0 += kWinogradBlock) {
      const std::size_t count = p.tiles - t0 < kWinogradBlock ? p.tiles - t0 : kWinogradBlock;
      transform_grad_output(p, grad_output, t0, count, products);
      if (dw) {
        transform_input(p, image, t0, count, tiles);
        for (std::size_t q = 0; q < kPoints; ++q)  // sums (K, c_p) += products^T (K, block) tiles (block, c_p)
          product(p.k, cp, count, products + q * block_k, 1, kp, tiles + q * block_c, cp, sums + q * p.k * cp, cp,
                  true);
      }
      if (dx) {
        for (std::size_t q = 0; q < kPoints; ++q)  // grad_tiles (block, c_p) = products (block, K) U (K, c_p)
          product(count, cp, p.k, products + q * block_k, kp, 1, transformed + q * p.k * cp, cp,
                  grad_tiles + q * block_c, cp, false);
        transform_grad_input(p, grad_tiles, t0, count, grad_image);
      }
    }
    if (dw) finish_filter_grad(p, sums, dw);
    if (dx)
      for (std::size_t n = 0; n < p.n; ++n)
        for (std::size_t ch = 0; ch < p.c; ++ch)
          for (std::size_t y = 0; y < p.h; ++y) {
            T* row = dx + ((n * p.c + ch) * p.h + y) * p.w;
            const T* in = grad_image + ((n * p.padded_h + y + p.ph) * p.padded_w + p.pw) * cp + ch;
            for (std::size_t i = 0; i < p.w; ++i) row[i] += in[i * cp];
          }
  }
};

}  // namespace
}  // namespace tapegrad::detail
