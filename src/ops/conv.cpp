// Convolution and pooling over NCHW images, the book's chapter 7 way: im2col turns every window into a row, so a
// convolution is a GEMM (one per image, written straight into NCHW); backward is GEMMs and col2im. On CPUs with
// AVX2 or AVX-512 the products are tapegrad's own SIMD kernels, and 3x3 filters of stride 1 go through Winograd
// (ops/conv_kernels.hpp). Buffers live in the op and are reused across steps.
#include "tapegrad/ops/conv.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "ops/gemm.hpp"
#include "ops/conv_kernels.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "ops/broadcast.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {

std::string Extent2d::str() const { return h == w ? fmt::format("{}", h) : fmt::format("{}x{}", h, w); }

namespace {
std::atomic<ConvAlgorithm> algorithm_in_use{ConvAlgorithm::Auto};
}
void set_conv_algorithm(ConvAlgorithm algorithm) { algorithm_in_use = algorithm; }
ConvAlgorithm conv_algorithm() { return algorithm_in_use; }

namespace {

// Where each window of an op lies in its input.
struct Geometry {
  std::size_t n = 0, c = 0, h = 0, w = 0;  // input (N, C, H, W)
  std::size_t kh = 0, kw = 0, sh = 0, sw = 0, ph = 0, pw = 0;
  std::size_t oh = 0, ow = 0;  // output rows and columns
  std::size_t in_plane() const { return h * w; }
  std::size_t out_plane() const { return oh * ow; }
  std::size_t window() const { return kh * kw; }
};

// Output extent along one axis; the errors name the op, the input's shape and the setting.
std::size_t output_extent(const char* op, const char* axis, const Shape& x, std::size_t in, std::size_t window,
                          std::size_t stride, std::size_t pad, bool allow_remainder) {
  if (pad > (std::numeric_limits<std::size_t>::max() - in) / 2)
    throw ShapeError(fmt::format("{}: padding {} of x {} overflows", op, pad, x.str()));
  const std::size_t padded = in + 2 * pad;
  if (window > padded)
    throw ShapeError(fmt::format("{}: the window's {} {} is larger than the padded input's {} (x {}, padding {})", op,
                                 axis, window, padded, x.str(), pad));
  const std::size_t remainder = (padded - window) % stride;
  if (remainder != 0 && !allow_remainder)
    throw ValueError(fmt::format(
        "{}: x {} with window {} {}, stride {} and padding {} leaves the last {} input {} of each image unread "
        "(({} + 2*{} - {}) % {} = {}); pad the input, change the sizes, or set allow_remainder to drop them",
        op, x.str(), axis, window, stride, pad, remainder, std::string(axis) == "height" ? "row(s)" : "column(s)", in,
        pad, window, stride, remainder));
  return (padded - window) / stride + 1;
}

Geometry geometry(const char* op, const Shape& x, Extent2d window, Extent2d stride, Extent2d padding,
                  bool allow_remainder) {
  if (x.rank() != 4) throw ShapeError(fmt::format("{}: needs x of rank 4 (N, C, H, W), got {}", op, x.str()));
  if (window.h == 0 || window.w == 0)
    throw ValueError(fmt::format("{}: the window {} must be positive (x {})", op, window.str(), x.str()));
  if (stride.h == 0 || stride.w == 0)
    throw ValueError(fmt::format("{}: the stride {} must be positive (x {})", op, stride.str(), x.str()));
  Geometry g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.kh = window.h, g.kw = window.w, g.sh = stride.h, g.sw = stride.w, g.ph = padding.h, g.pw = padding.w;
  g.oh = output_extent(op, "height", x, g.h, g.kh, g.sh, g.ph, allow_remainder);
  g.ow = output_extent(op, "width", x, g.w, g.kw, g.sw, g.pw, allow_remainder);
  return g;
}

// The part of one window that lies inside the input: input rows [y0, y1) and columns [x0, x1), which start at
// window cell (skip_rows, skip_cols); the cells around them are padding.
struct Window {
  std::size_t y0 = 0, y1 = 0, x0 = 0, x1 = 0, skip_rows = 0, skip_cols = 0;
  bool clipped = false;  // some cells are padding
};

// One axis: a window of k cells starting at `start` in padded coordinates over n cells padded by `pad`.
void clip(std::size_t start, std::size_t k, std::size_t pad, std::size_t n, std::size_t& begin, std::size_t& end,
          std::size_t& skip) {
  const std::size_t lo = std::max(start, pad), hi = std::min(start + k, pad + n);
  if (lo >= hi) {  // all padding (a convolution padded by more than its kernel)
    begin = end = 0;
    skip = k;
    return;
  }
  begin = lo - pad, end = hi - pad, skip = lo - start;
}

[[gnu::always_inline]] inline Window window_at(const Geometry& g, std::size_t oy, std::size_t ox) {
  Window w;
  clip(oy * g.sh, g.kh, g.ph, g.h, w.y0, w.y1, w.skip_rows);
  clip(ox * g.sw, g.kw, g.pw, g.w, w.x0, w.x1, w.skip_cols);
  w.clipped = w.y1 - w.y0 < g.kh || w.x1 - w.x0 < g.kw;
  return w;
}

// Walks im2col's layout once for both directions: for every window of every image (row r of col, in image,
// output-row, output-column order) and each of its channels, calls copy(input cells, window cells, count) for
// each run of the window's cells that lies inside the image. Rows of col are `row_stride` cells apart (at least
// C * FH * FW). `at_row(cells, win)` sees each col row first. `x` is where the input starts: a pointer, or a flat
// offset (0) to list the cells' indices.
template <class In, class Cells, class AtRow, class Run>
void walk_windows(const Geometry& g, std::size_t row_stride, In x, Cells* col, AtRow&& at_row, Run&& run) {
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        const Window win = window_at(g, oy, ox);
        Cells* row = col + ((n * g.oh + oy) * g.ow + ox) * row_stride;
        at_row(row, win);
        for (std::size_t ch = 0; ch < g.c; ++ch) {
          In plane = x + (n * g.c + ch) * g.in_plane();
          Cells* cells = row + ch * g.window() + win.skip_rows * g.kw + win.skip_cols;
          for (std::size_t y = win.y0; y < win.y1; ++y, cells += g.kw) run(plane + y * g.w + win.x0, cells, win.x1 - win.x0);
        }
      }
}

