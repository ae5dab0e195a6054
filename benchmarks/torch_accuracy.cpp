// tapegrad and LibTorch side by side: the same 784-100-10 ReLU network, the same initial weights, the same
// batches (batch 100, 5 epochs), each optimizer with the same hyperparameters, on Fashion-MNIST.
// Prints the test accuracy of both after every epoch and the difference at the end.
// Usage: torch_accuracy [DATA_DIR [EPOCHS]]
#include <torch/torch.h>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"
#include "torch_data.hpp"

namespace tg = tapegrad;


namespace {

struct TorchNet : torch::nn::Module {
  TorchNet() : fc1(register_module("fc1", torch::nn::Linear(784, 100))), fc2(register_module("fc2", torch::nn::Linear(100, 10))) {}
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1, fc2;
};

// tapegrad keeps W as (in, out); LibTorch's Linear keeps (out, in).
void copy_weights(tg::Sequential<float>& from, TorchNet& to) {
  const auto params = from.parameters();
  torch::NoGradGuard no_grad;
  const auto set = [](torch::Tensor& dst, const tg::Tensor<float>& src, bool transpose) {
    std::vector<int64_t> dims(src.shape().begin(), src.shape().end());
    auto t = torch::from_blob(const_cast<float*>(src.data()), dims, torch::kFloat32).clone();
    dst.copy_(transpose ? t.t() : t);
  };
  set(to.fc1->weight, params[0]->value, true);
  set(to.fc1->bias, params[1]->value, false);
  set(to.fc2->weight, params[2]->value, true);
  set(to.fc2->bias, params[3]->value, false);
}

double torch_accuracy(TorchNet& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return net.forward(x).argmax(1).eq(y).to(torch::kFloat64).mean().item<double>();
}

std::unique_ptr<torch::optim::Optimizer> torch_optimizer(const std::string& name, TorchNet& net) {
  if (name == "sgd") return std::make_unique<torch::optim::SGD>(net.parameters(), torch::optim::SGDOptions(0.1));
  if (name == "momentum")
    return std::make_unique<torch::optim::SGD>(net.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  return std::make_unique<torch::optim::Adagrad>(net.parameters(), torch::optim::AdagradOptions(0.01).eps(1e-7));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : tg::default_data_dir();
  const std::size_t epochs = argc > 2 ? std::stoul(argv[2]) : 5;
  torch::set_num_threads(1);
  tg::set_blas_threads(1);
  const tg::TrainTest data = tg::load_mnist(dir);
  const auto as_torch = [](const tg::Dataset& d) {
    return std::make_pair(bench::all_features(d), bench::all_labels(d));
  };
  const auto [train_x, train_y] = as_torch(data.train);
  const auto [test_x, test_y] = as_torch(data.test);
  const std::uint64_t seed = 0;
  const std::vector<std::pair<std::string, std::string>> optimizers{
      {"sgd", "sgd:lr=0.1"}, {"momentum", "momentum:lr=0.01,momentum=0.9"}, {"adagrad", "adagrad:lr=0.01"}};

  std::vector<std::vector<std::string>> summary;
  for (const auto& [name, spec] : optimizers) {
    tg::Rng rng(seed);
    auto net = tg::make_mlp<float>({{784, 100, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
    TorchNet torch_net;
    copy_weights(*net, torch_net);
    auto opt = tg::make_optimizer<float>(tg::OptimizerSpec::parse(spec), net->parameters());
    auto torch_opt = torch_optimizer(name, torch_net);
    tg::TrainerOptions options;
    options.epochs = 1;
    options.progress = tg::TrainerOptions::Progress::Quiet;
    options.evaluate_train = false;
    tg::Trainer<float> trainer(*net, *opt, options);
    tg::BatchSampler batches(data.train.rows, 100, true, seed);
    tg::Tensor<float> x;
    std::vector<std::size_t> y;
    double ours = 0, theirs = 0;
    fmt::print("{}\n", opt->describe());
    for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
      if (epoch > 1) batches.next_epoch();
      for (std::size_t b = 0; b < batches.batches(); ++b) {
        data.train.gather(batches.indices(b), batches.size(b), x, y);
        trainer.step(x, y);
        std::vector<int64_t> rows(batches.indices(b), batches.indices(b) + batches.size(b));
        const auto index = torch::tensor(rows, torch::kInt64);
        torch_opt->zero_grad();
        torch::nn::functional::cross_entropy(torch_net.forward(train_x.index_select(0, index)),
                                             train_y.index_select(0, index))
            .backward();
        torch_opt->step();
      }
      ours = trainer.accuracy(data.test);
      theirs = torch_accuracy(torch_net, test_x, test_y);
      fmt::print("  epoch {}: test accuracy tapegrad {:.2f}%  LibTorch {:.2f}%\n", epoch, 100 * ours, 100 * theirs);
    }
    summary.push_back({opt->describe(), fmt::format("{:.2f}%", 100 * ours), fmt::format("{:.2f}%", 100 * theirs),
                       fmt::format("{:+.2f}", 100 * (ours - theirs))});
  }
  fmt::print("\n| optimizer | tapegrad | LibTorch {} | difference (points) |\n|---|---|---|---|\n", TORCH_VERSION);
  for (const auto& r : summary) fmt::print("| {} | {} | {} | {} |\n", r[0], r[1], r[2], r[3]);
}
