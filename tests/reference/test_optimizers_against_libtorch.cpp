// The optimizers LibTorch 1.13 has (AdamW, Adam with amsgrad) take PyTorch's steps: the same network, weights
// and data in both libraries, each computing its own gradients, 25 steps, every parameter equal to 1e-12.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "tapegrad/tapegrad.hpp"

// LibTorch brings glog's CHECK, which aborts the process instead of reporting: doctest's, by its full name.
#undef CHECK
#define CHECK DOCTEST_CHECK

namespace tg = tapegrad;
using T = tg::Tensor<double>;

namespace {

torch::Tensor to_torch(const T& t) {
  std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  return torch::from_blob(const_cast<double*>(t.data()), dims, torch::kFloat64).clone();
}

struct Case {
  const char* spec;
  std::function<std::unique_ptr<torch::optim::Optimizer>(std::vector<torch::Tensor>)> torch_optimizer;
};

}  // namespace

TEST_CASE("AdamW and AMSGrad follow PyTorch's trajectory step by step, to 1e-12") {
  torch::set_num_threads(1);
  const std::vector<Case> cases{
      {"adamw", [](auto p) { return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(0.001)); }},
      {"adamw:lr=0.01,beta1=0.8,beta2=0.99,eps=1e-6,wd=0.1",
       [](auto p) {
         return std::make_unique<torch::optim::AdamW>(
             p, torch::optim::AdamWOptions(0.01).betas({0.8, 0.99}).eps(1e-6).weight_decay(0.1));
       }},
      {"adamw:wd=0",
       [](auto p) {
         return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(0.001).weight_decay(0));
       }},
      {"amsgrad",
       [](auto p) { return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(0.001).amsgrad(true)); }},
      {"amsgrad:lr=0.02,wd=0.05",
       [](auto p) {
         return std::make_unique<torch::optim::Adam>(
             p, torch::optim::AdamOptions(0.02).weight_decay(0.05).amsgrad(true));
       }},
  };
  REQUIRE(cases.size() == 5);
  tg::Rng rng(21);
  const T x = T::randn({6, 3}, rng), target = T::randn({6, 4}, rng);
  const T w0 = T::randn({3, 4}, rng), b0 = T::randn({4}, rng);
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    tg::Parameter<double> w("w", w0), b("b", b0);
    auto ours = tg::make_optimizer<double>(tg::OptimizerSpec::parse(c.spec), {&w, &b});
    torch::Tensor tw = to_torch(w0).requires_grad_(true), tb = to_torch(b0).requires_grad_(true);
    auto theirs = c.torch_optimizer({tw, tb});
    const torch::Tensor tx = to_torch(x), tt = to_torch(target);
    double largest_move = 0;
    for (int step = 0; step < 25; ++step) {
      ours->zero_grad();
      tg::Tape<double> tape;
      const tg::Var<double> y = tg::tanh(tg::affine(tape.constant(x), tape.parameter(w), tape.parameter(b)));
      tg::mse(y, tape.constant(target)).backward();
      ours->step();
      theirs->zero_grad();
      ((torch::tanh(tx.mm(tw) + tb) - tt).pow(2).mean()).backward();
      theirs->step();
      const torch::Tensor tw_now = tw.detach().contiguous(), tb_now = tb.detach().contiguous();
      for (std::size_t i = 0; i < w.value.size(); ++i) {
        const double theirs_i = tw_now.data_ptr<double>()[i];
        CHECK(std::abs(w.value[i] - theirs_i) <= 1e-12 * (1 + std::abs(theirs_i)));
        largest_move = std::max(largest_move, std::abs(theirs_i - w0[i]));
      }
      for (std::size_t i = 0; i < b.value.size(); ++i)
        CHECK(std::abs(b.value[i] - tb_now.data_ptr<double>()[i]) <= 1e-12 * (1 + std::abs(b.value[i])));
    }
    CHECK(largest_move > 1e-3);  // the parameters moved: the trajectories were compared, not the start
  }
}