// A window row is a few cells: a copy of a size known at compile time is a few moves, where std::copy of a
// runtime size is a call to memmove per row.
template <class T>
[[gnu::always_inline]] inline void copy_cells(const T* from, T* to, std::size_t count) {
  switch (count) {
    case 2: std::memcpy(to, from, 2 * sizeof(T)); return;
    case 3: std::memcpy(to, from, 3 * sizeof(T)); return;
    case 4: std::memcpy(to, from, 4 * sizeof(T)); return;
    case 5: std::memcpy(to, from, 5 * sizeof(T)); return;
    case 7: std::memcpy(to, from, 7 * sizeof(T)); return;
    default: std::copy(from, from + count, to);
  }
}

// Without padding no window is clipped: each window row is one copy of KW cells, a size known at compile time.
template <class T, std::size_t KW>
void im2col_unpadded(const Geometry& g, const T* x, T* col) {
  const std::size_t width = g.c * g.window();
  T* row = col;
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox, row += width + 1) {
        const T* corner = x + n * g.c * g.in_plane() + oy * g.sh * g.w + ox * g.sw;
        for (std::size_t ch = 0; ch < g.c; ++ch)
          for (std::size_t ky = 0; ky < g.kh; ++ky)
            std::memcpy(row + ch * g.window() + ky * KW, corner + ch * g.in_plane() + ky * g.w, KW * sizeof(T));
        row[width] = T(1);
      }
}

// col (N * OH * OW, C * FH * FW + 1): row (n, oy, ox) holds the window of output (oy, ox) of image n,
// channel-major, then a 1 that multiplies the bias (so the GEMM adds the bias, and dW's GEMM sums db).
template <class T>
void im2col_with_ones(const Geometry& g, const T* x, T* col) {
  const std::size_t width = g.c * g.window();
  if (g.ph == 0 && g.pw == 0 && g.kw == 5) return im2col_unpadded<T, 5>(g, x, col);
  if (g.ph == 0 && g.pw == 0 && g.kw == 3) return im2col_unpadded<T, 3>(g, x, col);
  walk_windows(
      g, width + 1, x, col,
      [&](T* row, const Window& win) {
        if (win.clipped) std::fill(row, row + width, T(0));
        row[width] = T(1);
      },
      [](const T* from, T* to, std::size_t count) { copy_cells(from, to, count); });
}

// The adjoint of im2col: dx += each row's gradient (rows of C * FH * FW cells), added back where the row's cells
// came from.
template <class T>
void col2im_add(const Geometry& g, const T* dcol, T* dx) {
  walk_windows(
      g, g.c * g.window(), dx, dcol, [](const T*, const Window&) {},
      [](T* to, const T* from, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) to[i] += from[i];
      });
}

// im2col as an index list, for the rules on the tape: entry (row, cell) of col is x's flat element there, or
// kNoElement on padding; gather(x, ...) is im2col and scatter_add(..., x's shape) col2im, both recorded.
inline std::vector<std::size_t> window_indices(const Geometry& g) {
  const std::size_t width = g.c * g.window();
  std::vector<std::size_t> at(g.n * g.out_plane() * width, kNoElement);
  walk_windows(
      g, width, std::size_t{0}, at.data(), [](std::size_t*, const Window&) {},
      [](std::size_t first, std::size_t* to, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) to[i] = first + i;
      });
  return at;
}

// Filters (FN, C*FH*FW) with the bias as one more column: the matrix that multiplies im2col's rows and their 1.
template <class T>
void filters_with_bias(std::size_t filters, std::size_t width, const T* w, const T* b, T* out) {
  for (std::size_t f = 0; f < filters; ++f) {
    std::copy(w + f * width, w + (f + 1) * width, out + f * (width + 1));
    out[f * (width + 1) + width] = b[f];
  }
}

