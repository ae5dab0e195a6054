// An LSTM training step: tapegrad's tg::LSTM against LibTorch's nn::LSTM and the step's GEMMs timed alone, one
// thread, in one run. Batch 32, input 64, hidden 128, 35 time steps (time-first), the loss the mean squared error
// of every output against a fixed target, SGD lr 0.01.
// Usage: tapegrad_sequence_bench [--quick]   prints a markdown report to stdout
#include <unistd.h>

#include <torch/torch.h>

#include <ctime>

#include <fmt/format.h>

#include "alloc_counter.hpp"
#include "harness.hpp"
#include "report.hpp"
#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;
using bench::Stats;
using bench::dtype;
using bench::type_name;

namespace {

constexpr std::size_t kBatch = 32, kInput = 64, kHidden = 128, kSteps = 35, kGates = 4 * kHidden;

bench::Report report;

// tapegrad's step, on one tape reused step after step (as a training loop holds it)
template <class T>
struct TapegradLstm {
  TapegradLstm()
      : rng(0), lstm(kInput, kHidden, rng), sgd(tg::make_sgd<T>(lstm.parameters(), {0.01})),
        x(tg::Tensor<T>::randn({kSteps, kBatch, kInput}, rng)),
        target(tg::Tensor<T>::randn({kSteps, kBatch, kHidden}, rng)) {}
  void step() {
    tape.clear();
    sgd->zero_grad();
    tg::mse(lstm.run(tape, tape.constant_ref(x)).output, tape.constant_ref(target)).backward();
    sgd->step();
  }
  tg::Rng rng;
  tg::LSTM<T> lstm;
  std::unique_ptr<tg::Optimizer<T>> sgd;
  tg::Tensor<T> x, target;
  tg::Tape<T> tape;
};

template <class T>
struct TorchLstm {
  TorchLstm()
      : lstm(torch::nn::LSTMOptions(kInput, kHidden)), sgd(lstm->parameters(), torch::optim::SGDOptions(0.01)) {
    lstm->to(dtype<T>());
    x = torch::randn({int64_t(kSteps), int64_t(kBatch), int64_t(kInput)}, dtype<T>());
    target = torch::randn({int64_t(kSteps), int64_t(kBatch), int64_t(kHidden)}, dtype<T>());
  }
  void step() {
    sgd.zero_grad();
    torch::mse_loss(std::get<0>(lstm->forward(x)), target).backward();
    sgd.step();
  }
  torch::nn::LSTM lstm;
  torch::optim::SGD sgd;
  torch::Tensor x, target;
};

// The step's matrix products alone, per time step: forward x W_ih^T and h W_hh^T; backward dW_ih, dW_hh and dh
// (no dx: the input is data). The floor below which no LSTM built on these GEMMs can go.
template <class T>
struct LstmGemmFloor {
  LstmGemmFloor()
      : x(kBatch * kInput, T(0.5)), h(kBatch * kHidden, T(0.5)), w_ih(kGates * kInput, T(0.01)),
        w_hh(kGates * kHidden, T(0.01)), gates(kBatch * kGates), dw_ih(kGates * kInput), dw_hh(kGates * kHidden),
        dh(kBatch * kHidden) {}
  void run() {
    const int b = int(kBatch), in = int(kInput), hid = int(kHidden), g = int(kGates);
    for (std::size_t t = 0; t < kSteps; ++t) {
      bench::blas_gemm<T>(CblasNoTrans, CblasTrans, b, g, in, x.data(), in, w_ih.data(), in, T(0), gates.data(), g);
      bench::blas_gemm<T>(CblasNoTrans, CblasTrans, b, g, hid, h.data(), hid, w_hh.data(), hid, T(1), gates.data(),
                          g);
    }
    for (std::size_t t = 0; t < kSteps; ++t) {
      bench::blas_gemm<T>(CblasTrans, CblasNoTrans, g, in, b, gates.data(), g, x.data(), in, T(1), dw_ih.data(), in);
      bench::blas_gemm<T>(CblasTrans, CblasNoTrans, g, hid, b, gates.data(), g, h.data(), hid, T(1), dw_hh.data(),
                          hid);
      bench::blas_gemm<T>(CblasNoTrans, CblasNoTrans, b, hid, g, gates.data(), g, w_hh.data(), hid, T(0), dh.data(), hid);
    }
  }
  std::vector<T> x, h, w_ih, w_hh, gates, dw_ih, dw_hh, dh;
};

template <class T>
void lstm_rows(int reps) {
  TapegradLstm<T> ours;
  TorchLstm<T> theirs;
  LstmGemmFloor<T> floor;
  const std::vector<Stats> times =
      bench::measure_interleaved({[&] { ours.step(); }, [&] { theirs.step(); }, [&] { floor.run(); }}, 5, reps);
  const std::size_t before = bench::heap_allocations();
  for (int i = 0; i < 10; ++i) ours.step();
  const double allocations = double(bench::heap_allocations() - before) / 10;
  report.add(fmt::format("LSTM step {}, batch 32, input 64, hidden 128, 35 steps", type_name<T>()), "ms/step", 1e3,
             times[0], times[1],
             fmt::format("GEMM floor {:.2f} ms: tapegrad {:.2f}x, LibTorch {:.2f}x; tapegrad heap allocations per "
                         "step: {:g}",
                         times[2].median * 1e3, times[0].median / times[2].median, times[1].median / times[2].median,
                         allocations));
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  tg::set_blas_threads(1);
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  fmt::print(stderr, "LSTM steps\n");
  lstm_rows<float>(quick ? 10 : 60);
  lstm_rows<double>(quick ? 10 : 40);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("Measured {} on {} cores, OPENBLAS_CORETYPE={}, one thread everywhere; LibTorch {}; OpenBLAS {}.\n\n",
             date, sysconf(_SC_NPROCESSORS_ONLN), coretype ? coretype : "(unset)", TORCH_VERSION,
             openblas_get_config());
  report.print_table();
  return 0;
}
