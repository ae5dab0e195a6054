// ch05 train_neuralnet.py: the book's TwoLayerNet (784-50-10 ReLU, weights 0.01 * randn), SGD lr 0.1, batch 100,
// about 10,000 iterations (17 epochs), printing train and test accuracy each epoch as the book does.
// Usage: two_layer_net [DATA_DIR [EPOCHS]]   (default: Debian's Fashion-MNIST; any MNIST-format folder works)
#include <cstdlib>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) try {
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const std::size_t epochs = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 17;
  const tg::TrainTest data = tg::load_mnist(dir);
  fmt::print("{}: {} training and {} test images of {} pixels\n", dir, data.train.rows, data.test.rows,
             data.train.features);

  tg::Rng rng(42);
  auto net = tg::make_two_layer_net<float>(data.train.features, 50, 10, rng);
  auto sgd = tg::make_sgd<float>(net->parameters(), {/*lr=*/0.1});
  fmt::print("{}{}\n", net->description(), sgd->describe());

  tg::TrainerOptions options;
  options.epochs = epochs;
  options.batch_size = 100;
  options.seed = 42;
  tg::Trainer<float> trainer(*net, *sgd, options);
  const tg::History history = trainer.fit(data.train, &data.test);
  fmt::print("{} iterations; final train acc {:.4f}, test acc {:.4f}\n", history.loss.size(),
             history.epochs.back().train_accuracy, history.epochs.back().test_accuracy);
} catch (const tg::Error& e) {
  fmt::print(stderr, "two_layer_net: {}\n", e.what());
  return 1;
}