// The valid output columns [lo, hi) of window column v: those whose input column ox * stride + v - pad lies inside
// the image (one axis; the same for rows).
struct Span {
  std::size_t lo, hi;
};
Span inside(std::size_t outputs, std::size_t v, std::size_t stride, std::size_t pad, std::size_t extent) {
  const std::size_t lo = pad > v ? (pad - v + stride - 1) / stride : 0;
  const std::size_t end = extent + pad;  // ox * stride + v < extent + pad
  const std::size_t hi = end > v ? std::min(outputs, (end - v - 1) / stride + 1) : 0;
  return {std::min(lo, hi), hi};
}

// im2col as the SIMD product reads it, one image: rows ((C*FH*FW + 1), `stride` apart) of output positions, row
// (c, u, v) holding that cell of every window (zero on padding and past OH*OW), the last row ones (the bias).
template <class T>
void im2col_rows(const Geometry& g, const T* x, std::size_t stride, T* rows) {
  const std::size_t plane = g.out_plane(), width = g.c * g.window();
  for (std::size_t ch = 0; ch < g.c; ++ch)
    for (std::size_t u = 0; u < g.kh; ++u)
      for (std::size_t v = 0; v < g.kw; ++v) {
        T* row = rows + ((ch * g.kh + u) * g.kw + v) * stride;
        const Span ys = inside(g.oh, u, g.sh, g.ph, g.h), xs = inside(g.ow, v, g.sw, g.pw, g.w);
        std::fill(row, row + ys.lo * g.ow, T(0));
        for (std::size_t oy = ys.lo; oy < ys.hi; ++oy) {
          T* out = row + oy * g.ow;
          const T* in = x + ch * g.in_plane() + (oy * g.sh + u - g.ph) * g.w + (xs.lo * g.sw + v - g.pw);  // ox = lo
          std::fill(out, out + xs.lo, T(0));
          if (g.sw == 1)
            std::copy(in, in + (xs.hi - xs.lo), out + xs.lo);
          else
            for (std::size_t ox = xs.lo; ox < xs.hi; ++ox) out[ox] = in[(ox - xs.lo) * g.sw];
          std::fill(out + xs.hi, out + g.ow, T(0));
        }
        std::fill(row + ys.hi * g.ow, row + stride, T(0));
      }
  T* ones = rows + width * stride;
  std::fill(ones, ones + plane, T(1));
  std::fill(ones + plane, ones + stride, T(0));
}

// The adjoint of im2col_rows (without the ones): one image's dx += each cell's gradient where it came from.
template <class T>
void col2im_rows_add(const Geometry& g, const T* rows, std::size_t stride, T* dx) {
  for (std::size_t ch = 0; ch < g.c; ++ch)
    for (std::size_t u = 0; u < g.kh; ++u)
      for (std::size_t v = 0; v < g.kw; ++v) {
        const T* row = rows + ((ch * g.kh + u) * g.kw + v) * stride;
        const Span ys = inside(g.oh, u, g.sh, g.ph, g.h), xs = inside(g.ow, v, g.sw, g.pw, g.w);
        for (std::size_t oy = ys.lo; oy < ys.hi; ++oy) {
          const T* from = row + oy * g.ow;
          T* to = dx + ch * g.in_plane() + (oy * g.sh + u - g.ph) * g.w + (xs.lo * g.sw + v - g.pw);  // ox = lo
          for (std::size_t ox = xs.lo; ox < xs.hi; ++ox) to[(ox - xs.lo) * g.sw] += from[ox];
        }
      }
}

template <class T>
struct Conv2dOp final : Op<T> {
  static constexpr const char* forward_text =
      "y_n = [W b] col_n^T, col = [im2col(x) 1]  (x (N,C,H,W), W (FN,C,FH,FW) as (FN, C*FH*FW), b (FN,); a GEMM per "
      "image, straight into NCHW); 3x3, stride 1, 8+ channels in and out: Winograd F(4x4,3x3), each 6x6 tile d to "
      "Y = A^T [sum over channels (G g G^T) . (B^T d B)] A + b";
  static constexpr const char* backward_text =
      "[dW db] = sum over images of g_n col_n;  dx = col2im(g_n^T W)  (g_n: (FN, OH*OW)); Winograd: "
      "dW = G^T [sum over tiles (A dY A^T) . (B^T d B)] G,  dx = sum over tiles B [sum over filters (A dY A^T) . "
      "(G g G^T)] B^T,  db = sum of g";
  Geometry geometry;
  std::size_t filters = 0;
  std::vector<T> col;             // (N*OH*OW, C*FH*FW + 1), kept from forward for dW
  std::vector<T> with_bias;       // forward's [W b] (FN, C*FH*FW + 1), backward's [dW db]^T (C*FH*FW + 1, FN)
  std::vector<T> dcol;            // (N*OH*OW, C*FH*FW)
  enum class Path { Blas, Simd, Winograd } path = Path::Blas;  // how forward multiplied; backward does the same
  std::size_t row_stride = 0;     // Simd: im2col_rows' rows, OH*OW rounded up to whole vectors
  detail::WinogradPlan plan{};
  std::vector<T> work;            // Winograd's buffers (ops/conv_kernels_simd.hpp); Simd's gradient rows

