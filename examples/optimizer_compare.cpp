// The optimizer comparison of `tapegrad compare`, through the library in a page of code: one network, the same
// initial weights and the same batches under SGD, Momentum and AdaGrad (the book's defaults, lr 0.01), on
// Fashion-MNIST (or any MNIST-format folder). Prints a table: the mean loss of the last 100 steps, the test
// accuracy, and the first step whose 100-step mean loss is below 0.6.
// Usage: optimizer_compare [DATA_DIR [EPOCHS]]
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

// The mean of each window of `width` steps ending at each step (fewer at the start).
std::vector<double> running_mean(const std::vector<double>& values, std::size_t width) {
  std::vector<double> out(values.size());
  double total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    total += values[i];
    if (i >= width) total -= values[i - width];
    out[i] = total / double(std::min(i + 1, width));
  }
  return out;
}

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2;
  tg::set_blas_threads(1);
  const tg::TrainTest data = tg::load_mnist(dir);

  fmt::print("{:<34} {:>10} {:>10} {:>22}\n", "optimizer", "last loss", "test acc", "step: mean < 0.6");
  for (const char* name : {"sgd", "momentum", "adagrad"}) {
    tg::Rng rng(0);  // same initial weights for each optimizer
    auto net = tg::make_mlp<float>({{784, 100, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
    auto optimizer = tg::make_optimizer<float>(name, net->parameters());
    tg::TrainerOptions options;
    options.epochs = epochs;
    options.seed = 0;  // same batches
    options.evaluate_train = false;
    options.progress = tg::TrainerOptions::Progress::Quiet;
    tg::Trainer<float> trainer(*net, *optimizer, options);
    const tg::History history = trainer.fit(data.train, &data.test);
    const std::vector<double> mean = running_mean(history.loss, 100);
    std::size_t first = 0;
    while (first < mean.size() && mean[first] >= 0.6) ++first;
    fmt::print("{:<34} {:>10.4f} {:>9.2f}% {:>22}\n", optimizer->describe(), mean.back(),
               100 * history.epochs.back().test_accuracy,
               first < mean.size() ? fmt::format("{}", first + 1) : std::string("never"));
  }
} catch (const tg::Error& e) {
  fmt::print(stderr, "optimizer_compare: {}\n", e.what());
  return 1;
}
