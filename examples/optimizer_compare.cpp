// The optimizer comparison of `tapegrad compare`, through the library in a page of code: one network, the same
// initial weights and the same batches under SGD, Momentum and AdaGrad (the book's defaults, lr 0.01), on
// Fashion-MNIST (or any MNIST-format folder). Prints a table; the loss curves are smoothed the book's way by the
// support code the program and the tests share (src/support/curves.hpp).
// Usage: optimizer_compare [DATA_DIR [EPOCHS]]
#include <cstdlib>

#include <fmt/format.h>

#include "support/curves.hpp"
#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2;
  tg::set_blas_threads(1);
  const tg::TrainTest data = tg::load_mnist(dir);

  fmt::print("{:<34} {:>10} {:>10} {:>22}\n", "optimizer", "last loss", "test acc", "iter: smoothed < 0.6");
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
    const std::vector<double> smooth = tg::support::smooth_curve(history.loss);
    fmt::print("{:<34} {:>10.4f} {:>9.2f}% {:>22}\n", optimizer->describe(), smooth.back(),
               100 * history.epochs.back().test_accuracy, tg::support::first_below(smooth, 0.6) + 1);
  }
} catch (const tg::Error& e) {
  fmt::print(stderr, "optimizer_compare: {}\n", e.what());
  return 1;
}