  // dW += and db += from [dW db]^T (C*FH*FW + 1 rows, `stride` apart; filter f in column f), as asked.
  void add_weight_grads(BackwardContext<T>& d, const T* sums, std::size_t stride) {
    const std::size_t width = geometry.c * geometry.window();
    if (d.needs_grad(1)) {
      T* dw = d.input_grad(1).data();
      for (std::size_t f = 0; f < filters; ++f)
        for (std::size_t i = 0; i < width; ++i) dw[f * width + i] += sums[i * stride + f];
    }
    if (d.needs_grad(2)) {
      T* db = d.input_grad(2).data();
      for (std::size_t f = 0; f < filters; ++f) db[f] += sums[width * stride + f];
    }
  }

  // Simd: per image, [dW db]^T (C*FH*FW + 1, FN padded) += col_n (C*FH*FW + 1, OH*OW) g_n^T, and
  // dcol_n (C*FH*FW, OH*OW) = W^T g_n, then col2im; g_n copied to whole vectors first where the product reads it.
  void backward_by_simd(BackwardContext<T>& d) {
    const Geometry& g = geometry;
    const auto& kernels = *detail::conv_kernels<T>();
    const std::size_t plane = g.out_plane(), width = g.c * g.window(), vector = kernels.vector;
    const std::size_t fp = (filters + vector - 1) / vector * vector;
    const T* grad = d.grad_output().data();
    const bool weights = d.needs_grad(1) || d.needs_grad(2);
    if (weights) {
      with_bias.assign((width + 1) * fp, T(0));
      work.resize(std::max(plane * fp, filters * row_stride));
      for (std::size_t n = 0; n < g.n; ++n) {
        const T* gn = grad + n * filters * plane;
        for (std::size_t p = 0; p < plane; ++p) {  // g_n^T (OH*OW, FN padded)
          T* to = work.data() + p * fp;
          for (std::size_t f = 0; f < filters; ++f) to[f] = gn[f * plane + p];
          std::fill(to + filters, to + fp, T(0));
        }
        kernels.product(width + 1, fp, plane, col.data() + n * (width + 1) * row_stride, row_stride, 1, work.data(),
                        fp, with_bias.data(), fp, true);
      }
      add_weight_grads(d, with_bias.data(), fp);
    }
    if (!d.needs_grad(0)) return;
    work.resize(std::max(work.size(), filters * row_stride));
    dcol.resize(width * row_stride);
    T* dx = d.input_grad(0).data();
    for (std::size_t n = 0; n < g.n; ++n) {
      const T* gn = grad + n * filters * plane;
      if (row_stride != plane) {  // g_n (FN, OH*OW) to rows of whole vectors
        for (std::size_t f = 0; f < filters; ++f) {
          std::copy(gn + f * plane, gn + (f + 1) * plane, work.data() + f * row_stride);
          std::fill(work.data() + f * row_stride + plane, work.data() + (f + 1) * row_stride, T(0));
        }
        gn = work.data();
      }
      kernels.product(width, row_stride, filters, d.input(1).data(), 1, width, gn, row_stride, dcol.data(),
                      row_stride, false);
      col2im_rows_add(g, dcol.data(), row_stride, dx + n * g.c * g.in_plane());
    }
  }

  void backward_by_winograd(BackwardContext<T>& d) {
    T* dx = d.needs_grad(0) ? d.input_grad(0).data() : nullptr;
    T* dw = d.needs_grad(1) ? d.input_grad(1).data() : nullptr;
    T* db = d.needs_grad(2) ? d.input_grad(2).data() : nullptr;
    detail::conv_kernels<T>()->winograd_backward(plan, d.input(1).data(), d.grad_output().data(), dx, dw, db,
                                                 work.data());
  }

  // Blas: g (N, FN, OH, OW) holds image n's gradient as an (FN, OH*OW) block and col holds its windows as an
  // (OH*OW, C*FH*FW + 1) block, so backward reads both where they are, one GEMM per image (no transposed copy);
  // the last column of the sum is db.
  void backward(BackwardContext<T>& d) override {
    if (path == Path::Winograd) return backward_by_winograd(d);
    if (path == Path::Simd) return backward_by_simd(d);
    const Geometry& g = geometry;
    const std::size_t plane = g.out_plane(), width = g.c * g.window();
    const T* grad = d.grad_output().data();
    if (d.needs_grad(1) || d.needs_grad(2)) {
      // [dW db]^T (C*FH*FW + 1, FN) = sum of col_n^T g_n^T: the transposed form because OpenBLAS's small-matrix
      // dgemm allocates on every call in the other (measured: 100 allocations a step).
      T* sums = with_bias.data();
      for (std::size_t n = 0; n < g.n; ++n)
        detail::gemm<T>(true, true, width + 1, filters, plane, col.data() + n * plane * (width + 1),
                        grad + n * filters * plane, n == 0 ? T(0) : T(1), sums);
      if (g.n == 0) std::fill(with_bias.begin(), with_bias.end(), T(0));
      add_weight_grads(d, sums, filters);
    }
    if (d.needs_grad(0)) {
      dcol.resize(g.n * plane * width);
      for (std::size_t n = 0; n < g.n; ++n)
        detail::gemm<T>(true, false, plane, width, filters, grad + n * filters * plane, d.input(1).data(), T(0),
                        dcol.data() + n * plane * width);
      col2im_add(g, dcol.data(), d.input_grad(0).data());
    }
  }
  // On the tape: the same products with col = im2col(x) as a gather, and col2im as its scatter_add.
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Geometry& g = geometry;
    const std::size_t positions = g.n * g.out_plane(), width = g.c * g.window();
    const std::vector<std::size_t> cells = window_indices(g);
    const Var<T> x = d.input(0), w = d.input(1);
    const Var<T> grad_rows = reshape(transpose(d.grad_output(), {0, 2, 3, 1}), Shape{positions, filters});
    if (d.needs_grad(1))
      d.accumulate(1, reshape(matmul(transpose(grad_rows), gather(x, cells, Shape{positions, width})), w.shape()));
    if (d.needs_grad(0))
      d.accumulate(0, scatter_add(matmul(grad_rows, reshape(w, Shape{filters, width})), cells, x.shape()));
    if (d.needs_grad(2)) d.accumulate(2, sum(d.grad_output(), {0, 2, 3}));
  }
};

