// Convolution and pooling over NCHW images, the book's chapter 7 way: im2col turns every window into a row, so a
// convolution is one GEMM; backward is two GEMMs and col2im. Buffers live in the op and are reused across steps.
#include "tapegrad/ops/conv.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "ops/gemm.hpp"
#include "ops/kernel.hpp"
#include "ops/rule_text.hpp"

namespace tapegrad {

std::string Extent2d::str() const { return h == w ? fmt::format("{}", h) : fmt::format("{}x{}", h, w); }

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

// Calls visit(row, ih, iw) for each cell of the window at output (oy, ox): row counts cells in window order,
// and (ih, iw) is the input cell, or skip(row) when the cell lies in the padding.
template <class Visit, class Skip>
void for_window(const Geometry& g, std::size_t oy, std::size_t ox, Visit&& visit, Skip&& skip) {
  for (std::size_t i = 0; i < g.kh; ++i) {
    const std::size_t ih = oy * g.sh + i;  // in padded coordinates
    for (std::size_t j = 0; j < g.kw; ++j) {
      const std::size_t iw = ox * g.sw + j;
      const std::size_t row = i * g.kw + j;
      if (ih < g.ph || ih - g.ph >= g.h || iw < g.pw || iw - g.pw >= g.w) skip(row);
      else visit(row, ih - g.ph, iw - g.pw);
    }
  }
}

// col (N * OH * OW, C * FH * FW): row (n, oy, ox) holds the window of output (oy, ox) of image n, channel-major.
template <class T>
void im2col(const Geometry& g, const T* x, T* col) {
  const std::size_t width = g.c * g.window();
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        T* row = col + ((n * g.oh + oy) * g.ow + ox) * width;
        for (std::size_t ch = 0; ch < g.c; ++ch) {
          const T* plane = x + (n * g.c + ch) * g.in_plane();
          T* cells = row + ch * g.window();
          for_window(
              g, oy, ox, [&](std::size_t k, std::size_t ih, std::size_t iw) { cells[k] = plane[ih * g.w + iw]; },
              [&](std::size_t k) { cells[k] = T(0); });
        }
      }
}

// The adjoint of im2col: dx += each row's gradient, added back where the row's cells came from.
template <class T>
void col2im_add(const Geometry& g, const T* dcol, T* dx) {
  const std::size_t width = g.c * g.window();
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        const T* row = dcol + ((n * g.oh + oy) * g.ow + ox) * width;
        for (std::size_t ch = 0; ch < g.c; ++ch) {
          T* plane = dx + (n * g.c + ch) * g.in_plane();
          const T* cells = row + ch * g.window();
          for_window(
              g, oy, ox, [&](std::size_t k, std::size_t ih, std::size_t iw) { plane[ih * g.w + iw] += cells[k]; },
              [](std::size_t) {});
        }
      }
}

// The GEMM's output (FN, N * OH * OW) and the op's output (N, FN, OH, OW) hold the same planes in another order.
template <class T>
void planes_to_nchw(const Geometry& g, std::size_t filters, const T* by_filter, const T* bias, T* out) {
  const std::size_t plane = g.out_plane();
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t f = 0; f < filters; ++f) {
      const T* from = by_filter + (f * g.n + n) * plane;
      T* to = out + (n * filters + f) * plane;
      for (std::size_t p = 0; p < plane; ++p) to[p] = from[p] + bias[f];
    }
}

template <class T>
void nchw_to_planes(const Geometry& g, std::size_t filters, const T* nchw, T* by_filter) {
  const std::size_t plane = g.out_plane();
  for (std::size_t n = 0; n < g.n; ++n)
    for (std::size_t f = 0; f < filters; ++f)
      std::copy(nchw + (n * filters + f) * plane, nchw + (n * filters + f + 1) * plane,
                by_filter + (f * g.n + n) * plane);
}

template <class T>
struct Conv2dOp final : Op<T> {
  static constexpr const char* forward_text =
      "y = W col + b, col = im2col(x)  (inputs x (N,C,H,W), W (FN,C,FH,FW), b (FN,); a GEMM over the windows)";
  static constexpr const char* backward_text =
      "dW = g col^T;  db = sum of g over N, OH, OW;  dx = col2im(W^T g)";
  Geometry geometry;
  std::size_t filters = 0;
  std::vector<T> col;          // (N*OH*OW, C*FH*FW), kept from forward for dW
  std::vector<T> by_filter;    // (FN, N*OH*OW): the GEMM's output in forward, g in that order in backward
  std::vector<T> dcol;         // (N*OH*OW, C*FH*FW)

