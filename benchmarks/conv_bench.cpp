// Convolutional networks: tapegrad against LibTorch and the GEMM floor, measured in one run, one thread.
// Usage: tapegrad_conv_bench [DATA_DIR] [--quick]   prints a markdown report to stdout
#include <unistd.h>

#include <torch/torch.h>

#include <ctime>

#include <fmt/format.h>

#include "alloc_counter.hpp"
#include "gemm_floor.hpp"
#include "harness.hpp"
#include "report.hpp"
#include "tapegrad/tapegrad.hpp"
#include "torch_data.hpp"


namespace tg = tapegrad;
using bench::Stats;

namespace {

using bench::dtype;
using bench::type_name;

bench::Report report;

// ---- SimpleConvNet: conv 30 5x5 -> max pool 2 -> ReLU -> Linear 100 -> ReLU -> Linear 10, SGD lr 0.01 (the book
// pools after the ReLU; the two commute exactly, tapegrad's kSimpleConvNet pools first, and LibTorch's twin too)

template <class T>
bench::TapegradStep<T> conv_net_step(const tg::Dataset& data, std::size_t batch) {
  tg::Rng rng(0);
  return bench::TapegradStep<T>(tg::make_simple_conv_net<T>(data.sample_shape(), data.classes, rng, tg::Init::he()),
                                data, batch);
}

template <class T>
bench::TorchStep<T> torch_conv_net(const torch::Tensor& all_x, const torch::Tensor& all_y, std::size_t batch) {
  return bench::TorchStep<T>(
      torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 30, 5)),
                            torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)), torch::nn::ReLU(), torch::nn::Flatten(),
                            torch::nn::Linear(4320, 100), torch::nn::ReLU(), torch::nn::Linear(100, 10)),
      [](const torch::Tensor& rows) { return rows.reshape({rows.size(0), 1, 28, 28}); }, all_x, all_y, batch);
}

// The GEMMs of tapegrad's SimpleConvNet step at batch b: conv forward (FN, N*OH*OW) = W col^T and dW = G col;
// Linear 4320-100 forward, dW and dx; Linear 100-10 forward, dW and dx.
std::vector<bench::Product> simple_conv_net_products(int n) {
  const int positions = n * 576;
  return {{30, positions, 25}, {n, 100, 4320}, {n, 10, 100}, {100, 10, n},
          {n, 100, 10},        {4320, 100, n}, {n, 4320, 100}, {30, 25, positions}};
}

// A convolution's three products over a batch: forward (F, N*P) = W (F, C*K*K) col^T, dW = G col, and dx's
// dcol (N*P, C*K*K) = G^T W when the input needs a gradient.
void add_conv_products(std::vector<bench::Product>& products, int n, int c, int out_plane, int filters, int k,
                       bool input_grad) {
  const int positions = n * out_plane, width = c * k * k;
  products.push_back({filters, positions, width});
  products.push_back({filters, width, positions});
  if (input_grad) products.push_back({positions, width, filters});
}

// A Linear layer's: forward, dW, and dx when wanted.
void add_linear_products(std::vector<bench::Product>& products, int n, int in, int out, bool input_grad) {
  products.push_back({n, out, in});
  products.push_back({in, out, n});
  if (input_grad) products.push_back({n, in, out});
}

// The step, LibTorch's step and the floor timed in turn, round by round (the machine is shared and noisy).
template <class T>
void step_rows(const std::string& name, bench::TapegradStep<T>& ours, bench::TorchStep<T>& theirs,
               const std::vector<bench::Product>& products, int reps) {
  bench::GemmFloor<T> gemms(products);
  const std::vector<Stats> times =
      bench::measure_interleaved({[&] { ours.step(); }, [&] { theirs.step(); }, [&] { gemms.run(); }}, 5, reps);
  const Stats &a = times[0], &b = times[1], &floor = times[2];
  const std::size_t before = bench::heap_allocations();
  for (int i = 0; i < 10; ++i) ours.step();
  const double allocations = double(bench::heap_allocations() - before) / 10;
  report.add(fmt::format("{} step {}, batch 100", name, type_name<T>()), "ms/step", 1e3, a, b,
      fmt::format("GEMM floor {:.2f} ms: tapegrad {:.2f}x, LibTorch {:.2f}x; tapegrad heap allocations per step: {:g}",
                  floor.median * 1e3, a.median / floor.median, b.median / floor.median, allocations));
}

