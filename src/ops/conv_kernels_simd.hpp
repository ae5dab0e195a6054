#pragma once
// conv2d's SIMD kernels for one xsimd architecture: a matrix product for im2col's matrices, and Winograd
// F(4x4, 3x3) (internal: included by conv_kernels_avx512.cpp and conv_kernels_avx2.cpp, each compiled for its
// instruction set). Everything is in an anonymous namespace, so each file's copy keeps internal linkage; only the
// getter each file exports is seen outside it.
//
// Winograd's layouts (c_p, k_p: channels padded to whole vectors; vectors run along channels; 36 points):
//   image        (N, padded_h, padded_w, c_p)   x zero-padded, channels last
//   filters      36 points of (C, k_p) forward, of (K, c_p) backward: G g G^T
//   tiles        36 points of (block, c_p): B^T d B of each tile in the block
//   products     36 points of (block, k_p): the products forward, A dY A^T backward
//   grad_image   like image: dx before its padding is dropped
//   grad_output  (N, 4 tile_rows, 4 tile_cols, k_p): dy channels last, zero past the output
//   grad_tiles   like tiles: the products' gradient for the block's tiles
//   grad_filters 36 points of (K, c_p): the sum over tiles that G^T . G turns into dW
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include "ops/conv_kernels.hpp"

namespace tapegrad::detail {
namespace {

// Winograd's F(4x4, 3x3) along one axis (Lavin and Gray's points 0, 1, -1, 2, -2 and infinity): a tile of 6 cells
// gives 4 outputs. The 2-D transforms apply each to every column, then to every row. Each adjoint is the
// transposed matrix, so backward is the exact adjoint of forward's arithmetic.
struct F4x3 {
  static constexpr std::size_t out = 4, in = 6;
  template <class V>
  static void data(const V* d, V* o) {  // B^T d
    o[0] = V(4) * d[0] - V(5) * d[2] + d[4];
    o[1] = d[3] + d[4] - V(4) * (d[1] + d[2]);
    o[2] = d[4] - d[3] + V(4) * (d[1] - d[2]);
    o[3] = d[4] - d[2] + V(2) * (d[3] - d[1]);
    o[4] = d[4] - d[2] + V(2) * (d[1] - d[3]);
    o[5] = V(4) * d[1] - V(5) * d[3] + d[5];
  }
  template <class V>
  static void data_adjoint(const V* v, V* o) {  // B v
    o[0] = V(4) * v[0];
    o[1] = V(4) * (v[2] - v[1] + v[5]) + V(2) * (v[4] - v[3]);
    o[2] = V(-5) * v[0] - V(4) * (v[1] + v[2]) - v[3] - v[4];
    o[3] = v[1] - v[2] + V(2) * (v[3] - v[4]) - V(5) * v[5];
    o[4] = v[0] + v[1] + v[2] + v[3] + v[4];
    o[5] = v[5];
  }
  template <class V>
  static void output(const V* m, V* y) {  // A^T m
    const V a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
    y[0] = m[0] + a + c;
    y[1] = b + V(2) * d;
    y[2] = a + V(4) * c;
    y[3] = b + V(8) * d + m[5];
  }
  template <class V>
  static void output_adjoint(const V* g, V* o) {  // A g
    const V even = g[0] + g[2], odd = g[1] + g[3], even2 = g[0] + V(4) * g[2], odd2 = V(2) * g[1] + V(8) * g[3];
    o[0] = g[0];
    o[1] = even + odd;
    o[2] = even - odd;
    o[3] = even2 + odd2;
    o[4] = even2 - odd2;
    o[5] = g[3];
  }
  template <class V>
  static void filter(const V* g, V* u) {  // G g
    const V sum = g[0] + g[2];
    u[0] = g[0] / V(4);
    u[1] = -(sum + g[1]) / V(6);
    u[2] = -(sum - g[1]) / V(6);
    u[3] = g[0] / V(24) + g[1] / V(12) + g[2] / V(6);
    u[4] = g[0] / V(24) - g[1] / V(12) + g[2] / V(6);
    u[5] = g[2];
  }
  template <class V>
  static void filter_adjoint(const V* u, V* g) {  // G^T u
    g[0] = u[0] / V(4) - (u[1] + u[2]) / V(6) + (u[3] + u[4]) / V(24);
    g[1] = (u[2] - u[1]) / V(6) + (u[3] - u[4]) / V(12);
    g[2] = (u[3] + u[4] - u[1] - u[2]) / V(6) + u[5];
  }
};

template <class Arch, class T, std::size_t Rows>
struct ConvSimd {
  using Vec = xsimd::batch<T, Arch>;
  using F = F4x3;
  static constexpr std::size_t W = Vec::size, kIn = F::in, kOut = F::out, kPoints = kIn * kIn;

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