  void backward(BackwardContext<T>& d) override {
    const Geometry& g = geometry;
    const std::size_t positions = g.n * g.out_plane(), width = g.c * g.window();
    nchw_to_planes(g, filters, d.grad_output().data(), by_filter.data());
    if (d.needs_grad(2)) {
      T* db = d.input_grad(2).data();
      for (std::size_t f = 0; f < filters; ++f) {
        T sum = T(0);
        for (std::size_t p = 0; p < positions; ++p) sum += by_filter[f * positions + p];
        db[f] += sum;
      }
    }
    if (d.needs_grad(1))
      detail::gemm<T>(false, false, filters, width, positions, by_filter.data(), col.data(), T(1),
                      d.input_grad(1).data());
    if (d.needs_grad(0)) {
      dcol.resize(positions * width);
      detail::gemm<T>(true, false, positions, width, filters, by_filter.data(), d.input(1).data(), T(0), dcol.data());
      col2im_add(g, dcol.data(), d.input_grad(0).data());
    }
  }
};

template <class T>
struct MaxPool2dOp final : Op<T> {
  static constexpr const char* forward_text = "y = max of x over each window (padding never wins)";
  static constexpr const char* backward_text = "dx[argmax of the window] += g  (the first maximal cell)";
  std::vector<std::uint32_t> argmax;  // per output: the winning cell's offset in its (n, c) input plane
  void backward(BackwardContext<T>& d) override {
    if (!d.needs_grad(0)) return;
    const Shape& in = d.input(0).shape();
    const std::size_t in_plane = in[2] * in[3], out_plane = d.grad_output().shape()[2] * d.grad_output().shape()[3];
    const T* g = d.grad_output().data();
    T* dx = d.input_grad(0).data();
    for (std::size_t plane = 0, planes = in[0] * in[1]; plane < planes; ++plane)
      for (std::size_t p = 0; p < out_plane; ++p)
        dx[plane * in_plane + argmax[plane * out_plane + p]] += g[plane * out_plane + p];
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
          for_window(
              g, oy, ox, [&](std::size_t, std::size_t ih, std::size_t iw) { dx[plane * g.in_plane() + ih * g.w + iw] += each; },
              [](std::size_t) {});
        }
  }
};

// The output's extents (N, channels, OH, OW); ShapeError naming the op when it or the im2col buffer would
// overflow. No Shape is built: a training step must not allocate.
void check_sizes(const char* op, const Geometry& g, std::size_t channels) {
  std::size_t out = 0, col = 0;
  const bool overflow = __builtin_mul_overflow(g.n, channels, &out) || __builtin_mul_overflow(out, g.oh, &out) ||
                        __builtin_mul_overflow(out, g.ow, &out) || __builtin_mul_overflow(g.n, g.out_plane(), &col) ||
                        __builtin_mul_overflow(col, g.c, &col) || __builtin_mul_overflow(col, g.window(), &col);
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
          for_window(
              g, oy, ox, [&](std::size_t, std::size_t ih, std::size_t iw) { sum += in[plane * g.in_plane() + ih * g.w + iw]; },
              [](std::size_t) {});
          y[(plane * g.oh + oy) * g.ow + ox] = sum * share;
        }
    return finish(r.var);
  }

  auto r = record<MaxPool2dOp<T>>(op_name, {x});
  r.output.resize({g.n, g.c, g.oh, g.ow});
  if (r.op) r.op->argmax.resize(r.output.size());
  T* y = r.output.data();
  for (std::size_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* cells = in + plane * g.in_plane();
    for (std::size_t oy = 0; oy < g.oh; ++oy)
      for (std::size_t ox = 0; ox < g.ow; ++ox) {
        std::size_t best = std::numeric_limits<std::size_t>::max();
        for_window(
            g, oy, ox,
            [&](std::size_t, std::size_t ih, std::size_t iw) {
              const std::size_t at = ih * g.w + iw;
              const bool first = best == std::numeric_limits<std::size_t>::max();
              // a NaN wins (as in PyTorch), so it is never hidden
              if (first || cells[at] > cells[best] || (std::isnan(cells[at]) && !std::isnan(cells[best]))) best = at;
            },
            [](std::size_t) {});
        const std::size_t o = (plane * g.oh + oy) * g.ow + ox;
        y[o] = cells[best];
        if (r.op) r.op->argmax[o] = static_cast<std::uint32_t>(best);
      }
  }
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
  const std::size_t fn = sf[0], positions = g.n * g.out_plane(), width = g.c * g.window();
  check_sizes("conv2d", g, fn);

  auto r = record<Conv2dOp<T>>("conv2d", {x, filters, bias});
  r.output.resize({g.n, fn, g.oh, g.ow});
  std::vector<T> scratch_col, scratch_planes;  // without a gradient nothing is kept
  std::vector<T>& col = r.op ? r.op->col : scratch_col;
  std::vector<T>& planes = r.op ? r.op->by_filter : scratch_planes;
  col.resize(positions * width);
  planes.resize(positions * fn);
  if (r.op) {
    r.op->geometry = g;
    r.op->filters = fn;
  }
  const Tape<T>& tape = r.var.tape();
  im2col(g, tape.value(x.index()).data(), col.data());
  // (FN, C*FH*FW) x (N*OH*OW, C*FH*FW)^T: one GEMM for the whole batch
  detail::gemm<T>(false, true, fn, positions, width, tape.value(filters.index()).data(), col.data(), T(0),
                  planes.data());
  planes_to_nchw(g, fn, planes.data(), tape.value(bias.index()).data(), r.output.data());
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
