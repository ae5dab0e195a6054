// Convolution and pooling: hand-computed values, a direct (loop) convolution as reference, gradient checks in
// double on random geometries, and the errors for bad settings.
#include "helpers.hpp"

using testing::check;
using testing::kink_free;
using V = tg::Var<double>;
using Vs = std::vector<V>;
using T = tg::Tensor<double>;

namespace {

// The definition, written as plainly as possible: y[n,f,i,j] = b[f] + sum_c,u,v W[f,c,u,v] x[n,c,i*s+u-p, j*s+v-p].
T direct_conv(const T& x, const T& w, const T& b, tg::Extent2d stride, tg::Extent2d pad) {
  const auto& sx = x.shape();
  const auto& sw = w.shape();
  const std::size_t oh = (sx[2] + 2 * pad.h - sw[2]) / stride.h + 1, ow = (sx[3] + 2 * pad.w - sw[3]) / stride.w + 1;
  T y(tg::Shape{sx[0], sw[0], oh, ow});
  for (std::size_t n = 0; n < sx[0]; ++n)
    for (std::size_t f = 0; f < sw[0]; ++f)
      for (std::size_t i = 0; i < oh; ++i)
        for (std::size_t j = 0; j < ow; ++j) {
          double sum = b[f];
          for (std::size_t c = 0; c < sx[1]; ++c)
            for (std::size_t u = 0; u < sw[2]; ++u)
              for (std::size_t v = 0; v < sw[3]; ++v) {
                const long r = long(i * stride.h + u) - long(pad.h), q = long(j * stride.w + v) - long(pad.w);
                if (r < 0 || q < 0 || r >= long(sx[2]) || q >= long(sx[3])) continue;
                sum += w(f, c, u, v) * x(n, c, std::size_t(r), std::size_t(q));
              }
          y(n, f, i, j) = sum;
        }
  return y;
}

// The gradients of sum(r * direct_conv(x, w, b)) by the definition (stride 1): db[f] = sum r[n,f,i,j],
// dw[f,c,u,v] = sum r[n,f,i,j] x[n,c,i+u-p,j+v-p], dx[n,c,i+u-p,j+v-p] += r[n,f,i,j] w[f,c,u,v].
struct DirectGrads {
  T dx, dw, db;
};
DirectGrads direct_conv_grads(const T& x, const T& w, const T& r, tg::Extent2d pad) {
  const auto& sx = x.shape();
  const auto& sw = w.shape();
  const auto& sr = r.shape();
  DirectGrads g{T(sx), T(sw), T(tg::Shape{sw[0]})};
  for (std::size_t n = 0; n < sx[0]; ++n)
    for (std::size_t f = 0; f < sw[0]; ++f)
      for (std::size_t i = 0; i < sr[2]; ++i)
        for (std::size_t j = 0; j < sr[3]; ++j) {
          const double each = r(n, f, i, j);
          g.db[f] += each;
          for (std::size_t c = 0; c < sx[1]; ++c)
            for (std::size_t u = 0; u < sw[2]; ++u)
              for (std::size_t v = 0; v < sw[3]; ++v) {
                const long a = long(i + u) - long(pad.h), q = long(j + v) - long(pad.w);
                if (a < 0 || q < 0 || a >= long(sx[2]) || q >= long(sx[3])) continue;
                g.dw(f, c, u, v) += each * x(n, c, std::size_t(a), std::size_t(q));
                g.dx(n, c, std::size_t(a), std::size_t(q)) += each * w(f, c, u, v);
              }
        }
  return g;
}

struct RandomGeometry {
  tg::Extent2d window{1}, stride{1}, padding{0};
  std::size_t n = 1, c = 1, h = 1, w = 1;
  bool remainder = false;
  std::string str() const {
    return fmt::format("x ({}, {}, {}, {}) window {} stride {} padding {}{}", n, c, h, w, window.str(), stride.str(),
                       padding.str(), remainder ? " with remainder" : "");
  }
};

// Windows 1-3 (rectangular), strides 1-2, padding up to `max_pad`; sizes that fit exactly unless `remainder`.
RandomGeometry random_geometry(tg::Rng& rng, std::size_t max_pad, bool remainder) {
  RandomGeometry g;
  g.window = {1 + rng.below(3), 1 + rng.below(3)};
  g.stride = {1 + rng.below(2), 1 + rng.below(2)};
  g.padding = {std::min(rng.below(max_pad + 1), g.window.h / 2), std::min(rng.below(max_pad + 1), g.window.w / 2)};
  g.n = 1 + rng.below(3);
  g.c = 1 + rng.below(3);
  auto extent = [&](std::size_t k, std::size_t s, std::size_t p) {
    std::size_t in = k + s * rng.below(3);  // padded extent that the windows tile exactly
    in = std::max<std::size_t>(in, 2 * p + 1) - 2 * p;
    if (remainder && s > 1) in += 1;  // one row more than fits: dropped
    return in;
  };
  g.h = extent(g.window.h, g.stride.h, g.padding.h);
  g.w = extent(g.window.w, g.stride.w, g.padding.w);
  g.remainder = remainder;
  return g;
}

}  // namespace

