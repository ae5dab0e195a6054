// The optimizers LibTorch 1.13 has (AdamW, Adam with amsgrad, parameter groups, LBFGS) take PyTorch's steps: the
// same problem, weights and data in both libraries, each computing its own gradients, every parameter equal to
// 1e-12 after every step.
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

struct Moves {
  double weights = 0, bias = 0;  // the largest distance any element went from its start
};

// 25 steps of tanh(x w + b) against `target` under mean squared error in both libraries, each computing its own
// gradients; after every step, every parameter equal to 1e-12.
Moves step_both(tg::Optimizer<double>& ours, torch::optim::Optimizer& theirs, tg::Parameter<double>& w,
                tg::Parameter<double>& b, const torch::Tensor& tw, const torch::Tensor& tb, const T& x,
                const T& target) {
  const T w0 = w.value, b0 = b.value;
  const torch::Tensor tx = to_torch(x), tt = to_torch(target);
  Moves moves;
  for (int step = 0; step < 25; ++step) {
    ours.zero_grad();
    tg::Tape<double> tape;
    const tg::Var<double> y = tg::tanh(tg::affine(tape.constant(x), tape.parameter(w), tape.parameter(b)));
    tg::mse(y, tape.constant(target)).backward();
    ours.step();
    theirs.zero_grad();
    ((torch::tanh(tx.mm(tw) + tb) - tt).pow(2).mean()).backward();
    theirs.step();
    const torch::Tensor tw_now = tw.detach().contiguous(), tb_now = tb.detach().contiguous();
    for (std::size_t i = 0; i < w.value.size(); ++i) {
      const double theirs_i = tw_now.data_ptr<double>()[i];
      CHECK(std::abs(w.value[i] - theirs_i) <= 1e-12 * (1 + std::abs(theirs_i)));
      moves.weights = std::max(moves.weights, std::abs(theirs_i - w0[i]));
    }
    for (std::size_t i = 0; i < b.value.size(); ++i) {
      const double theirs_i = tb_now.data_ptr<double>()[i];
      CHECK(std::abs(b.value[i] - theirs_i) <= 1e-12 * (1 + std::abs(theirs_i)));
      moves.bias = std::max(moves.bias, std::abs(theirs_i - b0[i]));
    }
  }
  return moves;
}

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
    const Moves moves = step_both(*ours, *theirs, w, b, tw, tb, x, target);
    CHECK(moves.weights > 1e-3);  // the parameters moved: the trajectories were compared, not the start
  }
}

TEST_CASE("Parameter groups follow PyTorch's param groups: AdamW and SGD with a rate and a decay per group, to 1e-12") {
  torch::set_num_threads(1);
  tg::Rng rng(22);
  const T x = T::randn({6, 3}, rng), target = T::randn({6, 4}, rng);
  const T w0 = T::randn({3, 4}, rng), b0 = T::randn({4}, rng);
  for (const char* spec : {"adamw:lr=0.01,wd=0.1", "sgd:lr=0.1,wd=0.05"}) {
    CAPTURE(spec);
    tg::Parameter<double> w("w", w0), b("b", b0);
    auto ours = tg::make_optimizer<double>(tg::OptimizerSpec::parse(spec), {&w, &b});
    // The weights keep the optimizer's decay; the bias learns at 3x the rate with no decay.
    ours->set_group({&b}, tg::GroupOptions{3.0, 0.0});
    torch::Tensor tw = to_torch(w0).requires_grad_(true), tb = to_torch(b0).requires_grad_(true);
    std::unique_ptr<torch::optim::Optimizer> theirs;
    if (std::string(spec).rfind("adamw", 0) == 0) {
      std::vector<torch::optim::OptimizerParamGroup> groups{
          torch::optim::OptimizerParamGroup({tw}, std::make_unique<torch::optim::AdamWOptions>(
                                                      torch::optim::AdamWOptions(0.01).weight_decay(0.1))),
          torch::optim::OptimizerParamGroup({tb}, std::make_unique<torch::optim::AdamWOptions>(
                                                      torch::optim::AdamWOptions(0.03).weight_decay(0)))};
      theirs = std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(0.01));
    } else {
      std::vector<torch::optim::OptimizerParamGroup> groups{
          torch::optim::OptimizerParamGroup(
              {tw}, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(0.1).weight_decay(0.05))),
          torch::optim::OptimizerParamGroup(
              {tb}, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(0.3).weight_decay(0)))};
      theirs = std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(0.1));
    }
    CHECK(step_both(*ours, *theirs, w, b, tw, tb, x, target).bias > 1e-2);
  }
}