  // y = M x M^T for a 1-D transform M (f: I cells -> O cells): f on every column of x, then on every row.
  template <std::size_t I, std::size_t O, class V, class Fn>
  static void transform_2d(const V (&x)[I][I], V (&y)[O][O], Fn f) {
    V cols[O][I];
    for (std::size_t j = 0; j < I; ++j) {
      V column[I], result[O];
      for (std::size_t i = 0; i < I; ++i) column[i] = x[i][j];
      f(column, result);
      for (std::size_t o = 0; o < O; ++o) cols[o][j] = result[o];
    }
    for (std::size_t o = 0; o < O; ++o) f(cols[o], y[o]);
  }

  // x (N, C, H, W) -> image (N, padded_h, padded_w, c_p), zeros around and past C; one image row at a time, all
  // channels (the rows of C planes, written channels last), so each row's writes stay in cache.
  static void pad_image(const WinogradPlan& p, const T* x, T* image) {
    pad_channels_last(x, p.n, p.c, p.h, p.w, p.c_padded, p.padded_h, p.padded_w, p.ph, p.pw, image);
  }
  // from (N, C, H, W) -> to (N, rows, cols, c_p) with `from` at (top, left), zeros elsewhere.
  static void pad_channels_last(const T* from, std::size_t n, std::size_t c, std::size_t h, std::size_t w,
                                std::size_t cp, std::size_t rows, std::size_t cols, std::size_t top, std::size_t left,
                                T* to) {
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t r = 0; r < rows; ++r) {
        T* row = to + (i * rows + r) * cols * cp;
        if (r < top || r >= top + h) {
          fill_zero(row, cols * cp);
          continue;
        }
        fill_zero(row, left * cp);
        fill_zero(row + (left + w) * cp, (cols - left - w) * cp);
        T* cells = row + left * cp;
        if (c < cp)
          for (std::size_t x = 0; x < w; ++x) fill_zero(cells + x * cp + c, cp - c);
        for (std::size_t ch = 0; ch < c; ++ch) {
          const T* in = from + ((i * c + ch) * h + r - top) * w;
          for (std::size_t x = 0; x < w; ++x) cells[x * cp + ch] = in[x];
        }
      }
  }

  // Every filter's G g G^T: forward as points of (C, k_p), backward as points of (K, c_p).
  static void transform_filters(const WinogradPlan& p, const T* filters, T* out, bool for_backward) {
    const std::size_t rows = for_backward ? p.k : p.c, cols = for_backward ? p.c_padded : p.k_padded;
    fill_zero(out, kPoints * rows * cols);
    for (std::size_t k = 0; k < p.k; ++k)
      for (std::size_t ch = 0; ch < p.c; ++ch) {
        const T* g = filters + (k * p.c + ch) * 9;
        const T g3[3][3] = {{g[0], g[1], g[2]}, {g[3], g[4], g[5]}, {g[6], g[7], g[8]}};
        T u[kIn][kIn];
        transform_2d(g3, u, [](const T* a, T* b) { F::filter(a, b); });
        const std::size_t at = for_backward ? k * cols + ch : ch * cols + k;
        for (std::size_t q = 0; q < kPoints; ++q) out[q * rows * cols + at] = u[q / kIn][q % kIn];
      }
  }