template <class T>
struct MaxPool2dOp final : Op<T> {
  static constexpr const char* forward_text = "y = max of x over each window (padding never wins)";
  static constexpr const char* backward_text = "dx[argmax of the window] += g  (the first maximal cell)";
  std::vector<std::uint32_t> argmax;  // per output: the winning cell's offset in its (n, c) input plane
  bool tiles_2x2 = false;             // 2x2 windows, stride 2, covering the input exactly
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const Shape& in = d.input(0).shape();
    const std::size_t width = in[3], in_plane = in[2] * width;
    const std::size_t out_plane = d.grad_output().shape()[2] * d.grad_output().shape()[3];
    const T* g = d.grad_output().data();
    bool overwrite = false;
    T* dx = (tiles_2x2 ? d.input_grad_to_overwrite(0, overwrite) : d.input_grad(0)).data();
    const std::size_t planes = in[0] * in[1];
    if (overwrite) {  // every cell lies in exactly one window: zero a plane (one memset, in cache), then its winners
      for (std::size_t plane = 0; plane < planes; ++plane) {
        T* cells = dx + plane * in_plane;
        const std::uint32_t* winner = argmax.data() + plane * out_plane;
        const T* gp = g + plane * out_plane;
        std::fill(cells, cells + in_plane, T(0));
        for (std::size_t o = 0; o < out_plane; ++o) cells[winner[o]] = gp[o];
      }
      return;
    }
    for (std::size_t plane = 0; plane < planes; ++plane)
      for (std::size_t p = 0; p < out_plane; ++p)
        dx[plane * in_plane + argmax[plane * out_plane + p]] += g[plane * out_plane + p];
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Shape& in = d.input(0).shape();
    const std::size_t in_plane = in[2] * in[3], out_plane = d.grad_output().shape()[2] * d.grad_output().shape()[3];
    std::vector<std::size_t> winners(argmax.size());
    for (std::size_t o = 0; o < argmax.size(); ++o) winners[o] = o / out_plane * in_plane + argmax[o];
    d.accumulate(0, scatter_add(d.grad_output(), winners, in));
  }
};

template <class T>
struct AvgPool2dOp final : Op<T> {
  static constexpr const char* forward_text = "y = mean of x over each window (padding counts as zeros)";
  static constexpr const char* backward_text = "dx[each cell of the window] += g / window size";
  Geometry geometry;
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const Geometry& g = geometry;
    const T share = T(1) / static_cast<T>(g.window());
    const T* dy = d.grad_output().data();
    T* dx = d.input_grad(0).data();
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane)
      for (std::size_t oy = 0; oy < g.oh; ++oy)
        for (std::size_t ox = 0; ox < g.ow; ++ox) {
          const T each = dy[(plane * g.oh + oy) * g.ow + ox] * share;
          const Window win = window_at(g, oy, ox);
          for (std::size_t iy = win.y0; iy < win.y1; ++iy) {
            T* row = dx + plane * g.in_plane() + iy * g.w;
            for (std::size_t ix = win.x0; ix < win.x1; ++ix) row[ix] += each;
          }
        }
  }
  // On the tape: each (output, cell of its window) pair carries g / window size from the output to the cell.
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Geometry& g = geometry;
    std::vector<std::size_t> from, to;
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane)
      for (std::size_t oy = 0; oy < g.oh; ++oy)
        for (std::size_t ox = 0; ox < g.ow; ++ox) {
          const Window win = window_at(g, oy, ox);
          for (std::size_t iy = win.y0; iy < win.y1; ++iy)
            for (std::size_t ix = win.x0; ix < win.x1; ++ix) {
              from.push_back((plane * g.oh + oy) * g.ow + ox);
              to.push_back(plane * g.in_plane() + iy * g.w + ix);
            }
        }
    const Var<T> shares = gather(d.grad_output(), from, Shape{from.size()}) / static_cast<T>(g.window());
    d.accumulate(0, scatter_add(shares, to, d.input(0).shape()));
  }
};

