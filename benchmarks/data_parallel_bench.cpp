// Data-parallel training steps on Open MPI. Run as `mpirun -np N data_parallel_bench [DATA_DIR]`: for the
// 784-100-10 MLP and SimpleConvNet (float32, a batch of 100 Fashion-MNIST images, SGD), process 0 first times
// one process's step on the whole batch (the others wait), then every process times the data-parallel step on
// its 1/N of the batch, with the allreduce's part of it timed apart. Prints a Markdown table.
#include <fmt/format.h>

#include <numeric>

#include "harness.hpp"
#include "tapegrad/distributed/mpi.hpp"
#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

namespace {

// Forwards to MPI and keeps the time spent in allreduce.
struct TimedCollective final : tg::Collective {
  explicit TimedCollective(tg::MpiCollective& mpi) : mpi(mpi) {}
  std::size_t rank() const override { return mpi.rank(); }
  std::size_t size() const override { return mpi.size(); }
  void allreduce_sum(std::vector<float>& v) override { timed([&] { mpi.allreduce_sum(v); }, v.size() * sizeof(float)); }
  void allreduce_sum(std::vector<double>& v) override { timed([&] { mpi.allreduce_sum(v); }, v.size() * sizeof(double)); }
  void broadcast(std::vector<float>& v) override { mpi.broadcast(v); }
  void broadcast(std::vector<double>& v) override { mpi.broadcast(v); }
  template <class F>
  void timed(F&& f, std::size_t bytes_reduced) {
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bytes = bytes_reduced;
  }
  void wait_for_all() {
    std::vector<double> nothing{0};
    mpi.allreduce_sum(nothing);
  }
  tg::MpiCollective& mpi;
  double seconds = 0;
  std::size_t bytes = 0;
};

struct Step {
  Step(const tg::NetSpec& spec, const tg::Dataset& data, std::size_t begin, std::size_t rows, tg::Collective* collective)
      : rng(1), net(tg::make_network<float>(spec, rng)), sgd(tg::make_sgd<float>(net->parameters(), {0.01})) {
    tg::TrainerOptions o;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    o.collective = collective;
    trainer = std::make_unique<tg::Trainer<float>>(*net, *sgd, o);
    std::vector<std::size_t> index(rows);
    std::iota(index.begin(), index.end(), begin);
    data.gather(index.data(), rows, x, labels);
  }
  tg::Rng rng;
  std::unique_ptr<tg::Sequential<float>> net;
  std::unique_ptr<tg::Optimizer<float>> sgd;
  std::unique_ptr<tg::Trainer<float>> trainer;
  tg::Tensor<float> x;
  std::vector<std::size_t> labels;
};

}  // namespace

int main(int argc, char** argv) {
  tg::MpiCollective mpi(argc, argv);
  TimedCollective timed(mpi);
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const tg::TrainTest data = tg::load_mnist(dir);
  const std::size_t batch = 100, processes = mpi.size(), rank = mpi.rank();
  if (rank == 0) {
    fmt::print("| model | processes | rows each | 1 process, ms/step | {} processes, ms/step | speed-up | scaling "
               "efficiency | allreduce, ms/step | bytes reduced/step |\n",
               processes);
    fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  }
  for (const char* layers : {"100", "simple_conv"}) {
    tg::NetSpec spec;
    spec.sample = data.train.sample_shape();
    spec.classes = data.train.classes;
    spec.layers = layers;
    const bool conv = std::string(layers) == "simple_conv";
    const int reps = conv ? 30 : 300;
    bench::Stats alone;
    if (rank == 0) {
      Step one(spec, data.train, 0, batch, nullptr);
      alone = bench::measure([&] { one.trainer->step(one.x, one.labels); }, 5, reps);
    }
    timed.wait_for_all();
    const std::size_t begin = batch * rank / processes, rows = batch * (rank + 1) / processes - begin;
    Step mine(spec, data.train, begin, rows, &timed);
    const double share = double(rows) / double(batch);
    for (int i = 0; i < 5; ++i) mine.trainer->step(mine.x, mine.labels, share);
    timed.wait_for_all();
    timed.seconds = 0;
    const bench::Stats together = bench::measure([&] { mine.trainer->step(mine.x, mine.labels, share); }, 0, reps);
    const double allreduce = timed.seconds / reps;
    if (rank == 0) {
      const double speedup = alone.median / together.median;
      fmt::print("| {} | {} | {} | {:.3f} | {:.3f} (min {:.3f}, max {:.3f}) | {:.2f}x | {:.0f}% | {:.3f} | {} |\n",
                 conv ? "SimpleConvNet" : "784-100-10 MLP", processes, rows, alone.median * 1e3, together.median * 1e3,
                 together.min * 1e3, together.max * 1e3, speedup, 100 * speedup / double(processes), allreduce * 1e3,
                 timed.bytes);
    }
  }
  return 0;
}