// Softmax regression with an L2 penalty, on labels it cannot separate: a smooth, strictly convex loss (the penalty
// removes the direction along which softmax does not change), so the two libraries' last-digit
// differences (their exp, their sums) stay last-digit differences along the whole trajectory. On a tanh network
// that crawls along a plateau, they agree to 1e-12 until the plateau and part by 1e-9 after it: the plateau
// amplifies rounding, in either library.
TEST_CASE("L-BFGS follows PyTorch's LBFGS (strong Wolfe and fixed step) step by step, to 1e-12") {
  torch::set_num_threads(1);
  tg::Rng rng(23);
  const T x = T::randn({30, 3}, rng);
  std::vector<std::size_t> labels;
  std::vector<int64_t> torch_labels;
  for (std::size_t i = 0; i < 30; ++i) {
    labels.push_back(rng.below(4));
    torch_labels.push_back(int64_t(labels.back()));
  }
  const T w0 = T::randn({3, 4}, rng), b0 = T::randn({4}, rng);
  struct LbfgsCase {
    const char* spec;
    torch::optim::LBFGSOptions options;
    int steps;
  };
  const std::vector<LbfgsCase> cases{
      {"lbfgs", torch::optim::LBFGSOptions(1).line_search_fn("strong_wolfe"), 4},
      {"lbfgs:iters=3,history=2", torch::optim::LBFGSOptions(1).max_iter(3).history_size(2).line_search_fn(
                                      "strong_wolfe"),
       12},
      {"lbfgs:lr=0.5,iters=5,wolfe=0", torch::optim::LBFGSOptions(0.5).max_iter(5), 8},
  };
  for (const LbfgsCase& c : cases) {
    CAPTURE(std::string(c.spec));
    tg::Parameter<double> w("w", w0), b("b", b0);
    auto ours = tg::make_optimizer<double>(tg::OptimizerSpec::parse(c.spec), {&w, &b});
    torch::Tensor tw = to_torch(w0).requires_grad_(true), tb = to_torch(b0).requires_grad_(true);
    torch::optim::LBFGS theirs({tw, tb}, c.options);
    const torch::Tensor tx = to_torch(x), tt = torch::tensor(torch_labels);
    int our_evaluations = 0, their_evaluations = 0;
    double largest_move = 0;
    for (int step = 0; step < c.steps; ++step) {
      const double our_loss = ours->step([&] {
        ++our_evaluations;
        ours->zero_grad();
        tg::Tape<double> tape;
        const tg::Var<double> wv = tape.parameter(w), bv = tape.parameter(b);
        const tg::Var<double> loss = tg::softmax_cross_entropy(tg::affine(tape.constant(x), wv, bv), labels) +
                                     0.05 * (tg::sum(wv * wv) + tg::sum(bv * bv));
        loss.backward();
        return loss.item();
      });
      const double their_loss = theirs
                                    .step([&] {
                                      ++their_evaluations;
                                      theirs.zero_grad();
                                      torch::Tensor loss = torch::nn::functional::cross_entropy(tx.mm(tw) + tb, tt) +
                                                           0.05 * ((tw * tw).sum() + (tb * tb).sum());
                                      loss.backward();
                                      return loss;
                                    })
                                    .item<double>();
      CAPTURE(step);
      CHECK(std::abs(our_loss - their_loss) <= 1e-12 * (1 + std::abs(their_loss)));
      CHECK(our_evaluations == their_evaluations);  // the same line searches, evaluation for evaluation
      const torch::Tensor tw_now = tw.detach().contiguous(), tb_now = tb.detach().contiguous();
      for (std::size_t i = 0; i < w.value.size(); ++i) {
        const double theirs_i = tw_now.data_ptr<double>()[i];
        CHECK(std::abs(w.value[i] - theirs_i) <= 1e-12 * (1 + std::abs(theirs_i)));
        largest_move = std::max(largest_move, std::abs(theirs_i - w0[i]));
      }
      for (std::size_t i = 0; i < b.value.size(); ++i)
        CHECK(std::abs(b.value[i] - tb_now.data_ptr<double>()[i]) <= 1e-12 * (1 + std::abs(b.value[i])));
    }
    CHECK(largest_move > 0.1);
    CHECK(our_evaluations > c.steps);  // the line search or the iterations evaluated more than once per step
  }
}