// The output's extents (N, channels, OH, OW); ShapeError naming the op when it or the im2col buffer would
// overflow. No Shape is built: a training step must not allocate.
void check_sizes(const char* op, const Geometry& g, std::size_t channels) {
  std::size_t out = 0, col = 0, row = 0;  // im2col's rows hold C * FH * FW cells and a 1
  const bool overflow = __builtin_mul_overflow(g.n, channels, &out) || __builtin_mul_overflow(out, g.oh, &out) ||
                        __builtin_mul_overflow(out, g.ow, &out) || __builtin_mul_overflow(g.c, g.window(), &row) ||
                        __builtin_add_overflow(row, 1, &row) || __builtin_mul_overflow(g.n, g.out_plane(), &col) ||
                        __builtin_mul_overflow(col, row, &col);
  if (overflow)
    throw ShapeError(fmt::format("{}: the output ({}, {}, {}, {}) or its {}x{} windows over {} channels overflow the "
                                 "size type",
                                 op, g.n, channels, g.oh, g.ow, g.kh, g.kw, g.c));
}

Shape output_shape(const char* op, const Geometry& g, std::size_t channels) {
  check_sizes(op, g, channels);
  return Shape{g.n, channels, g.oh, g.ow};
}

Geometry conv_geometry(const Shape& sx, const Shape& sf, const Conv2dSettings& settings) {
  if (sf.rank() != 4)
    throw ShapeError(fmt::format("conv2d: needs filters of rank 4 (FN, C, FH, FW), got {} (x {})", sf.str(), sx.str()));
  if (sx.rank() == 4 && sx[1] != sf[1])
    throw ShapeError(fmt::format("conv2d: x {} has {} channels but the filters {} expect {}", sx.str(), sx[1], sf.str(),
                                 sf[1]));
  return geometry("conv2d", sx, {sf[2], sf[3]}, settings.stride, settings.padding, settings.allow_remainder);
}

Geometry pool_geometry(const char* op_name, const Shape& x, const Pool2dSettings& settings) {
  const Geometry g =
      geometry(op_name, x, settings.window, settings.stride, settings.padding, settings.allow_remainder);
  if (2 * g.ph > g.kh || 2 * g.pw > g.kw)
    throw ValueError(fmt::format("{}: padding {} is more than half the window {} (x {})", op_name,
                                 settings.padding.str(), settings.window.str(), x.str()));
  if (g.in_plane() > std::numeric_limits<std::uint32_t>::max())
    throw ShapeError(fmt::format("{}: an image plane of x {} has more than 2^32 cells", op_name, x.str()));
  return g;
}

const char* pool_name(Pooling kind) { return kind == Pooling::Max ? "max_pool2d" : "avg_pool2d"; }

// The first NaN in a window (window order), or `otherwise` when it holds none.
template <class T>
std::size_t first_nan_or(const Geometry& g, const T* cells, const Window& win, std::size_t otherwise) {
  for (std::size_t iy = win.y0; iy < win.y1; ++iy)
    for (std::size_t ix = win.x0; ix < win.x1; ++ix)
      if (cells[iy * g.w + ix] != cells[iy * g.w + ix]) return iy * g.w + ix;
  return otherwise;
}
template <class T>
std::size_t first_nan(const Geometry& g, const T* cells, const Window& win) {
  return first_nan_or(g, cells, win, win.y0 * g.w + win.x0);
}

// Max pooling, any window: y (and argmax, the winner's offset in its plane, when asked) for every window.
template <class T>
void max_pool_any(const Geometry& g, const T* in, T* y, std::uint32_t* argmax) {
  for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* cells = in + plane * g.in_plane();
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        const Window win = window_at(g, oy, ox);  // never all padding: the padding is at most half the window
        // Branch-free: a data-dependent branch mispredicts about half the time here.
        std::size_t best = win.y0 * g.w + win.x0;
        T top = cells[best];
        bool nan = false;
        for (std::size_t iy = win.y0; iy < win.y1; ++iy)
          for (std::size_t ix = win.x0; ix < win.x1; ++ix) {
            const std::size_t at = iy * g.w + ix;
            const T v = cells[at];
            const std::size_t take = std::size_t{0} - static_cast<std::size_t>(v > top);  // all ones or zero
            best = (best & ~take) | (at & take);
            top = std::max(top, v);
            nan |= v != v;
          }
        if (nan) best = first_nan(g, cells, win);
        const std::size_t o = (plane * g.oh + oy) * g.ow + ox;
        y[o] = cells[best];
        if (argmax) argmax[o] = static_cast<std::uint32_t>(best);
      }
  }
}