template <class T>
void conv_net_step_rows(const tg::Dataset& data, const torch::Tensor& tx, const torch::Tensor& ty, int reps) {
  bench::TapegradStep<T> ours = conv_net_step<T>(data, 100);
  bench::TorchStep<T> theirs = torch_conv_net<T>(tx, ty, 100);
  step_rows<T>("SimpleConvNet", ours, theirs, simple_conv_net_products(100), reps);
}

// ---- the book's DeepConvNet (ch8/deep_convnet.py), 123,552 parameters, and its LibTorch twin

template <class T>
void deep_conv_net_step_rows(const tg::Dataset& data, const torch::Tensor& tx, const torch::Tensor& ty, int reps) {
  tg::Rng rng(0);
  tg::NetSpec spec;
  spec.sample = data.sample_shape();
  spec.classes = data.classes;
  spec.layers = "deep_conv";
  spec.init = tg::Init::he();
  bench::TapegradStep<T> ours(tg::make_network<T>(spec, rng), data, 100);
  namespace nn = torch::nn;
  const auto conv = [](int64_t in, int64_t out, int64_t pad) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(pad));
  };
  bench::TorchStep<T> theirs(
      nn::Sequential(conv(1, 16, 1), nn::ReLU(), conv(16, 16, 1), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                     conv(16, 32, 1), nn::ReLU(), conv(32, 32, 2), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                     conv(32, 64, 1), nn::ReLU(), conv(64, 64, 1), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                     nn::Flatten(), nn::Linear(1024, 50), nn::ReLU(), nn::Dropout(0.5), nn::Linear(50, 10)),
      [](const torch::Tensor& rows) { return rows.reshape({rows.size(0), 1, 28, 28}); }, tx, ty, 100);
  std::vector<bench::Product> products;
  add_conv_products(products, 100, 1, 28 * 28, 16, 3, false);
  add_conv_products(products, 100, 16, 28 * 28, 16, 3, true);
  add_conv_products(products, 100, 16, 14 * 14, 32, 3, true);
  add_conv_products(products, 100, 32, 16 * 16, 32, 3, true);
  add_conv_products(products, 100, 32, 8 * 8, 64, 3, true);
  add_conv_products(products, 100, 64, 8 * 8, 64, 3, true);
  add_linear_products(products, 100, 1024, 50, true);
  add_linear_products(products, 100, 50, 10, true);
  step_rows<T>("DeepConvNet", ours, theirs, products, reps);
}

// ---- conv2d forward + backward alone (sum of the output as the loss)

struct ConvCase {
  std::size_t n, c, h, w, filters, k, pad;
  bool input_grad;  // a first layer needs no dx
  std::string str() const {
    return fmt::format("conv2d {}x{}x{}x{}, {} filters {}x{}, pad {}{}", n, c, h, w, filters, k, k, pad,
                       input_grad ? ", with dx" : ", no dx");
  }
};

template <class T>
void conv_rows(const ConvCase& cc, int reps) {
  tg::Rng rng(1);
  const tg::Tensor<T> x = tg::Tensor<T>::randn({cc.n, cc.c, cc.h, cc.w}, rng);
  tg::Parameter<T> w("W", tg::Tensor<T>::randn({cc.filters, cc.c, cc.k, cc.k}, rng, T(0.1)));
  tg::Parameter<T> b("b", tg::Tensor<T>::zeros({cc.filters}));
  tg::Conv2dSettings settings;
  settings.padding = cc.pad;
  tg::Tape<T> tape;
  const Stats ours = bench::measure(
      [&] {
        tape.clear();
        w.zero_grad();
        b.zero_grad();
        const tg::Var<T> input = cc.input_grad ? tape.variable(x) : tape.constant_ref(x);
        tg::sum(tg::conv2d(input, tape.parameter(w), tape.parameter(b), settings)).backward();
      },
      3, reps);
  torch::Tensor tx = torch::randn({int64_t(cc.n), int64_t(cc.c), int64_t(cc.h), int64_t(cc.w)}, dtype<T>());
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(int64_t(cc.c), int64_t(cc.filters), int64_t(cc.k)).padding(int64_t(cc.pad)));
  conv->to(dtype<T>());
  tx.set_requires_grad(cc.input_grad);
  const Stats theirs = bench::measure(
      [&] {
        conv->zero_grad();
        if (cc.input_grad && tx.grad().defined()) tx.mutable_grad().zero_();
        conv->forward(tx).sum().backward();
      },
      3, reps);
  std::vector<bench::Product> products;
  const std::size_t out = (cc.h + 2 * cc.pad - cc.k + 1) * (cc.w + 2 * cc.pad - cc.k + 1);
  add_conv_products(products, int(cc.n), int(cc.c), int(out), int(cc.filters), int(cc.k), cc.input_grad);
  bench::GemmFloor<T> gemms(products);
  const Stats floor = bench::measure([&] { gemms.run(); }, 3, reps);
  report.add(fmt::format("{} {}", cc.str(), type_name<T>()), "ms", 1e3, ours, theirs,
             fmt::format("forward + backward; GEMM floor {:.2f} ms: tapegrad {:.2f}x, LibTorch {:.2f}x",
                         floor.median * 1e3, ours.median / floor.median, theirs.median / floor.median));
}

