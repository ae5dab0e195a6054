// tapegrad against LibTorch and the raw-BLAS floor, measured in one run (see benchmarks/RESULTS.md).
// Usage: tapegrad_bench [DATA_DIR]      prints RESULTS.md to stdout
//        tapegrad_bench --epochs-run {tapegrad|torch} DATA_DIR   (internal: a 5-epoch run, for peak memory)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <torch/torch.h>

#include <ctime>
#include <fstream>
#include <functional>

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

// ---- tape overhead: 1,000 elementwise ops, alternating add, mul, tanh
enum class Mode { ForwardBackward, ForwardOnly, NoGrad };
const char* mode_name(Mode m) {
  return m == Mode::ForwardBackward ? "fwd+bwd" : m == Mode::ForwardOnly ? "forward only (recording)" : "no-grad forward";
}
constexpr int kChain = 1000;

Stats chain_tapegrad(const tg::Shape& shape, Mode mode, int reps) {
  tg::Rng rng(1);
  const tg::Tensor<float> x0 = tg::Tensor<float>::randn(shape, rng), c0 = tg::Tensor<float>::randn(shape, rng);
  const tg::Tensor<float> ones = tg::Tensor<float>::ones(shape);
  tg::Tape<float> tape;
  return bench::measure(
      [&] {
        tape.clear();
        std::unique_ptr<tg::NoGradGuard> no_grad;
        if (mode == Mode::NoGrad) no_grad = std::make_unique<tg::NoGradGuard>();
        const tg::Var<float> x = tape.variable(x0);
        const tg::Var<float> c = tape.constant_ref(c0);
        tg::Var<float> y = x;
        for (int i = 0; i < kChain; ++i) y = i % 3 == 0 ? y + c : i % 3 == 1 ? y * c : tg::tanh(y);
        if (mode == Mode::ForwardBackward) y.backward(ones);
      },
      5, reps);
}

Stats chain_torch(const tg::Shape& shape, Mode mode, int reps) {
  std::vector<int64_t> dims(shape.begin(), shape.end());
  const auto x0 = torch::randn(dims), c = torch::randn(dims);
  return bench::measure(
      [&] {
        std::unique_ptr<torch::NoGradGuard> no_grad;
        if (mode == Mode::NoGrad) no_grad = std::make_unique<torch::NoGradGuard>();
        auto x = x0.detach().requires_grad_(mode != Mode::NoGrad);
        auto y = x;
        for (int i = 0; i < kChain; ++i) y = i % 3 == 0 ? y + c : i % 3 == 1 ? y * c : torch::tanh(y);
        if (mode == Mode::ForwardBackward) y.backward(torch::ones_like(y));
      },
      5, reps);
}

// ---- one MLP training step 784-100-10: Linear, ReLU, Linear, softmax cross-entropy on labels, SGD
template <class T>
bench::TapegradStep<T> mlp_step(const tg::Dataset& data, std::size_t batch) {
  tg::Rng rng(0);
  return bench::TapegradStep<T>(tg::make_mlp<T>({{784, 100, 10}, tg::Activation::ReLU, tg::Init::he()}, rng), data,
                                batch);
}

template <class T>
bench::TorchStep<T> torch_mlp(const torch::Tensor& all_x, const torch::Tensor& all_y, std::size_t batch) {
  return bench::TorchStep<T>(
      torch::nn::Sequential(torch::nn::Linear(784, 100), torch::nn::ReLU(), torch::nn::Linear(100, 10)),
      [](const torch::Tensor& rows) { return rows; }, all_x, all_y, batch);
}

// The step's five matrix products: x W1, h W2 (forward); h^T G, G W2^T, x^T dH (backward).
std::vector<bench::Product> mlp_products(std::size_t b) {
  const int n = int(b);
  return {{n, 100, 784}, {n, 10, 100}, {100, 10, n}, {n, 100, 10}, {784, 100, n}};
}