// The book's pooling (2x2 windows, stride 2, no padding), one pass per row of windows: each window's four cells
// are read once for its max and its winner (the first maximal cell, found by arithmetic: no branch), in a loop
// the compiler vectorizes. A plane holding a NaN is redone with NaN winning, as in PyTorch.
template <class T>
[[gnu::always_inline]] inline void max_pool_2x2_body(const Geometry& g, const T* in, T* y, std::uint32_t* argmax) {
  const auto width = static_cast<std::uint32_t>(g.w);
  for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* cells = in + plane * g.in_plane();
    int nans = 0;  // a plain OR of comparisons vectorizes; mixed into the loop below it did not
    for (std::size_t i = 0; i < g.in_plane(); ++i) nans |= cells[i] != cells[i];
    for (std::size_t oy = 0; oy < g.oh; ++oy) {
      const T* r0 = cells + 2 * oy * g.w;
      const T* r1 = r0 + g.w;
      T* out = y + (plane * g.oh + oy) * g.ow;
      std::uint32_t* at = argmax ? argmax + (plane * g.oh + oy) * g.ow : nullptr;
      const auto top_left = static_cast<std::uint32_t>(2 * oy * g.w);
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        const T a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        const T top = std::max(std::max(a, b), std::max(c, d));
        out[ox] = top;
        if (at) {
          const std::uint32_t not_a = a != top, not_b = b != top, not_c = c != top;
          const std::uint32_t cell = not_a * (1 + not_b * (1 + not_c));  // 0..3 in window order
          at[ox] = top_left + (cell >> 1) * width + static_cast<std::uint32_t>(2 * ox) + (cell & 1);
        }
      }
    }
    if (nans)  // rare
      for (std::size_t oy = 0; oy < g.oh; ++oy)
        for (std::size_t ox = 0; ox < g.ow; ++ox) {
          const std::size_t o = (plane * g.oh + oy) * g.ow + ox;
          const std::size_t best = first_nan_or(g, cells, window_at(g, oy, ox), argmax ? argmax[o] : 2 * oy * g.w + 2 * ox);
          y[o] = cells[best];
          if (argmax) argmax[o] = static_cast<std::uint32_t>(best);
        }
  }
}

// On x86-64, the same compiled for AVX2 too (about twice as fast as the baseline build, measured), chosen at run
// time.
template <class T>
void max_pool_2x2_baseline(const Geometry& g, const T* in, T* y, std::uint32_t* argmax) {
  max_pool_2x2_body(g, in, y, argmax);
}
#if defined(__x86_64__)
template <class T>
[[gnu::target("avx2")]] void max_pool_2x2_avx2(const Geometry& g, const T* in, T* y, std::uint32_t* argmax) {
  max_pool_2x2_body(g, in, y, argmax);
}
#endif
template <class T>
void max_pool_2x2(const Geometry& g, const T* in, T* y, std::uint32_t* argmax) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return max_pool_2x2_avx2(g, in, y, argmax);
#endif
  max_pool_2x2_baseline(g, in, y, argmax);
}

template <class T>
Var<T> pool2d(const Var<T>& x, const Pool2dSettings& settings, Pooling kind) {
  const char* op_name = pool_name(kind);
  const Geometry g = pool_geometry(op_name, x.shape(), settings);
  check_sizes(op_name, g, g.c);
  const T* in = x.value().data();

  if (kind == Pooling::Average) {
    auto r = record<AvgPool2dOp<T>>(op_name, {x});
    if (r.op) r.op->geometry = g;
    r.output.resize({g.n, g.c, g.oh, g.ow});
    T* y = r.output.data();
    const T share = T(1) / static_cast<T>(g.window());
    for (std::size_t plane = 0; plane < g.n * g.c; ++plane)
      for (std::size_t oy = 0; oy < g.oh; ++oy)
        for (std::size_t ox = 0; ox < g.ow; ++ox) {
          T sum = T(0);
          const Window win = window_at(g, oy, ox);
          for (std::size_t iy = win.y0; iy < win.y1; ++iy) {
            const T* row = in + plane * g.in_plane() + iy * g.w;
            for (std::size_t ix = win.x0; ix < win.x1; ++ix) sum += row[ix];
          }
          y[(plane * g.oh + oy) * g.ow + ox] = sum * share;
        }
    return finish(r.var);
  }

  auto r = record<MaxPool2dOp<T>>(op_name, {x});
  r.output.resize({g.n, g.c, g.oh, g.ow});
  if (r.op) r.op->argmax.resize(r.output.size());
  T* y = r.output.data();
  std::uint32_t* argmax = r.op ? r.op->argmax.data() : nullptr;
  const bool fast = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0;
  if (r.op) r.op->tiles_2x2 = fast && g.h == 2 * g.oh && g.w == 2 * g.ow;
  if (fast)
    max_pool_2x2(g, in, y, argmax);
  else
    max_pool_any(g, in, y, argmax);
  return finish(r.var);
}

}  // namespace

namespace detail {
std::vector<DerivativeRule> conv_rules() {
  return {rule_text<Conv2dOp<double>>("conv2d", "conv"), rule_text<MaxPool2dOp<double>>("max_pool2d", "conv"),
          rule_text<AvgPool2dOp<double>>("avg_pool2d", "conv")};
}
}  // namespace detail