// ---- one Fashion-MNIST epoch of SimpleConvNet: 600 steps of batch 100, shuffled, float32

Stats epoch_tapegrad(const tg::Dataset& data, int reps) {
  bench::TapegradStep<float> m = conv_net_step<float>(data, 1);
  tg::BatchSampler batches(data.rows, 100, true, 0);
  return bench::measure(
      [&] {
        batches.next_epoch();
        for (std::size_t i = 0; i < batches.batches(); ++i) {
          data.gather(batches.indices(i), batches.size(i), m.x, m.labels);
          m.step();
        }
      },
      0, reps);
}

Stats epoch_torch(const torch::Tensor& tx, const torch::Tensor& ty, int reps) {
  bench::TorchStep<float> m = torch_conv_net<float>(tx, ty, 1);
  return bench::measure([&] { m.epoch(tx, ty); }, 0, reps);
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  tg::set_blas_threads(1);
  std::string dir = tg::default_data_dir();
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") quick = true;
    else dir = argv[i];
  }
  const tg::TrainTest data = tg::load_mnist(dir);
  const auto tx = bench::all_features(data.train);
  const auto ty = bench::all_labels(data.train);

  fmt::print(stderr, "SimpleConvNet steps\n");
  conv_net_step_rows<float>(data.train, tx, ty, quick ? 10 : 40);
  conv_net_step_rows<double>(data.train, tx, ty, quick ? 5 : 20);
  fmt::print(stderr, "DeepConvNet steps\n");
  deep_conv_net_step_rows<float>(data.train, tx, ty, quick ? 5 : 20);
  deep_conv_net_step_rows<double>(data.train, tx, ty, quick ? 3 : 10);
  fmt::print(stderr, "conv2d alone\n");
  // SimpleConvNet's layer, DeepConvNet's 3x3 layers at 16, 32 and 64 channels (each with and without dx), and a
  // wider 64-channel layer
  std::vector<ConvCase> cases{{100, 1, 28, 28, 30, 5, 0, false}};
  for (const ConvCase& deep : {ConvCase{100, 16, 28, 28, 16, 3, 1, true}, ConvCase{100, 32, 14, 14, 32, 3, 1, true},
                               ConvCase{100, 64, 8, 8, 64, 3, 1, true}})
    for (bool dx : {false, true}) {
      cases.push_back(deep);
      cases.back().input_grad = dx;
    }
  cases.push_back({8, 64, 32, 32, 64, 3, 1, true});
  for (const ConvCase& cc : cases) {
    conv_rows<float>(cc, quick ? 5 : 20);
    conv_rows<double>(cc, quick ? 5 : 20);
  }
  if (!quick) {
    fmt::print(stderr, "epoch\n");
    report.add("Fashion-MNIST epoch of SimpleConvNet, 600 steps of batch 100, shuffled, float32", "s", 1,
        epoch_tapegrad(data.train, 2), epoch_torch(tx, ty, 2));
  }

  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("Measured {} on {} cores, OPENBLAS_CORETYPE={}, one thread everywhere; LibTorch {} (oneDNN convolutions: "
             "{}); OpenBLAS {}.\n\n",
             date, sysconf(_SC_NPROCESSORS_ONLN), coretype ? coretype : "(unset)", TORCH_VERSION,
             at::hasMKLDNN() ? "yes" : "no", openblas_get_config());
  report.print_table();
  return 0;
}
