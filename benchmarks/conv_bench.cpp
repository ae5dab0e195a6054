// Convolutional networks: tapegrad against LibTorch and the GEMM floor, measured in one run, one thread.
// Usage: tapegrad_conv_bench [DATA_DIR] [--quick]   prints a markdown report to stdout
#include <unistd.h>

#include <torch/torch.h>

#include <ctime>

#include <fmt/format.h>

#include "alloc_counter.hpp"
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

template <class T>
void gemm(int ta, int tb, int m, int n, int k, const T* a, const T* b, T beta, T* c) {
  bench::blas_gemm<T>(ta, tb, m, n, k, a, ta == CblasTrans ? m : k, b, tb == CblasTrans ? k : n, beta, c, n);
}

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

// The GEMMs of tapegrad's SimpleConvNet step at batch b, timed alone: conv forward (FN, N*OH*OW) = W col^T and
// dW = G col; Linear 4320-100 forward, dW and dx; Linear 100-10 forward, dW and dx.
template <class T>
struct ConvNetGemmFloor {
  explicit ConvNetGemmFloor(std::size_t b)
      : n(int(b)), positions(n * 576), col(std::size_t(positions) * 25, T(0.5)), w(30 * 25, T(0.01)),
        planes(std::size_t(positions) * 30), dw(30 * 25), h1(b * 4320, T(0.5)), w1(4320 * 100, T(0.01)),
        z1(b * 100), dw1(4320 * 100), dh1(b * 4320), w2(100 * 10, T(0.01)), z2(b * 10), dw2(100 * 10), dz1(b * 100) {}
  void run() {
    gemm<T>(CblasNoTrans, CblasTrans, 30, positions, 25, w.data(), col.data(), T(0), planes.data());
    gemm<T>(CblasNoTrans, CblasNoTrans, n, 100, 4320, h1.data(), w1.data(), T(0), z1.data());
    gemm<T>(CblasNoTrans, CblasNoTrans, n, 10, 100, z1.data(), w2.data(), T(0), z2.data());
    gemm<T>(CblasTrans, CblasNoTrans, 100, 10, n, z1.data(), z2.data(), T(1), dw2.data());
    gemm<T>(CblasNoTrans, CblasTrans, n, 100, 10, z2.data(), w2.data(), T(0), dz1.data());
    gemm<T>(CblasTrans, CblasNoTrans, 4320, 100, n, h1.data(), dz1.data(), T(1), dw1.data());
    gemm<T>(CblasNoTrans, CblasTrans, n, 4320, 100, dz1.data(), w1.data(), T(0), dh1.data());
    gemm<T>(CblasNoTrans, CblasNoTrans, 30, 25, positions, planes.data(), col.data(), T(1), dw.data());
  }
  int n, positions;
  std::vector<T> col, w, planes, dw, h1, w1, z1, dw1, dh1, w2, z2, dw2, dz1;
};

// The step, LibTorch's step and the floor timed in turn, round by round (the machine is shared and noisy).
template <class T>
void conv_net_step_rows(const tg::Dataset& data, const torch::Tensor& tx, const torch::Tensor& ty, int reps) {
  bench::TapegradStep<T> ours = conv_net_step<T>(data, 100);
  bench::TorchStep<T> theirs = torch_conv_net<T>(tx, ty, 100);
  ConvNetGemmFloor<T> gemms(100);
  const std::vector<Stats> times =
      bench::measure_interleaved({[&] { ours.step(); }, [&] { theirs.step(); }, [&] { gemms.run(); }}, 5, reps);
  const Stats &a = times[0], &b = times[1], &floor = times[2];
  const std::size_t before = bench::heap_allocations();
  for (int i = 0; i < 10; ++i) ours.step();
  const double allocations = double(bench::heap_allocations() - before) / 10;
  report.add(fmt::format("SimpleConvNet step {}, batch 100", type_name<T>()), "ms/step", 1e3, a, b,
      fmt::format("GEMM floor {:.2f} ms: tapegrad {:.2f}x, LibTorch {:.2f}x; tapegrad heap allocations per step: {:g}",
                  floor.median * 1e3, a.median / floor.median, b.median / floor.median, allocations));
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
  report.add(fmt::format("{} {}", cc.str(), type_name<T>()), "ms", 1e3, ours, theirs, "forward + backward");
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
  fmt::print(stderr, "conv2d alone\n");
  for (const ConvCase& cc : {ConvCase{100, 1, 28, 28, 30, 5, 0, false}, ConvCase{8, 64, 32, 32, 64, 3, 1, true}}) {
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
  fmt::print("Measured {} on {} cores, OPENBLAS_CORETYPE={}, one thread everywhere; LibTorch {}; OpenBLAS {}.\n\n", date,
             sysconf(_SC_NPROCESSORS_ONLN), coretype ? coretype : "(unset)", TORCH_VERSION, openblas_get_config());
  report.print_table();
  return 0;
}