TEST_CASE("conv2d: a hand-computed 3x3 image with a 2x2 filter, stride 1, and with padding 1 and stride 2") {
  tg::Tape<double> tape;
  const T x(tg::Shape{1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const T w(tg::Shape{1, 1, 2, 2}, {1, 0, 0, -1});  // top-left minus bottom-right
  const T b{10};
  const V y = tg::conv2d(tape.constant(x), tape.constant(w), tape.constant(b));
  CHECK(y.shape() == tg::Shape{1, 1, 2, 2});
  for (double v : y.value()) CHECK(v == 10 - 4);  // every window: x[i][j] - x[i+1][j+1] = -4

  tg::Conv2dSettings padded;
  padded.stride = 2;
  padded.padding = 1;
  padded.allow_remainder = true;  // the padded 5x5 holds two 2x2 windows a row; its last row is dropped
  const V z = tg::conv2d(tape.constant(x), tape.constant(w), tape.constant(b), padded);
  // windows start at (-1,-1), (-1,1), (1,-1), (1,1): 0-1, 0-3, 0-7, 5-9
  CHECK(z.shape() == tg::Shape{1, 1, 2, 2});
  CHECK(z.value() == T(tg::Shape{1, 1, 2, 2}, {9, 7, 3, 6}));
}

TEST_CASE("conv2d equals the direct definition on random geometries, float and double") {
  tg::Rng rng(21);
  for (int trial = 0; trial < 12; ++trial) {
    const RandomGeometry g = random_geometry(rng, 2, trial % 3 == 2);
    CAPTURE(g.str());
    const std::size_t filters = 1 + rng.below(4);
    const T x = T::randn({g.n, g.c, g.h, g.w}, rng), w = T::randn({filters, g.c, g.window.h, g.window.w}, rng),
            b = T::randn({filters}, rng);
    tg::Conv2dSettings s;
    s.stride = g.stride;
    s.padding = g.padding;
    s.allow_remainder = g.remainder;
    const T expected = direct_conv(x, w, b, g.stride, g.padding);
    tg::Tape<double> tape;
    const T unrecorded = tg::conv2d(tape.constant(x), tape.constant(w), tape.constant(b), s).value();
    CHECK(testing::max_abs_diff(unrecorded, expected) < 1e-12);
    // recorded (all windows kept for backward) or not (one image's windows at a time): the same GEMMs, which may
    // round differently in the last bit when their operands lie at other offsets in memory
    tg::Tape<double> recording;
    CHECK(testing::max_abs_diff(
              tg::conv2d(recording.variable(x), recording.variable(w), recording.variable(b), s).value(), unrecorded) <
          1e-13);
    tg::Tape<float> tapef;
    const tg::Tensor<float> yf =
        tg::conv2d(tapef.constant(x.cast<float>()), tapef.constant(w.cast<float>()), tapef.constant(b.cast<float>()), s)
            .value();
    CHECK(testing::max_abs_diff(yf.cast<double>(), expected) < 1e-4);
  }
}

// 3x3 filters of stride 1 over 8 or more channels in and out take Winograd's F(4x4, 3x3) path on CPUs with AVX2 or
// AVX-512: odd outputs leave half-used tiles, channel counts that are no whole vector leave padded lanes.
TEST_CASE("conv2d 3x3 stride 1, 8+ channels (the Winograd path): values and gradients equal the definition") {
  tg::Rng rng(33);
  const std::size_t channels[] = {8, 9, 16, 17, 33}, filters[] = {8, 12, 16, 40};
  for (int trial = 0; trial < 12; ++trial) {
    const std::size_t n = 1 + rng.below(3), c = channels[rng.below(5)], k = filters[rng.below(4)];
    const tg::Extent2d pad{rng.below(3), rng.below(3)};
    const std::size_t h = 3 - std::min<std::size_t>(2 * pad.h, 2) + rng.below(11);
    const std::size_t w = 3 - std::min<std::size_t>(2 * pad.w, 2) + rng.below(11);
    CAPTURE(fmt::format("x ({}, {}, {}, {}), {} filters, padding {}", n, c, h, w, k, pad.str()));
    const T x = T::randn({n, c, h, w}, rng), wt = T::randn({k, c, 3, 3}, rng), b = T::randn({k}, rng);
    tg::Conv2dSettings s;
    s.padding = pad;
    const T expected = direct_conv(x, wt, b, 1, pad);
    const T r = T::randn(expected.shape(), rng);
    const DirectGrads grads = direct_conv_grads(x, wt, r, pad);

    tg::Tape<double> tape;
    const V vx = tape.variable(x), vw = tape.variable(wt), vb = tape.variable(b);
    const V y = tg::conv2d(vx, vw, vb, s);
    CHECK(testing::max_abs_diff(y.value(), expected) < 1e-12);
    tg::sum(y * tape.constant(r)).backward();
    CHECK(testing::max_abs_diff(vx.grad(), grads.dx) < 1e-12);
    CHECK(testing::max_abs_diff(vw.grad(), grads.dw) < 1e-11);
    CHECK(testing::max_abs_diff(vb.grad(), grads.db) < 1e-11);
    tg::Tape<double> plain;  // no gradient: the same path, its buffers in this thread's scratch
    CHECK(testing::max_abs_diff(tg::conv2d(plain.constant(x), plain.constant(wt), plain.constant(b), s).value(),
                                expected) < 1e-12);

    tg::Tape<float> tapef;
    const tg::Var<float> fx = tapef.variable(x.cast<float>()), fw = tapef.variable(wt.cast<float>()),
                         fb = tapef.variable(b.cast<float>());
    const tg::Var<float> yf = tg::conv2d(fx, fw, fb, s);
    // float rounding grows with the terms summed: C * 9 for y, K * 9 for dx, N * OH * OW for dW
    CHECK(testing::max_abs_diff(yf.value().cast<double>(), expected) < 1e-5 * double(c * 9));
    tg::sum(yf * tapef.constant(r.cast<float>())).backward();
    CHECK(testing::max_abs_diff(fx.grad().cast<double>(), grads.dx) < 1e-5 * double(k * 9));
    CHECK(testing::max_abs_diff(fw.grad().cast<double>(), grads.dw) < 1e-5 * double(n * h * w + 9));
  }
}

// gradgradcheck also compares the rules recorded on the tape (im2col's products) with the first-order backward
// (Winograd's) numerically.
TEST_CASE("gradcheck and gradgradcheck: conv2d on the Winograd path (3x3, stride 1, 8+ channels)") {
  tg::Rng rng(34);
  for (const tg::Extent2d pad : {tg::Extent2d{1}, tg::Extent2d{0, 2}}) {
    CAPTURE(pad.str());
    const std::vector<T> inputs{kink_free({2, 8, 5, 4}, rng), kink_free({9, 8, 3, 3}, rng), kink_free({9}, rng)};
    tg::Conv2dSettings s;
    s.padding = pad;
    const auto f = [&](auto&, const Vs& in) { return tg::conv2d(in[0], in[1], in[2], s); };
    check(f, inputs);
    const tg::GradcheckReport second = tg::gradgradcheck<double>(f, inputs);
    INFO(second.table());
    CHECK(second.passed());
  }
}

// Sets the algorithm for one test and restores Auto after it, passing or failing.
struct AlgorithmForTest {
  explicit AlgorithmForTest(tg::ConvAlgorithm a) { tg::set_conv_algorithm(a); }
  ~AlgorithmForTest() { tg::set_conv_algorithm(tg::ConvAlgorithm::Auto); }
};

TEST_CASE("conv2d: ConvAlgorithm::Blas and Auto agree in values and gradients, and backward takes forward's path") {
  tg::Rng rng(35);
  struct Case {
    std::size_t n, c, h, w, k, kh, kw, stride, pad;
  };
  // Winograd's shapes (3x3, stride 1, 8+ channels), SimpleConvNet's 5x5 over one channel, strided, rectangular
  const Case cases[] = {{2, 16, 7, 6, 16, 3, 3, 1, 1}, {3, 1, 12, 12, 30, 5, 5, 1, 0}, {2, 3, 9, 8, 5, 3, 2, 2, 1},
                        {1, 9, 5, 5, 8, 3, 3, 1, 2},   {2, 4, 6, 6, 7, 1, 1, 1, 0},    {2, 8, 7, 7, 9, 3, 3, 2, 0}};
  for (const Case& k : cases) {
    CAPTURE(fmt::format("x ({}, {}, {}, {}), {} filters {}x{}, stride {}, padding {}", k.n, k.c, k.h, k.w, k.k, k.kh,
                        k.kw, k.stride, k.pad));
    const T x = T::randn({k.n, k.c, k.h, k.w}, rng), w = T::randn({k.k, k.c, k.kh, k.kw}, rng),
            b = T::randn({k.k}, rng);
    tg::Conv2dSettings s;
    s.stride = k.stride;
    s.padding = k.pad;
    s.allow_remainder = true;
    const T r = T::randn(tg::conv2d_output_shape(x.shape(), w.shape(), s), rng);
    struct Result {
      T y, dx, dw, db;
    };
    // forward under `before`, backward under `after`
    const auto run = [&](tg::ConvAlgorithm before, tg::ConvAlgorithm after) {
      AlgorithmForTest use(before);
      tg::Tape<double> tape;
      const V vx = tape.variable(x), vw = tape.variable(w), vb = tape.variable(b);
      const V y = tg::conv2d(vx, vw, vb, s);
      tg::set_conv_algorithm(after);
      tg::sum(y * tape.constant(r)).backward();
      return Result{y.value(), vx.grad(), vw.grad(), vb.grad()};
    };
    const Result blas = run(tg::ConvAlgorithm::Blas, tg::ConvAlgorithm::Blas);
    CHECK(testing::max_abs_diff(blas.y, direct_conv(x, w, b, k.stride, k.pad)) < 1e-12);
    for (const auto& [before, after] : {std::pair{tg::ConvAlgorithm::Auto, tg::ConvAlgorithm::Auto},
                                        std::pair{tg::ConvAlgorithm::Auto, tg::ConvAlgorithm::Blas},
                                        std::pair{tg::ConvAlgorithm::Blas, tg::ConvAlgorithm::Auto}}) {
      const Result other = run(before, after);
      CHECK(testing::max_abs_diff(other.y, blas.y) < 1e-12);
      CHECK(testing::max_abs_diff(other.dx, blas.dx) < 1e-12);
      CHECK(testing::max_abs_diff(other.dw, blas.dw) < 1e-11);
      CHECK(testing::max_abs_diff(other.db, blas.db) < 1e-11);
    }
  }
  CHECK(tg::conv_algorithm() == tg::ConvAlgorithm::Auto);
}

TEST_CASE("max_pool2d and avg_pool2d: hand-computed windows, overlapping and padded") {
  tg::Tape<double> tape;
  const T x(tg::Shape{1, 1, 4, 4}, {1, 5, 2, 0,  //
                                    3, 4, 8, 1,  //
                                    0, 9, 6, 7,  //
                                    2, 1, 3, 4});
  CHECK(tg::max_pool2d(tape.constant(x), {2}).value() == T(tg::Shape{1, 1, 2, 2}, {5, 8, 9, 7}));
  CHECK(tg::avg_pool2d(tape.constant(x), {2}).value() == T(tg::Shape{1, 1, 2, 2}, {3.25, 2.75, 3, 5}));
  // 3x3 windows, stride 1: they overlap
  CHECK(tg::max_pool2d(tape.constant(x), {3, 1}).value() == T(tg::Shape{1, 1, 2, 2}, {9, 9, 9, 9}));
  // padding 1 with window 2, stride 2: padding never wins the max, and counts as zero in the mean
  const tg::Pool2dSettings padded(2, 2, 1);
  const T negative = T(tg::Shape{1, 1, 2, 2}, {-1, -2, -3, -4});
  CHECK(tg::max_pool2d(tape.constant(negative), padded).value() == T(tg::Shape{1, 1, 2, 2}, {-1, -2, -3, -4}));
  CHECK(tg::avg_pool2d(tape.constant(negative), padded).value() == T(tg::Shape{1, 1, 2, 2}, {-0.25, -0.5, -0.75, -1}));
}

TEST_CASE("max_pool2d: the gradient goes to each window's maximum, once per window that picked it") {
  tg::Tape<double> tape;
  const T x(tg::Shape{1, 1, 3, 3}, {1, 2, 3, 4, 9, 5, 6, 7, 8});
  const V v = tape.variable(x);
  tg::sum(tg::max_pool2d(v, {2, 1})).backward();  // four overlapping windows, all hold the 9
  CHECK(v.grad() == T(tg::Shape{1, 1, 3, 3}, {0, 0, 0, 0, 4, 0, 0, 0, 0}));
}

TEST_CASE("gradcheck: conv2d on random geometries (stride, padding, rectangular, channels and batch > 1)") {
  tg::Rng rng(5);
  for (int trial = 0; trial < 10; ++trial) {
    const RandomGeometry g = random_geometry(rng, 2, trial % 4 == 3);
    CAPTURE(g.str());
    const std::size_t filters = 1 + rng.below(3);
    tg::Conv2dSettings s;
    s.stride = g.stride;
    s.padding = g.padding;
    s.allow_remainder = g.remainder;
    check([&](auto&, const Vs& in) { return tg::conv2d(in[0], in[1], in[2], s); },
          {kink_free({g.n, g.c, g.h, g.w}, rng), kink_free({filters, g.c, g.window.h, g.window.w}, rng),
           kink_free({filters}, rng)});
  }
}

TEST_CASE("gradcheck: max_pool2d and avg_pool2d, windows that overlap and that do not, with padding") {
  tg::Rng rng(6);
  for (int trial = 0; trial < 10; ++trial) {
    RandomGeometry g = random_geometry(rng, 1, trial % 4 == 3);
    if (trial < 3) g.stride = g.window;  // tiling windows
    if (trial < 3) g.h = g.window.h * (1 + rng.below(2)), g.w = g.window.w * (1 + rng.below(2)), g.padding = 0;
    CAPTURE(g.str());
    tg::Pool2dSettings s(g.window, g.stride, g.padding);
    s.allow_remainder = true;
    check([&](auto&, const Vs& in) { return tg::max_pool2d(in[0], s); }, {kink_free({g.n, g.c, g.h, g.w}, rng)});
    check([&](auto&, const Vs& in) { return tg::avg_pool2d(in[0], s); }, {kink_free({g.n, g.c, g.h, g.w}, rng)});
  }
}

TEST_CASE("conv2d and pooling: bad input names the op, the shapes and the setting") {
  tg::Tape<double> tape;
  const V x = tape.constant(T(tg::Shape{2, 3, 8, 8}));
  const V w = tape.constant(T(tg::Shape{4, 3, 3, 3}));
  const V b = tape.constant(T(tg::Shape{4}));
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const tg::ShapeError& e) {
      return std::string("ShapeError: ") + e.what();
    } catch (const tg::ValueError& e) {
      return std::string("ValueError: ") + e.what();
    }
    return std::string("no error");
  };
  const std::string not_4d = message([&] { tg::conv2d(tape.constant(T(tg::Shape{3, 8, 8})), w, b); });
  CHECK(not_4d == "ShapeError: conv2d: needs x of rank 4 (N, C, H, W), got (3, 8, 8)");
  CHECK(message([&] { tg::max_pool2d(tape.constant(T(tg::Shape{8, 8})), {2}); }) ==
        "ShapeError: max_pool2d: needs x of rank 4 (N, C, H, W), got (8, 8)");
  CHECK(message([&] { tg::conv2d(x, tape.constant(T(tg::Shape{4, 2, 3, 3})), b); }) ==
        "ShapeError: conv2d: x (2, 3, 8, 8) has 3 channels but the filters (4, 2, 3, 3) expect 2");
  CHECK(message([&] { tg::conv2d(x, w, tape.constant(T(tg::Shape{3}))); }) ==
        "ShapeError: conv2d: needs a bias of shape (4,) for filters (4, 3, 3, 3), got (3,)");
  CHECK(message([&] { tg::conv2d(x, tape.constant(T(tg::Shape{4, 3, 11, 3})), b, {1, 1}); }) ==
        "ShapeError: conv2d: the window's height 11 is larger than the padded input's 10 (x (2, 3, 8, 8), padding 1)");
  tg::Conv2dSettings zero_stride;
  zero_stride.stride = {1, 0};
  CHECK(message([&] { tg::conv2d(x, w, b, zero_stride); }) ==
        "ValueError: conv2d: the stride 1x0 must be positive (x (2, 3, 8, 8))");
  CHECK(message([&] { tg::max_pool2d(x, {0}); }) == "ValueError: max_pool2d: the window 0 must be positive (x (2, 3, 8, 8))");
  CHECK(message([&] { tg::avg_pool2d(x, {3}); }) ==
        "ValueError: avg_pool2d: x (2, 3, 8, 8) with window height 3, stride 3 and padding 0 leaves the last 2 input "
        "row(s) of each image unread ((8 + 2*0 - 3) % 3 = 2); pad the input, change the sizes, or set "
        "allow_remainder to drop them");
  CHECK(message([&] { tg::max_pool2d(x, {{2}, {2}, {2}}); }) ==
        "ValueError: max_pool2d: padding 2 is more than half the window 2 (x (2, 3, 8, 8))");
  tg::Conv2dSettings huge_pad;
  huge_pad.padding = std::numeric_limits<std::size_t>::max() / 2;
  CHECK(message([&] { tg::conv2d(x, w, b, huge_pad); }).rfind("ShapeError: conv2d: padding", 0) == 0);
  // with allow_remainder the last rows are dropped, as in PyTorch
  tg::Pool2dSettings floor(3);
  floor.allow_remainder = true;
  CHECK(tg::avg_pool2d(x, floor).shape() == tg::Shape{2, 3, 2, 2});
}