template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& filters, const Var<T>& bias, const Conv2dSettings& settings) {
  const Shape& sf = filters.shape();
  const Shape& sb = bias.shape();
  const Geometry g = conv_geometry(x.shape(), sf, settings);
  if (sb.rank() != 1 || sb[0] != sf[0])
    throw ShapeError(fmt::format("conv2d: needs a bias of shape ({},) for filters {}, got {}", sf[0], sf.str(), sb.str()));
  const std::size_t fn = sf[0], width = g.c * g.window();
  check_sizes("conv2d", g, fn);

  auto r = record<Conv2dOp<T>>("conv2d", {x, filters, bias});
  r.output.resize({g.n, fn, g.oh, g.ow});
  const Tape<T>& tape = r.var.tape();
  const T* in = tape.value(x.index()).data();
  if (r.op) {
    r.op->geometry = g;
    r.op->filters = fn;
    r.op->path = Conv2dOp<T>::Path::Blas;  // the tape may hand back an op of an earlier step
  }
  const detail::ConvKernels<T>* kernels =
      conv_algorithm() == ConvAlgorithm::Auto && g.n > 0 ? detail::conv_kernels<T>() : nullptr;
  if (kernels && detail::winograd_suits<T>(g.c, fn, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw)) {
    const detail::WinogradPlan plan = detail::make_winograd_plan<T>(g.n, g.c, g.h, g.w, fn, g.ph, g.pw);
    thread_local std::vector<T> scratch_work;
    std::vector<T>& work = r.op ? r.op->work : scratch_work;
    work.resize(r.op ? plan.work : plan.forward_work);
    kernels->winograd_forward(plan, in, tape.value(filters.index()).data(), tape.value(bias.index()).data(),
                              r.output.data(), work.data());
    if (r.op) {
      r.op->path = Conv2dOp<T>::Path::Winograd;
      r.op->plan = plan;
    }
    return finish(r.var);
  }
  thread_local std::vector<T> scratch_col, scratch_filters;
  std::vector<T>& col = r.op ? r.op->col : scratch_col;
  std::vector<T>& with_bias = r.op ? r.op->with_bias : scratch_filters;
  const std::size_t plane = g.out_plane();
  with_bias.resize(fn * (width + 1));
  filters_with_bias(fn, width, tape.value(filters.index()).data(), tape.value(bias.index()).data(), with_bias.data());
  T* y = r.output.data();
  if (kernels) {  // im2col's rows and the SIMD product: y_n (FN, OH*OW) = [W b] col_n, rows of whole vectors
    const std::size_t stride = (plane + kernels->vector - 1) / kernels->vector * kernels->vector;
    const std::size_t images_at_once = r.op ? g.n : 1, rows = (width + 1) * stride;
    col.resize(images_at_once * rows + (stride == plane ? 0 : fn * stride));  // and the padded output
    T* padded = col.data() + images_at_once * rows;
    for (std::size_t n = 0; n < g.n; ++n) {
      T* windows = col.data() + (r.op ? n * rows : 0);
      im2col_rows(g, in + n * g.c * g.in_plane(), stride, windows);
      T* out = stride == plane ? y + n * fn * plane : padded;
      kernels->product(fn, stride, width + 1, with_bias.data(), width + 1, 1, windows, stride, out, stride, false);
      if (stride != plane)
        for (std::size_t f = 0; f < fn; ++f)
          std::copy(padded + f * stride, padded + f * stride + plane, y + (n * fn + f) * plane);
    }
    if (r.op) {
      r.op->path = Conv2dOp<T>::Path::Simd;
      r.op->row_stride = stride;
    }
    return finish(r.var);
  }
  // Without a gradient nothing is kept: one image's windows at a time in this thread's scratch (an evaluation
  // batch of 1,000 images would otherwise build hundreds of MB of windows at once), the same GEMMs.
  const std::size_t images_at_once = r.op ? g.n : 1;
  col.resize(images_at_once * plane * (width + 1));
  // image n's output (FN, OH*OW) = [W b] (FN, C*FH*FW + 1) x col_n^T: already in NCHW order
  const auto multiply = [&](std::size_t n, const T* windows) {
    detail::gemm<T>(false, true, fn, plane, width + 1, with_bias.data(), windows, T(0), y + n * fn * plane);
  };
  if (r.op) {
    im2col_with_ones(g, in, col.data());
    for (std::size_t n = 0; n < g.n; ++n) multiply(n, col.data() + n * plane * (width + 1));
  } else {
    Geometry one = g;
    one.n = 1;
    for (std::size_t n = 0; n < g.n; ++n) {
      im2col_with_ones(one, in + n * g.c * g.in_plane(), col.data());
      multiply(n, col.data());
    }
  }
  return finish(r.var);
}

Shape conv2d_output_shape(const Shape& x, const Shape& filters, const Conv2dSettings& settings) {
  return output_shape("conv2d", conv_geometry(x, filters, settings), filters[0]);
}
Shape pool2d_output_shape(const Shape& x, const Pool2dSettings& settings, Pooling kind) {
  const Geometry g = pool_geometry(pool_name(kind), x, settings);
  return output_shape(pool_name(kind), g, g.c);
}

template <class T>
Var<T> max_pool2d(const Var<T>& x, const Pool2dSettings& settings) {
  return pool2d(x, settings, Pooling::Max);
}
template <class T>
Var<T> avg_pool2d(const Var<T>& x, const Pool2dSettings& settings) {
  return pool2d(x, settings, Pooling::Average);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                  \
  template Var<T> conv2d(const Var<T>&, const Var<T>&, const Var<T>&, const Conv2dSettings&); \
  template Var<T> max_pool2d(const Var<T>&, const Pool2dSettings&);                            \
  template Var<T> avg_pool2d(const Var<T>&, const Pool2dSettings&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