  // B^T d B of `count` tiles from t0 on, into tiles (points of (block, c_p)).
  static void transform_input(const WinogradPlan& p, const T* image, std::size_t t0, std::size_t count, T* tiles) {
    const std::size_t cp = p.c_padded, point = kWinogradBlock * cp, row = p.padded_w * cp;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* corner = image + ((at.n * p.padded_h + kOut * at.ty) * p.padded_w + kOut * at.tx) * cp;
      T* out = tiles + t * cp;
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec d[kIn][kIn], v[kIn][kIn];
        for (std::size_t i = 0; i < kIn; ++i)
          for (std::size_t j = 0; j < kIn; ++j) d[i][j] = load(corner + i * row + j * cp + c0);
        transform_2d(d, v, [](const Vec* a, Vec* b) { F::data(a, b); });
        for (std::size_t q = 0; q < kPoints; ++q) store(out + q * point + c0, v[q / kIn][q % kIn]);
      }
    }
  }

  // y = A^T m A + bias for `count` tiles from t0 on, written into y (N, K, OH, OW) where it lies inside.
  static void transform_output(const WinogradPlan& p, const T* products, const T* bias, std::size_t t0,
                               std::size_t count, T* y) {
    const std::size_t kp = p.k_padded, point = kWinogradBlock * kp, plane = p.oh * p.ow;
    alignas(64) T out[kOut * kOut][W];
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* in = products + t * kp;
      const std::size_t oy = kOut * at.ty, ox = kOut * at.tx;
      const std::size_t rows = p.oh - oy < kOut ? p.oh - oy : kOut, cols = p.ow - ox < kOut ? p.ow - ox : kOut;
      for (std::size_t k0 = 0; k0 < kp; k0 += W) {
        Vec m[kIn][kIn], r[kOut][kOut];
        for (std::size_t q = 0; q < kPoints; ++q) m[q / kIn][q % kIn] = load(in + q * point + k0);
        transform_2d(m, r, [](const Vec* a, Vec* b) { F::output(a, b); });
        const Vec b = load(bias + k0);
        for (std::size_t q = 0; q < kOut * kOut; ++q) xsimd::store_aligned(out[q], r[q / kOut][q % kOut] + b);
        const std::size_t lanes = lanes_below(p.k, k0);
        T* base = y + (at.n * p.k + k0) * plane + oy * p.ow + ox;
        for (std::size_t l = 0; l < lanes; ++l)
          for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) base[l * plane + i * p.ow + j] = out[i * kOut + j][l];
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
      for (std::size_t q = 0; q < kPoints; ++q)  // products (block, k_p) = tiles (block, C) U (C, k_p)
        product(count, kp, p.c, tiles + q * kWinogradBlock * cp, cp, 1, transformed + q * p.c * kp, kp,
                products + q * kWinogradBlock * kp, kp, false);
      transform_output(p, products, padded_bias, t0, count, y);
    }
  }

  // dy (N, K, OH, OW) -> grad_output (N, 4 tile_rows, 4 tile_cols, k_p), zeros past the output and past K.
  static void pad_grad_output(const WinogradPlan& p, const T* dy, T* out) {
    pad_channels_last(dy, p.n, p.k, p.oh, p.ow, p.k_padded, kOut * p.tile_rows, kOut * p.tile_cols, 0, 0, out);
  }

  // db += dy summed over images and positions: vectors of grad_output (zeros past the output add nothing).
  static void sum_positions(const WinogradPlan& p, const T* grad_output, T* db) {
    const std::size_t cells = p.n * kOut * p.tile_rows * kOut * p.tile_cols, kp = p.k_padded;
    alignas(64) T lanes[W];
    for (std::size_t k0 = 0; k0 < kp; k0 += W) {
      Vec sum[4] = {Vec(T(0)), Vec(T(0)), Vec(T(0)), Vec(T(0))};  // four chains: the adds' latency overlaps
      std::size_t i = 0;
      for (; i + 4 <= cells; i += 4)
        for (std::size_t j = 0; j < 4; ++j) sum[j] += load(grad_output + (i + j) * kp + k0);
      for (; i < cells; ++i) sum[0] += load(grad_output + i * kp + k0);
      xsimd::store_aligned(lanes, (sum[0] + sum[1]) + (sum[2] + sum[3]));
      for (std::size_t l = 0; l < lanes_below(p.k, k0); ++l) db[k0 + l] += lanes[l];
    }
  }

  // A dY A^T of `count` tiles from t0 on, into products (points of (block, k_p)).
  static void transform_grad_output(const WinogradPlan& p, const T* grad, std::size_t t0, std::size_t count,
                                    T* products) {
    const std::size_t kp = p.k_padded, point = kWinogradBlock * kp, cols = kOut * p.tile_cols;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      const T* corner = grad + ((at.n * kOut * p.tile_rows + kOut * at.ty) * cols + kOut * at.tx) * kp;
      T* out = products + t * kp;
      for (std::size_t k0 = 0; k0 < kp; k0 += W) {
        Vec g[kOut][kOut], m[kIn][kIn];
        for (std::size_t i = 0; i < kOut; ++i)
          for (std::size_t j = 0; j < kOut; ++j) g[i][j] = load(corner + (i * cols + j) * kp + k0);
        transform_2d(g, m, [](const Vec* a, Vec* b) { F::output_adjoint(a, b); });
        for (std::size_t q = 0; q < kPoints; ++q) store(out + q * point + k0, m[q / kIn][q % kIn]);
      }
    }
  }

  // grad_image += B dV B^T of `count` tiles from t0 on.
  static void transform_grad_input(const WinogradPlan& p, const T* grad_tiles, std::size_t t0, std::size_t count,
                                   T* grad_image) {
    const std::size_t cp = p.c_padded, point = kWinogradBlock * cp, row = p.padded_w * cp;
    TileCursor at(p, t0);
    for (std::size_t t = 0; t < count; ++t, at.next(p)) {
      T* corner = grad_image + ((at.n * p.padded_h + kOut * at.ty) * p.padded_w + kOut * at.tx) * cp;
      const T* in = grad_tiles + t * cp;
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec v[kIn][kIn], d[kIn][kIn];
        for (std::size_t q = 0; q < kPoints; ++q) v[q / kIn][q % kIn] = load(in + q * point + c0);
        transform_2d(v, d, [](const Vec* a, Vec* b) { F::data_adjoint(a, b); });
        for (std::size_t i = 0; i < kIn; ++i)
          for (std::size_t j = 0; j < kIn; ++j) {
            T* o = corner + i * row + j * cp + c0;
            store(o, load(o) + d[i][j]);
          }
      }
    }
  }

  // dw += G^T dU G for every (filter, channel).
  static void finish_filter_grad(const WinogradPlan& p, const T* sums, T* dw) {
    const std::size_t cp = p.c_padded, point = p.k * cp;
    alignas(64) T out[9][W];
    for (std::size_t k = 0; k < p.k; ++k)
      for (std::size_t c0 = 0; c0 < cp; c0 += W) {
        Vec u[kIn][kIn], g[3][3];
        for (std::size_t q = 0; q < kPoints; ++q) u[q / kIn][q % kIn] = load(sums + q * point + k * cp + c0);
        transform_2d(u, g, [](const Vec* a, Vec* b) { F::filter_adjoint(a, b); });
        for (std::size_t cell = 0; cell < 9; ++cell) xsimd::store_aligned(out[cell], g[cell / 3][cell % 3]);
        const std::size_t lanes = lanes_below(p.c, c0);
        for (std::size_t l = 0; l < lanes; ++l) {
          T* to = dw + (k * p.c + c0 + l) * 9;
          for (std::size_t cell = 0; cell < 9; ++cell) to[cell] += out[cell][l];
        }
      }
  }

  static void winograd_backward(const WinogradPlan& p, const T* filters, const T* dy, T* dx, T* dw, T* db,
                                T* work) {
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
    if (db) sum_positions(p, grad_output, db);
    if (dw) fill_zero(sums, kPoints * p.k * cp);  // the image is as forward left it
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
    if (dx)  // one image row at a time, all channels, as pad_image
      for (std::size_t n = 0; n < p.n; ++n)
        for (std::size_t y = 0; y < p.h; ++y) {
          const T* cells = grad_image + ((n * p.padded_h + y + p.ph) * p.padded_w + p.pw) * cp;
          for (std::size_t ch = 0; ch < p.c; ++ch) {
            T* row = dx + ((n * p.c + ch) * p.h + y) * p.w;
            for (std::size_t i = 0; i < p.w; ++i) row[i] += cells[i * cp + ch];
          }
        }
  }
};

}  // namespace
}  // namespace tapegrad::detail