TEST_CASE("max_pool2d: the 2x2 fast path and the general path agree with a direct loop, values and gradients") {
  tg::Rng rng(12);
  const T x = T::randn({3, 2, 6, 8}, rng);
  for (const tg::Pool2dSettings& s : {tg::Pool2dSettings(2), tg::Pool2dSettings(3, 1), tg::Pool2dSettings(2, 2, 1)}) {
    CAPTURE(s.window.str());
    CAPTURE(s.stride.str());
    tg::Tape<double> tape;
    const V v = tape.variable(x);
    const V y = tg::max_pool2d(v, s);
    tg::sum(y).backward();
    T expected_grad(x.shape());
    const std::size_t oh = y.shape()[2], ow = y.shape()[3];
    for (std::size_t n = 0; n < 3; ++n)
      for (std::size_t c = 0; c < 2; ++c)
        for (std::size_t i = 0; i < oh; ++i)
          for (std::size_t j = 0; j < ow; ++j) {
            double best = -1e300;
            std::size_t bi = 0, bj = 0;
            for (std::size_t u = 0; u < s.window.h; ++u)
              for (std::size_t w = 0; w < s.window.w; ++w) {
                const long r = long(i * s.stride.h + u) - long(s.padding.h), q = long(j * s.stride.w + w) - long(s.padding.w);
                if (r < 0 || q < 0 || r >= 6 || q >= 8) continue;
                if (x(n, c, std::size_t(r), std::size_t(q)) > best) best = x(n, c, std::size_t(r), std::size_t(q)), bi = std::size_t(r), bj = std::size_t(q);
              }
            CHECK(y.value()(n, c, i, j) == best);
            expected_grad(n, c, bi, bj) += 1;
          }
    CHECK(v.grad() == expected_grad);
  }
}

TEST_CASE("max_pool2d: a NaN in a window wins, on the 2x2 fast path and the general path") {
  tg::Tape<double> tape;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const T x(tg::Shape{1, 1, 2, 4}, {1, 2, 3, nan, 9, nan, 5, 6});
  const T fast = tg::max_pool2d(tape.constant(x), {2}).value();
  CHECK(std::isnan(fast[0]));
  CHECK(std::isnan(fast[1]));
  const T general = tg::max_pool2d(tape.constant(x), {2, 1}).value();
  CHECK(general.shape() == tg::Shape{1, 1, 1, 3});
  CHECK(std::isnan(general[0]));
  CHECK(std::isnan(general[1]));
  CHECK(std::isnan(general[2]));
}