template <class T>
void mlp_rows(const tg::Dataset& data, const torch::Tensor& tx, const torch::Tensor& ty) {
  for (std::size_t batch : {1, 32, 100, 1000}) {
    const int reps = batch == 1 ? 3000 : batch == 32 ? 1500 : batch == 100 ? 600 : 60;
    bench::TapegradStep<T> ours = mlp_step<T>(data, batch);
    bench::TorchStep<T> theirs = torch_mlp<T>(tx, ty, batch);
    const Stats a = bench::measure([&] { ours.step(); }, 20, reps);
    const Stats b = bench::measure([&] { theirs.step(); }, 20, reps);
    bench::GemmFloor<T> gemms(mlp_products(batch));
    const Stats floor = bench::measure([&] { gemms.run(); }, 20, reps);
    const std::string name = fmt::format("MLP step {}, batch {}", type_name<T>(), batch);
    report.add(name, "µs/step", 1e6, a, b,
        fmt::format("{:.0f} vs {:.0f} samples/s; GEMM floor {:.1f} µs: tapegrad {:.2f}x, LibTorch {:.2f}x",
                    double(batch) / a.median, double(batch) / b.median, floor.median * 1e6,
                    a.median / floor.median, b.median / floor.median));
  }
}

// ---- one epoch: 600 steps of batch 100 with shuffling
Stats epoch_tapegrad(const tg::Dataset& data, int reps) {
  tg::Rng rng(0);
  auto net = tg::make_mlp<float>({{784, 100, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  auto sgd = tg::make_sgd<float>(net->parameters(), {0.01});
  tg::TrainerOptions o;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  tg::Trainer<float> trainer(*net, *sgd, o);
  tg::BatchSampler batches(data.rows, 100, true, 0);
  tg::Tensor<float> x;
  std::vector<std::size_t> y;
  return bench::measure(
      [&] {
        batches.next_epoch();
        for (std::size_t b = 0; b < batches.batches(); ++b) {
          data.gather(batches.indices(b), batches.size(b), x, y);
          trainer.step(x, y);
        }
      },
      1, reps);
}

Stats epoch_torch(const torch::Tensor& tx, const torch::Tensor& ty, int reps) {
  bench::TorchStep<float> m = torch_mlp<float>(tx, ty, 1);
  return bench::measure([&] { m.epoch(tx, ty); }, 1, reps);
}

// ---- gradcheck of a 784x100 Linear on a batch of 2, in double: full (every element) and fast (8 directions)
Stats gradcheck_tapegrad(bool fast, int reps, bool incremental = true) {
  tg::Rng rng(3);
  tg::Linear<double> layer(784, 100, tg::Init::he(), rng);
  const tg::Tensor<double> x = tg::Tensor<double>::randn({2, 784}, rng);
  tg::GradcheckOptions o;
  o.fast = fast;
  o.incremental = incremental;
  return bench::measure([&] { tg::gradcheck_module(layer, x, o); }, fast ? 1 : 0, reps);
}

// The same checks written with LibTorch ops (LibTorch's C++ API has no gradcheck): one backward of sum(v * f),
// then central differences of every element (or of 8 random directions) of W, b and x.
Stats gradcheck_torch(bool fast, int reps) {
  torch::manual_seed(3);
  torch::nn::Linear layer(784, 100);
  layer->to(torch::kFloat64);
  const auto x = torch::randn({2, 784}, torch::kFloat64).requires_grad_(true);
  const double eps = 1e-6;
  return bench::measure(
      [&] {
        const auto v = torch::randn({2, 100}, torch::kFloat64);
        layer->zero_grad();
        (layer->forward(x) * v).sum().backward();
        torch::NoGradGuard no_grad;
        const auto loss = [&] { return (layer->forward(x) * v).sum().item<double>(); };
        for (torch::Tensor t : {layer->weight, layer->bias, x}) {
          const auto analytic = t.grad().clone();
          auto flat = t.view({-1});
          if (!fast) {
            for (int64_t i = 0; i < flat.size(0); ++i) {
              const double saved = flat[i].item<double>();
              flat[i] = saved + eps;
              const double up = loss();
              flat[i] = saved - eps;
              const double down = loss();
              flat[i] = saved;
              volatile double numerical = (up - down) / (2 * eps);
              (void)numerical;
            }
          } else {
            const auto saved = t.clone();
            for (int k = 0; k < 8; ++k) {
              const auto u = torch::randn_like(t);
              volatile double projected = (u * analytic).sum().item<double>();
              (void)projected;
              t.copy_(saved + eps * u);
              const double up = loss();
              t.copy_(saved - eps * u);
              const double down = loss();
              t.copy_(saved);
              volatile double numerical = (up - down) / (2 * eps);
              (void)numerical;
            }
          }
        }
      },
      fast ? 1 : 0, reps);
}

// ---- Hessian-vector product of the 784-100-10 MLP loss (ReLU, softmax cross-entropy), batch 100, float64:
// the gradient recorded (create_graph), <g, v>, and its gradient
struct HvpProblem {
  explicit HvpProblem(const tg::Dataset& data) {
    tg::Rng rng(5);
    for (const tg::Shape& s : {tg::Shape{784, 100}, tg::Shape{100}, tg::Shape{100, 10}, tg::Shape{10}}) {
      tg::Tensor<double> initial = tg::Tensor<double>::randn(s, rng);
      for (double& e : initial) e *= 0.05;
      params.emplace_back("p", initial);
      v.push_back(tg::Tensor<double>::randn(s, rng));
    }
    std::vector<std::size_t> rows(100);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    data.gather(rows.data(), rows.size(), x, labels);
  }
  std::vector<tg::Parameter<double>> params;
  std::vector<tg::Tensor<double>> v;
  tg::Tensor<double> x;
  std::vector<std::size_t> labels;
};

Stats hvp_tapegrad(HvpProblem& p, int reps) {
  std::vector<tg::Parameter<double>*> params;
  for (auto& q : p.params) params.push_back(&q);
  const std::function<tg::Var<double>(tg::Tape<double>&)> loss = [&](tg::Tape<double>& tape) {
    const auto h = tg::relu(tg::affine(tape.constant_ref(p.x), tape.parameter(p.params[0]), tape.parameter(p.params[1])));
    return tg::softmax_cross_entropy(tg::affine(h, tape.parameter(p.params[2]), tape.parameter(p.params[3])), p.labels);
  };
  tg::Tape<double> tape;  // reused across products, as a loop of them would
  return bench::measure([&] { tg::hessian_vector_product(tape, loss, params, p.v); }, 5, reps);
}

Stats hvp_torch(const HvpProblem& p, int reps) {
  const auto as_torch = [](const tg::Tensor<double>& t) {
    std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
    return torch::from_blob(const_cast<double*>(t.data()), dims, torch::kFloat64).clone();
  };
  std::vector<torch::Tensor> params, v;
  for (std::size_t k = 0; k < p.params.size(); ++k) {
    params.push_back(as_torch(p.params[k].value).requires_grad_(true));
    v.push_back(as_torch(p.v[k]));
  }
  const torch::Tensor x = as_torch(p.x);
  std::vector<int64_t> label_values(p.labels.begin(), p.labels.end());
  const torch::Tensor y = torch::tensor(label_values, torch::kLong);
  return bench::measure(
      [&] {
        const auto h = torch::relu(torch::addmm(params[1], x, params[0]));
        const auto loss = torch::nn::functional::cross_entropy(torch::addmm(params[3], h, params[2]), y);
        const auto g = torch::autograd::grad({loss}, params, {}, true, true);
        torch::Tensor dot = (g[0] * v[0]).sum();
        for (std::size_t k = 1; k < g.size(); ++k) dot = dot + (g[k] * v[k]).sum();
        const auto hv = torch::autograd::grad({dot}, params);
      },
      5, reps);
}

// ---- memory
double allocations_per_step_tapegrad(const tg::Dataset& data) {
  bench::TapegradStep<float> m = mlp_step<float>(data, 100);
  for (int i = 0; i < 50; ++i) m.step();
  const std::size_t before = bench::heap_allocations();
  for (int i = 0; i < 200; ++i) m.step();
  return double(bench::heap_allocations() - before) / 200;
}

double allocations_per_step_torch(const torch::Tensor& tx, const torch::Tensor& ty) {
  bench::TorchStep<float> m = torch_mlp<float>(tx, ty, 100);
  for (int i = 0; i < 50; ++i) m.step();
  const std::size_t before = bench::heap_allocations();
  for (int i = 0; i < 200; ++i) m.step();
  return double(bench::heap_allocations() - before) / 200;
}

// Peak resident memory (MiB) of a child process running this binary with `mode` (--epochs-run: 5 epochs,
// --chain-run: a 1,000,000-op chain).
double peak_rss_mib(const char* self, const char* mode, const char* which, const std::string& argument) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, mode, which, argument.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return double(usage.ru_maxrss) / 1024.0;
}

int epochs_run(const std::string& which, const std::string& dir) {
  const tg::TrainTest data = tg::load_mnist(dir);
  if (which == "tapegrad") {
    epoch_tapegrad(data.train, 4);  // 1 warm-up + 4 = 5 epochs
  } else {
    epoch_torch(bench::all_features(data.train), bench::all_labels(data.train), 4);
  }
  return 0;
}

// A 1,000,000-op chain y = y + c on a one-element float tensor, recorded or under no-grad.
constexpr int kLongChain = 1000000;
int chain_run(const std::string& which, const std::string& mode) {
  const bool no_grad = mode.rfind("no-grad", 0) == 0;
  const int ops = mode.find("empty") != std::string::npos ? 0 : kLongChain;  // "...-empty": the baseline
  if (which == "tapegrad") {
    tg::Tape<float> tape;
    std::unique_ptr<tg::NoGradGuard> guard;
    if (no_grad) guard = std::make_unique<tg::NoGradGuard>();
    const tg::Var<float> c = tape.constant(tg::Tensor<float>{1.0f});
    tg::Var<float> y = tape.variable(tg::Tensor<float>{0.0f});
    for (int i = 0; i < ops; ++i) y = y + c;
    return y.item() == float(ops) ? 0 : 1;
  }
  std::unique_ptr<torch::NoGradGuard> guard;
  if (no_grad) guard = std::make_unique<torch::NoGradGuard>();
  const auto c = torch::ones({1});
  auto y = torch::zeros({1}).requires_grad_(!no_grad);
  for (int i = 0; i < ops; ++i) y = y + c;
  return y.item<float>() == float(ops) ? 0 : 1;
}

std::string read_first_line(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return line.substr(line.find(':') + 2);
  return "?";
}


}  // namespace

// The tape rows alone (ns/op, tapegrad and LibTorch), for before/after comparisons of the core.
int tape_only() {
  for (const tg::Shape& s : {tg::Shape{2, 3}, tg::Shape{64, 64}})
    for (Mode m : {Mode::ForwardBackward, Mode::ForwardOnly, Mode::NoGrad}) {
      const int reps = s[0] == 2 ? 400 : 60;
      const Stats ours = chain_tapegrad(s, m, reps), theirs = chain_torch(s, m, reps);
      fmt::print("| 1,000-op chain on {} float32, {} | {:.1f} [{:.1f}, {:.1f}] | {:.1f} |\n", s.str(), mode_name(m),
                 ours.median * 1e9 / kChain, ours.min * 1e9 / kChain, ours.max * 1e9 / kChain,
                 theirs.median * 1e9 / kChain);
    }
  return 0;
}

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  tg::set_blas_threads(1);
  if (argc == 4 && std::string(argv[1]) == "--epochs-run") return epochs_run(argv[2], argv[3]);
  if (argc == 4 && std::string(argv[1]) == "--chain-run") return chain_run(argv[2], argv[3]);
  if (argc == 2 && std::string(argv[1]) == "--tape-only") return tape_only();
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const tg::TrainTest data = tg::load_mnist(dir);
  const auto tx = bench::all_features(data.train);
  const auto ty = bench::all_labels(data.train);

  fmt::print(stderr, "tape overhead\n");
  for (const tg::Shape& s : {tg::Shape{2, 3}, tg::Shape{64, 64}})
    for (Mode m : {Mode::ForwardBackward, Mode::ForwardOnly, Mode::NoGrad}) {
      const int reps = s[0] == 2 ? 200 : 40;
      report.add(fmt::format("1,000-op chain on {} float32, {}", s.str(), mode_name(m)), "ns/op", 1e9 / kChain,
          chain_tapegrad(s, m, reps), chain_torch(s, m, reps));
    }
  fmt::print(stderr, "MLP steps\n");
  mlp_rows<float>(data.train, tx, ty);
  mlp_rows<double>(data.train, tx, ty);
  fmt::print(stderr, "epoch\n");
  report.add("Fashion-MNIST epoch, 600 steps of batch 100, shuffled, float32", "s", 1, epoch_tapegrad(data.train, 5),
      epoch_torch(tx, ty, 5));
  fmt::print(stderr, "gradcheck\n");
  const Stats full_torch = gradcheck_torch(false, 3);
  report.add("gradcheck of Linear 784x100 (batch 2, float64), full", "s", 1, gradcheck_tapegrad(false, 3), full_torch,
      "80,068 elements, 2 evaluations each; tapegrad recomputes only what each perturbation changes");
  report.add("gradcheck of Linear 784x100 (batch 2, float64), full, running f for every perturbation", "s", 1,
      gradcheck_tapegrad(false, 3, false), full_torch, "GradcheckOptions::incremental = false: the same algorithm");
  report.add("gradcheck of Linear 784x100 (batch 2, float64), fast", "ms", 1e3, gradcheck_tapegrad(true, 20),
      gradcheck_torch(true, 20), "8 directions per tensor (tapegrad: uniform coordinates; LibTorch: randn)");
  fmt::print(stderr, "Hessian-vector product\n");
  {
    HvpProblem hvp(data.train);
    report.add("Hessian-vector product of the 784-100-10 MLP loss (ReLU, batch 100, float64)", "ms", 1e3,
        hvp_tapegrad(hvp, 200), hvp_torch(hvp, 200), "double backward: gradient with create_graph, then grad of <g, v>");
  }
  fmt::print(stderr, "memory\n");
  const double allocs_ours = allocations_per_step_tapegrad(data.train);
  const double allocs_theirs = allocations_per_step_torch(tx, ty);
  const double rss_ours = peak_rss_mib(argv[0], "--epochs-run", "tapegrad", dir);
  const double rss_theirs = peak_rss_mib(argv[0], "--epochs-run", "torch", dir);
  // what the chain adds to a process: its peak minus the peak of the same run with 0 ops (the libraries loaded)
  double chain_rss[2][2];  // [tapegrad, torch][no-grad, recorded]
  for (int lib = 0; lib < 2; ++lib)
    for (int mode = 0; mode < 2; ++mode) {
      const char* which = lib == 0 ? "tapegrad" : "torch";
      const std::string name = mode == 0 ? "no-grad" : "recorded";
      chain_rss[lib][mode] = peak_rss_mib(argv[0], "--chain-run", which, name) -
                             peak_rss_mib(argv[0], "--chain-run", which, name + "-empty");
    }

  // ---- RESULTS.md
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  fmt::print("# Benchmark results\n\n");
  fmt::print("Measured {} on {} ({} cores), OPENBLAS_CORETYPE={}, one thread everywhere "
             "(OpenBLAS, LibTorch intra- and inter-op).\n",
             date, read_first_line("/proc/cpuinfo", "model name"), sysconf(_SC_NPROCESSORS_ONLN), coretype ? coretype : "(unset)");
  fmt::print("Libraries: tapegrad {}, LibTorch {}, OpenBLAS {}, fmt {}.\n", "0.1.0", TORCH_VERSION, openblas_get_config(),
             FMT_VERSION);
  fmt::print("Command: `scripts/bench.sh` (builds with `-DTAPEGRAD_BUILD_BENCHMARKS=ON`, runs `build-bench/benchmarks/tapegrad_bench`).\n\n");
  fmt::print("Each figure is the median of many timed repetitions after a warm-up, [min, max] beside it. "
             "Ratio = tapegrad / LibTorch (below 1: tapegrad is faster).\n\n");
  report.print_table();
  fmt::print("| heap allocations per training step (batch 100, float32, steady state) | count | {:.1f} | {:.1f} | {:.2f} | "
             "counted by interposing malloc in the benchmark binary |\n",
             allocs_ours, allocs_theirs, allocs_ours / allocs_theirs);
  fmt::print("| peak resident memory of a 5-epoch run (batch 100, float32) | MiB | {:.0f} | {:.0f} | {:.2f} | "
             "child process each, data loaded once |\n",
             rss_ours, rss_theirs, rss_ours / rss_theirs);
  for (int mode = 0; mode < 2; ++mode)
    fmt::print("| memory a 1,000,000-op chain y = y + c on one float adds, {} | MiB | {:.1f} | {:.1f} | {} | {} |\n",
               mode == 0 ? "no-grad" : "recorded", chain_rss[0][mode], chain_rss[1][mode],
               chain_rss[1][mode] > 0.5 ? fmt::format("{:.2f}", chain_rss[0][mode] / chain_rss[1][mode]) : "-",
               mode == 0 ? std::string("peak resident memory minus a 0-op run's, child process each")
                         : fmt::format("{:.0f} vs {:.0f} bytes per recorded op",
                                       chain_rss[0][1] * 1048576.0 / kLongChain,
                                       chain_rss[1][1] * 1048576.0 / kLongChain));
  return 0;
}
